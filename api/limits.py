"""Rate limits from routes and dependencies: a refused hit answers 429 with ``Retry-After``.
The limiter itself (in-process, or a shared store) is ``app.state.limiter``."""

from __future__ import annotations

import hashlib
import math

from fastapi import Request

from api.errors import ApiError
from api.security.ratelimit import RateLimiter, Verdict


def retry_after(verdict: Verdict) -> str:
    return str(max(1, math.ceil(verdict.retry_after)))


def enforce(
    request: Request,
    key: str,
    *,
    rate: float,
    burst: int,
    code: str = "GEN-0007",
    message: str = "too many requests",
) -> None:
    limiter: RateLimiter = request.app.state.limiter
    verdict = limiter.hit(key, rate=rate, burst=burst)
    if not verdict.allowed:
        raise ApiError(code, message, headers={"Retry-After": retry_after(verdict)})


def client_ip(request: Request) -> str:
    """The peer address (uvicorn puts the real client here when it trusts the proxy's
    forwarding headers: ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


def private_key(kind: str, value: str) -> str:
    """A limiter key that does not carry the value itself (an address in a shared store)."""
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"
