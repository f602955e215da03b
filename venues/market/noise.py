"""Seeded randomness with random access: any instant can be evaluated in any order, in any
process, and gives the same number.

Every random number comes from a ``random.Random`` seeded with a string naming its stream and
block (``"7:premium:482305"``). String seeds are hashed with SHA-512 by the standard library,
independent of ``PYTHONHASHSEED``, so two processes agree bit for bit.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

_BLOCK = 64
K = TypeVar("K")
V = TypeVar("V")


def rng(seed: int, stream: str, block: int) -> random.Random:
    return random.Random(f"{seed}:{stream}:{block}")  # noqa: S311 - simulation, not crypto


class BoundedCache(Generic[K, V]):
    """A dict that forgets everything when it grows past ``limit`` (cheap, and enough for
    caches whose entries are recomputed deterministically)."""

    __slots__ = ("_data", "_limit")

    def __init__(self, limit: int) -> None:
        self._data: dict[K, V] = {}
        self._limit = limit

    def get(self, key: K, make: Callable[[K], V]) -> V:
        hit = self._data.get(key)
        if hit is None:
            hit = make(key)
            if len(self._data) >= self._limit:
                self._data = {}
            self._data[key] = hit
        return hit


class ValueNoise:
    """Gaussian values at knots every ``period`` hours, linearly interpolated: a smooth random
    wander with correlation over about one period. ``at(x)`` takes absolute hours."""

    __slots__ = ("_blocks", "_period", "_seed", "_sigma", "_stream")

    def __init__(self, seed: int, stream: str, period: float, sigma: float) -> None:
        self._seed = seed
        self._stream = stream
        self._period = period
        self._sigma = sigma
        self._blocks: BoundedCache[int, list[float]] = BoundedCache(4096)

    def _block(self, b: int) -> list[float]:
        r = rng(self._seed, self._stream, b)
        return [r.gauss(0.0, self._sigma) for _ in range(_BLOCK)]

    def knot(self, k: int) -> float:
        if self._sigma == 0.0:
            return 0.0
        b, i = divmod(k, _BLOCK)
        return self._blocks.get(b, self._block)[i]

    def at(self, hours: float) -> float:
        x = hours / self._period
        k = math.floor(x)
        frac = x - k
        v0 = self.knot(k)
        return v0 + (self.knot(k + 1) - v0) * frac if frac else v0


class RandomWalk:
    """A walk on a per-minute grid from an origin, generated in day blocks.

    ``steps(day)`` must return 1,440 increments for that day (deterministic in ``day``). The
    walk is 0 at the origin; before it the increments are subtracted, so the history before a
    scenario's start is as random as the future."""

    __slots__ = ("_ends", "_hi", "_lo", "_lock", "_prefix", "_steps")

    def __init__(self, steps: Callable[[int], list[float]]) -> None:
        self._steps = steps
        self._prefix: BoundedCache[int, list[float]] = BoundedCache(96)
        self._ends: dict[int, float] = {0: 0.0}  # walk value at the start of each day
        self._lo = 0
        self._hi = 0
        self._lock = threading.Lock()

    def _prefix_of(self, day: int) -> list[float]:
        def make(d: int) -> list[float]:
            acc = 0.0
            out = [0.0]
            for s in self._steps(d):
                acc += s
                out.append(acc)
            return out

        return self._prefix.get(day, make)

    def _day_start(self, day: int) -> float:
        known = self._ends.get(day)
        if known is not None:
            return known
        with self._lock:
            while self._hi < day:
                self._ends[self._hi + 1] = self._ends[self._hi] + self._prefix_of(self._hi)[-1]
                self._hi += 1
            while self._lo > day:
                self._ends[self._lo - 1] = self._ends[self._lo] - self._prefix_of(self._lo - 1)[-1]
                self._lo -= 1
        return self._ends[day]

    def at(self, minutes: float) -> float:
        day = math.floor(minutes / 1440.0)
        within = minutes - day * 1440.0
        whole = int(within)
        prefix = self._prefix_of(day)
        value = self._day_start(day) + prefix[whole]
        frac = within - whole
        if frac and whole < 1440:
            value += (prefix[whole + 1] - prefix[whole]) * frac
        return value
