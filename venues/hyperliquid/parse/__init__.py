"""Parsers from the venue's ``/info`` JSON to typed results.

Wire models validate what we read and ignore the rest (the venue adds fields over time);
anything malformed raises ``BadResponse`` rather than producing a half-parsed value: corrupt
data is worse than no data. Every recorded mainnet response in
``../shared/reference/hyperliquid_info_recordings`` goes through ``PARSERS`` in the tests.
"""

from collections.abc import Callable
from typing import Any

from venues.hyperliquid.parse.account import (
    parse_delegator_history,
    parse_extra_agents,
    parse_ledger_updates,
    parse_portfolio,
    parse_user_funding,
    parse_user_rate_limit,
    parse_user_role,
    parse_user_state,
    parse_vault_equities,
)
from venues.hyperliquid.parse.base import BadResponse, dt_to_ms, ms_to_dt
from venues.hyperliquid.parse.market import (
    parse_all_mids,
    parse_candles,
    parse_funding_history,
    parse_l2_book,
    parse_meta,
    parse_meta_and_asset_ctxs,
    parse_predicted_fundings,
)
from venues.hyperliquid.parse.orders import (
    parse_historical_orders,
    parse_open_orders,
    parse_order_status,
    parse_twap_slice_fills,
    parse_user_fills,
)

PARSERS: dict[str, Callable[[Any], object]] = {
    "meta": parse_meta,
    "metaAndAssetCtxs": parse_meta_and_asset_ctxs,
    "allMids": parse_all_mids,
    "l2Book": parse_l2_book,
    "predictedFundings": parse_predicted_fundings,
    "fundingHistory": parse_funding_history,
    "candleSnapshot": parse_candles,
    "clearinghouseState": parse_user_state,
    "openOrders": parse_open_orders,
    "frontendOpenOrders": parse_open_orders,
    "orderStatus": parse_order_status,
    "historicalOrders": parse_historical_orders,
    "userFills": parse_user_fills,
    "userFillsByTime": parse_user_fills,
    "userTwapSliceFills": parse_twap_slice_fills,
    "userFunding": parse_user_funding,
    "userNonFundingLedgerUpdates": parse_ledger_updates,
    "delegatorHistory": parse_delegator_history,
    "extraAgents": parse_extra_agents,
    "userRole": parse_user_role,
    "userRateLimit": parse_user_rate_limit,
    "userVaultEquities": parse_vault_equities,
    "portfolio": parse_portfolio,
}
"""Parser for each ``/info`` request type the client understands."""

__all__ = [
    "PARSERS",
    "BadResponse",
    "dt_to_ms",
    "ms_to_dt",
    "parse_all_mids",
    "parse_candles",
    "parse_delegator_history",
    "parse_extra_agents",
    "parse_funding_history",
    "parse_historical_orders",
    "parse_l2_book",
    "parse_ledger_updates",
    "parse_meta",
    "parse_meta_and_asset_ctxs",
    "parse_open_orders",
    "parse_order_status",
    "parse_portfolio",
    "parse_predicted_fundings",
    "parse_twap_slice_fills",
    "parse_user_fills",
    "parse_user_funding",
    "parse_user_rate_limit",
    "parse_user_role",
    "parse_user_state",
    "parse_vault_equities",
]
