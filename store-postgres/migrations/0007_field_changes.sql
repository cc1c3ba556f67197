-- The late-edits index (ADRs 0022, 0033): one row per field each accepted
-- change set, with its two times, what it moved and the account's name
-- and scope (kept equal to the current ones on all the account's rows),
-- written in the transaction that logs the change. The same columns as
-- the server's SQLite table; a flag is a boolean here.
CREATE TABLE rpt_field_changes (
    seq            bigint NOT NULL,
    n              bigint NOT NULL,
    doc_id         text NOT NULL,
    deal_id        text,
    field          text NOT NULL,
    old_value      text,
    new_value      text,
    "user"         text NOT NULL,
    device         text NOT NULL,
    made_at        bigint NOT NULL,
    received_at    bigint NOT NULL,
    currency       text,
    won_delta      bigint NOT NULL,
    weighted_delta bigint NOT NULL,
    name           text NOT NULL,
    owner          text,
    team           text,
    territory      text,
    hidden         boolean NOT NULL,
    PRIMARY KEY (seq, n)
);
CREATE INDEX rpt_field_changes_made ON rpt_field_changes (hidden, made_at, received_at, seq, n);
CREATE INDEX rpt_field_changes_doc ON rpt_field_changes (doc_id, seq);

-- From which log position and instant the figures as known at an earlier
-- instant are exact (ADR 0023). A deployment imported from SQLite brings
-- its row; without one, the rows were kept as known from the start.
CREATE TABLE rpt_known_from (
    id  bigint PRIMARY KEY CHECK (id = 0),
    seq bigint NOT NULL,
    at  bigint NOT NULL
);
