"""The stable table of error codes the API returns (the seed's 9 categories).

A code never changes meaning once published: clients branch on it. Add new codes at the end
of a category; never renumber.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCategory(StrEnum):
    GEN = "general"
    VAL = "validation"
    ASG = "asgard"
    HLQ = "hyperliquid"
    POS = "position"
    RSK = "risk"
    WAL = "wallet"
    NET = "network"
    AUT = "auth"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: str
    http_status: int
    message: str
    retryable: bool = False

    @property
    def category(self) -> ErrorCategory:
        return ErrorCategory[self.code.split("-", 1)[0]]


def _table(*specs: ErrorSpec) -> dict[str, ErrorSpec]:
    table = {s.code: s for s in specs}
    if len(table) != len(specs):
        raise RuntimeError("duplicate error code")
    return table


ERRORS: dict[str, ErrorSpec] = _table(
    # general
    ErrorSpec("GEN-0001", 500, "Internal error"),
    ErrorSpec("GEN-0002", 404, "Not found"),
    ErrorSpec("GEN-0003", 503, "Service unavailable", retryable=True),
    ErrorSpec("GEN-0004", 409, "Conflict with the current state"),
    ErrorSpec("GEN-0005", 405, "Method not allowed"),
    ErrorSpec("GEN-0006", 413, "Request body too large"),
    ErrorSpec("GEN-0007", 429, "Too many requests", retryable=True),
    ErrorSpec("GEN-0008", 503, "Trading is paused"),
    # validation
    ErrorSpec("VAL-0001", 422, "Invalid request"),
    ErrorSpec("VAL-0002", 422, "A required field is missing"),
    ErrorSpec("VAL-0003", 422, "A value is out of its allowed range"),
    ErrorSpec("VAL-0004", 422, "Unsupported asset"),
    ErrorSpec("VAL-0005", 422, "Invalid leverage"),
    ErrorSpec("VAL-0006", 400, "Malformed request body"),
    # asgard
    ErrorSpec("ASG-0001", 502, "Asgard rejected the request"),
    ErrorSpec("ASG-0002", 503, "Asgard is unavailable", retryable=True),
    ErrorSpec("ASG-0003", 422, "No lending protocol has capacity for this size"),
    ErrorSpec("ASG-0004", 502, "Solana transaction failed"),
    # hyperliquid
    ErrorSpec("HLQ-0001", 502, "Hyperliquid rejected the order"),
    ErrorSpec("HLQ-0002", 503, "Hyperliquid is unavailable", retryable=True),
    ErrorSpec("HLQ-0003", 422, "Insufficient margin on Hyperliquid"),
    # position
    ErrorSpec("POS-0001", 404, "Position not found"),
    ErrorSpec("POS-0002", 409, "Position is not open"),
    ErrorSpec("POS-0003", 409, "Position is already closing"),
    ErrorSpec("POS-0004", 404, "Intent not found"),
    ErrorSpec("POS-0005", 409, "Intent can no longer be cancelled"),
    ErrorSpec("POS-0006", 409, "An operation on this position is already in progress"),
    # risk
    ErrorSpec("RSK-0001", 422, "Order refused by a risk limit"),
    ErrorSpec("RSK-0002", 422, "Position size outside the allowed range"),
    ErrorSpec("RSK-0003", 422, "Total exposure limit reached"),
    ErrorSpec("RSK-0004", 503, "Circuit breaker open: new entries are paused"),
    ErrorSpec("RSK-0005", 503, "Emergency stop is active"),
    # wallet
    ErrorSpec("WAL-0001", 422, "Insufficient balance"),
    ErrorSpec("WAL-0002", 404, "Wallet not found"),
    ErrorSpec("WAL-0003", 502, "Wallet provider error", retryable=True),
    # network
    ErrorSpec("NET-0001", 504, "Upstream timeout", retryable=True),
    ErrorSpec("NET-0002", 502, "Upstream connection failed", retryable=True),
    # auth
    ErrorSpec("AUT-0001", 401, "Authentication required"),
    ErrorSpec("AUT-0002", 401, "Invalid or expired credentials"),
    ErrorSpec("AUT-0003", 403, "Not allowed"),
    ErrorSpec("AUT-0004", 403, "CSRF token missing or invalid"),
    ErrorSpec("AUT-0005", 429, "Too many attempts", retryable=True),
    ErrorSpec("AUT-0006", 403, "Account disabled"),
    ErrorSpec("AUT-0007", 403, "This login method is not enabled on this server"),
    ErrorSpec("AUT-0008", 403, "This action needs a signed-in browser session"),
)


def spec(code: str) -> ErrorSpec:
    return ERRORS[code]
