-- What the server keeps beside the log and the directory that cannot be
-- derived again from the documents (issue 15, ADR 0029), the same shape as
-- the server's SQLite tables, so `rapport-server migrate --from-data`
-- carries it over: the two times of every logged change (`made_at`, the
-- change's own timestamp; `received_at`, the server's clock when it logged
-- it), the actor ids bound to a device, and the documents each device holds
-- as the access checks record them (`device_docs`). Times are milliseconds
-- since the Unix epoch (UTC).
CREATE TABLE change_times (
    seq         bigint PRIMARY KEY,
    made_at     bigint NOT NULL,
    received_at bigint NOT NULL
);

CREATE TABLE actors (
    actor     bytea  PRIMARY KEY,
    device_id bigint NOT NULL REFERENCES devices (id),
    bound_at  bigint NOT NULL
);
CREATE INDEX actors_device ON actors (device_id);

CREATE TABLE device_docs (
    device_id bigint NOT NULL REFERENCES devices (id),
    doc_id    text   NOT NULL,
    since     bigint NOT NULL,
    gone      bigint,
    PRIMARY KEY (device_id, doc_id)
);
