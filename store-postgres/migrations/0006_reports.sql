-- The reporting index (ADR 0033): each account's reportable facts as rows,
-- projected from the document by the code every backend shares
-- (`rapport_server_store::report_rows`) and rewritten in the transaction
-- that logs a change to it. The same tables and columns as the server's
-- SQLite file; a flag is a boolean here. Every fact table `rpt_X` has a
-- `rpt_X_hist` with the same columns and the log range
-- [valid_from, valid_to) over which the row was the account's current row
-- (ADR 0023); a current row has valid_to = 9223372036854775807.
CREATE TABLE rpt_accounts (
    doc_id      text PRIMARY KEY,
    name        text NOT NULL,
    owner       text,
    team        text,
    territory   text,
    hidden      boolean NOT NULL,
    tier        text NOT NULL,
    rung        text NOT NULL,
    phase       text NOT NULL,
    status      text NOT NULL,
    end_reason  text,
    ended_phase text,
    ended_on    text,
    last_touch  bigint,
    open_deals  bigint NOT NULL,
    -- SHA-256 of the projected rows: an edit that leaves them as they were skips the rewrite.
    digest      bytea
);
CREATE INDEX rpt_accounts_owner ON rpt_accounts (hidden, owner, team, territory, open_deals);
CREATE INDEX rpt_accounts_name ON rpt_accounts (hidden, name, doc_id, owner, team, territory);
CREATE INDEX rpt_accounts_rung ON rpt_accounts (hidden, rung, owner, team, territory);
CREATE INDEX rpt_accounts_phase ON rpt_accounts (hidden, phase, owner, team, territory);
CREATE INDEX rpt_accounts_ended ON rpt_accounts (hidden, ended_on, end_reason, ended_phase, owner, team, territory);
CREATE INDEX rpt_accounts_risk ON rpt_accounts (hidden, tier, status, last_touch, name, doc_id, owner, team, territory);

CREATE TABLE rpt_deals (
    doc_id           text NOT NULL,
    deal_id          text NOT NULL,
    name             text NOT NULL,
    owner            text,
    team             text,
    territory        text,
    hidden           boolean NOT NULL,
    last_touch       bigint,
    stage            text NOT NULL,
    amount_minor     bigint NOT NULL,
    currency         text NOT NULL,
    probability      bigint NOT NULL,
    forecast         text NOT NULL,
    outcome          text NOT NULL,
    lost_reason      text,
    expected_close   text,
    stage_changed_at bigint,
    created_at       bigint,
    title            text,
    next_step        text,
    PRIMARY KEY (doc_id, deal_id)
);
CREATE INDEX rpt_deals_pipeline
    ON rpt_deals (hidden, outcome, currency, amount_minor, probability, expected_close, owner, team, territory);
CREATE INDEX rpt_deals_stage ON rpt_deals (hidden, stage, currency, amount_minor, expected_close, owner, team, territory);
CREATE INDEX rpt_deals_changed ON rpt_deals (hidden, outcome, stage_changed_at, doc_id, deal_id);
CREATE INDEX rpt_deals_close ON rpt_deals (hidden, outcome, expected_close, doc_id, deal_id);

CREATE TABLE rpt_stage_moves (
    doc_id     text NOT NULL,
    deal_id    text NOT NULL,
    n          bigint NOT NULL,
    owner      text,
    team       text,
    territory  text,
    hidden     boolean NOT NULL,
    from_stage text,
    to_stage   text NOT NULL,
    at         bigint NOT NULL,
    week_start bigint NOT NULL,
    prev_day   bigint NOT NULL,
    by         text NOT NULL,
    PRIMARY KEY (doc_id, deal_id, n)
);
CREATE INDEX rpt_stage_moves_at ON rpt_stage_moves (hidden, at, from_stage, to_stage, prev_day, owner, team, territory);
CREATE INDEX rpt_stage_moves_territory ON rpt_stage_moves (territory, hidden, at);

CREATE TABLE rpt_interactions (
    doc_id         text NOT NULL,
    interaction_id text NOT NULL,
    rep            text NOT NULL,
    owner          text,
    team           text,
    territory      text,
    hidden         boolean NOT NULL,
    kind           text NOT NULL,
    status         text NOT NULL,
    planned_start  bigint,
    actual_start   bigint,
    at             bigint NOT NULL,
    week           text NOT NULL,
    week_start     bigint NOT NULL,
    contacts       bigint NOT NULL,
    PRIMARY KEY (doc_id, interaction_id, rep)
);
CREATE INDEX rpt_interactions_doc ON rpt_interactions (doc_id, status, at);
CREATE INDEX rpt_interactions_at ON rpt_interactions (hidden, status, at, rep, kind, week, owner, team, territory);
CREATE INDEX rpt_interactions_rep ON rpt_interactions (hidden, status, rep, at, owner, team, territory);
CREATE INDEX rpt_interactions_territory ON rpt_interactions (territory, hidden, status, at);

CREATE TABLE rpt_interaction_contacts (
    doc_id         text NOT NULL,
    interaction_id text NOT NULL,
    contact_id     text NOT NULL,
    PRIMARY KEY (doc_id, interaction_id, contact_id)
);

CREATE TABLE rpt_ladder_moves (
    doc_id    text NOT NULL,
    move_id   text NOT NULL,
    owner     text,
    team      text,
    territory text,
    hidden    boolean NOT NULL,
    from_rung text NOT NULL,
    to_rung   text NOT NULL,
    up        boolean NOT NULL,
    at        bigint NOT NULL,
    PRIMARY KEY (doc_id, move_id)
);
CREATE INDEX rpt_ladder_moves_rung ON rpt_ladder_moves (hidden, from_rung, at, up, owner, team, territory);

CREATE TABLE rpt_lifecycle_moves (
    doc_id     text NOT NULL,
    move_id    text NOT NULL,
    owner      text,
    team       text,
    territory  text,
    hidden     boolean NOT NULL,
    from_phase text NOT NULL,
    to_phase   text NOT NULL,
    at         bigint NOT NULL,
    PRIMARY KEY (doc_id, move_id)
);

CREATE TABLE rpt_conflicts (
    doc_id     text NOT NULL,
    field      text NOT NULL,
    name       text NOT NULL,
    owner      text,
    team       text,
    territory  text,
    hidden     boolean NOT NULL,
    n_values   bigint NOT NULL,
    shown      text NOT NULL,
    value_list text NOT NULL,
    newest_at  bigint NOT NULL,
    PRIMARY KEY (doc_id, field)
);
CREATE INDEX rpt_conflicts_newest ON rpt_conflicts (hidden, newest_at DESC, doc_id, field);

-- The rollups, kept in step by every rewrite: held interactions per rep ×
-- kind × week, stage moves per from → to × week.
CREATE TABLE rpt_activity (
    hidden     boolean NOT NULL,
    rep        text NOT NULL,
    kind       text NOT NULL,
    week_start bigint NOT NULL,
    team       text NOT NULL,
    owner      text NOT NULL,
    week       text NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (hidden, rep, kind, week_start, team, owner)
);
CREATE TABLE rpt_stage_flow (
    hidden     boolean NOT NULL,
    team       text NOT NULL,
    owner      text NOT NULL,
    from_stage text NOT NULL,
    to_stage   text NOT NULL,
    week_start bigint NOT NULL,
    prev_day   bigint NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (hidden, team, owner, from_stage, to_stage, week_start, prev_day)
);

-- The rows as known (ADR 0023): the fact tables' columns (without the
-- digest) and the log range over which each row was current.
CREATE TABLE rpt_accounts_hist AS
    SELECT doc_id, name, owner, team, territory, hidden, tier, rung, phase, status, end_reason, ended_phase,
           ended_on, last_touch, open_deals, 0::bigint AS valid_from, 0::bigint AS valid_to
    FROM rpt_accounts WITH NO DATA;
CREATE TABLE rpt_deals_hist AS SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_deals WITH NO DATA;
CREATE TABLE rpt_stage_moves_hist AS
    SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_stage_moves WITH NO DATA;
CREATE TABLE rpt_interactions_hist AS
    SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_interactions WITH NO DATA;
CREATE TABLE rpt_interaction_contacts_hist AS
    SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_interaction_contacts WITH NO DATA;
CREATE TABLE rpt_ladder_moves_hist AS
    SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_ladder_moves WITH NO DATA;
CREATE TABLE rpt_lifecycle_moves_hist AS
    SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_lifecycle_moves WITH NO DATA;
CREATE TABLE rpt_conflicts_hist AS
    SELECT *, 0::bigint AS valid_from, 0::bigint AS valid_to FROM rpt_conflicts WITH NO DATA;
CREATE INDEX rpt_accounts_hist_doc ON rpt_accounts_hist (doc_id, valid_to);
CREATE INDEX rpt_deals_hist_doc ON rpt_deals_hist (doc_id, valid_to);
CREATE INDEX rpt_stage_moves_hist_doc ON rpt_stage_moves_hist (doc_id, valid_to);
CREATE INDEX rpt_interactions_hist_doc ON rpt_interactions_hist (doc_id, valid_to);
CREATE INDEX rpt_interaction_contacts_hist_doc ON rpt_interaction_contacts_hist (doc_id, valid_to);
CREATE INDEX rpt_ladder_moves_hist_doc ON rpt_ladder_moves_hist (doc_id, valid_to);
CREATE INDEX rpt_lifecycle_moves_hist_doc ON rpt_lifecycle_moves_hist (doc_id, valid_to);
CREATE INDEX rpt_conflicts_hist_doc ON rpt_conflicts_hist (doc_id, valid_to);
CREATE INDEX rpt_accounts_hist_valid ON rpt_accounts_hist (valid_to, valid_from, doc_id);
CREATE INDEX rpt_deals_hist_valid ON rpt_deals_hist (valid_to, valid_from, doc_id, deal_id);
CREATE INDEX rpt_stage_moves_hist_valid ON rpt_stage_moves_hist (valid_to, valid_from, doc_id, deal_id, n);
CREATE INDEX rpt_interactions_hist_valid ON rpt_interactions_hist (valid_to, valid_from, doc_id, interaction_id, rep);
CREATE INDEX rpt_interaction_contacts_hist_valid
    ON rpt_interaction_contacts_hist (valid_to, valid_from, doc_id, interaction_id, contact_id);
CREATE INDEX rpt_ladder_moves_hist_valid ON rpt_ladder_moves_hist (valid_to, valid_from, doc_id, move_id);
CREATE INDEX rpt_lifecycle_moves_hist_valid ON rpt_lifecycle_moves_hist (valid_to, valid_from, doc_id, move_id);
CREATE INDEX rpt_conflicts_hist_valid ON rpt_conflicts_hist (valid_to, valid_from, doc_id, field);
