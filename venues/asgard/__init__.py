"""Asgard Finance's margin-trading API: a typed client, route choice, health-factor
normalisation, and the idempotent position manager built on the Solana submission machine."""

from venues.asgard.client import UPDATE_PROTOCOLS, AsgardClient, OpenRequest, UpdateAction
from venues.asgard.errors import (
    AsgardError,
    AsgardLogicalError,
    AsgardProtocolError,
    AsgardRateLimited,
    AsgardServerError,
    AsgardUnavailable,
    NoRoute,
    PositionNotFound,
    UnsupportedOperation,
)
from venues.asgard.health import HealthUnit, health_from_balances, normalise_health_factor
from venues.asgard.manager import AsgardPositionManager
from venues.asgard.models import (
    AsgardPosition,
    AssetMarket,
    CollateralType,
    PositionHealth,
    PositionState,
    ProtocolRates,
    RateBucket,
)
from venues.asgard.results import ClosedLong, OpenedLong, UpdatedLong
from venues.asgard.routing import RouteChoice, choose_route, long_leg_carry

__all__ = [
    "UPDATE_PROTOCOLS",
    "AsgardClient",
    "AsgardError",
    "AsgardLogicalError",
    "AsgardPosition",
    "AsgardPositionManager",
    "AsgardProtocolError",
    "AsgardRateLimited",
    "AsgardServerError",
    "AsgardUnavailable",
    "AssetMarket",
    "ClosedLong",
    "CollateralType",
    "HealthUnit",
    "NoRoute",
    "OpenRequest",
    "OpenedLong",
    "PositionHealth",
    "PositionNotFound",
    "PositionState",
    "ProtocolRates",
    "RateBucket",
    "RouteChoice",
    "UnsupportedOperation",
    "UpdateAction",
    "UpdatedLong",
    "choose_route",
    "health_from_balances",
    "long_leg_carry",
    "normalise_health_factor",
]
