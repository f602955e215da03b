"""Circuit breakers over a window, and the entry gate (pause controller)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from strategy import (
    BreakerState,
    DenyReason,
    EntryGates,
    breaker_status,
    gate_entry,
    record_failure,
    record_result,
)
from tests.unit.strategy.builders import NOW, PARAMS

D = Decimal
HOUR = timedelta(hours=1)


def test_three_failures_within_the_hour_trip_the_breaker() -> None:
    s = BreakerState()
    for minutes in (0, 20, 40):
        s = record_failure(s, NOW + timedelta(minutes=minutes), PARAMS)
    assert breaker_status(s, NOW + timedelta(minutes=40), PARAMS).tripped
    # the first failure leaves the window one hour after it happened
    later = breaker_status(s, NOW + HOUR, PARAMS)
    assert not later.tripped and later.failures_in_window == 2


def test_two_failures_do_not_trip() -> None:
    s = record_failure(record_failure(BreakerState(), NOW, PARAMS), NOW, PARAMS)
    assert not breaker_status(s, NOW, PARAMS).tripped


def test_losses_reaching_the_limit_in_a_day_trip_and_gains_do_not_offset_them() -> None:
    s = record_result(BreakerState(), NOW, D("-3000"), PARAMS)
    s = record_result(s, NOW + HOUR, D("+4000"), PARAMS)
    assert not breaker_status(s, NOW + HOUR, PARAMS).tripped
    s = record_result(s, NOW + 2 * HOUR, D("-2000"), PARAMS)
    status = breaker_status(s, NOW + 2 * HOUR, PARAMS)
    assert status.tripped and status.loss_in_window_usd == D(5000)
    assert not breaker_status(s, NOW + 25 * HOUR, PARAMS).tripped


def test_recording_prunes_the_state_to_the_window() -> None:
    s = BreakerState()
    for h in range(100):
        s = record_failure(s, NOW + h * HOUR, PARAMS)
    assert len(s.failures) == 1


def test_gate_order_emergency_stop_then_pause_then_breaker() -> None:
    tripped = breaker_status(BreakerState(failures=(NOW, NOW, NOW)), NOW, PARAMS)
    everything = EntryGates(paused=True, emergency_stop=True, breaker=tripped)
    assert gate_entry(everything).reason is DenyReason.EMERGENCY_STOP  # type: ignore[union-attr]
    paused = EntryGates(paused=True, breaker=tripped)
    assert gate_entry(paused).reason is DenyReason.PAUSED  # type: ignore[union-attr]
    assert gate_entry(EntryGates(breaker=tripped)).reason is DenyReason.CIRCUIT_BREAKER  # type: ignore[union-attr]
    assert gate_entry(EntryGates()) is None
