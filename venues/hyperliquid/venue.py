"""``HyperliquidVenue``: one per process and base URL, shared by every user's client.

It holds what costs something to build (the SDK's ``Info`` with the perp universe, HTTP
sessions, the nonce source) and answers every query that needs no signature: market data,
and account reads by address. ``HyperliquidClient`` adds one user's signer on top.
"""

from __future__ import annotations

from collections.abc import Hashable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from hyperliquid.api import API
from hyperliquid.info import Info
from hyperliquid.utils.constants import MAINNET_API_URL
from hyperliquid.utils.types import Cloid

from venues.hyperliquid import parse
from venues.hyperliquid.errors import UnknownAsset
from venues.hyperliquid.nonces import NonceSource
from venues.hyperliquid.paging import read_all
from venues.hyperliquid.transport import call
from venues.hyperliquid.types import (
    Agent,
    AssetContext,
    AssetInfo,
    Candle,
    Fill,
    FundingPayment,
    FundingRate,
    L2Book,
    LedgerUpdate,
    OpenOrder,
    OrderStatus,
    PredictedFunding,
    UserRole,
    UserState,
    check_cloid,
)

T = TypeVar("T")
CANDLE_PAGE = 500
"""A candle answer this long may have been capped: ask again from its newest candle."""

# We trade perps only: an empty spot universe keeps the SDK's constructor off the network.
_EMPTY_SPOT_META: dict[str, list[Any]] = {"universe": [], "tokens": []}


class HyperliquidVenue:
    """Build with ``await HyperliquidVenue.connect(base_url)`` (fetches ``meta`` once)."""

    def __init__(
        self,
        base_url: str,
        meta: dict[str, Any],
        *,
        timeout: float = 10.0,
        order_ttl: timedelta = timedelta(seconds=8),
        settle_margin: timedelta = timedelta(seconds=2),
        nonces: NonceSource | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.is_mainnet = self.base_url == MAINNET_API_URL
        """Chooses the signing source ("a" mainnet, "b" otherwise), as the SDK does."""
        self.timeout = timeout
        self.order_ttl = order_ttl
        """Orders are signed with ``expiresAfter = now + order_ttl``: after that the venue
        refuses them, so an unanswered placement is settled one way or the other."""
        self.settle_margin = settle_margin
        """Extra wait past an order's expiry for clock skew between us and the venue."""
        self.nonces = nonces or NonceSource()
        self._info = Info(self.base_url, True, meta, _EMPTY_SPOT_META, None, timeout)
        self._api = API(self.base_url, timeout)
        self._assets: dict[str, AssetInfo] = {}
        self._set_universe(parse.parse_meta(meta))

    @classmethod
    async def connect(
        cls,
        base_url: str,
        *,
        timeout: float = 10.0,
        order_ttl: timedelta = timedelta(seconds=8),
        settle_margin: timedelta = timedelta(seconds=2),
        nonces: NonceSource | None = None,
    ) -> HyperliquidVenue:
        """Fetch the perp universe once and build the venue (share it process-wide)."""
        api = API(base_url.rstrip("/"), timeout)
        meta = await call(api.post, "/info", {"type": "meta"})
        parse.parse_meta(meta)  # refuse a malformed universe before building anything
        return cls(
            base_url,
            meta,
            timeout=timeout,
            order_ttl=order_ttl,
            settle_margin=settle_margin,
            nonces=nonces,
        )

    # ---- universe ---------------------------------------------------------------------------

    def _set_universe(self, assets: tuple[AssetInfo, ...]) -> None:
        self._assets = {a.name: a for a in assets}
        # Keep the SDK's own name->index maps in step (it resolves names when it builds wires).
        for a in assets:
            self._info.coin_to_asset[a.name] = a.index
            self._info.name_to_coin[a.name] = a.name
            self._info.asset_to_sz_decimals[a.index] = a.sz_decimals

    def asset(self, coin: str) -> AssetInfo:
        """The asset's index and lot rules, resolved by name from ``meta``."""
        try:
            return self._assets[coin]
        except KeyError:
            raise UnknownAsset(f"{coin!r} is not in the venue's perp universe") from None

    @property
    def assets(self) -> tuple[AssetInfo, ...]:
        return tuple(sorted(self._assets.values(), key=lambda a: a.index))

    async def refresh_universe(self) -> tuple[AssetInfo, ...]:
        assets = parse.parse_meta(await call(self._info.meta))
        self._set_universe(assets)
        return assets

    # ---- market data ------------------------------------------------------------------------

    async def mids(self) -> dict[str, Decimal]:
        return parse.parse_all_mids(await call(self._info.all_mids))

    async def mid(self, coin: str) -> Decimal:
        self.asset(coin)
        mids = await self.mids()
        if coin not in mids:
            raise parse.BadResponse(f"allMids has no price for {coin}")
        return mids[coin]

    async def l2_book(self, coin: str) -> L2Book:
        self.asset(coin)
        return parse.parse_l2_book(await call(self._info.l2_snapshot, coin))

    async def asset_contexts(self) -> dict[str, AssetContext]:
        """Mark, oracle, current funding, premium and open interest of every asset."""
        assets, ctxs = parse.parse_meta_and_asset_ctxs(await call(self._info.meta_and_asset_ctxs))
        self._set_universe(assets)
        return ctxs

    async def predicted_fundings(self) -> list[PredictedFunding]:
        raw = await call(self._info.post, "/info", {"type": "predictedFundings"})
        return parse.parse_predicted_fundings(raw)

    async def predicted_funding(self, coin: str) -> PredictedFunding | None:
        """Hyperliquid's own prediction for ``coin`` (venue ``HlPerp``)."""
        return next(
            (p for p in await self.predicted_fundings() if p.coin == coin and p.venue == "HlPerp"),
            None,
        )

    async def funding_history(
        self, coin: str, start: datetime, end: datetime | None = None
    ) -> list[FundingRate]:
        """Settled hourly fundings from ``start`` (to ``end``), across as many pages as the
        venue's 500-row limit needs."""
        self.asset(coin)

        async def page(start_ms: int, end_ms: int | None) -> list[FundingRate]:
            raw = await call(self._info.funding_history, coin, start_ms, end_ms)
            return parse.parse_funding_history(raw)

        return await read_all(page, start, end, time_of=_time, key=_time)

    async def candle_snapshot(
        self, coin: str, interval: str, start: datetime, end: datetime
    ) -> list[Candle]:
        """Candles opened from ``start`` to ``end``, oldest first, across as many requests as
        the answer's cap needs. The venue keeps only the most recent 5,000 candles of each
        interval, and includes the candle still in progress (its close is the latest price):
        a caller wanting finished candles keeps those with ``close_time < now``."""
        self.asset(coin)

        async def page(start_ms: int, end_ms: int | None) -> list[Candle]:
            raw = await call(self._info.candles_snapshot, coin, interval, start_ms, end_ms)
            return parse.parse_candles(raw)

        return await read_all(
            page, start, end, time_of=_open_time, key=_open_time, threshold=CANDLE_PAGE
        )

    # ---- account reads (no signature; by address) --------------------------------------------

    async def user_state(self, address: str) -> UserState:
        """Positions and margin of an account. Use the master address: an API wallet's own
        address has no state."""
        return parse.parse_user_state(await call(self._info.user_state, address))

    async def open_orders(self, address: str) -> list[OpenOrder]:
        return parse.parse_open_orders(await call(self._info.open_orders, address))

    async def order_status(self, address: str, order: int | str) -> OrderStatus | None:
        """By oid (int) or cloid (``0x`` + 32 hex). None if the venue does not know it."""
        if isinstance(order, int):
            raw = await call(self._info.query_order_by_oid, address, order)
        else:
            raw = await call(self._info.query_order_by_cloid, address, Cloid(check_cloid(order)))
        return parse.parse_order_status(raw)

    async def user_fills(
        self, address: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[Fill]:
        """Without ``start``: the venue's most recent fills (newest first). With it: every
        fill in the window, oldest first, across pages."""
        if start is None:
            return parse.parse_user_fills(await call(self._info.user_fills, address))

        async def page(start_ms: int, end_ms: int | None) -> list[Fill]:
            raw = await call(self._info.user_fills_by_time, address, start_ms, end_ms)
            return parse.parse_user_fills(raw)

        return await read_all(page, start, end, time_of=_time, key=_fill_key)

    async def user_funding(
        self, address: str, start: datetime, end: datetime | None = None
    ) -> list[FundingPayment]:
        """Funding paid (negative ``usdc``) and received (positive) by the account."""

        async def page(start_ms: int, end_ms: int | None) -> list[FundingPayment]:
            raw = await call(self._info.user_funding_history, address, start_ms, end_ms)
            return parse.parse_user_funding(raw)

        return await read_all(page, start, end, time_of=_time, key=lambda r: (r.time, r.coin))

    async def ledger_updates(
        self, address: str, start: datetime, end: datetime | None = None
    ) -> list[LedgerUpdate]:
        raw = await call(
            self._info.user_non_funding_ledger_updates,
            address,
            parse.dt_to_ms(start),
            parse.dt_to_ms(end) if end else None,
        )
        return parse.parse_ledger_updates(raw)

    async def user_role(self, address: str) -> UserRole:
        """``agent`` (with its master) for an approved API wallet; ``user`` for an account."""
        return parse.parse_user_role(await call(self._info.user_role, address))

    async def extra_agents(self, address: str) -> list[Agent]:
        return parse.parse_extra_agents(await call(self._info.extra_agents, address))

    # ---- the signed side --------------------------------------------------------------------

    async def post_exchange(self, payload: dict[str, Any]) -> Any:
        """POST a signed envelope to ``/exchange`` (used by ``HyperliquidClient``)."""
        return await call(self._api.post, "/exchange", payload)


def _time(row: FundingRate | Fill | FundingPayment) -> datetime:
    return row.time


def _open_time(c: Candle) -> datetime:
    return c.open_time


def _fill_key(f: Fill) -> Hashable:
    # Fills older than mid-2023 have no trade id; one order's fills then share hash and oid.
    return f.tid if f.tid is not None else (f.hash, f.oid, f.px, f.sz, f.start_position, f.time)
