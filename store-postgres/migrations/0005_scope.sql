-- The accounts' scope index (ADR 0030): each account's owner, team and
-- territory, projected from the document in the transaction that logs a
-- change to it, as the access rules read it. The same shape as the
-- server's SQLite table. An account without a row is readable only by
-- roles that see everything.
CREATE TABLE accounts (
    doc_id    text PRIMARY KEY REFERENCES documents (id),
    owner     text,
    team      text,
    territory text
);
CREATE INDEX accounts_owner ON accounts (owner);
CREATE INDEX accounts_team ON accounts (team);
CREATE INDEX accounts_territory ON accounts (territory);
