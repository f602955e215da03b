"""A simulated clock: real time scaled by ``speed`` from an origin, plus manual jumps.

Emulators read time only through this, so a test can run several hours of funding in seconds
(``speed``) or jump straight to the next funding hour (``advance``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        *,
        monotonic: object = time.monotonic,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._mono = monotonic
        self._lock = threading.Lock()
        self._origin = start if start is not None else datetime.now(UTC)
        if self._origin.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._mono0: float = self._mono()  # type: ignore[operator]
        self._speed = speed
        self._offset = timedelta(0)

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        with self._lock:
            elapsed = (self._mono() - self._mono0) * self._speed  # type: ignore[operator]
            return self._origin + self._offset + timedelta(seconds=elapsed)

    def advance(self, delta: timedelta) -> datetime:
        """Jump forward (never back: venues' history must stay monotonic)."""
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += delta
        return self.now()

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        now = self.now()
        with self._lock:
            self._origin, self._offset = now, timedelta(0)
            self._mono0 = self._mono()  # type: ignore[operator]
            self._speed = speed
