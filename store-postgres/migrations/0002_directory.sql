-- The directory (ADR 0026): users, teams, the teams and territories users
-- belong to, devices with the SHA-256 of their tokens, and remote wipes.
-- The same shape as the server's SQLite tables. Times are milliseconds since
-- the Unix epoch (UTC), from the node's clock, as on SQLite. User names are
-- unique among all users, deleted ones included (the audit log keeps naming
-- them); token hashes are unique, so a token names one device.
CREATE TABLE users (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text   NOT NULL UNIQUE,
    role       text   NOT NULL,
    created_at bigint NOT NULL,
    deleted_at bigint
);

CREATE TABLE teams (
    name       text   PRIMARY KEY,
    created_at bigint NOT NULL
);

CREATE TABLE user_teams (
    user_id bigint NOT NULL REFERENCES users (id),
    team    text   NOT NULL REFERENCES teams (name),
    PRIMARY KEY (user_id, team)
);

CREATE TABLE user_territories (
    user_id   bigint NOT NULL REFERENCES users (id),
    territory text   NOT NULL,
    PRIMARY KEY (user_id, territory)
);

CREATE TABLE devices (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id),
    name       text   NOT NULL,
    token_hash bytea  NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at bigint NOT NULL,
    revoked_at bigint
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE device_wipes (
    device_id      bigint PRIMARY KEY REFERENCES devices (id),
    requested_at   bigint NOT NULL,
    done_at        bigint,
    lost_documents bigint,
    lost_changes   bigint
);
