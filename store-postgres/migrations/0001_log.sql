-- The change log: one row of state, documents, their changes, the hash of
-- the change at every position (kept when change rows are pruned), and the
-- newest change of every actor. Positions are assigned by the server under
-- a transaction-level advisory lock (never a sequence), so they are
-- gap-free and commit in order.
CREATE TABLE log_state (
    id            smallint PRIMARY KEY CHECK (id = 1),
    server        bytea    NOT NULL CHECK (length(server) = 16),
    epoch         bigint   NOT NULL CHECK (epoch >= 0),
    -- The newest position of a logged change.
    head          bigint   NOT NULL DEFAULT 0 CHECK (head >= 0),
    -- The last position given out or skipped past (at or above head).
    last_position bigint   NOT NULL DEFAULT 0 CHECK (last_position >= head)
);
INSERT INTO log_state (id, server, epoch)
VALUES (1, uuid_send(gen_random_uuid()), (extract(epoch FROM clock_timestamp()) * 1000)::bigint);

CREATE TABLE documents (
    id           text   PRIMARY KEY,
    last_seq     bigint NOT NULL DEFAULT 0,
    snapshot     bytea,
    snapshot_seq bigint NOT NULL DEFAULT 0,
    pruned_seq   bigint NOT NULL DEFAULT 0,
    change_count bigint NOT NULL DEFAULT 0,
    bytes        bigint NOT NULL DEFAULT 0
);
CREATE INDEX documents_last_seq ON documents (last_seq);

CREATE TABLE changes (
    seq    bigint PRIMARY KEY,
    doc_id text   NOT NULL REFERENCES documents (id),
    actor  bytea  NOT NULL,
    bytes  bytea  NOT NULL
);
CREATE INDEX changes_doc_seq ON changes (doc_id, seq);

CREATE TABLE log_hashes (
    seq    bigint PRIMARY KEY,
    doc_id text   NOT NULL,
    hash   bytea  NOT NULL CHECK (length(hash) = 32),
    UNIQUE (doc_id, hash)
);

CREATE TABLE actor_newest (
    actor  bytea  PRIMARY KEY,
    seq    bigint NOT NULL,
    doc_id text   NOT NULL
);
