-- The nodes serving from this database (ADR 0037): each node writes its row
-- when it starts and then every few seconds, so that an operator replacing
-- nodes one by one sees which release each one runs. Additive: servers that
-- do not know this table serve as before (they are simply not listed).
CREATE TABLE nodes (
    name           text   PRIMARY KEY,
    release        text   NOT NULL,
    -- How many store migrations the node knows.
    schema_version bigint NOT NULL,
    started_at     bigint NOT NULL,
    seen_at        bigint NOT NULL
);
