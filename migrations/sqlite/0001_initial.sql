-- Users, collections, calendar objects and the per-collection change log.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- kind: 'calendar', 'inbox' or 'outbox'.  path is relative to the calendar
-- home ('event' for /home/<user>/calendar/event/).  modseq is the last change
-- number handed out in this collection; getctag and sync-token derive from it.
CREATE TABLE collections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    path          TEXT NOT NULL,
    kind          TEXT NOT NULL DEFAULT 'calendar',
    displayname   TEXT,
    description   TEXT,
    color         TEXT,
    timezone      TEXT,
    components    TEXT NOT NULL DEFAULT 'VEVENT,VTODO,VJOURNAL',
    dead_props    TEXT NOT NULL DEFAULT '{}',
    modseq        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    UNIQUE (owner_id, path)
);

-- data is the iCalendar text exactly as GET serves it.  span_start/span_end
-- are the UTC seconds the object covers (-2^62 and 2^62 stand for unbounded,
-- so that both bounds stay plain indexed integers), so a time-range
-- query is an index range scan plus an exact check of the candidates.
CREATE TABLE objects (
    id            INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    uid           TEXT NOT NULL,
    component     TEXT NOT NULL,
    etag          TEXT NOT NULL,
    schedule_tag  TEXT,
    data          BLOB NOT NULL,
    modseq        INTEGER NOT NULL,
    span_start    INTEGER NOT NULL,
    span_end      INTEGER NOT NULL,
    modified_at   TEXT NOT NULL,
    UNIQUE (collection_id, name),
    UNIQUE (collection_id, uid)
);
CREATE INDEX objects_span ON objects (collection_id, component, span_start, span_end);

-- One row per resource name and collection: the latest change to it.  A
-- deleted resource keeps its row as a tombstone, so sync-collection reports it.
CREATE TABLE changes (
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    modseq        INTEGER NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (collection_id, name)
);
CREATE INDEX changes_modseq ON changes (collection_id, modseq);
