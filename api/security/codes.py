"""Delivery of one-time login codes, behind a small interface (e-mail, SMS or a log)."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Protocol

log = logging.getLogger("basis.auth.codes")


class CodeSender(Protocol):
    async def send(self, email: str, code: str, ttl_seconds: int) -> None:
        """Deliver ``code`` to ``email``. Raising is allowed: the caller logs it and answers
        the client the same way either way (a failure must not reveal anything)."""
        ...


class LogCodeSender:
    """Writes the code to the API's log: for self-hosted and paper use, where the operator
    reads the log (``state/logs/api.log`` under ``basis up``)."""

    async def send(self, email: str, code: str, ttl_seconds: int) -> None:
        log.warning(
            "one-time code for %s: %s (valid %d minutes)", email, code, max(1, ttl_seconds // 60)
        )


class CapturingCodeSender:
    """Keeps every code it is given, per address (tests, and scripted paper sessions)."""

    def __init__(self) -> None:
        self.sent: defaultdict[str, list[str]] = defaultdict(list)

    async def send(self, email: str, code: str, ttl_seconds: int) -> None:
        self.sent[email].append(code)

    def last(self, email: str) -> str:
        codes = self.sent.get(email.strip().lower())
        if not codes:
            raise LookupError(f"no code was sent to {email}")
        return codes[-1]
