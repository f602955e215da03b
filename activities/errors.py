"""Venue errors as Temporal sees them: the exception's class name is the failure type, and
the venue's own verdict on retrying decides whether Temporal retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from venues.asgard.errors import AsgardError
from venues.hyperliquid.errors import HyperliquidError
from venues.solana.errors import SolanaError
from wallets.envelope import KeyDecryptionError
from wallets.keystore import WalletNotFoundError

VenueError = HyperliquidError | AsgardError | SolanaError


def as_application_error(exc: BaseException) -> ApplicationError:
    retryable = bool(getattr(exc, "retryable", True))
    return ApplicationError(
        str(exc) or type(exc).__name__, type=type(exc).__name__, non_retryable=not retryable
    )


@contextmanager
def venue_errors() -> Iterator[None]:
    """Translate venue and wallet errors; anything else propagates as a retryable bug."""
    try:
        yield
    except (HyperliquidError, AsgardError, SolanaError) as exc:
        raise as_application_error(exc) from exc
    except (WalletNotFoundError, KeyDecryptionError) as exc:
        # Retrying cannot conjure a key: an operator must look.
        raise ApplicationError(str(exc), type="WalletNotFound", non_retryable=True) from exc


@asynccontextmanager
async def venue_call(every: float = 1.0) -> AsyncIterator[None]:
    """A venue call inside an activity: venue errors translated, and a heartbeat every
    ``every`` seconds while it waits, so a worker that dies mid-call is noticed within the
    activity's heartbeat timeout instead of its (longer) start-to-close timeout."""
    beat: asyncio.Task[None] | None = None
    if activity.in_activity():

        async def ticker() -> None:
            while True:
                activity.heartbeat()
                await asyncio.sleep(every)

        beat = asyncio.create_task(ticker())
    try:
        with venue_errors():
            yield
    finally:
        if beat is not None:
            beat.cancel()
