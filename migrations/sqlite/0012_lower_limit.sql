-- A series that began long ago is kept in the time table from a lower limit
-- (domain.time_index.LOWER_LIMIT) rather than from its first instance:
-- indexed_from is that limit, NULL when every instance is kept.  Objects
-- kept from a limit later than a query's start are found through the first
-- partial index (few: only such series) and parsed when no row of theirs
-- is in the range.  Rows written before keep every instance: NULL.
ALTER TABLE objects ADD COLUMN indexed_from INTEGER;
CREATE INDEX objects_indexed_from ON objects (collection_id, component, indexed_from)
    WHERE indexed_from IS NOT NULL;
-- Series kept to a horizon (indexed_until neither BEYOND nor NOT_INDEXED of
-- domain.time_index), by how far: the server keeps them ahead of time
-- (services.time_ranges.keep_ahead) instead of a query parsing them.
CREATE INDEX objects_horizon ON objects (indexed_until, id)
    WHERE indexed_until > -4611686018427387904 AND indexed_until < 4611686018427387904;
