"""``basis backtest``: the done-when of issue 5, through the real command."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basis.backtest import DataError, load_rows, write_rows_csv
from basis.cli import CommandFailed, app
from venues.market import DEFAULT_START, MarketSimulator
from venues.market.history import simulated_rows

D = Decimal
PARTS = ("funding", "staking", "lending", "borrow", "price", "fees")


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["backtest", *args])
    if result.exception is not None:
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def table_split(out: str) -> dict[str, Decimal]:
    found = dict(re.findall(r"^  (\w+)\s+([+-][\d,]+\.\d\d)", out, flags=re.M))
    return {k: D(v.replace(",", "")) for k, v in found.items()}


@pytest.mark.parametrize("scenario", ["calm", "funding-flip"])
def test_the_table_prints_a_pnl_split_whose_parts_sum_to_the_total(scenario: str) -> None:
    split = table_split(run("--scenario", scenario))
    assert set(split) == {*PARTS, "total"}
    assert sum(split[p] for p in PARTS) == split["total"]


@pytest.mark.parametrize("scenario", ["calm", "funding-flip"])
def test_json_on_stdout_has_the_same_split(scenario: str) -> None:
    body = json.loads(run("--scenario", scenario, "--json"))
    pnl = {k: D(v) for k, v in body["pnl"].items()}
    assert sum(pnl[p] for p in PARTS) == pnl["total"]
    assert body["source"] == {"scenario": scenario, "seed": 7}
    assert D(body["final_equity_usd"]) == D(body["capital_usd"]) + pnl["total"]


def test_options_reach_the_run() -> None:
    body = json.loads(
        run("--scenario", "calm", "--asset", "jitoSOL", "--leverage", "2", "--days", "3", "--json")
    )
    assert body["config"]["asset"] == "jitoSOL" and D(body["config"]["leverage"]) == 2
    assert body["hours"] == 72
    assert D(body["pnl"]["staking"]) > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "choose one of"),
        (("--scenario", "boom"), "unknown"),
        (("--scenario", "calm", "--asset", "BTC"), "--asset"),
        (("--scenario", "calm", "--leverage", "9"), "--leverage"),
        (("--scenario", "calm", "--capital", "x"), "--capital"),
        (("--scenario", "calm", "--start", "2025-01-01T00:30:00+00:00"), "on the hour"),
    ],
)
def test_bad_options_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandFailed, match=message):
        run(*args)


def test_scenarios_are_listed() -> None:
    out = run("--list-scenarios")
    for name in ("calm", "funding-flip", "crash", "lst-depeg", "borrow-spike", "venue-outage"):
        assert name in out


def test_a_data_file_roundtrips_and_backtests(tmp_path: Path) -> None:
    rows = simulated_rows(
        MarketSimulator("calm"), DEFAULT_START, 48, warmup_hours=24, tick_seconds=0
    )
    path = tmp_path / "rows.csv"
    write_rows_csv(rows, path)
    assert load_rows(path) == rows
    body = json.loads(run("--data", str(path), "--start", DEFAULT_START.isoformat(), "--json"))
    assert body["hours"] == 48 and body["round_trips"] == 1
    pnl = {k: D(v) for k, v in body["pnl"].items()}
    assert sum(pnl[p] for p in PARTS) == pnl["total"]


def test_a_parquet_file_is_read_too(tmp_path: Path) -> None:
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = simulated_rows(MarketSimulator("calm"), DEFAULT_START, 2, tick_seconds=0)
    csv_path = tmp_path / "rows.csv"
    write_rows_csv(rows, csv_path)
    with csv_path.open() as fh:
        records = list(csv.DictReader(fh))
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "rows.parquet")
    assert load_rows(tmp_path / "rows.parquet") == rows


def test_data_errors_name_the_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "time,sol_open,sol_high,sol_low,sol_close,perp_close,funding_rate,marginfi_borrow_apy,"
        "marginfi_liquidation_ltv\n2025-01-01T00:00:00Z,1,1,1,abc,1,0,0.1,0.9\n"
    )
    with pytest.raises(DataError, match="row 2, sol_close"):
        load_rows(path)
    path.write_text("time,sol_open\n")
    with pytest.raises(DataError, match="no rows"):
        load_rows(path)
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(DataError, match=r"\.csv or \.parquet"):
        load_rows(other)
