"""Authentication primitives: sessions with CSRF binding, one-time codes and their delivery,
API tokens, Privy token verification and rate limiting. Pure functions and small classes;
storage lives in ``api.services``."""
