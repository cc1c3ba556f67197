//! Versioned schema of the server's SQLite file.
//!
//! `PRAGMA user_version` holds the number of migrations applied;
//! `PRAGMA application_id` marks the file as a Rapport server database.
//! Migrations are append-only: never edit one that has shipped, add the next.

use rusqlite::Connection;

use super::DbError;

/// Identifies a Rapport server database ("RAPS").
pub(crate) const APPLICATION_ID: i32 = 0x5241_5053;

/// Each entry is one migration; its index + 1 is the schema version it produces.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the change log. Every stored change gets the next `seq`
    // (AUTOINCREMENT: a position is never reused, even after compaction
    // deleted the newest rows). A document is a snapshot folding every change
    // up to `snapshot_seq` plus its change rows after it.
    "
    CREATE TABLE documents (
        id           TEXT PRIMARY KEY,
        snapshot     BLOB,
        snapshot_seq INTEGER NOT NULL DEFAULT 0,
        last_seq     INTEGER NOT NULL,
        change_count INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX documents_last_seq ON documents(last_seq);
    CREATE TABLE changes (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL REFERENCES documents(id),
        actor  BLOB NOT NULL,
        bytes  BLOB NOT NULL
    );
    CREATE INDEX changes_doc_seq ON changes(doc_id, seq);
    ",
    // 2: users and their device tokens (only SHA-256 hashes are stored).
    // Roles, teams and territories hang off `users`; revocation sets `revoked_at`.
    "
    CREATE TABLE users (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        role       TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE devices (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL REFERENCES users(id),
        name       TEXT NOT NULL,
        token_hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    );
    CREATE INDEX devices_user ON devices(user_id);
    ",
    // 3: compaction keeps recent change rows. A snapshot may now be refreshed
    // without deleting rows; `pruned_seq` says up to where rows were deleted
    // (until now, always at the snapshot). Stale snapshots are found by index.
    "
    ALTER TABLE documents ADD COLUMN pruned_seq INTEGER NOT NULL DEFAULT 0;
    UPDATE documents SET pruned_seq = snapshot_seq;
    CREATE INDEX documents_stale ON documents(id) WHERE last_seq > snapshot_seq;
    ",
    // 4: access. Teams and the teams/territories a user belongs to; users are
    // soft-deleted. Actor ids are bound to the device that first pushed with
    // them. `accounts` indexes each account's owner/team/territory (written in
    // the transaction of every accepted change) and the bytes of its accepted
    // changes; `device_docs` is what each device holds; `audit` records every
    // accepted change.
    "
    ALTER TABLE users ADD COLUMN deleted_at INTEGER;
    CREATE TABLE teams (
        name       TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE user_teams (
        user_id INTEGER NOT NULL REFERENCES users(id),
        team    TEXT NOT NULL REFERENCES teams(name),
        PRIMARY KEY (user_id, team)
    );
    CREATE TABLE user_territories (
        user_id   INTEGER NOT NULL REFERENCES users(id),
        territory TEXT NOT NULL,
        PRIMARY KEY (user_id, territory)
    );
    CREATE TABLE actors (
        actor     BLOB PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        bound_at  INTEGER NOT NULL
    );
    CREATE INDEX actors_device ON actors(device_id);
    CREATE TABLE accounts (
        doc_id    TEXT PRIMARY KEY REFERENCES documents(id),
        owner     TEXT,
        team      TEXT,
        territory TEXT
    );
    CREATE INDEX accounts_owner ON accounts(owner);
    CREATE INDEX accounts_team ON accounts(team);
    CREATE INDEX accounts_territory ON accounts(territory);
    ALTER TABLE documents ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE device_docs (
        device_id INTEGER NOT NULL REFERENCES devices(id),
        doc_id    TEXT NOT NULL,
        since     INTEGER NOT NULL,
        gone      INTEGER,
        PRIMARY KEY (device_id, doc_id)
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id        INTEGER PRIMARY KEY,
        at        INTEGER NOT NULL,
        user_id   INTEGER NOT NULL REFERENCES users(id),
        device_id INTEGER NOT NULL REFERENCES devices(id),
        doc_id    TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        change    BLOB NOT NULL,
        op        TEXT NOT NULL
    );
    CREATE INDEX audit_doc ON audit(doc_id, id);
    ",
    // 5: the reporting index (issue 6): each account's reportable facts,
    // rewritten from the typed account in the transaction of every accepted
    // change (one account's rows deleted and inserted again). Instants are
    // milliseconds since the Unix epoch (UTC); dates are `YYYY-MM-DD`.
    "
    CREATE TABLE rpt_accounts (
        doc_id      TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        owner       TEXT,
        team        TEXT,
        territory   TEXT,
        tier        TEXT NOT NULL,
        rung        TEXT NOT NULL,
        phase       TEXT NOT NULL,
        status      TEXT NOT NULL,
        end_reason  TEXT,
        ended_phase TEXT,
        ended_on    TEXT,
        hidden      INTEGER NOT NULL
    );
    CREATE INDEX rpt_accounts_owner ON rpt_accounts(owner);
    CREATE INDEX rpt_accounts_team ON rpt_accounts(team);
    CREATE INDEX rpt_accounts_territory ON rpt_accounts(territory);
    CREATE TABLE rpt_deals (
        doc_id           TEXT NOT NULL,
        deal_id          TEXT NOT NULL,
        stage            TEXT NOT NULL,
        amount_minor     INTEGER NOT NULL,
        currency         TEXT NOT NULL,
        probability      INTEGER NOT NULL,
        forecast         TEXT NOT NULL,
        outcome          TEXT NOT NULL,
        lost_reason      TEXT,
        expected_close   TEXT,
        stage_changed_at INTEGER,
        created_at       INTEGER,
        PRIMARY KEY (doc_id, deal_id)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_deals_outcome ON rpt_deals(outcome, stage);
    CREATE TABLE rpt_stage_moves (
        doc_id     TEXT NOT NULL,
        deal_id    TEXT NOT NULL,
        n          INTEGER NOT NULL,
        from_stage TEXT,
        to_stage   TEXT NOT NULL,
        at         INTEGER NOT NULL,
        by         TEXT NOT NULL,
        PRIMARY KEY (doc_id, deal_id, n)
    ) WITHOUT ROWID;
    CREATE TABLE rpt_interactions (
        doc_id         TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        rep            TEXT NOT NULL,
        kind           TEXT NOT NULL,
        status         TEXT NOT NULL,
        planned_start  INTEGER,
        actual_start   INTEGER,
        at             INTEGER NOT NULL,
        week           TEXT NOT NULL,
        contacts       INTEGER NOT NULL,
        PRIMARY KEY (doc_id, interaction_id, rep)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_interactions_rep ON rpt_interactions(rep, week);
    CREATE TABLE rpt_interaction_contacts (
        doc_id         TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        contact_id     TEXT NOT NULL,
        PRIMARY KEY (doc_id, interaction_id, contact_id)
    ) WITHOUT ROWID;
    CREATE TABLE rpt_ladder_moves (
        doc_id    TEXT NOT NULL,
        move_id   TEXT NOT NULL,
        from_rung TEXT NOT NULL,
        to_rung   TEXT NOT NULL,
        up        INTEGER NOT NULL,
        at        INTEGER NOT NULL,
        PRIMARY KEY (doc_id, move_id)
    ) WITHOUT ROWID;
    CREATE TABLE rpt_lifecycle_moves (
        doc_id     TEXT NOT NULL,
        move_id    TEXT NOT NULL,
        from_phase TEXT NOT NULL,
        to_phase   TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (doc_id, move_id)
    ) WITHOUT ROWID;
    ",
    // 6: covering indexes for the reports (issue 6 benchmark, docs/BENCHMARKS.md).
    // The join to an account's scope reads one index instead of the
    // `doc_id` autoindex plus the table row; held/planned interactions are
    // grouped by rep, kind and week straight from an index (and an account's
    // last held / next planned touch found by `(doc_id, status, at)`, so the
    // planner never scans by status alone for one account); the pipeline
    // sums open deals without visiting the table.
    "
    CREATE INDEX rpt_accounts_scope ON rpt_accounts(doc_id, hidden, owner, team, territory);
    CREATE INDEX rpt_interactions_status ON rpt_interactions(status, rep, kind, week, at);
    CREATE INDEX rpt_interactions_doc ON rpt_interactions(doc_id, status, at);
    CREATE INDEX rpt_deals_currency ON rpt_deals(outcome, currency, amount_minor, probability);
    ",
    // 7: open conflicts in the reporting index (issue 6): one row per field of
    // an account holding concurrent values, with the account's name and scope
    // copied on the row (rewritten with the account's other rows, so they
    // cannot disagree). The reporting index is emptied so that the backfill
    // at start rewrites every stored account, conflicts included.
    "
    CREATE TABLE rpt_conflicts (
        doc_id     TEXT NOT NULL,
        field      TEXT NOT NULL,
        name       TEXT NOT NULL,
        owner      TEXT,
        team       TEXT,
        territory  TEXT,
        hidden     INTEGER NOT NULL,
        n_values   INTEGER NOT NULL,
        shown      TEXT NOT NULL,
        value_list TEXT NOT NULL,
        newest_at  INTEGER NOT NULL,
        PRIMARY KEY (doc_id, field)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_conflicts_newest ON rpt_conflicts(hidden, newest_at);
    DELETE FROM rpt_accounts;
    DELETE FROM rpt_deals;
    DELETE FROM rpt_stage_moves;
    DELETE FROM rpt_interactions;
    DELETE FROM rpt_interaction_contacts;
    DELETE FROM rpt_ladder_moves;
    DELETE FROM rpt_lifecycle_moves;
    ",
    // 8: reports without joins (issue 6 benchmark, docs/BENCHMARKS.md, ADR 0006).
    // Every fact row carries its account's `owner`, `team`, `territory` and
    // `hidden` (written in the same rewrite as the account row, so they
    // cannot disagree), and the indexes each report reads are covering, in
    // the order it groups or pages by. Accounts carry derived facts:
    // `last_touch` (newest held interaction, also on deals) and `open_deals`.
    // Two rollups are kept up to date by every rewrite (subtract the old
    // rows, add the new): held interactions per rep × kind × week and stage
    // moves per from → to × week, each per team and owner; `prev_day` is the
    // UTC day of the deal's previous entry into `to_stage` (-1: its first),
    // so distinct deals entering a stage stay exact for any period. Owner and
    // team are '' for none in the rollups (keys are NOT NULL). The tables are
    // created empty: the backfill at start rewrites every stored account.
    "
    DROP TABLE rpt_accounts;
    DROP TABLE rpt_deals;
    DROP TABLE rpt_stage_moves;
    DROP TABLE rpt_interactions;
    DROP TABLE rpt_ladder_moves;
    DROP TABLE rpt_lifecycle_moves;
    DELETE FROM rpt_interaction_contacts;
    DELETE FROM rpt_conflicts;
    DROP INDEX rpt_conflicts_newest;
    CREATE INDEX rpt_conflicts_newest ON rpt_conflicts(hidden, newest_at, owner, team, territory);
    CREATE TABLE rpt_accounts (
        doc_id      TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        owner       TEXT,
        team        TEXT,
        territory   TEXT,
        hidden      INTEGER NOT NULL,
        tier        TEXT NOT NULL,
        rung        TEXT NOT NULL,
        phase       TEXT NOT NULL,
        status      TEXT NOT NULL,
        end_reason  TEXT,
        ended_phase TEXT,
        ended_on    TEXT,
        last_touch  INTEGER,
        open_deals  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX rpt_accounts_owner ON rpt_accounts(hidden, owner, team, territory, open_deals);
    CREATE INDEX rpt_accounts_name ON rpt_accounts(hidden, name, owner, team, territory);
    CREATE INDEX rpt_accounts_rung ON rpt_accounts(hidden, rung, owner, team, territory);
    CREATE INDEX rpt_accounts_phase ON rpt_accounts(hidden, phase, owner, team, territory);
    CREATE INDEX rpt_accounts_ended ON rpt_accounts(hidden, ended_on, end_reason, ended_phase, owner, team, territory);
    CREATE INDEX rpt_accounts_risk ON rpt_accounts(hidden, tier, status, last_touch, owner, team, territory);
    CREATE TABLE rpt_deals (
        doc_id           TEXT NOT NULL,
        deal_id          TEXT NOT NULL,
        name             TEXT NOT NULL,
        owner            TEXT,
        team             TEXT,
        territory        TEXT,
        hidden           INTEGER NOT NULL,
        last_touch       INTEGER,
        stage            TEXT NOT NULL,
        amount_minor     INTEGER NOT NULL,
        currency         TEXT NOT NULL,
        probability      INTEGER NOT NULL,
        forecast         TEXT NOT NULL,
        outcome          TEXT NOT NULL,
        lost_reason      TEXT,
        expected_close   TEXT,
        stage_changed_at INTEGER,
        created_at       INTEGER,
        PRIMARY KEY (doc_id, deal_id)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_deals_pipeline
        ON rpt_deals(hidden, outcome, currency, amount_minor, probability, expected_close, owner, team, territory);
    CREATE INDEX rpt_deals_stage ON rpt_deals(hidden, stage, currency, amount_minor, expected_close, owner, team, territory);
    CREATE INDEX rpt_deals_forecast
        ON rpt_deals(hidden, forecast, currency, amount_minor, expected_close, owner, team, territory);
    CREATE INDEX rpt_deals_changed ON rpt_deals(hidden, outcome, stage_changed_at, stage, last_touch, lost_reason,
                                                expected_close, owner, team, territory);
    CREATE INDEX rpt_deals_close ON rpt_deals(hidden, outcome, expected_close, owner, team, territory);
    CREATE TABLE rpt_stage_moves (
        doc_id        TEXT NOT NULL,
        deal_id       TEXT NOT NULL,
        n             INTEGER NOT NULL,
        owner         TEXT,
        team          TEXT,
        territory     TEXT,
        hidden        INTEGER NOT NULL,
        from_stage    TEXT,
        to_stage      TEXT NOT NULL,
        at            INTEGER NOT NULL,
        week_start    INTEGER NOT NULL,
        prev_day      INTEGER NOT NULL,
        by            TEXT NOT NULL,
        PRIMARY KEY (doc_id, deal_id, n)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_stage_moves_at
        ON rpt_stage_moves(hidden, at, from_stage, to_stage, prev_day, owner, team, territory);
    CREATE TABLE rpt_stage_flow (
        hidden     INTEGER NOT NULL,
        team       TEXT NOT NULL,
        owner      TEXT NOT NULL,
        from_stage TEXT NOT NULL,
        to_stage   TEXT NOT NULL,
        week_start INTEGER NOT NULL,
        prev_day   INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (hidden, team, owner, from_stage, to_stage, week_start, prev_day)
    ) WITHOUT ROWID;
    CREATE TABLE rpt_interactions (
        doc_id         TEXT NOT NULL,
        interaction_id TEXT NOT NULL,
        rep            TEXT NOT NULL,
        owner          TEXT,
        team           TEXT,
        territory      TEXT,
        hidden         INTEGER NOT NULL,
        kind           TEXT NOT NULL,
        status         TEXT NOT NULL,
        planned_start  INTEGER,
        actual_start   INTEGER,
        at             INTEGER NOT NULL,
        week           TEXT NOT NULL,
        week_start     INTEGER NOT NULL,
        contacts       INTEGER NOT NULL,
        PRIMARY KEY (doc_id, interaction_id, rep)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_interactions_doc ON rpt_interactions(doc_id, status, at);
    CREATE INDEX rpt_interactions_at
        ON rpt_interactions(hidden, status, at, rep, kind, week, owner, team, territory);
    CREATE INDEX rpt_interactions_rep ON rpt_interactions(hidden, status, rep, at, owner, team, territory);
    CREATE TABLE rpt_activity (
        hidden     INTEGER NOT NULL,
        rep        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        week_start INTEGER NOT NULL,
        team       TEXT NOT NULL,
        owner      TEXT NOT NULL,
        week       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (hidden, rep, kind, week_start, team, owner)
    ) WITHOUT ROWID;
    CREATE TABLE rpt_ladder_moves (
        doc_id    TEXT NOT NULL,
        move_id   TEXT NOT NULL,
        owner     TEXT,
        team      TEXT,
        territory TEXT,
        hidden    INTEGER NOT NULL,
        from_rung TEXT NOT NULL,
        to_rung   TEXT NOT NULL,
        up        INTEGER NOT NULL,
        at        INTEGER NOT NULL,
        PRIMARY KEY (doc_id, move_id)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_ladder_moves_rung ON rpt_ladder_moves(hidden, from_rung, at, up, owner, team, territory);
    CREATE TABLE rpt_lifecycle_moves (
        doc_id     TEXT NOT NULL,
        move_id    TEXT NOT NULL,
        owner      TEXT,
        team       TEXT,
        territory  TEXT,
        hidden     INTEGER NOT NULL,
        from_phase TEXT NOT NULL,
        to_phase   TEXT NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (doc_id, move_id)
    ) WITHOUT ROWID;
    ",
    // 9: pages of the per-row reports straight from an index (issue 6): the
    // indexes they page through hold the whole sort key (the report's order,
    // then the row's key) before the other columns, so a page is a range of
    // one index with no sort, and `OFFSET` skips index entries only.
    "
    DROP INDEX rpt_deals_changed;
    CREATE INDEX rpt_deals_changed ON rpt_deals(hidden, outcome, stage_changed_at, doc_id, deal_id, stage, last_touch,
                                                lost_reason, expected_close, owner, team, territory);
    DROP INDEX rpt_deals_close;
    CREATE INDEX rpt_deals_close ON rpt_deals(hidden, outcome, expected_close, doc_id, deal_id, owner, team, territory);
    DROP INDEX rpt_accounts_name;
    CREATE INDEX rpt_accounts_name ON rpt_accounts(hidden, name, doc_id, owner, team, territory);
    DROP INDEX rpt_accounts_risk;
    CREATE INDEX rpt_accounts_risk
        ON rpt_accounts(hidden, tier, status, last_touch, name, doc_id, owner, team, territory);
    DROP INDEX rpt_conflicts_newest;
    CREATE INDEX rpt_conflicts_newest
        ON rpt_conflicts(hidden, newest_at DESC, doc_id, field, owner, team, territory);
    ",
    // 10: rows picked by territory (issue 6). The weekly rollups are kept per
    // team and owner only, so rep activity and stage conversion read the fact
    // rows of a territory filter, and of the others' accounts in a rep's
    // territories, through these.
    "
    CREATE INDEX rpt_interactions_territory
        ON rpt_interactions(territory, hidden, status, at, rep, kind, week, owner, team);
    CREATE INDEX rpt_stage_moves_territory
        ON rpt_stage_moves(territory, hidden, at, from_stage, to_stage, prev_day, owner, team);
    ",
    // 11: a digest of the rows each account's rewrite produced (issue 3): a
    // change that leaves every reporting row as it was (most field edits)
    // skips the rewrite. Kept on `rpt_accounts`, so emptying the index for a
    // backfill also forgets the digests.
    "
    ALTER TABLE rpt_accounts ADD COLUMN digest BLOB;
    ",
    // 12: accounts whose reporting rows are behind their document (issue 3).
    // An accepted change marks its account here, in its own transaction; the
    // rows are rewritten later (before any report is read, in steps once
    // syncs are quiet, from a second behind under load; ADR 0007) and the
    // mark removed. A restart rewrites whatever is still marked.
    "
    CREATE TABLE rpt_stale (doc_id TEXT PRIMARY KEY) WITHOUT ROWID;
    ",
    // 13: which log this is (issue 12, protocol version 2; ADR 0011). `meta`
    // holds the database's identity (`server_id`, a random UUID made once)
    // and its `epoch` (milliseconds since the Unix epoch when it started; a
    // new one after every restore). `log_hashes` keeps the hash of the change
    // at every log position, also once compaction pruned the change row:
    // devices send back the position they saw last with its hash, which tells
    // a restored log from the one they saw. Rows for changes stored before
    // this migration are filled in at start (`store::backfill_log_hashes`).
    "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value ANY NOT NULL
    ) STRICT;
    INSERT INTO meta (key, value) VALUES
        ('server_id', randomblob(16)),
        ('epoch', CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    CREATE TABLE log_hashes (
        seq  INTEGER PRIMARY KEY,
        hash BLOB NOT NULL
    );
    ",
    // 14: remote wipe (issue 13). A device revoked as lost (`device revoke
    // --wipe`) has a row here; its token is answered `410 device_wiped` until
    // the device reports that it erased its data (`done_at`), with the
    // documents and changes it had not synced, which were lost with it.
    "
    CREATE TABLE device_wipes (
        device_id      INTEGER PRIMARY KEY REFERENCES devices(id),
        requested_at   INTEGER NOT NULL,
        done_at        INTEGER,
        lost_documents INTEGER,
        lost_changes   INTEGER
    );
    ",
    // 15: the newest logged change of every actor id (ADR 0013): a device
    // whose request shows it lacks its own newest change was restored from a
    // device backup, and is told so. The change's hash is read from
    // `log_hashes`. Filled from the change rows kept so far (an actor whose
    // changes were all pruned gets its row with its next change).
    "
    CREATE TABLE actor_newest (
        actor  BLOB PRIMARY KEY,
        seq    INTEGER NOT NULL,
        doc_id TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO actor_newest (actor, seq, doc_id) SELECT actor, max(seq), doc_id FROM changes GROUP BY actor;
    ",
    // 16: what a deal drill-down shows (issue 16): each deal's title and next
    // step on its reporting row. The reporting index is emptied (rollups
    // included) so that the backfill at start rewrites every stored account
    // with the new columns.
    "
    ALTER TABLE rpt_deals ADD COLUMN title TEXT;
    ALTER TABLE rpt_deals ADD COLUMN next_step TEXT;
    DELETE FROM rpt_accounts;
    DELETE FROM rpt_deals;
    DELETE FROM rpt_stage_moves;
    DELETE FROM rpt_interactions;
    DELETE FROM rpt_interaction_contacts;
    DELETE FROM rpt_ladder_moves;
    DELETE FROM rpt_lifecycle_moves;
    DELETE FROM rpt_conflicts;
    DELETE FROM rpt_activity;
    DELETE FROM rpt_stage_flow;
    DELETE FROM rpt_stale;
    ",
    // 17: administrators' actions (issue 15): users, teams and devices added,
    // changed, deleted or revoked, and backups taken, with who did it: an
    // admin device through the admin API (`user_id`, `device_id`), or the
    // operating-system user who ran `rapport-server user|team|device` on the
    // data directory (`console_user`). `detail` is JSON saying what changed.
    "
    CREATE TABLE admin_actions (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        user_id      INTEGER REFERENCES users(id),
        device_id    INTEGER REFERENCES devices(id),
        console_user TEXT,
        action       TEXT NOT NULL,
        subject      TEXT NOT NULL,
        detail       TEXT NOT NULL
    );
    ",
    // 18: the two times of every change (issue 16, ADR 0022 late edits):
    // `made_at`, the change's own timestamp (the device's clock when it was
    // made), and `received_at`, the server's clock when it stored it, both
    // milliseconds since the Unix epoch (UTC). One row per log position
    // stored from now on, kept when compaction prunes the change row.
    // Positions stored before this migration have no row: they count as
    // known since they were made (never late).
    "
    CREATE TABLE change_times (
        seq         INTEGER PRIMARY KEY,
        made_at     INTEGER NOT NULL,
        received_at INTEGER NOT NULL
    );
    ",
    // 19: the field changes of every accepted change (issue 16, ADR 0022
    // late edits), written in the transaction that appends the change: one
    // row per field it set, at its log position `seq` (`n`: the field's
    // place in the change), with the old and new value as text, who and
    // which device (from the change), its two times (`change_times`), the
    // deal it touched (`deals.<id>.*`) and what it moved: the won amount
    // and the weighted pipeline of that deal, after minus before, in minor
    // units of `currency` (on the first figure field of the deal in the
    // change, 0 on the others). The account's name and scope are copied on
    // every row and kept equal to the account's current ones, like every
    // `rpt_*` table. Changes stored before this migration have no rows.
    "
    CREATE TABLE rpt_field_changes (
        seq            INTEGER NOT NULL,
        n              INTEGER NOT NULL,
        doc_id         TEXT NOT NULL,
        deal_id        TEXT,
        field          TEXT NOT NULL,
        old_value      TEXT,
        new_value      TEXT,
        user           TEXT NOT NULL,
        device         TEXT NOT NULL,
        made_at        INTEGER NOT NULL,
        received_at    INTEGER NOT NULL,
        currency       TEXT,
        won_delta      INTEGER NOT NULL,
        weighted_delta INTEGER NOT NULL,
        name           TEXT NOT NULL,
        owner          TEXT,
        team           TEXT,
        territory      TEXT,
        hidden         INTEGER NOT NULL,
        PRIMARY KEY (seq, n)
    ) WITHOUT ROWID;
    CREATE INDEX rpt_field_changes_made
        ON rpt_field_changes(hidden, made_at, received_at, seq, n, owner, team, territory);
    CREATE INDEX rpt_field_changes_doc ON rpt_field_changes(doc_id, seq);
    ",
    // 20: the reporting rows as they were known (issue 16, ADR 0023): for
    // each fact table `rpt_X` a `rpt_X_hist` with the same columns (in the
    // same order: a migration that changes `rpt_X` must change `rpt_X_hist`
    // alike) and the log range `[valid_from, valid_to)` over which the row
    // was the account's current row; the current rows have `valid_to` =
    // i64::MAX. Every rewrite of an account's rows closes its open rows at
    // the document's last log position and copies the new ones in. The rows
    // indexed before this migration are copied with `valid_from` 0, and
    // `rpt_known_from` records from which log position and instant the
    // figures as known at an earlier instant are exact.
    "
    CREATE TABLE rpt_accounts_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_accounts;
    CREATE INDEX rpt_accounts_hist_doc ON rpt_accounts_hist(doc_id, valid_to);
    CREATE TABLE rpt_deals_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_deals;
    CREATE INDEX rpt_deals_hist_doc ON rpt_deals_hist(doc_id, valid_to);
    CREATE TABLE rpt_stage_moves_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_stage_moves;
    CREATE INDEX rpt_stage_moves_hist_doc ON rpt_stage_moves_hist(doc_id, valid_to);
    CREATE TABLE rpt_interactions_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_interactions;
    CREATE INDEX rpt_interactions_hist_doc ON rpt_interactions_hist(doc_id, valid_to);
    CREATE TABLE rpt_interaction_contacts_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_interaction_contacts;
    CREATE INDEX rpt_interaction_contacts_hist_doc ON rpt_interaction_contacts_hist(doc_id, valid_to);
    CREATE TABLE rpt_ladder_moves_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_ladder_moves;
    CREATE INDEX rpt_ladder_moves_hist_doc ON rpt_ladder_moves_hist(doc_id, valid_to);
    CREATE TABLE rpt_lifecycle_moves_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_lifecycle_moves;
    CREATE INDEX rpt_lifecycle_moves_hist_doc ON rpt_lifecycle_moves_hist(doc_id, valid_to);
    CREATE TABLE rpt_conflicts_hist AS SELECT *, 0 AS valid_from, 9223372036854775807 AS valid_to FROM rpt_conflicts;
    CREATE INDEX rpt_conflicts_hist_doc ON rpt_conflicts_hist(doc_id, valid_to);
    CREATE INDEX change_times_received ON change_times(received_at, seq);
    CREATE TABLE rpt_known_from (
        id      INTEGER PRIMARY KEY CHECK (id = 0),
        seq     INTEGER NOT NULL,
        at      INTEGER NOT NULL
    );
    INSERT INTO rpt_known_from (id, seq, at)
        VALUES (0, (SELECT coalesce(max(last_seq), 0) FROM documents),
                CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
    ",
    // 21: the rows as known, by validity (issue 16, ADR 0023, "Reading as
    // known then"): a report as known at position P reads today's rows that
    // no rewrite changed since P through its own index, plus the rows valid
    // at P that were changed since (`valid_to` in (P, open)); the rows changed
    // since are the open ones that start after P. Both are ranges of these
    // indexes, which end with the row's key. From this version on, a rewrite
    // versions only the rows it changes (`reports::index::keep_as_known`).
    "
    CREATE INDEX rpt_accounts_hist_valid ON rpt_accounts_hist(valid_to, valid_from, doc_id);
    CREATE INDEX rpt_deals_hist_valid ON rpt_deals_hist(valid_to, valid_from, doc_id, deal_id);
    CREATE INDEX rpt_stage_moves_hist_valid ON rpt_stage_moves_hist(valid_to, valid_from, doc_id, deal_id, n);
    CREATE INDEX rpt_interactions_hist_valid ON rpt_interactions_hist(valid_to, valid_from, doc_id, interaction_id, rep);
    CREATE INDEX rpt_interaction_contacts_hist_valid ON rpt_interaction_contacts_hist(valid_to, valid_from, doc_id, interaction_id, contact_id);
    CREATE INDEX rpt_ladder_moves_hist_valid ON rpt_ladder_moves_hist(valid_to, valid_from, doc_id, move_id);
    CREATE INDEX rpt_lifecycle_moves_hist_valid ON rpt_lifecycle_moves_hist(valid_to, valid_from, doc_id, move_id);
    CREATE INDEX rpt_conflicts_hist_valid ON rpt_conflicts_hist(valid_to, valid_from, doc_id, field);
    ",
    // 22: the late field changes (issue 16, the late-edits report): a change
    // is late for a period when it was made before the period's end and
    // received at or after it. Nearly every change arrives within the hour it
    // was made, so the report reads the changes received within the hour
    // from the last hour before the end (`rpt_field_changes_made`) and the
    // others, a small share, from this partial index over them alone. The
    // expression must stay the one `reports::queries::late` writes.
    "
    CREATE INDEX rpt_field_changes_late
        ON rpt_field_changes(hidden, made_at, received_at, seq, n, owner, team, territory)
        WHERE received_at - made_at >= 3600000;
    ",
    // 23: the late-edits rows follow the log (ADR 0022, amended): the
    // transaction that appends a change records it here, and its
    // `rpt_field_changes` rows are written with the account's reporting
    // rows, off the acknowledgement path. Changes appended before this
    // migration already have their rows.
    "
    CREATE TABLE rpt_changes_pending (
        seq INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL,
        hash BLOB NOT NULL,
        made_at INTEGER NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX rpt_changes_pending_doc ON rpt_changes_pending(doc_id, seq);
    ",
];

/// The schema version a fully migrated database has.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database to the latest schema, one transaction per migration.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if app_id != APPLICATION_ID && !(app_id == 0 && tables == 0) {
        return Err(DbError::NotServerDatabase);
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > latest_version() {
        return Err(DbError::TooNew { found: version, supported: latest_version() });
    }
    if version == 0 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    apply(conn, version.max(0) as usize, MIGRATIONS.len())
}

/// Applies migrations `from..to` (0-based), each in its own transaction.
pub(crate) fn apply(conn: &mut Connection, from: usize, to: usize) -> Result<(), DbError> {
    for (i, sql) in MIGRATIONS.iter().enumerate().take(to).skip(from) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The schema as SQLite reports it, for comparing databases.
    fn dump(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt =
            conn.prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap()
    }

    fn fresh() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    #[test]
    fn every_old_schema_upgrades_to_the_fresh_one() {
        let expected = dump(&fresh());
        for n in 0..MIGRATIONS.len() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.db");
            {
                let mut conn = Connection::open(&path).unwrap();
                conn.pragma_update(None, "application_id", APPLICATION_ID).unwrap();
                apply(&mut conn, 0, n).unwrap();
                if n >= 1 {
                    conn.execute("INSERT INTO documents (id, last_seq) VALUES ('settings', 1)", []).unwrap();
                    conn.execute("INSERT INTO changes (doc_id, actor, bytes) VALUES ('settings', x'01', x'02')", [])
                        .unwrap();
                }
            }
            let mut conn = Connection::open(&path).unwrap();
            migrate(&mut conn).unwrap();
            assert_eq!(dump(&conn), expected, "upgrading from version {n}");
            let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
            assert_eq!(version, latest_version());
            if n >= 1 {
                let kept: i64 = conn.query_row("SELECT count(*) FROM changes", [], |r| r.get(0)).unwrap();
                assert_eq!(kept, 1, "data written at version {n} survives the upgrade");
            }
        }
    }

    #[test]
    fn the_newest_change_of_every_actor_is_filled_in_from_the_kept_change_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID).unwrap();
        apply(&mut conn, 0, 13).unwrap();
        conn.execute_batch(
            "INSERT INTO documents (id, last_seq) VALUES ('a', 3), ('b', 2);
             INSERT INTO changes (doc_id, actor, bytes) VALUES ('a', x'01', x'00'), ('b', x'01', x'00'), ('a', x'02', x'00');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let rows: Vec<(Vec<u8>, i64, String)> = conn
            .prepare("SELECT actor, seq, doc_id FROM actor_newest ORDER BY actor")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, [(vec![1], 2, "b".to_owned()), (vec![2], 3, "a".to_owned())]);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = fresh();
        conn.pragma_update(None, "user_version", latest_version() + 1).unwrap();
        assert!(matches!(migrate(&mut conn), Err(DbError::TooNew { .. })));
    }

    #[test]
    fn a_foreign_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE other (x INTEGER)").unwrap();
        assert!(matches!(migrate(&mut conn), Err(DbError::NotServerDatabase)));
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = fresh();
        let before = dump(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(dump(&conn), before);
    }
}
