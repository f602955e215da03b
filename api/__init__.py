"""The HTTP API: thin, it validates, authenticates, reads the database and starts, signals,
updates or queries workflows. It never calls a venue to trade."""
