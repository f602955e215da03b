"""Asgard's margin-trading API and the Solana JSON-RPC it relies on, emulated on one port:
``/margin-trading/...``, ``POST /solana`` and ``/admin/...``. See docs/venues/asgard.md."""

from venues.emulators.asgard.app import ASGARD_PREFIX, RPC_PATH, create_app
from venues.emulators.asgard.config import DEFAULT_PROGRAM_ID, EmulatorConfig
from venues.emulators.asgard.core import AsgardEmulator

__all__ = [
    "ASGARD_PREFIX",
    "DEFAULT_PROGRAM_ID",
    "RPC_PATH",
    "AsgardEmulator",
    "EmulatorConfig",
    "create_app",
]
