"""``basis data fetch`` against the emulators served on local ports: history of the simulated
past through the real clients (Hyperliquid ``fundingHistory`` across pages, ``candleSnapshot``,
Asgard rate history), resumable, backing off on 429, then built into a dataset the backtester
reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from basis.backtest import load_rows
from datasets import build, write_dataset
from datasets.fetch import (
    Fetcher,
    FetchPlan,
    Pacing,
    candles_name,
    funding_name,
    rates_name,
)
from datasets.fetched import fetched_spec
from datasets.parse import records
from datasets.rawstore import RawStore
from models.domain import Protocol
from models.risk import RiskParams
from strategy.backtest import BacktestConfig, run_backtest
from tests.venues.asgard.harness import serve
from venues.asgard import AsgardClient
from venues.emulators.asgard import EmulatorConfig as AsgardConfig
from venues.emulators.asgard import create_app as asgard_app
from venues.emulators.faults import FaultInjector, FaultRule
from venues.emulators.hyperliquid import create_app as hl_app
from venues.hyperliquid import HyperliquidVenue
from venues.market import DEFAULT_START, MarketSimulator, SimClock

H = timedelta(hours=1)
NOW = DEFAULT_START + timedelta(days=40, minutes=17)
START = DEFAULT_START + timedelta(days=10)
END = DEFAULT_START + timedelta(days=31)  # 504 hours: more than one 500-row funding page
HOURS = int((END - START) / H)


@dataclass
class Venues:
    hl: HyperliquidVenue
    asgard: AsgardClient
    hl_faults: FaultInjector
    asgard_faults: FaultInjector
    hl_url: str


@pytest.fixture
async def venues() -> AsyncIterator[Venues]:
    market = MarketSimulator("calm", seed=7, start=DEFAULT_START)
    clock = SimClock(NOW, speed=1.0)
    hl_faults, asgard_faults = FaultInjector(seed=1), FaultInjector(seed=2)
    hl = hl_app(market, clock, faults=hl_faults)
    asg = asgard_app(market, clock, faults=asgard_faults, config=AsgardConfig())
    async with serve(hl) as hl_url, serve(asg) as asgard_url:
        venue = await HyperliquidVenue.connect(hl_url)
        client = AsgardClient(f"{asgard_url}/margin-trading")
        try:
            yield Venues(venue, client, hl_faults, asgard_faults, hl_url)
        finally:
            await client.close()


class FakeTime:
    """Sleeps that take no real time but are recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def fetcher(store: RawStore, time: FakeTime, **kw: object) -> Fetcher:
    plan = FetchPlan(start=START, end=END, window=timedelta(hours=120))
    return Fetcher(
        store,
        plan,
        Pacing(interval_s=0.5, backoff_s=1.0, retries=4),
        sleep=time.sleep,
        monotonic=time.monotonic,
        **kw,  # type: ignore[arg-type]
    )


async def test_candle_snapshot_serves_finished_hours_of_the_simulated_past(venues: Venues) -> None:
    candles = await venues.hl.candle_snapshot("SOL", "1h", START, START + 5 * H)
    assert [c.open_time for c in candles] == [START + i * H for i in range(6)]
    assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)
    assert all(c.close_time == c.open_time + H - timedelta(milliseconds=1) for c in candles)


async def test_rate_history_pages_back_through_more_than_one_answer(venues: Venues) -> None:
    buckets = await venues.asgard.rate_history(Protocol.KAMINO, "USDC", START, END)
    assert [b.hour for b in buckets] == [START + i * H for i in range(HOURS)]
    assert all(b.borrow_apy is not None and Decimal(0) < b.borrow_apy < 1 for b in buckets)


async def test_fetch_stores_every_hour_once_and_builds_a_dataset_the_backtester_reads(
    venues: Venues, tmp_path: Path
) -> None:
    store = RawStore(tmp_path / "raw")
    seen: list[tuple[str, int, int]] = []
    summary = await fetcher(store, FakeTime(), progress=lambda *a: seen.append(a)).run(
        venues.hl, venues.asgard
    )
    assert summary.stored[funding_name("SOL")] == HOURS
    assert summary.stored[candles_name("SOL")] == HOURS
    for p in (Protocol.KAMINO, Protocol.MARGINFI, Protocol.DRIFT):
        assert summary.stored[rates_name(p, "USDC")] == HOURS
    assert seen[-1][1] == seen[-1][2]  # the progress reached its total
    times = [r["time"] for r in records(store.path(funding_name("SOL")))]
    assert len(set(times)) == len(times) == HOURS

    dataset = build(fetched_spec(store.root))
    path = tmp_path / "dataset.parquet"
    write_dataset(dataset, path)
    rows = load_rows(path)
    assert len(rows) == HOURS - 1  # the last hour's settlement is stamped at END, not fetched
    assert {t.protocol for t in rows[-1].protocols} == {
        Protocol.KAMINO,
        Protocol.MARGINFI,
        Protocol.DRIFT,
    }
    result = run_backtest(rows, BacktestConfig(leverage=Decimal(2)), RiskParams())
    assert result.round_trips >= 1


async def test_a_rerun_continues_from_what_is_on_disk(venues: Venues, tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")

    class Interrupted(Exception):
        pass

    def stop_after_two(name: str, done: int, total: int) -> None:
        if done >= 240:
            raise Interrupted

    with pytest.raises(Interrupted):
        await fetcher(store, FakeTime(), progress=stop_after_two).run(venues.hl, None)
    assert store.cursor(funding_name("SOL")) == START + 240 * H

    again = fetcher(RawStore(tmp_path / "raw"), FakeTime())
    summary = await again.run(venues.hl, None)
    assert summary.stored[funding_name("SOL")] == HOURS - 240
    times = [r["time"] for r in records(store.path(funding_name("SOL")))]
    assert len(set(times)) == len(times) == HOURS


async def test_rate_limited_requests_back_off_exponentially_and_succeed(
    venues: Venues, tmp_path: Path
) -> None:
    venues.hl_faults.add(
        FaultRule(kind="http_error", match="info:fundingHistory", status=429, count=3)
    )
    time = FakeTime()
    summary = await fetcher(RawStore(tmp_path / "raw"), time).run(venues.hl, None)
    assert summary.retries == 3
    assert summary.stored[funding_name("SOL")] == HOURS
    backoffs = [s for s in time.slept if s >= 1.0]
    assert backoffs == [1.0, 2.0, 4.0]
    assert all(s == pytest.approx(0.5) for s in time.slept if s < 1.0)  # the pacing


async def test_an_api_without_rate_history_is_reported_and_skipped(
    venues: Venues, tmp_path: Path
) -> None:
    no_history = AsgardClient(venues.hl_url)  # answers 404 on /rates/history
    try:
        store = RawStore(tmp_path / "raw")
        summary = await fetcher(store, FakeTime()).run(None, no_history)
    finally:
        await no_history.close()
    assert set(summary.unavailable) == {
        rates_name(p, t) for p in (Protocol.KAMINO, Protocol.MARGINFI, Protocol.DRIFT)
        for t in ("USDC", "SOL")
    }  # fmt: skip
    assert store.unavailable(rates_name(Protocol.KAMINO, "USDC"))


def test_the_fetch_command_resumes_and_builds(tmp_path: Path) -> None:
    """``basis data fetch`` end to end, with the emulators served from a thread."""
    import threading
    import time as wall

    import uvicorn
    from typer.testing import CliRunner

    from basis.cli import app
    from basis.ports import free_port

    market = MarketSimulator("calm", seed=7, start=DEFAULT_START)
    clock = SimClock(NOW)
    servers, urls = [], []
    for asgi in (hl_app(market, clock), asgard_app(market, clock, config=AsgardConfig())):
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="critical", lifespan="off")
        )
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = wall.monotonic() + 10
        while not all(s.started for s in servers):
            assert wall.monotonic() < deadline, "the emulators did not start"
            wall.sleep(0.01)
        args = [
            "data", "fetch", "--hyperliquid", urls[0], "--asgard", f"{urls[1]}/margin-trading",
            "--start", START.isoformat(), "--end", END.isoformat(), "--out", str(tmp_path),
            "--pace", "0",
        ]  # fmt: skip
        first = CliRunner().invoke(app, args)
        assert first.exit_code == 0, first.output
        assert f"{funding_name('SOL')}: {HOURS} new record(s)" in first.output
        assert f"wrote {tmp_path / 'dataset.parquet'}" in first.output
        again = CliRunner().invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "new record(s)" not in again.output  # nothing left to fetch
        assert len(load_rows(tmp_path / "dataset.parquet")) == HOURS - 1
    finally:
        for s in servers:
            s.should_exit = True
