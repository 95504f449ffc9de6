-- RFC 4791 5.2.3: a calendar created without a supported-calendar-component-set
-- takes every component type the server stores, which now includes VFREEBUSY
-- and VAVAILABILITY (RFC 7953).  Calendars that were given the old default
-- (every calendar created without the property, the users' default calendars
-- among them) take them all from now on.
UPDATE collections SET components = 'VEVENT,VTODO,VJOURNAL,VFREEBUSY,VAVAILABILITY'
 WHERE kind = 'calendar' AND components = 'VEVENT,VTODO,VJOURNAL';
