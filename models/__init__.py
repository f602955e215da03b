"""Domain types, workflow messages and database tables. Pure: no I/O, no clock."""
