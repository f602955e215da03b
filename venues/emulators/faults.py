"""Fault injection shared by the venue emulators.

A test or scenario installs ``FaultRule``s (in-process, or through an emulator's
``/admin/faults`` endpoint); the emulator asks ``FaultInjector.pick(point)`` at each injection
point and acts on the rule it gets. Points are named ``<surface>:<name>``, for example
``exchange:order``, ``info:clearinghouseState``, ``asgard:create-position``,
``rpc:sendTransaction``; a rule's ``match`` is a glob over them (``exchange:*``).

Kinds (what each emulator does with them is documented beside its injection points):
- ``latency``: wait ``delay_s`` then serve normally.
- ``http_error``: answer ``status`` (5xx or 429) without acting.
- ``timeout``: hold the request ``delay_s`` (longer than the client waits), without acting.
- ``lost_response``: act, then drop the connection, so the client cannot know it worked.
- ``slow_response``: act, then hold the answer ``delay_s`` before sending it (a crash of the
  caller in that window is a crash after the venue acted, before the caller heard).
- ``partial_fill``: fill only ``fraction`` of an order (Hyperliquid).
- ``drop_tx`` / ``tx_error`` / ``slow_confirm`` / ``expire_blockhash`` /
  ``submit_timeout_after_landing``: Solana transaction faults (Asgard emulator).
- ``logical_error``: a venue-specific business rejection (Asgard 422).
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "latency",
    "http_error",
    "timeout",
    "lost_response",
    "slow_response",
    "partial_fill",
    "drop_tx",
    "tx_error",
    "slow_confirm",
    "expire_blockhash",
    "submit_timeout_after_landing",
    "logical_error",
]


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    match: str = "*"
    """Glob over injection points, e.g. ``exchange:order`` or ``rpc:*``."""
    status: int | None = Field(default=None, ge=400, le=599)
    delay_s: float = Field(default=0.0, ge=0, le=600)
    count: int | None = Field(default=None, ge=1)
    """How many times the rule fires; None = until cleared."""
    probability: float = Field(default=1.0, ge=0, le=1)
    params: dict[str, Any] = Field(default_factory=dict)
    """Kind-specific parameters, e.g. ``{"fraction": "0.4"}`` for partial fills."""


@dataclass
class _Installed:
    rule: FaultRule
    remaining: int | None
    fired: int = 0


@dataclass
class FaultInjector:
    """Thread-safe, seeded (so a faulted run replays the same way)."""

    seed: int = 0
    _rules: list[_Installed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault sampling, not crypto

    def add(self, *rules: FaultRule) -> None:
        with self._lock:
            self._rules.extend(_Installed(r, r.count) for r in rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._rng = random.Random(seed)  # noqa: S311

    def pick(self, point: str, kinds: set[str] | None = None) -> FaultRule | None:
        """The first matching rule that fires at ``point`` (consuming one of its count)."""
        with self._lock:
            for inst in self._rules:
                r = inst.rule
                if kinds is not None and r.kind not in kinds:
                    continue
                if inst.remaining == 0 or not fnmatch.fnmatchcase(point, r.match):
                    continue
                if r.probability < 1.0 and self._rng.random() >= r.probability:
                    continue
                if inst.remaining is not None:
                    inst.remaining -= 1
                inst.fired += 1
                return r
            return None

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"rule": i.rule.model_dump(), "remaining": i.remaining, "fired": i.fired}
                for i in self._rules
            ]
