"""Rate limiting: a token bucket per key (IP or user), in-process by default, behind an
interface a shared store (Redis) can implement for a multi-instance deployment."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: float
    """Seconds until one more request would be allowed (0 when allowed)."""


class RateLimiter(Protocol):
    def hit(self, key: str, *, rate: float, burst: int) -> Verdict: ...


class InProcessRateLimiter:
    """Token buckets in memory, least-recently-used keys evicted past ``max_keys``."""

    def __init__(
        self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    def hit(self, key: str, *, rate: float, burst: int) -> Verdict:
        """``rate`` tokens per second refill a bucket of ``burst``; each hit takes one."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                verdict = Verdict(True, 0.0)
            else:
                self._buckets[key] = (tokens, now)
                verdict = Verdict(False, (1.0 - tokens) / rate)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return verdict
