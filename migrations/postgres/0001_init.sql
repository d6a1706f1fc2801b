-- Keyward schema, version 1: people, workspaces, sessions, tokens, audit, usage.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE workspaces (
    id                BIGSERIAL PRIMARY KEY,
    name              TEXT NOT NULL,
    slug              TEXT NOT NULL,
    plan              TEXT NOT NULL DEFAULT '',
    attribute_catalog TEXT NOT NULL DEFAULT '[]',
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX workspaces_slug_key ON workspaces (slug);

CREATE TABLE memberships (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX memberships_workspace_user_key ON memberships (workspace_id, user_id);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data         TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE audit_events (
    id           BIGSERIAL PRIMARY KEY,
    workspace_id BIGINT,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    actor_label  TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    target_type  TEXT NOT NULL DEFAULT '',
    target_id    TEXT NOT NULL DEFAULT '',
    target_label TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_events_workspace_idx ON audit_events (workspace_id, created_at);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id, created_at);
CREATE INDEX audit_events_action_idx ON audit_events (action, created_at);

CREATE TABLE tokens (
    id                  BIGSERIAL PRIMARY KEY,
    public_id           TEXT NOT NULL,
    workspace_id        BIGINT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    type                TEXT NOT NULL,
    prefix              TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    created_by_id       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_by_label    TEXT NOT NULL DEFAULT '',
    secret_hash         TEXT NOT NULL,
    last4               TEXT NOT NULL,
    scopes              TEXT NOT NULL DEFAULT '[]',
    ip_allowlist        TEXT NOT NULL DEFAULT '',
    exposed_attributes  TEXT NOT NULL DEFAULT '[]',
    linking_attribute   TEXT NOT NULL DEFAULT '',
    rate_daily          INTEGER NOT NULL DEFAULT 0,
    rate_per_minute     INTEGER NOT NULL DEFAULT 0,
    expires_at          TIMESTAMPTZ,
    terms_accepted_at   TIMESTAMPTZ,
    previous_hash       TEXT NOT NULL DEFAULT '',
    previous_valid_until TIMESTAMPTZ,
    last_used_at        TIMESTAMPTZ,
    last_used_ip        TEXT NOT NULL DEFAULT '',
    recent_ips          TEXT NOT NULL DEFAULT '[]',
    revoked_at          TIMESTAMPTZ,
    revoked_by_label    TEXT NOT NULL DEFAULT '',
    revoked_reason      TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX tokens_public_id_key ON tokens (public_id);
CREATE INDEX tokens_workspace_idx ON tokens (workspace_id, created_at);
CREATE INDEX tokens_creator_idx ON tokens (created_by_id);
CREATE INDEX tokens_expires_idx ON tokens (expires_at);

CREATE TABLE usage_counters (
    token_id BIGINT NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    day      TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    count    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (token_id, day, endpoint, outcome)
);
