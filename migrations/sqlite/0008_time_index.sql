-- The rest of the time index (domain.time_index) beside objects.instances:
-- instances with zone-less values (all-day, floating) as wall-clock
-- seconds, busy time for free-busy, and how far the index answers
-- (series without end are kept up to a horizon).  indexed_until is NULL
-- for rows written before: the first query that meets such a row parses
-- it, as before, and stores its index (services.time_index.refresh).
ALTER TABLE objects ADD COLUMN floating BLOB;
ALTER TABLE objects ADD COLUMN busy BLOB;
ALTER TABLE objects ADD COLUMN indexed_until INTEGER;
