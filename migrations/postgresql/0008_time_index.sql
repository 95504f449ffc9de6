-- Twin of SQLite's 0008_time_index.sql: the rest of the time index
-- (domain.time_index) beside objects.instances, as little-endian int64
-- values: zone-less instances as wall-clock seconds, busy time for
-- free-busy, and how far the index answers.  indexed_until is NULL for
-- rows written before: the first query that meets such a row parses it and
-- stores its index (services.time_index.refresh).
ALTER TABLE objects ADD COLUMN floating BYTEA;
ALTER TABLE objects ADD COLUMN busy BYTEA;
ALTER TABLE objects ADD COLUMN indexed_until BIGINT;
