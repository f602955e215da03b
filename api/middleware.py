"""Pure ASGI middleware (no BaseHTTPMiddleware, so streaming responses such as server-sent
events pass through untouched): request id + access log, security headers, the per-IP rate
limit and the body size limit."""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.security.ratelimit import RateLimiter
from basis.logging import correlation_id
from models.errors import spec

log = logging.getLogger("basis.api.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
# The interactive docs load their scripts from a CDN: they get a laxer policy than the API.
_API_CSP = b"default-src 'none'; frame-ancestors 'none'"
_DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


class RequestContextMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if well-formed), returns it in
    the response, logs one structured access line, and adds the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        token = correlation_id.set(request_id)
        started = time.perf_counter()
        status = 500
        path: str = scope["path"]

        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(SECURITY_HEADERS)
                if not path.endswith(_DOCS_PATHS):
                    headers.append((b"content-security-policy", _API_CSP))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # Answered here rather than by the framework's outermost handler, so that even a
            # 500 carries the request id and the security headers. Never the internals.
            log.exception("unhandled error")
            if started_response:
                raise
            await send_error(send_wrapper, "GEN-0001", spec("GEN-0001").message)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            correlation_id.reset(token)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``max_bytes`` (declared or streamed) with the GEN-0006 envelope."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            if refused:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, "GEN-0006", f"request body exceeds {self.max_bytes} bytes")


class _BodyTooLarge(Exception):
    pass


class RateLimitMiddleware:
    """A token bucket per client IP, before any route runs (the per-user limit applies once
    the caller is known, in ``api.auth``). Health probes are exempt: an orchestrator polls
    them from one address."""

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        *,
        rate: float,
        burst: int,
        exempt_prefix: str | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.rate = rate
        self.burst = burst
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            self.exempt_prefix is not None and scope["path"].startswith(self.exempt_prefix)
        ):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        verdict = self.limiter.hit(f"ip:{ip}", rate=self.rate, burst=self.burst)
        if not verdict.allowed:
            wait = str(max(1, math.ceil(verdict.retry_after)))
            await send_error(
                send, "GEN-0007", "too many requests", [(b"retry-after", wait.encode())]
            )
            return
        await self.app(scope, receive, send)


async def send_error(
    send: Send, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Answer with the error envelope from below the routing layer."""
    s = spec(code)
    body = json.dumps(
        {
            "error": {
                "code": s.code,
                "message": message,
                "category": s.category.value,
                "http_status": s.http_status,
            },
            "request_id": correlation_id.get(),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": s.http_status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})
