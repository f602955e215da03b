"""``basis data``: build the canonical hourly dataset from the shared exports, or fetch the
same history live from the venues and build it from that."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import click
import typer

from models.domain import Protocol

data_app = typer.Typer(help="Market history for backtests.", no_args_is_help=True)

DEFAULT_SHARED = Path("../shared/data")


def _failed(message: str) -> Exception:
    from basis.cli import CommandFailed  # the CLI module owns the error and loads us

    return CommandFailed(message)


def _hour(raw: str | None, name: str) -> datetime | None:
    from datasets.parse import HistoryError, iso_time

    if raw is None:
        return None
    try:
        t = iso_time(raw, name)
    except HistoryError as exc:
        raise _failed(str(exc)) from None
    if t != t.replace(minute=0, second=0, microsecond=0):
        raise _failed(f"{name} must be on the hour")
    return t


def _ltv(raw: str | None) -> dict[Protocol, Decimal]:
    from datasets.shared import default_ltv

    out = default_ltv()
    for part in (raw or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        protocol = next((p for p in Protocol if p.label == name.strip()), None)
        try:
            ltv = Decimal(value)
        except InvalidOperation:
            ltv = Decimal(-1)
        if protocol is None or not 0 < ltv <= 1:
            raise _failed(f"--ltv: expected protocol=fraction pairs like kamino=0.85, got {part!r}")
        out[protocol] = ltv
    return out


def _default_out(name: str) -> Path:
    from basis.cli import settings_or_fail

    return settings_or_fail().state_dir / "datasets" / name


@data_app.command("build")
def build(
    shared: Annotated[
        Path, typer.Option(help="The shared data folder (its README names every file).")
    ] = DEFAULT_SHARED,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Dataset file, .parquet or .csv (default <state>/datasets/sol-hourly.parquet)."
        ),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First hour, ISO 8601 UTC.")] = None,
    end: Annotated[str | None, typer.Option(help="End hour (exclusive), ISO 8601 UTC.")] = None,
    ltv: Annotated[
        str | None,
        typer.Option(help="Liquidation LTVs to assume, e.g. kamino=0.85,marginfi=0.85,drift=0.9."),
    ] = None,
    oracle: Annotated[
        str,
        typer.Option(help="SOL oracle proxy: median (of Binance, OKX, Gate spot) or binance."),
    ] = "median",
    lst_lend_apy: Annotated[
        str, typer.Option(help="Supply APY assumed for LST collateral (no history).")
    ] = "0",
    quiet: Annotated[bool, typer.Option("--quiet", help="Print one line, not the report.")] = False,
) -> int:
    """Build the hourly dataset from ../shared/data: import, normalise, align, report gaps."""
    from datasets import BuildError, HistoryError, write_dataset
    from datasets import build as build_dataset
    from datasets.shared import SharedOptions, shared_spec

    target = out or _default_out("sol-hourly.parquet")
    try:
        options = SharedOptions(_ltv(ltv), lst_lend_apy=Decimal(lst_lend_apy), oracle=oracle)
        spec = shared_spec(shared, options)
        dataset = build_dataset(spec, start=_hour(start, "--start"), end=_hour(end, "--end"))
        write_dataset(dataset, target, sources={"shared": str(shared)})
    except (FileNotFoundError, BuildError, HistoryError, InvalidOperation, ValueError) as exc:
        raise _failed(str(exc)) from exc
    if not quiet:
        typer.echo(dataset.report.text())
        typer.echo("")
    typer.echo(f"wrote {target} ({dataset.report.hours} hours); report {target}.report.json")
    return 0


@data_app.command("fetch")
def fetch(
    start: Annotated[str, typer.Option(help="First hour to fetch, ISO 8601 UTC.")],
    hyperliquid: Annotated[
        str | None, typer.Option(help="Hyperliquid API base URL (paper: http://127.0.0.1:8301).")
    ] = None,
    asgard: Annotated[str | None, typer.Option(help="Asgard margin-trading API base URL.")] = None,
    asgard_key: Annotated[
        str, typer.Option(envvar="BASIS_VENUES__ASGARD_API_KEY", help="Asgard API key.")
    ] = "",
    end: Annotated[
        str | None, typer.Option(help="End hour, exclusive (default: the current hour).")
    ] = None,
    coin: Annotated[str, typer.Option(help="Perp to fetch.")] = "SOL",
    out: Annotated[
        Path | None, typer.Option(help="Directory (default <state>/datasets/fetched).")
    ] = None,
    pace: Annotated[float, typer.Option(help="Seconds between requests.")] = 1.0,
    retries: Annotated[int, typer.Option(help="Retries of a rate-limited or failed request.")] = 8,
    build_after: Annotated[
        bool, typer.Option("--build/--no-build", help="Build dataset.parquet after fetching.")
    ] = True,
) -> int:
    """Fetch history through the venue clients into DIR/raw (resumable), then build
    DIR/dataset.parquet from it."""
    from basis.clock import utc_now
    from datasets import BuildError, HistoryError, write_dataset
    from datasets import build as build_dataset
    from datasets.fetch import Fetcher, FetchPlan, Pacing
    from datasets.fetched import fetched_spec
    from datasets.parse import floor_hour
    from datasets.rawstore import RawStore
    from venues.asgard import AsgardClient, AsgardError
    from venues.hyperliquid import HyperliquidError, HyperliquidVenue

    if hyperliquid is None and asgard is None:
        raise _failed("give --hyperliquid URL and/or --asgard URL")
    first = _hour(start, "--start")
    assert first is not None
    now_hour = floor_hour(utc_now())
    last = min(_hour(end, "--end") or now_hour, now_hour)
    if first >= last:
        raise _failed("--start must be before --end (and before the current hour)")
    directory = out or _default_out("fetched")
    store = RawStore(directory / "raw")
    plan = FetchPlan(start=first, end=last, coin=coin)

    async def go() -> None:
        with click.progressbar(length=1, label="fetch", file=sys.stderr, show_pos=False) as bar:

            def progress(name: str, done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.label = f"fetch {name}"
                bar.update(done - bar.pos)

            fetcher = Fetcher(
                store, plan, Pacing(interval_s=pace, retries=retries), progress=progress
            )
            venue = await HyperliquidVenue.connect(hyperliquid) if hyperliquid else None
            client = AsgardClient(asgard, asgard_key) if asgard else None
            try:
                summary = await fetcher.run(venue, client)
            finally:
                if client is not None:
                    await client.close()
        for name, n in sorted(summary.stored.items()):
            typer.echo(f"{name}: {n} new record(s)")
        for name, why in sorted(summary.unavailable.items()):
            typer.echo(f"{name}: not offered by the API ({why})")
        typer.echo(f"{summary.requests} request(s), {summary.retries} retried after a back-off")

    try:
        asyncio.run(go())
    except (HyperliquidError, AsgardError) as exc:
        raise _failed(f"fetch stopped ({exc}); run the same command again to resume") from exc
    if not build_after:
        return 0
    target = directory / "dataset.parquet"
    try:
        dataset = build_dataset(fetched_spec(store.root, coin))
        write_dataset(dataset, target, sources={"fetched": str(store.root)})
    except (FileNotFoundError, BuildError, HistoryError) as exc:
        raise _failed(str(exc)) from exc
    typer.echo(dataset.report.text())
    typer.echo(f"wrote {target} ({dataset.report.hours} hours)")
    return 0
