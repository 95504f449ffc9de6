-- The durable job queue, reply tokens, the iTIP history and SEQUENCE marks.

-- Jobs are written in the same transaction as the change that causes them
-- (transactional outbox).  state: pending | running | retrying | done | failed.
-- A running job whose lease (locked_until) has passed is taken up again.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    run_after     INTEGER NOT NULL,
    locked_until  INTEGER,
    locked_by     TEXT,
    last_error    TEXT,
    uid           TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, run_after);
CREATE INDEX jobs_uid ON jobs (uid);

-- One token per (organizer, event UID, attendee): the reply address of that
-- attendee for that event.  Revoked tokens are kept so a late reply is
-- refused with a clear reason rather than as unknown.
CREATE TABLE imip_tokens (
    token         TEXT PRIMARY KEY,
    owner_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    attendee      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    UNIQUE (owner_id, uid, attendee)
);

-- Every iTIP message sent or received for an event, with its outcome.
-- direction: out | in.  state: queued | sent | retrying | failed | skipped |
-- applied | refused.
CREATE TABLE itip_log (
    id            INTEGER PRIMARY KEY,
    owner_id      INTEGER REFERENCES users (id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    direction     TEXT NOT NULL,
    method        TEXT NOT NULL,
    peer          TEXT NOT NULL,
    sequence      INTEGER,
    job_id        INTEGER,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    detail        TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX itip_log_uid ON itip_log (uid, id);
CREATE INDEX itip_log_job ON itip_log (job_id);

-- The highest SEQUENCE ever sent for an organizer's UID, so an event created
-- again after a delete goes out above every earlier CANCEL.
CREATE TABLE sequence_marks (
    owner_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uid           TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    PRIMARY KEY (owner_id, uid)
);
