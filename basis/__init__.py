"""Cross-cutting plumbing of Asgard Basis: configuration, database, Temporal, logging, the CLI
and the embedded-stack supervisor."""
