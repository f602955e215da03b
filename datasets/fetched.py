"""The recipe for a ``basis data fetch`` directory: the same importers over what the venues'
APIs offer. Hyperliquid's API has no oracle-price history, so its perp candles stand in for
the SOL oracle (declared in the report); LST columns appear only when stake-pool rate CSVs
(``<asset>.csv`` in the glitchful-dev format) are placed beside the raw files."""

from __future__ import annotations

from pathlib import Path

from datasets import asgard, hyperliquid, lst
from datasets.build import DatasetSpec, LstHistory, ProtocolHistory
from datasets.fetch import ROUTED, candles_name, funding_name, rates_name
from datasets.rawstore import RawStore
from datasets.series import Source
from datasets.shared import (
    EPOCH_STALE,
    EXACT,
    FUNDING_STALE,
    HOURLY_STALE,
    SharedOptions,
    default_ltv,
)
from models.domain import Asset


def fetched_spec(raw: Path, coin: str = "SOL", options: SharedOptions | None = None) -> DatasetSpec:
    opts = options or SharedOptions(default_ltv())
    store = RawStore(raw)
    funding_path = store.path(funding_name(coin))
    candles_path = store.path(candles_name(coin))
    for path in (funding_path, candles_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run basis data fetch first")
    funding = hyperliquid.read_funding_history(funding_path, coin)
    candles = hyperliquid.read_candles(candles_path, coin)
    protocols = []
    lst_assets = [a for a in (Asset.JITOSOL, Asset.JUPSOL) if (raw / f"{a.value}.csv").exists()]
    for p in ROUTED:
        usdc, sol = store.path(rates_name(p, "USDC")), store.path(rates_name(p, "SOL"))
        if not (usdc.exists() and sol.exists()):
            continue
        protocols.append(
            ProtocolHistory(
                protocol=p,
                borrow=[
                    Source(
                        asgard.read_rates(
                            usdc, "avgBorrowingRate", f"asgard {p.label} USDC borrow"
                        ),
                        HOURLY_STALE,
                    )
                ],
                lend={
                    Asset.SOL: [
                        Source(
                            asgard.read_rates(sol, "avgLendingRate", f"asgard {p.label} SOL lend"),
                            HOURLY_STALE,
                        )
                    ]
                },
                liquidation_ltv=opts.liquidation_ltv[p],
                max_leverage=opts.max_leverage,
                assumed_lend={a: opts.lst_lend_apy for a in lst_assets},
            )
        )
    lsts = []
    for a in lst_assets:
        rates = lst.read_exchange_rates(raw / f"{a.value}.csv", f"stake pool {a.value}/SOL")
        lsts.append(
            LstHistory(
                a,
                [Source(rates, EPOCH_STALE)],
                [Source(lst.implied_apy(rates, f"implied {a.value} staking"), EPOCH_STALE)],
            )
        )
    ltv = ", ".join(f"{p.protocol.label} {p.liquidation_ltv}" for p in protocols)
    return DatasetSpec(
        sol=[Source(candles, EXACT)],
        perp=[Source(candles, EXACT)],
        funding=[Source(funding, FUNDING_STALE, within_period=True)],
        protocols=protocols,
        lsts=lsts,
        assumptions=[
            f"SOL oracle = Hyperliquid {coin} perp 1 h candles (the API offers no oracle "
            "history): the perp-oracle basis is not in this dataset",
            f"liquidation LTV per protocol (not in the history): {ltv or 'none fetched'}",
            "no predicted-funding history: the predicted-funding entry check is not exercised",
        ],
    )
