"""The venue-fault matrix: opens and closes under each injected fault of both emulators,
alone and combined, checked against the same invariants as the crash matrix."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import WorkflowHandle

from models.domain import PositionStatus
from tests.chaos.harness import ChaosWorld, Outcome


@dataclass(frozen=True)
class Fault:
    name: str
    hyperliquid: tuple[dict[str, Any], ...] = ()
    asgard: tuple[dict[str, Any], ...] = ()
    fast_clock: bool = False
    """The fault only resolves when a blockhash expires (~90 s of chain time): run the
    simulated clock ahead so the test does not wait for it in real time."""

    def __add__(self, other: Fault) -> Fault:
        return Fault(
            f"{self.name}+{other.name}",
            self.hyperliquid + other.hyperliquid,
            self.asgard + other.asgard,
            self.fast_clock or other.fast_clock,
        )


def _r(kind: str, match: str, **kw: Any) -> dict[str, Any]:
    return {"kind": kind, "match": match, **kw}


SUBMIT_OPEN = "asgard:submit-create-position-tx"
SUBMIT_CLOSE = "asgard:submit-close-position-tx"
SUBMITS = "asgard:submit-*"

FAULTS: list[Fault] = [
    Fault("hl-latency", hyperliquid=(_r("latency", "*", delay_s=0.3),)),
    Fault("hl-5xx", hyperliquid=(_r("http_error", "exchange:order", status=502, count=2),)),
    Fault("hl-429", hyperliquid=(_r("http_error", "exchange:*", status=429, count=3),)),
    Fault("hl-info-5xx", hyperliquid=(_r("http_error", "info:*", status=503, count=3),)),
    Fault("hl-timeout", hyperliquid=(_r("timeout", "exchange:order", delay_s=12, count=1),)),
    Fault("hl-lost-response", hyperliquid=(_r("lost_response", "exchange:order", count=1),)),
    Fault(
        "hl-partial-fills",
        hyperliquid=(_r("partial_fill", "exchange:order", count=3, params={"fraction": "0.4"}),),
    ),
    Fault("asgard-latency", asgard=(_r("latency", "asgard:*", delay_s=0.3),)),
    Fault("asgard-5xx", asgard=(_r("http_error", "asgard:*-position", status=500, count=2),)),
    Fault("asgard-429", asgard=(_r("http_error", "asgard:*", status=429, count=3),)),
    Fault("asgard-timeout", asgard=(_r("timeout", SUBMITS, delay_s=12, count=1),)),
    Fault("asgard-lost-response", asgard=(_r("lost_response", SUBMITS, count=1),)),
    Fault(
        "solana-submit-timeout-after-landing",
        asgard=(_r("submit_timeout_after_landing", SUBMITS, delay_s=0.5, count=1),),
    ),
    Fault("solana-tx-failed", asgard=(_r("tx_error", SUBMITS, count=1),)),
    Fault("solana-slow-confirm", asgard=(_r("slow_confirm", SUBMITS, delay_s=4, count=1),)),
    Fault(
        "solana-dropped-until-expiry",
        asgard=(
            _r("drop_tx", SUBMITS, count=1),
            _r("drop_tx", "rpc:sendTransaction", count=50),
        ),
        fast_clock=True,
    ),
    Fault(
        "solana-expired-blockhash",
        asgard=(_r("expire_blockhash", "asgard:*-position", count=1),),
        fast_clock=True,
    ),
    Fault("solana-rpc-5xx", asgard=(_r("http_error", "rpc:*", status=503, count=4),)),
]

BY_NAME = {f.name: f for f in FAULTS}

COMBINED: list[Fault] = [
    BY_NAME["hl-partial-fills"] + BY_NAME["asgard-lost-response"],
    BY_NAME["hl-lost-response"] + BY_NAME["solana-tx-failed"],
    BY_NAME["hl-429"] + BY_NAME["solana-slow-confirm"] + BY_NAME["asgard-latency"],
    BY_NAME["hl-timeout"] + BY_NAME["solana-dropped-until-expiry"],
    BY_NAME["hl-5xx"] + BY_NAME["asgard-5xx"] + BY_NAME["solana-rpc-5xx"],
]


async def install(world: ChaosWorld, fault: Fault) -> None:
    for rule in fault.hyperliquid:
        (await world.hl_admin.post("/admin/faults", json=rule)).raise_for_status()
    for rule in fault.asgard:
        (await world.asgard_admin.post("/admin/faults", json=rule)).raise_for_status()


_LONG_LEG = {"open_long", "close_long"}


@contextlib.asynccontextmanager
async def clock_ahead(
    world: ChaosWorld, on: bool, handle: WorkflowHandle[Any, Any]
) -> AsyncIterator[None]:
    """Run the simulated clock ~25x faster than real time while the workflow waits on the
    Solana leg (only then: the exposure window is measured by the venues' clocks)."""
    if not on:
        yield
        return

    async def tick() -> None:
        while True:
            desc = await handle.describe()
            if any(
                p.activity_type.name in _LONG_LEG for p in desc.raw_description.pending_activities
            ):
                await world.hl_admin.post("/admin/clock/advance", json={"seconds": 5})
            await asyncio.sleep(0.2)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class FaultOutcome:
    fault: str
    open: Outcome
    close: Outcome | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.open.ok and (self.close is None or self.close.ok)


async def fault_run(world: ChaosWorld, fault: Fault) -> FaultOutcome:
    """Open under the fault; if it opened, close under the fault again."""
    started = time.monotonic()
    user_id, wallets = await world.new_user()
    await install(world, fault)
    pid, handle = await world.open(user_id)
    async with clock_ahead(world, fault.fast_clock, handle):
        opened = await asyncio.wait_for(handle.result(), timeout=300)
    await world.clear_faults()
    out = FaultOutcome(
        fault.name, await world.check(f"open {fault.name}", user_id, wallets, pid, opened)
    )
    out.open.duration_s = time.monotonic() - started
    if opened.status is not PositionStatus.OPEN:
        out.notes.append(f"open unwound: {opened.reason}")
        return out
    started = time.monotonic()
    await install(world, fault)
    close = await world.close(user_id, pid)
    async with clock_ahead(world, fault.fast_clock, close):
        closed = await asyncio.wait_for(close.result(), timeout=300)
    await world.clear_faults()
    out.close = await world.check(f"close {fault.name}", user_id, wallets, pid, closed)
    out.close.duration_s = time.monotonic() - started
    if closed.status is not PositionStatus.CLOSED:
        out.close.violations.append(f"close ended {closed.status.value}: {closed.reason}")
    return out
