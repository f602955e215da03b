"""Pure, deterministic trading math: no I/O, no clock, ``Decimal`` for money."""
