-- What a listing of simple properties (a time-range query asking for ETags)
-- reads of each object, kept in one index: its name, ETag, size and date.
-- The objects' own rows hold their data, a handful to a page, so a week's
-- listing read from them touches a page per object; this index holds a
-- hundred or more to a page.  store.objects.listed_in_window_blocking
-- names it (INDEXED BY): the planner would take the table for an id.
CREATE INDEX objects_listing ON objects (id, name, etag, length(data), modified_at);
