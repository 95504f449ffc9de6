"""The database layer: the only package that holds SQL.

``db`` owns the connections (one serialised writer, a few read-only readers),
``migrate`` the schema, and one repository module per table family returns
frozen rows.  Nothing here knows about HTTP, iCalendar semantics or mail.
"""
