-- The audit log (ADR 0028): every change logged with the user and device
-- that pushed it, written in the transaction that logs it, and every
-- administrator's action. The same shape as the server's SQLite tables.
-- Times are milliseconds since the Unix epoch (UTC), from the node's clock,
-- as on SQLite and in the directory. Users and devices are never removed,
-- so the rows keep naming them.
CREATE TABLE audit (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        bigint NOT NULL,
    user_id   bigint NOT NULL REFERENCES users (id),
    device_id bigint NOT NULL REFERENCES devices (id),
    doc_id    text   NOT NULL,
    seq       bigint NOT NULL,
    change    bytea  NOT NULL CHECK (length(change) = 32),
    op        text   NOT NULL
);
-- Listed newest first, in log order, of every document or of one.
CREATE INDEX audit_seq ON audit (seq);
CREATE INDEX audit_doc_seq ON audit (doc_id, seq);

CREATE TABLE admin_actions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           bigint NOT NULL,
    -- The admin user and device, for an action through the admin API.
    user_id      bigint REFERENCES users (id),
    device_id    bigint REFERENCES devices (id),
    -- The operating-system user, for a management command at the console.
    console_user text,
    action       text   NOT NULL,
    subject      text   NOT NULL,
    detail       jsonb  NOT NULL
);
