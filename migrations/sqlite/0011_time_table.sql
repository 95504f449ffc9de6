-- The time table: one row per indexed instance of an object
-- (domain.time_index.InstanceRow), so that a time-range query reads the
-- instances in its range, not every object whose span might hold one (a
-- series without end is a candidate for every range).  is_long marks rows
-- lasting more than eight days: the scan of the others starts eight days
-- before the range.  code, wall_first and wall_second are set for
-- zone-less (all-day, floating) instances, read in the query's zone.
CREATE TABLE object_instances (
    id            INTEGER PRIMARY KEY,
    object_id     INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL,
    component     TEXT NOT NULL,
    is_long       INTEGER NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    fbtype        INTEGER NOT NULL,
    code          INTEGER,
    wall_first    INTEGER,
    wall_second   INTEGER
);
-- Covering: a query's scan never reads the table itself.
CREATE INDEX object_instances_time ON object_instances
    (collection_id, component, is_long, starts_at, ends_at, object_id, code, wall_first, wall_second, fbtype);
CREATE INDEX object_instances_object ON object_instances (object_id);
-- Objects whose rows do not answer every range (written before, or a
-- series kept to a horizon) are found by how far they answer.
CREATE INDEX objects_indexed_until ON objects (collection_id, component, indexed_until);
-- Objects not indexed yet (all of them, right after this migration): the
-- server indexes them in the background (services.time_ranges.catch_up),
-- and a query meeting one first parses it, as before.
CREATE INDEX objects_unindexed ON objects (id) WHERE indexed_until IS NULL;
-- The per-object forms of 0005 and 0008 are replaced by the table.
UPDATE objects SET indexed_until = NULL;
ALTER TABLE objects DROP COLUMN instances;
ALTER TABLE objects DROP COLUMN floating;
ALTER TABLE objects DROP COLUMN busy;
