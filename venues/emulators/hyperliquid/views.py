"""``POST /info``: the venue's read endpoints, in its shapes (numbers as strings, times in ms,
sides ``"B"``/``"A"``). Unknown request types get HTTP 422 like the venue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from venues.emulators.hyperliquid import account_views as av
from venues.emulators.hyperliquid.candles import candle_snapshot
from venues.emulators.hyperliquid.engine import HOUR_MS, HyperliquidEmulator
from venues.emulators.hyperliquid.numbers import from_ms, ms, wire
from venues.emulators.hyperliquid.trading import Malformed

FUNDING_PAGE = av.FUNDING_PAGE
HISTORY_DAYS = 365
ZERO = Decimal(0)
Handler = Callable[[HyperliquidEmulator, dict[str, Any]], Any]


def handle(emu: HyperliquidEmulator, body: Any) -> Any:
    kind = body.get("type") if isinstance(body, dict) else None
    handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise Malformed(f"unknown info type {kind!r}")
    with emu.lock:
        if emu.catch_up():
            emu.persist()
        return handler(emu, body)


# ---- market ---------------------------------------------------------------------------------


def meta(emu: HyperliquidEmulator, _: dict[str, Any]) -> dict[str, Any]:
    universe = []
    for spec in emu.cfg.universe:
        row: dict[str, Any] = {
            "szDecimals": spec.sz_decimals,
            "name": spec.name,
            "maxLeverage": spec.max_leverage,
            "marginTableId": spec.max_leverage,
        }
        if spec.only_isolated:
            row["onlyIsolated"] = True
        universe.append(row)
    tables = sorted({s.max_leverage for s in emu.cfg.universe})
    margin_tables = [
        [t, {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": t}]}]
        for t in tables
    ]
    return {"universe": universe, "marginTables": margin_tables}


def _contexts(emu: HyperliquidEmulator) -> list[dict[str, Any]]:
    px = emu.prices()
    day_ago = emu.prices(px.at_ms - 24 * HOUR_MS)
    out = []
    for i, spec in enumerate(emu.cfg.universe):
        book = emu.book(i, px)
        oi = sum(
            (
                abs(p.szi)
                for a in emu.state.accounts.values()
                for k, p in a.positions.items()
                if k == i
            ),
            ZERO,
        )
        volume = sum(
            (
                f.px * f.sz
                for a in emu.state.accounts.values()
                for f in a.fills
                if f.coin == spec.name and f.time > px.at_ms - 24 * HOUR_MS
            ),
            ZERO,
        )
        out.append(
            {
                "funding": wire(px.funding_rate),
                "openInterest": wire(oi),
                "prevDayPx": wire(day_ago.mark[i]),
                "dayNtlVlm": wire(volume, 6),
                "premium": wire(px.premium),
                "oraclePx": wire(px.oracle[i]),
                "markPx": wire(px.mark[i]),
                "midPx": wire((book.best_bid + book.best_ask) / 2, 8),
                "impactPxs": [wire(book.best_bid), wire(book.best_ask)],
                "dayBaseVlm": wire(volume / px.mark[i], 6),
            }
        )
    return out


def meta_and_asset_ctxs(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[Any]:
    return [meta(emu, body), _contexts(emu)]


def all_mids(emu: HyperliquidEmulator, _: dict[str, Any]) -> dict[str, str]:
    px = emu.prices()
    return {spec.name: wire(px.mark[i]) for i, spec in enumerate(emu.cfg.universe)}


def l2_book(emu: HyperliquidEmulator, body: dict[str, Any]) -> dict[str, Any]:
    found = emu.cfg.asset(str(body.get("coin")))
    if found is None:
        raise Malformed("coin")
    px = emu.prices()
    book = emu.book(found[0], px)

    def side(levels: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [{"px": wire(lv.px), "sz": wire(lv.sz), "n": lv.n} for lv in levels]

    return {"coin": found[1].name, "time": px.at_ms, "levels": [side(book.bids), side(book.asks)]}


def predicted_fundings(emu: HyperliquidEmulator, _: dict[str, Any]) -> list[Any]:
    px = emu.prices()
    next_hour = (px.at_ms // HOUR_MS + 1) * HOUR_MS
    entry = {
        "fundingRate": wire(px.funding_rate),
        "nextFundingTime": next_hour,
        "fundingIntervalHours": 1,
    }
    return [[spec.name, [["HlPerp", dict(entry)]]] for spec in emu.cfg.universe]


def funding_history(emu: HyperliquidEmulator, body: dict[str, Any]) -> list[dict[str, Any]]:
    found = emu.cfg.asset(str(body.get("coin")))
    if found is None:
        raise Malformed("coin")
    now = ms(emu.clock.now())
    earliest = now - int(timedelta(days=HISTORY_DAYS).total_seconds() * 1000)
    start = max(av.int_field(body, "startTime"), earliest)
    end = min(av.int_field(body, "endTime", now), now)
    # Only the first page's worth of hours is ever computed.
    end = min(end, start + FUNDING_PAGE * HOUR_MS)
    if end < start:
        return []
    points = emu.market.funding_history(from_ms(start), from_ms(end + 1))[:FUNDING_PAGE]
    return [
        {
            "coin": found[1].name,
            "fundingRate": wire(p.rate),
            "premium": wire(p.premium),
            "time": ms(p.time),
        }
        for p in points
    ]


_HANDLERS: dict[str, Handler] = {
    "meta": meta,
    "spotMeta": lambda emu, body: {"universe": [], "tokens": []},
    "metaAndAssetCtxs": meta_and_asset_ctxs,
    "allMids": all_mids,
    "l2Book": l2_book,
    "predictedFundings": predicted_fundings,
    "fundingHistory": funding_history,
    "candleSnapshot": candle_snapshot,
    "clearinghouseState": av.clearinghouse_state,
    "spotClearinghouseState": av.spot_clearinghouse_state,
    "openOrders": av.open_orders,
    "frontendOpenOrders": av.frontend_open_orders,
    "orderStatus": av.order_status,
    "historicalOrders": av.historical_orders,
    "userFills": av.user_fills,
    "userFillsByTime": av.user_fills_by_time,
    "userFunding": av.user_funding,
    "userNonFundingLedgerUpdates": av.ledger_updates,
    "userRole": av.user_role,
    "extraAgents": av.extra_agents,
    "userRateLimit": av.user_rate_limit,
}
