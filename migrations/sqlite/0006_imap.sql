-- Messages read from a mailbox over IMAP remember where they came from,
-- "<account>/<mailbox>;<UIDVALIDITY>:<UID>", so a message stored and not
-- yet moved when the process died is not stored (and applied) twice.
-- A changed UIDVALIDITY renumbers a mailbox: then the Message-ID of what
-- came over IMAP before decides.
ALTER TABLE inbound_messages ADD COLUMN origin TEXT;
CREATE UNIQUE INDEX inbound_origin ON inbound_messages (origin) WHERE origin IS NOT NULL;
CREATE INDEX inbound_imap_message_id ON inbound_messages (message_id) WHERE via = 'imap';

-- Work only one process may do at a time (reading the IMAP mailbox): the
-- holder renews its lease while it works; another takes it once it lapsed.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  REAL NOT NULL
);
