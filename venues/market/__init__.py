"""The market as the emulators see it: one source of truth for prices, funding, LST rates and
lending rates, and a clock that can run faster than real time.

- ``MarketSimulator(scenario, seed=, start=)``: the seeded scenario simulator
  (``SCENARIOS``: calm, funding-flip, crash, lst-depeg, borrow-spike, venue-outage);
- ``ControllableMarket``: a simulator the emulators' admin endpoints steer at run time;
- ``random_walk.RandomWalkSource``: the simple seeded walk of the foundation.
"""

from venues.market.clock import SimClock
from venues.market.control import ControllableMarket
from venues.market.scenarios import SCENARIOS, ScenarioSpec
from venues.market.simulator import DEFAULT_START, BookLevel, MarketSimulator, OrderBook
from venues.market.source import FundingPoint, MarketSource, MarketState, ProtocolMarket

__all__ = [
    "DEFAULT_START",
    "SCENARIOS",
    "BookLevel",
    "ControllableMarket",
    "FundingPoint",
    "MarketSimulator",
    "MarketSource",
    "MarketState",
    "OrderBook",
    "ProtocolMarket",
    "ScenarioSpec",
    "SimClock",
]
