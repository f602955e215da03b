"""The market as the emulators see it: one source of truth for prices, funding, LST rates and
lending rates, and a clock that can run faster than real time."""

from venues.market.clock import SimClock
from venues.market.source import MarketSource, MarketState, ProtocolMarket

__all__ = ["MarketSource", "MarketState", "ProtocolMarket", "SimClock"]
