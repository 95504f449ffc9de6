-- Whether a user also wants invitations by mail when they are delivered to
-- their calendar on this server (RFC 6638 local delivery).
ALTER TABLE users ADD COLUMN also_email INTEGER NOT NULL DEFAULT 0;
