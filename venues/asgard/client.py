"""Asgard's margin-trading API over httpx (async), with typed results and errors.

The client is stateless apart from its connection pool: it builds, submits and reads, and
knows nothing of idempotency or signing (``AsgardPositionManager`` composes those).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from models.domain import Asset, Protocol
from venues.asgard.errors import (
    AsgardError,
    AsgardLogicalError,
    AsgardProtocolError,
    AsgardRateLimited,
    AsgardServerError,
    AsgardUnavailable,
    PositionNotFound,
)
from venues.asgard.health import HealthUnit, health_from_balances, normalise_health_factor
from venues.asgard.models import (
    AsgardPosition,
    AssetMarket,
    BuiltTransactions,
    CollateralType,
    Direction,
    PositionHealth,
    PositionState,
    ProtocolRates,
    RateBucket,
    dec,
    native_amount,
    need,
    opt_dec,
    parse_position,
)
from venues.asgard.tokens import ASSET_BY_MINT, USDC, token_of


class UpdateAction(StrEnum):
    """Position updates (``/position/<action>``); Asgard offers them on Kamino and Drift."""

    PARTIAL_CLOSE = "partial-close"
    ADD_COLLATERAL = "add-collateral"
    REPAY = "repay"
    DELEVERAGE = "deleverage"


UPDATE_PROTOCOLS = frozenset({Protocol.KAMINO, Protocol.DRIFT})
RATE_HISTORY_PATH = "rates/history"
RATE_HISTORY_PAGE = 500
"""A page this long may have been cut short: ask for the older buckets."""
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """Everything ``/create-position`` needs, in domain units."""

    wallet: str
    asset: Asset
    protocol: Protocol
    token_a_bank: str
    token_b_bank: str
    collateral_type: CollateralType
    collateral_amount: Decimal
    """In the collateral token's units (USDC for ``DEBT_TOKEN``)."""
    collateral_unit_price: Decimal
    """USD per collateral token, the price the slippage bound is measured from."""
    leverage: Decimal
    jito_tip_lamports: int = 10_000
    slippage_bps: int = 50

    def wire(self) -> dict[str, Any]:
        token = USDC if self.collateral_type is CollateralType.DEBT_TOKEN else token_of(self.asset)
        return {
            "protocol": int(self.protocol),
            "tokenABank": self.token_a_bank,
            "tokenBBank": self.token_b_bank,
            "direction": int(Direction.LONG),
            "collateralType": int(self.collateral_type),
            "collateralAmountNative": str(token.to_native(self.collateral_amount)),
            "collateralMint": token.mint,
            "collateralUnitPrice": float(self.collateral_unit_price),
            "leverage": float(self.leverage),
            "jitoTipLamport": self.jito_tip_lamports,
            "slippageBps": self.slippage_bps,
            "walletPubkey": self.wallet,
        }


class AsgardClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr = "",
        *,
        timeout: float = 10.0,
        health_unit: HealthUnit = HealthUnit.AUTO,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        headers = {"Content-Type": "application/json"}
        if key:
            headers["X-API-Key"] = key
        self.health_unit = health_unit
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=timeout,
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsgardClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ---- markets -------------------------------------------------------------------------

    async def markets(self) -> dict[Asset, AssetMarket]:
        """Per-protocol rates for every asset we trade against USDC."""
        body = await self._request("GET", "markets")
        out: dict[Asset, AssetMarket] = {}
        for strat in need(body, "strategies"):
            token_a, token_b = need(strat, "tokenA"), need(strat, "tokenB")
            asset = ASSET_BY_MINT.get(need(token_a, "mint"))
            if asset is None or need(token_b, "mint") != USDC.mint:
                continue  # strategies we do not trade
            sources = tuple(_parse_source(asset, src) for src in need(strat, "liquiditySources"))
            out[asset] = AssetMarket(
                asset=asset,
                token=token_of(asset),
                price_usd=opt_dec(token_a.get("priceUsd"), "priceUsd"),
                sources=sources,
                staking_apy=opt_dec(token_a.get("stakingApy"), "stakingApy"),
                exchange_rate_sol=opt_dec(token_a.get("exchangeRateSol"), "exchangeRateSol"),
            )
        return out

    async def rate_history(
        self,
        protocol: Protocol,
        token: str,
        start: datetime,
        end: datetime,
        *,
        path: str = RATE_HISTORY_PATH,
    ) -> list[RateBucket]:
        """Hourly rate buckets of ``token`` on ``protocol`` whose hour starts in
        ``[start, end)``, oldest first, across as many pages as needed (the answer is newest
        first and capped; each next page ends where the previous one's oldest bucket began).

        *Unconfirmed endpoint*: the public API documents current rates (``markets``) only; the
        shape is that of Asgard's rate-history exports (rates in percent). A venue without it
        answers 404: ``AsgardLogicalError`` with ``status == 404``."""
        out: dict[datetime, RateBucket] = {}
        hi = _ms(end)
        while True:
            params = {
                "protocol": protocol.label,
                "token": token,
                "startTime": str(_ms(start)),
                "endTime": str(hi),
            }
            page = await self._request("GET", path, params=params)
            if not isinstance(page, list):
                raise AsgardProtocolError(f"Asgard {path}: expected a list of buckets")
            buckets = [_bucket(protocol, token, rec) for rec in page]
            fresh = [b for b in buckets if b.hour not in out]
            out.update((b.hour, b) for b in fresh)
            if len(buckets) < RATE_HISTORY_PAGE or not fresh:
                break
            hi = _ms(min(b.hour for b in buckets))
            if hi <= _ms(start):
                break
        return [out[t] for t in sorted(out)]

    # ---- open ----------------------------------------------------------------------------

    async def simulate_open(self, req: OpenRequest) -> dict[str, Any]:
        """Asgard's dry run of ``build_open``: surfaces a logical refusal (422) before any
        transaction exists."""
        body = await self._request("POST", "create-position-simulate", req.wire())
        return dict(body)

    async def build_open(self, req: OpenRequest) -> BuiltTransactions:
        return _built(await self._request("POST", "create-position", req.wire()))

    async def submit_open(self, built: BuiltTransactions, signed: Sequence[str]) -> AsgardPosition:
        body = {**built.body, "signedTxs": list(signed)}
        return parse_position(await self._request("POST", "submit-create-position-tx", body))

    # ---- close and updates ---------------------------------------------------------------

    async def build_close(
        self,
        *,
        protocol: Protocol,
        wallet: str,
        pda: str,
        collateral_type: CollateralType,
        jito_tip_lamports: int = 10_000,
        slippage_bps: int = 50,
    ) -> BuiltTransactions:
        body = {
            "protocol": int(protocol),
            "walletPubkey": wallet,
            "positionPDA": pda,
            "collateralType": int(collateral_type),
            "jitoTipLamport": jito_tip_lamports,
            "slippageBps": slippage_bps,
        }
        return _built(await self._request("POST", "close-position", body))

    async def submit_close(self, built: BuiltTransactions, signed: Sequence[str]) -> AsgardPosition:
        body = {**built.body, "signedTxs": list(signed)}
        return parse_position(await self._request("POST", "submit-close-position-tx", body))

    async def build_update(
        self, action: UpdateAction, *, protocol: Protocol, wallet: str, pda: str, **params: Any
    ) -> BuiltTransactions:
        """``params`` per action: ``fraction`` (partial-close), ``amountNative`` and ``mint``
        (add-collateral, repay, deleverage)."""
        body = {"protocol": int(protocol), "walletPubkey": wallet, "positionPDA": pda, **params}
        return _built(await self._request("POST", f"position/{action.value}", body))

    async def submit_update(
        self, built: BuiltTransactions, signed: Sequence[str]
    ) -> AsgardPosition:
        body = {**built.body, "signedTxs": list(signed)}
        return parse_position(await self._request("POST", "submit-position-update-tx", body))

    # ---- reads ---------------------------------------------------------------------------

    async def refresh_positions(
        self,
        refs: Sequence[tuple[Protocol, str]],
        *,
        liquidation_ltv: Mapping[Protocol, Decimal] | None = None,
    ) -> list[PositionHealth]:
        """Health and balances, fresh from chain. ``liquidation_ltv`` (from ``markets``) lets
        an ambiguous health-factor unit be checked against the balances."""
        body = {"positionPDAs": [{"protocol": int(p), "positionPDA": pda} for p, pda in refs]}
        resp = await self._request("POST", "refresh-positions", body)
        return [self._health(entry, liquidation_ltv or {}) for entry in need(resp, "positions")]

    async def positions(
        self, wallet: str, which: Literal["all", "open", "closed"] = "all"
    ) -> list[AsgardPosition]:
        path = {"all": "positions", "open": "positions/open", "closed": "positions/closed"}[which]
        resp = await self._request("POST", path, {"walletPubkey": wallet})
        return [parse_position(p) for p in need(resp, "positions")]

    async def position_by_pda(self, pda: str) -> AsgardPosition:
        return parse_position(await self._request("GET", "positions/by-pda", params={"pda": pda}))

    # ---- plumbing ------------------------------------------------------------------------

    def _health(self, entry: Mapping[str, Any], ltv: Mapping[Protocol, Decimal]) -> PositionHealth:
        summary = need(entry, "summary")
        protocol = Protocol(int(need(entry, "protocol")))
        assets, liabs = need(entry, "assetsQt"), need(entry, "liabsQt")
        collateral_mint = next((m for m in assets if m in ASSET_BY_MINT), None)
        if collateral_mint is None and assets:
            raise AsgardProtocolError(f"position holds no known collateral: {list(assets)}")
        collateral_mint = collateral_mint or ""
        assets_usd = opt_dec(summary.get("assetsUsd"), "assetsUsd")
        liabs_usd = opt_dec(summary.get("liabilitiesUsd"), "liabilitiesUsd")
        expected = None
        lt = ltv.get(protocol)
        if lt is not None and assets_usd is not None and liabs_usd is not None:
            expected = health_from_balances(assets_usd, liabs_usd, lt)
        raw = dec(need(summary, "healthFactor"), "healthFactor")
        return PositionHealth(
            pda=str(need(entry, "positionPDA")),
            protocol=protocol,
            state=PositionState(int(entry.get("state", PositionState.ACTIVE))),
            health_factor=normalise_health_factor(raw, self.health_unit, expected=expected),
            health_factor_raw=raw,
            collateral=native_amount(assets, collateral_mint) if collateral_mint else Decimal(0),
            collateral_mint=collateral_mint,
            debt=native_amount(liabs, USDC.mint),
            assets_usd=assets_usd,
            liabilities_usd=liabs_usd,
        )

    async def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        try:
            resp = await self._http.request(method, path, json=body, params=params)
        except httpx.TimeoutException as exc:
            raise AsgardUnavailable(f"Asgard {path}: timed out ({exc!r})") from exc
        except httpx.TransportError as exc:
            raise AsgardUnavailable(f"Asgard {path}: connection failed ({exc!r})") from exc
        if resp.status_code >= 400:
            raise _http_error(path, resp)
        try:
            return resp.json()
        except ValueError as exc:
            raise AsgardProtocolError(f"Asgard {path}: response is not JSON") from exc


def _parse_source(asset: Asset, src: Mapping[str, Any]) -> ProtocolRates:
    try:
        protocol = Protocol(int(need(src, "lendingProtocol")))
    except ValueError as exc:
        raise AsgardProtocolError(f"unknown lending protocol: {exc}") from None
    capacity = src.get("capacity")
    cap_value = need(capacity, "tokenBBorrowUsd") if isinstance(capacity, Mapping) else capacity
    return ProtocolRates(
        protocol=protocol,
        asset=asset,
        active=bool(need(src, "isActive")),
        lend_apy=dec(src.get("tokenALendingApy") or 0, "tokenALendingApy"),
        borrow_apy=dec(need(src, "tokenBBorrowingApy"), "tokenBBorrowingApy"),
        max_leverage=dec(need(src, "longMaxLeverage"), "longMaxLeverage"),
        capacity_usd=dec(cap_value, "capacity"),
        token_a_bank=str(need(src, "tokenABank")),
        token_b_bank=str(need(src, "tokenBBank")),
        liquidation_ltv=opt_dec(src.get("liquidationLtv"), "liquidationLtv"),
    )


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _bucket(protocol: Protocol, token: str, rec: Any) -> RateBucket:
    if not isinstance(rec, Mapping):
        raise AsgardProtocolError("a rate bucket is not an object")
    raw_hour = str(need(rec, "hourBucket"))
    try:
        hour = datetime.fromisoformat(raw_hour.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise AsgardProtocolError(f"hourBucket {raw_hour!r} is not a time") from None
    borrow = rec.get("avgBorrowingRate")
    return RateBucket(
        protocol=protocol,
        token=token,
        hour=hour,
        lend_apy=dec(need(rec, "avgLendingRate"), "avgLendingRate") / _HUNDRED,
        borrow_apy=None if borrow is None else dec(borrow, "avgBorrowingRate") / _HUNDRED,
        samples=int(rec.get("sampleCount") or 0),
    )


def _built(body: Mapping[str, Any]) -> BuiltTransactions:
    txs = need(body, "signedTxs")
    if not isinstance(txs, list) or not txs or not all(isinstance(t, str) for t in txs):
        raise AsgardProtocolError("Asgard returned no transactions to sign")
    meta = {k: v for k, v in body.items() if k != "signedTxs"}
    lvbh = meta.get("lastValidBlockHeight")
    return BuiltTransactions(
        body=meta,
        transactions=tuple(txs),
        last_valid_block_height=None if lvbh is None else int(lvbh),
        position_pda=meta.get("positionPda"),
    )


def _http_error(path: str, resp: httpx.Response) -> AsgardError:
    name = code = details = None
    message = resp.text[:500]
    try:
        err = resp.json().get("error")
        if isinstance(err, dict):
            name, code = err.get("name"), err.get("code")
            message = str(err.get("message") or message)
            details = err.get("details")
    except (ValueError, AttributeError):
        pass
    text = f"Asgard {path}: HTTP {resp.status_code} {name or ''} {message}".strip()
    kw: dict[str, Any] = {
        "status": resp.status_code,
        "name": name,
        "wire_code": code,
        "details": details,
    }
    if resp.status_code == 429:
        return AsgardRateLimited(text, **kw)
    if resp.status_code >= 500:
        return AsgardServerError(text, **kw)
    if name == "PositionNotFound" or (resp.status_code == 404 and path.startswith("positions/")):
        return PositionNotFound(text, **kw)
    return AsgardLogicalError(text, **kw)
