-- The UTC (start, end) seconds of every instance of an event whose
-- instances alone decide a plain VEVENT time-range filter, as
-- "start end start end ..."; NULL when the object must be checked by
-- parsing it (all-day or floating times, other components, long series,
-- rows written before this column).  calendar-query reads it instead of
-- parsing each candidate.
ALTER TABLE objects ADD COLUMN instances TEXT;
