"""Running the synchronous SDK off the event loop, and translating what it raises.

The SDK (``requests`` underneath) raises ``ClientError`` for 4xx, ``ServerError`` for 5xx and
lets ``requests`` exceptions through; ``{"status": "err"}`` bodies are returned, not raised.
Every failure becomes a ``HyperliquidError``; transport errors carry ``maybe_applied`` so a
caller sending a non-idempotent action knows whether the venue may have acted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import requests
from hyperliquid.utils import error as sdk_error

from venues.hyperliquid.errors import (
    ConnectionFailed,
    HyperliquidError,
    RateLimited,
    RequestRejected,
    ServerError,
    Timeout,
)
from venues.hyperliquid.parse import BadResponse


def translate(exc: BaseException) -> HyperliquidError:
    if isinstance(exc, HyperliquidError):
        return exc
    if isinstance(exc, sdk_error.ClientError):
        message = str(exc.error_message)
        if exc.status_code == 429:
            return RateLimited(
                f"rate limited: {message}", venue_message=message, maybe_applied=False
            )
        return RequestRejected(f"HTTP {exc.status_code}: {message}", venue_message=message)
    if isinstance(exc, sdk_error.ServerError):
        text = str(exc.message)[:500]
        return ServerError(f"HTTP {exc.status_code}: {text}", status=exc.status_code)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ConnectionFailed(f"connect timeout: {exc}", maybe_applied=False)
    if isinstance(exc, requests.exceptions.Timeout):
        return Timeout(f"no answer in time: {exc}")
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return ConnectionFailed(f"connection refused: {exc}", maybe_applied=False)
    if isinstance(exc, requests.exceptions.RequestException):
        # Reset or dropped mid-request/response: the request may have been processed.
        return ConnectionFailed(f"connection lost: {exc}")
    raise exc


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    inner = getattr(reason, "reason", None)
    name = type(inner).__name__ if inner is not None else type(reason).__name__
    return name in {"NewConnectionError", "ConnectTimeoutError", "NameResolutionError"}


async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one SDK call in a worker thread; raise only ``HyperliquidError``s."""
    try:
        result = await asyncio.to_thread(fn, *args, **kwargs)
    except (sdk_error.Error, requests.exceptions.RequestException) as exc:
        raise translate(exc) from exc
    except (KeyError, TypeError) as exc:
        # The SDK indexes error bodies blindly (a 4xx whose JSON lacks "code"/"msg").
        raise BadResponse(f"unexpected answer from the venue: {exc!r}") from exc
    if isinstance(result, dict) and set(result) == {"error"}:
        # The SDK's stand-in for a body that was not JSON.
        raise BadResponse(str(result["error"])[:500])
    return result
