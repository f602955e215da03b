"""Authentication primitives: sessions with CSRF binding, one-time codes, API tokens, Privy
token verification and rate limiting. Pure functions and small classes; storage lives in the
routes' services."""
