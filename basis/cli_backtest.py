"""``basis backtest``: one run, a leverage comparison (``--leverage 1.1,2,3``) or a
sensitivity sweep (``--sweep``), over a simulated scenario or a data file; a table, JSON on
stdout (``--json``) or in a file (``--out``), and a chart beside that file (``--chart``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from basis.backtest import DataError, format_table, parse_start, result_json, scenario_rows
from basis.backtests import (
    DataRun,
    comparison_table,
    parse_list,
    prepare_data,
    results_json,
    sweep_runs,
    sweep_table,
)
from models.domain import Asset
from models.risk import RiskParams
from strategy.backtest import BacktestConfig, BacktestResult, MarketRow, run_backtests


def _failed(message: str) -> Exception:
    from basis.cli import CommandFailed  # the CLI module owns the error and loads us

    return CommandFailed(message)


def _run(
    rows: list[MarketRow],
    configs: list[BacktestConfig],
    params: RiskParams | list[RiskParams],
    *,
    keep_curve: bool,
    quiet: bool,
) -> list[BacktestResult]:
    """Run with a progress bar on a terminal (long data files), none otherwise."""
    if quiet or len(rows) * len(configs) <= 20_000 or not sys.stderr.isatty():
        return run_backtests(rows, configs, params, keep_curve=keep_curve)
    with click.progressbar(length=len(rows), label="backtest", file=sys.stderr) as bar:
        return run_backtests(
            rows,
            configs,
            params,
            keep_curve=keep_curve,
            progress=lambda done, _n: bar.update(done - bar.pos),
        )


def backtest(
    scenario: Annotated[
        str | None, typer.Option(help="Simulated scenario: calm, funding-flip, crash, ...")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Hourly market rows, CSV or Parquet (basis data build).")
    ] = None,
    asset: Annotated[str, typer.Option(help="Long collateral: SOL, jitoSOL, jupSOL, INF.")] = "SOL",
    leverage: Annotated[
        str, typer.Option(help="Leverage of both legs; several (1.1,2,3) compare them.")
    ] = "3",
    capital: Annotated[str, typer.Option(help="Capital in USD.")] = "10000",
    days: Annotated[
        int | None, typer.Option(help="Days to trade (default: the scenario's own, all data).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Scenario seed.")] = 7,
    start: Annotated[
        str | None, typer.Option(help="Trading start, ISO 8601 UTC on the hour.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Also write the JSON result to this file.")
    ] = None,
    chart: Annotated[
        bool, typer.Option("--chart", help="Write a PNG of equity and funding next to --out.")
    ] = False,
    sweep: Annotated[
        bool, typer.Option("--sweep", help="Sweep leverage x --min-apy x --patience.")
    ] = False,
    min_apy: Annotated[
        str | None,
        typer.Option(help="Entry threshold(s), net APY as a decimal: 0.05 or 0.05,0.1,0.2."),
    ] = None,
    patience: Annotated[
        str | None, typer.Option(help="Exit patience(s) in hours, for --sweep: 0,4,12.")
    ] = None,
    intrahour: Annotated[
        str,
        typer.Option(
            help="Hours of data files: 'path' walks open-low-high-close (urgent exits at a "
            "wick, a crash through liquidation liquidates); 'linear' slides in 5-minute ticks "
            "(exits part-way down); 'extremes' checks liquidation against the range only."
        ),
    ] = "path",
    list_scenarios: Annotated[
        bool, typer.Option("--list-scenarios", help="List the scenarios and exit.")
    ] = False,
) -> int:
    """Replay the strategy over a scenario or a data file; print the PnL split."""
    from basis.cli import settings_or_fail
    from venues.market import DEFAULT_START, SCENARIOS

    if list_scenarios:
        for spec in SCENARIOS.values():
            typer.echo(f"{spec.name:<14} {spec.default_days:>3} d  {spec.description}")
        return 0
    if (scenario is None) == (data is None):
        raise _failed("choose one of --scenario NAME or --data FILE")
    if chart and out is None:
        raise _failed("--chart writes the PNG next to the JSON: give --out FILE.json")
    try:
        chosen = Asset(asset)
    except ValueError:
        raise _failed(
            f"--asset: {asset!r} is not one of {', '.join(a.value for a in Asset)}"
        ) from None
    risk = settings_or_fail().risk
    try:
        levs = parse_list(leverage, "--leverage")
        cap = parse_list(capital, "--capital")[0]
        thresholds = parse_list(min_apy, "--min-apy") if min_apy else None
        patiences = [int(p) for p in parse_list(patience, "--patience")] if patience else None
    except (DataError, ValueError) as exc:
        raise _failed(str(exc)) from exc
    bad = [lv for lv in levs if not risk.leverage.min <= lv <= risk.leverage.max]
    if bad:
        raise _failed(
            f"--leverage: {', '.join(map(str, bad))} outside "
            f"[{risk.leverage.min}, {risk.leverage.max}]"
        )
    if cap <= 0:
        raise _failed("--capital must be positive")
    if patience and not sweep:
        raise _failed("--patience is a sweep axis: add --sweep (the risk file sets it otherwise)")
    try:
        if scenario is not None:
            if scenario not in SCENARIOS:
                raise _failed(f"--scenario: unknown {scenario!r}; try --list-scenarios")
            begin = parse_start(start, DEFAULT_START)
            _, rows = scenario_rows(
                scenario,
                seed=seed,
                start=begin,
                days=days,
                warmup_hours=risk.funding.lookback_hours,
            )
            run = DataRun(rows, begin)
            source: dict[str, object] = {"scenario": scenario, "seed": seed}
            label = f"scenario {scenario} (seed {seed})"
        else:
            assert data is not None  # one of the two, checked above
            from datasets.files import read_meta

            run = prepare_data(data, chosen, start, days, meta=read_meta(data), intrahour=intrahour)
            source = {"data": str(data)}
            if run.notes:
                source["notes"] = run.notes
            if run.meta is not None:
                source["assumptions"] = run.meta.get("assumptions", [])
            label = f"data {data.name}"
    except (DataError, ValueError) as exc:
        raise _failed(str(exc)) from exc
    kw: dict[str, Any] = {"capital_usd": cap, "start": run.start, "asset": chosen}
    quiet = json_out
    try:
        if sweep:
            t0 = time.perf_counter()
            points, configs, per_run = sweep_runs(
                chosen,
                cap,
                run.start,
                levs,
                thresholds or [risk.entry.min_net_apy],
                patiences or [risk.exit.patience_hours],
                risk,
            )
            results = _run(run.rows, configs, per_run, keep_curve=False, quiet=quiet)
            seconds = time.perf_counter() - t0
            text = sweep_table(points, results, levs, label, seconds)
            body = results_json(results, {**source, "sweep_seconds": round(seconds, 2)})
        else:
            th = thresholds[0] if thresholds else None
            configs = [BacktestConfig(leverage=lv, min_net_apy=th, **kw) for lv in levs]
            results = _run(run.rows, configs, risk, keep_curve=chart, quiet=quiet)
            if len(results) == 1:
                text = format_table(results[0], label)
                if run.notes:
                    text += "\n" + "\n".join(f"Note      {n}" for n in run.notes)
                body = result_json(results[0], source)
            else:
                text = comparison_table(results, label, run.notes)
                body = results_json(results, source)
    except ValueError as exc:
        raise _failed(str(exc)) from exc
    if run.meta is not None and run.meta.get("assumptions"):
        text += "\n\nData assumptions (from the dataset's build report)\n" + "\n".join(
            f"  - {a}" for a in run.meta["assumptions"]
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body + "\n")
        if chart:
            from basis.charts import write_chart

            png = out.with_suffix(".png")
            title = f"{chosen.value} basis trade · {label}"
            write_chart(png, results, run.rows, title)
            text += f"\nChart     {png}"
        text += f"\nJSON      {out}"
    typer.echo(body if json_out else text)
    return 0
