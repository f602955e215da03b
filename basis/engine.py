"""What the workflows need from the configuration, computed once per process."""

from __future__ import annotations

from basis.config import Settings
from models.messages import EngineConfig


def engine_config(settings: Settings) -> EngineConfig:
    r = settings.risk
    return EngineConfig(
        engine_queue=settings.temporal.task_queue,
        venue_queue=settings.temporal.venue_task_queue,
        max_single_leg_exposure_seconds=r.cadence.max_single_leg_exposure_seconds,
        entry_slippage_bps=r.slippage.entry_bps,
        exit_slippage_bps=r.slippage.exit_bps,
        delta_drift_warning=r.delta_drift.warning,
        delta_drift_critical=r.delta_drift.critical,
        intent_scan_interval_seconds=r.cadence.intent_scan_interval_seconds,
        monitor_interval_seconds=r.cadence.monitor_interval_seconds,
    )
