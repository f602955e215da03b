"""Client-side calls into the engine (workflow starts, updates and queries), shared by the API
routes and the CLI."""
