"""Typed Solana errors: one root, and every error says whether retrying can help.

Activities translate these to ``ApplicationError(type=<class name>, non_retryable=not
retryable)``; ``code`` points into ``models.errors`` for the API.
"""

from __future__ import annotations


class SolanaError(Exception):
    """Root of every error raised by ``venues.solana``."""

    retryable: bool = False
    code: str = "ASG-0004"

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class RpcUnavailable(SolanaError):
    """The RPC node could not be reached, timed out, or answered 5xx/429."""

    retryable = True
    code = "NET-0002"


class RpcRejected(SolanaError):
    """The RPC node answered with a JSON-RPC error we do not map to anything finer."""


class TransactionRefused(SolanaError):
    """Our own signer refused to sign (wrong wallet, a program outside the allow-list, an
    outgoing transfer above the cap). Never retryable: the API built something we will not
    sign, and asking again gets the same answer."""

    code = "WAL-0003"


class SignerUnavailable(SolanaError):
    """A remote signer (custodial wallet provider) did not answer."""

    retryable = True
    code = "WAL-0003"


class SubmissionConflict(SolanaError):
    """An idempotency key was reused with different parameters. Not retryable: the caller
    has a bug, and acting on either request could open the wrong position."""

    code = "GEN-0004"


class ConcurrentSubmission(SolanaError):
    """Another worker moved the same submission on while we were working on it. Retrying
    resumes from whatever it persisted."""

    retryable = True
    code = "POS-0006"


class SubmissionPending(SolanaError):
    """The transactions were sent but are neither landed nor provably expired yet. Retrying
    with the same idempotency key resumes waiting; it never signs anything new."""

    retryable = True
    code = "NET-0001"

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class TransactionFailedOnChain(SolanaError):
    """A transaction landed with an error: the fee was paid and nothing else changed.
    Retryable (a fresh build may pass, e.g. after a price move), but each retry burns a fee,
    so the caller's retry policy paces it."""

    retryable = True

    def __init__(self, key: str, error: str) -> None:
        super().__init__(f"{key}: transaction failed on chain: {error}")
        self.key = key
        self.error = error


class AttemptsExhausted(SolanaError):
    """Every allowed build of a submission expired without landing. Retryable: nothing is on
    chain, and the next call with the same key starts a new attempt."""

    retryable = True


class SubmissionAnomaly(SolanaError):
    """The chain contradicts a persisted verdict (a transaction declared dead later found
    landed). Never retried: building again could double the action; an operator must look."""

    code = "GEN-0004"
