"""Timeouts and retry policies shared by the workflows, in one place so their arithmetic
(for instance, the unhedged-exposure budget) can be read together."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

# Business errors: retrying cannot help, the workflow decides what to do instead.
NON_RETRYABLE = [
    "InsufficientMargin",
    "InsufficientBalance",
    "ReduceOnlyViolation",
    "MinimumNotional",
    "InvalidPrice",
    "BadSignature",
    "UnknownAsset",
    "LogicalError",
    "WalletNotFound",
    "RiskDenied",
    "ProgramNotAllowed",
    # The input disagrees with the database (activities.guard): it never will agree.
    "ForgedInput",
]

DB = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
)
# Database writes take milliseconds; a write lost with its worker is retried after this.
DB_TIMEOUT = timedelta(seconds=10)

# Venue calls: quick, bounded retries; the schedule-to-close of each call bounds the total.
VENUE = RetryPolicy(
    initial_interval=timedelta(milliseconds=250),
    backoff_coefficient=1.6,
    maximum_interval=timedelta(seconds=3),
    non_retryable_error_types=NON_RETRYABLE,
)
# A placement that got no answer waits out the order's expiry (8 s) before trusting a "not
# found": the call needs room for that plus two HTTP timeouts.
VENUE_CALL_TIMEOUT = timedelta(seconds=30)
# Venue activities heartbeat every second while they wait: a dead worker is noticed in 5 s.
VENUE_HEARTBEAT = timedelta(seconds=5)

# The long leg: a Solana submission that may wait for a blockhash to expire before it can be
# rebuilt, so it runs longer and heartbeats.
LONG_LEG_TIMEOUT = timedelta(minutes=5)
LONG_LEG_HEARTBEAT = timedelta(seconds=5)

# Unwinding an exposed leg: keep trying, it is the one thing that must happen.
UNWIND = RetryPolicy(
    initial_interval=timedelta(milliseconds=250),
    backoff_coefficient=1.5,
    maximum_interval=timedelta(seconds=5),
    non_retryable_error_types=[
        "WalletNotFound",
        "ProgramNotAllowed",
        "BadSignature",
        "ForgedInput",
    ],
)
