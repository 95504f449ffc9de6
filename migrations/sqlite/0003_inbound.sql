-- Inbound mail, stored raw before the listener answers 250 (or `ingest`
-- exits 0), then processed by a job.  state: received | applied | refused.
CREATE TABLE inbound_messages (
    id             INTEGER PRIMARY KEY,
    received_at    TEXT NOT NULL,
    via            TEXT NOT NULL,
    envelope_from  TEXT,
    envelope_to    TEXT NOT NULL,
    message_id     TEXT,
    size           INTEGER NOT NULL,
    raw            BLOB NOT NULL,
    state          TEXT NOT NULL DEFAULT 'received',
    reason         TEXT,
    method         TEXT,
    uid            TEXT,
    attendee       TEXT,
    processed_at   TEXT
);
CREATE INDEX inbound_state ON inbound_messages (state, id);
CREATE INDEX inbound_uid ON inbound_messages (uid);
