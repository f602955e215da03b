"""Venue errors as Temporal sees them: the exception's class name is the failure type, and
the venue's own verdict on retrying decides whether Temporal retries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
