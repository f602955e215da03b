"""Nonces for signed actions.

The venue keeps the 100 highest nonces per signer and refuses a repeat, so two actions signed
in the same millisecond by the same key would collide. ``NonceSource`` hands out wall-clock
milliseconds, bumped past the last one it gave that signer. Share one source per process (the
``HyperliquidVenue`` holds it); separate processes signing for the same key rely on the
venue's ``Invalid nonce`` answer, which the client reports as retryable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceSource:
    def __init__(self, now_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._now_ms = now_ms
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, signer: str) -> int:
        key = signer.lower()
        with self._lock:
            nonce = max(self._now_ms(), self._last.get(key, 0) + 1)
            self._last[key] = nonce
            return nonce
