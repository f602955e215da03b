"""The recipe for ``../shared/data``: which file serves which column, in what priority, and
the assumptions the history forces on us (declared in every dataset built from it).

| column | sources, in priority | stale limit |
|---|---|---|
| SOL oracle (OHLC) | median of Binance, OKX, Gate spot 1 h (or Binance's); HL perp 1 h | exact |
| perp (close, high) | Hyperliquid perp 1 h (from 2025-08-10); Binance USDT-M perp 1 h | exact |
| funding | Hyperliquid ``fundingHistory`` JSON; the PietroC21 Parquet | 7 h (8-hourly regime) |
| Kamino | Asgard hourly buckets; DeFi Llama daily snapshots | 6 h; 48 h |
| Marginfi, Drift | Asgard hourly buckets | 6 h |
| jitoSOL rate | stake-pool CSV (per epoch) | 7 days |
| jitoSOL staking | Asgard hourly ``avgApy``; implied by the rate | 6 h; 7 days |
| jupSOL rate, staking | stake-pool CSV; implied by it | 7 days |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from datasets import asgard, cex, hyperliquid, lst
from datasets.build import DatasetSpec, LstHistory, ProtocolHistory
from datasets.series import Series, Source
from models.domain import Asset, Protocol
from venues.market.random_walk import default_protocols

EXACT = timedelta(0)
HOURLY_STALE = timedelta(hours=6)
DAILY_STALE = timedelta(hours=48)
EPOCH_STALE = timedelta(days=7)
FUNDING_STALE = timedelta(hours=7)

HL = "joasgard_Basisfeasibility"
PQ = "PietroC21_Crypto-PerpetualFutures"
LSTS = "glitchful-dev_sol-stake-pool-apy"
ROUTED = (Protocol.KAMINO, Protocol.MARGINFI, Protocol.DRIFT)


def default_ltv() -> dict[Protocol, Decimal]:
    """The liquidation LTVs the emulators use: the history does not record them."""
    return {p.protocol: p.liquidation_ltv for p in default_protocols()}


ORACLES = ("median", "binance")


@dataclass(frozen=True)
class SharedOptions:
    liquidation_ltv: Mapping[Protocol, Decimal]
    lst_lend_apy: Decimal = Decimal(0)
    max_leverage: Decimal = Decimal(4)
    oracle: str = "median"
    """The SOL oracle proxy: ``median`` of Binance, OKX and Gate spot, or ``binance`` alone."""


def _need(root: Path, *parts: str) -> Path:
    p = root.joinpath(*parts)
    if not p.exists():
        raise FileNotFoundError(f"{p} is missing from the shared data folder")
    return p


def shared_spec(root: Path, options: SharedOptions | None = None) -> DatasetSpec:
    """Read every file the recipe names under ``root`` (``../shared/data``)."""
    opts = options or SharedOptions(default_ltv())
    if opts.oracle not in ORACLES:
        raise ValueError(f"oracle: {opts.oracle!r} is not one of {', '.join(ORACLES)}")
    binance = _need(root, PQ, "binance_SOL_2020-08-11_2026-03-06.parquet")
    spot = cex.read_binance_hourly(binance, "spot")
    bperp = cex.read_binance_hourly(binance, "perp")
    oracle = spot
    if opts.oracle == "median":
        okx = cex.read_hourly(
            _need(root, PQ, "okx_SOL_2020-09-30_2026-03-05.parquet"), "okx", "spot"
        )
        gate = cex.read_hourly(
            _need(root, PQ, "gate_SOL_2020-06-25_2026-03-06.parquet"), "gate", "spot"
        )
        oracle = cex.median_bars([spot, okx, gate], "median spot 1h (binance, okx, gate)")
    pq_funding, hl_perp = hyperliquid.read_parquet(
        _need(root, PQ, "hyperliquid_SOL_2023-01-01_2026-03-07.parquet")
    )
    fh = hyperliquid.read_funding_history(_need(root, HL, "sol_funding_history.json"))

    def rates(protocol: str, token: str, key: str) -> Series[Decimal]:
        kind = "lend" if key == "avgLendingRate" else "borrow"
        return asgard.read_rates(
            _need(root, HL, f"asgard_{protocol}_{token}_hourly.json"),
            key,
            f"asgard {protocol} {token.upper()} {kind}",
        )

    llama_sol = asgard.read_llama_pool(
        _need(root, HL, "kamino_sol_lending_rates.json"), "apyBase", "defillama kamino SOL lend"
    )
    llama_usdc = asgard.read_llama_pool(
        _need(root, HL, "kamino_usdc_borrowing_rates.json"),
        "apyBaseBorrow",
        "defillama kamino USDC borrow",
    )
    protocols = []
    for p in ROUTED:
        label = p.label
        borrow = [Source(rates(label, "usdc", "avgBorrowingRate"), HOURLY_STALE)]
        lend = [Source(rates(label, "sol", "avgLendingRate"), HOURLY_STALE)]
        if p is Protocol.KAMINO:
            borrow.append(Source(llama_usdc, DAILY_STALE))
            lend.append(Source(llama_sol, DAILY_STALE))
        protocols.append(
            ProtocolHistory(
                protocol=p,
                borrow=borrow,
                lend={Asset.SOL: lend},
                liquidation_ltv=opts.liquidation_ltv[p],
                max_leverage=opts.max_leverage,
                assumed_lend={Asset.JITOSOL: opts.lst_lend_apy, Asset.JUPSOL: opts.lst_lend_apy},
            )
        )
    jito = lst.read_exchange_rates(_need(root, LSTS, "jito.csv"), "stake pool jitoSOL/SOL")
    jup = lst.read_exchange_rates(_need(root, LSTS, "jupSOL.csv"), "stake pool jupSOL/SOL")
    jito_staking = asgard.read_staking(
        _need(root, HL, "asgard_jitosol_staking_hourly.json"), "asgard jitoSOL staking"
    )
    lsts = [
        LstHistory(
            Asset.JITOSOL,
            [Source(jito, EPOCH_STALE)],
            [
                Source(jito_staking, HOURLY_STALE),
                Source(lst.implied_apy(jito, "implied jitoSOL staking"), EPOCH_STALE),
            ],
        ),
        LstHistory(
            Asset.JUPSOL,
            [Source(jup, EPOCH_STALE)],
            [Source(lst.implied_apy(jup, "implied jupSOL staking"), EPOCH_STALE)],
        ),
    ]
    ltv = ", ".join(f"{p.label} {opts.liquidation_ltv[p]}" for p in ROUTED)
    assumptions = [
        (
            "SOL oracle = median of Binance, OKX and Gate SOL/USDT spot hourly candles"
            if opts.oracle == "median"
            else "SOL oracle = Binance SOLUSDT spot hourly candles"
        )
        + " (USDT taken as USD); no source records Hyperliquid's or the lenders' oracle",
        "perp price = Hyperliquid's hourly candles where genuine (from 2025-08-10 14:00), "
        "Binance USDT-M SOL perp hourly candles before (the Parquet holds 8-hour candles)",
        "funding: Hyperliquid's own SOL history, hourly from 2023-06-08 01:00; 8-hour rates "
        "before it, divided by 8",
        f"liquidation LTV per protocol (not in the history): {ltv}; max leverage "
        f"{opts.max_leverage}",
        f"LST collateral earns {opts.lst_lend_apy} supply APY on every protocol (no LST "
        "supply-rate history); LST market price = stake-pool rate (no depeg history)",
        "Solend: no rate history, never routed; INF: no history (backtests use jitoSOL as "
        "its declared stand-in)",
        "no predicted-funding history: the predicted-funding entry check is not exercised",
    ]
    return DatasetSpec(
        sol=[Source(oracle, EXACT), Source(hl_perp, EXACT)],
        perp=[Source(hl_perp, EXACT), Source(bperp, EXACT)],
        funding=[
            Source(fh, FUNDING_STALE, within_period=True),
            Source(pq_funding, FUNDING_STALE, within_period=True),
        ],
        protocols=protocols,
        lsts=lsts,
        assumptions=assumptions,
    )
