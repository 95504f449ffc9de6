-- Secrets the server makes for itself, shared by every process on this
-- database and kept across restarts (the RSVP pages sign their forms with
-- one).  Created on first use; never sent anywhere.
CREATE TABLE server_secrets (
    name          TEXT PRIMARY KEY,
    value         TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
