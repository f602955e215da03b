"""A local Hyperliquid that speaks the venue's own ``/info`` and ``/exchange`` protocol, so the
unmodified SDK (and our client over it) trades against it exactly as against the real venue.

``create_app(market, clock, ...)`` builds the ASGI app; ``HyperliquidEmulator`` is the state
machine behind it. See docs/venues/hyperliquid.md for what is faithful and what is simplified.
"""

from venues.emulators.hyperliquid.app import create_app
from venues.emulators.hyperliquid.config import DEFAULT_UNIVERSE, AssetSpec, EmulatorConfig
from venues.emulators.hyperliquid.engine import HyperliquidEmulator

__all__ = ["DEFAULT_UNIVERSE", "AssetSpec", "EmulatorConfig", "HyperliquidEmulator", "create_app"]
