"""Numbers on the emulated venue: tick and lot rules, and the wire's decimal strings.

Written independently of the client's ``rounding`` module on purpose: the conformance tests
then check two implementations of the venue's rules against each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

USD_QUANTUM = Decimal("0.000001")


def decimals_of(x: Decimal) -> int:
    exponent = x.normalize().as_tuple().exponent
    return max(-int(exponent), 0)


def valid_price(px: Decimal, sz_decimals: int) -> bool:
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    sig = len(px.normalize().as_tuple().digits)
    return sig <= 5 and decimals_of(px) <= 6 - sz_decimals


def valid_size(sz: Decimal, sz_decimals: int) -> bool:
    return sz > 0 and decimals_of(sz) <= sz_decimals


def to_tick(px: Decimal, sz_decimals: int, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round a computed price (mark, book level) onto the venue's price grid."""
    for places in range(6 - sz_decimals, -1, -1):
        q = px.quantize(Decimal(1).scaleb(-places), rounding=rounding)
        if valid_price(q, sz_decimals):
            return q.normalize() if q != q.to_integral_value() else q.quantize(Decimal(1))
        if q <= 0:
            break
    return Decimal(1).scaleb(-(6 - sz_decimals))  # below the smallest step: the smallest step


def usd(x: Decimal) -> Decimal:
    return x.quantize(USD_QUANTUM, rounding=ROUND_HALF_EVEN)


def parse_decimal(raw: object) -> Decimal | None:
    if not isinstance(raw, str | int):
        return None
    try:
        d = Decimal(str(raw))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def wire(x: Decimal, places: int | None = None) -> str:
    """The venue's style: plain decimal, at least one fractional digit ("10.0", "0.0")."""
    if places is not None:
        x = x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    n = x.normalize()
    if n == 0:
        return "0.0"
    s = f"{n:f}"
    return s if "." in s else s + ".0"


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)
