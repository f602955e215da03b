"""API read latency and throughput under concurrent clients, over real HTTP, next to a bare
FastAPI endpoint measured in the same run.

    .venv/bin/python bench/api_read.py [--sqlite] [--requests N] [--concurrency C]

The database is a scratch Postgres database (``basis_bench_<hex>`` on ``--postgres``, default
postgresql://postgres@127.0.0.1:5432/postgres, dropped at the end) or, with ``--sqlite``, a
temporary SQLite file. It is migrated, then seeded: ``--users`` users (100) each sign in the
real way (one-time code, then ``POST /auth/tokens`` for an API token) and get 4 positions (two
open, two closed with realised PnL; a LONG and a SHORT leg each), each filled from an intent,
plus two pending intents and a cancelled one.

Two servers are then measured one after the other, each alone in its own uvicorn process with
the options ``basis api`` uses (one worker; h11 and the asyncio loop unless httptools/uvloop
are installed): a bare FastAPI app (one GET route answering ``{"status":"ok"}``, no middleware)
and the real app (``api.main.create_app``, built in the child with the rate limits raised,
writing its JSON access log like ``basis api``). Each row is N requests (after a warm-up) by C
concurrent keep-alive connections, each connection one user with that user's API token; the
figures are p50 and p99 latency (first byte sent to last byte read: with every client always
waiting, mostly queueing, p50 about C / throughput), requests per second, responses other than
200 (any makes the script exit 1), and the CPU used meanwhile by the server, the load
generator and the whole machine (100% = one core).

The load generator is a small asyncio HTTP/1.1 client in this process. httpx.AsyncClient was
tried first: with 100 connections it managed only 230-360 requests/s against the bare endpoint
(its own CPU at 70% of a core, the server's at 10%), so it measured itself, not the server;
the raw client drives the same endpoint past 3,500/s using about a quarter of a core. Its CPU
column says whether it limited a row, and the output says so when it did.

Nothing else should run meanwhile: the ``machine`` column shows when something did (two cores,
one of them the server's, one the client's and the database's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.main import create_app
from api.main import serve as serve_app
from api.security.codes import CapturingCodeSender
from basis.clock import utc_now
from basis.config import Settings, load_settings
from basis.db import create_engine, session_factory
from basis.logging import configure_logging
from basis.migrate import upgrade
from basis.ports import free_port
from basis.stack import die_with_parent
from models.domain import Asset, IntentStatus, LegSide, LegStatus, PositionStatus, Protocol, Venue
from models.tables import Intent, Leg, Position

HOST = "127.0.0.1"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
API = "/api/v1"
BARE_PATH = "/status"
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLIENT_BOUND = 0.85
"""A client using this share of a core or more is taken to have limited the row."""
CROWDED = 0.8


class BenchError(Exception):
    """A failure that ends the run, with the line to show."""


# ---- the servers (child processes) ----------------------------------------------------------


def bench_settings(database_url: str) -> Settings:
    """The real app's settings, rate limits out of the way: 100 clients on one address."""
    settings = load_settings(database_url=database_url, paper_deposits=False)
    r = settings.auth.rate_limits
    r.ip_per_second = r.user_per_second = r.login_per_minute = r.code_requests_per_hour = 1e9
    r.ip_burst = r.user_burst = r.login_burst = r.code_requests_burst = 10**9
    return settings


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get(BARE_PATH)
    async def status() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(kind: str, port: int, database_url: str) -> None:
    """The child: build the app here (so the settings are this process's own) and serve it."""
    if kind == "real":
        settings = bench_settings(database_url)
        configure_logging("api", settings.log_level, settings.log_format)
        app = create_app(settings)
    else:
        configure_logging("bare", "INFO", "json")
        app = bare_app()
    serve_app(app, HOST, port)


class Server:
    """One server in its own process group, dying with this process (even on SIGKILL)."""

    def __init__(self, kind: str, database_url: str, workdir: Path) -> None:
        self.kind = kind
        self.database_url = database_url
        self.log = workdir / f"{kind}.log"
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Server:
        argv = [sys.executable, __file__, "--serve", self.kind, "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                "--database-url",
                self.database_url,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        try:
            await self._ready(BARE_PATH if self.kind == "bare" else f"{API}/health/live")
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def _ready(self, path: str) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise BenchError(
                    f"{self.kind} server exited with {self.proc.returncode}:\n{self.tail()}"
                )
            try:
                conn = await Connection.open(self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                status, _, _ = await conn.request(get(self.port, path))
            finally:
                conn.close()
            if status == 200:
                return
            await asyncio.sleep(0.05)
        raise BenchError(f"{self.kind} server did not answer {path} within 60 s:\n{self.tail()}")

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), grace)
                return


# ---- the load generator ---------------------------------------------------------------------


def get(port: int, path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{auth}\r\n".encode()


class Connection:
    """A keep-alive HTTP/1.1 connection: one request at a time, Content-Length bodies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)  # TCP_NODELAY by default
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Status, body, and whether the server will close the connection."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, close = -1, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                close = value.strip().lower() == b"close"
        if length < 0:
            raise BenchError(f"a response without Content-Length: {head[:200]!r}")
        return status, await self.reader.readexactly(length), close

    def close(self) -> None:
        self.writer.close()


@dataclass
class Row:
    name: str
    latencies_ms: list[float]
    seconds: float
    non_200: Counter[int]
    sample_error: bytes
    server_cpu: float
    client_cpu: float
    machine_cpu: float
    reconnects: int

    def percentile(self, p: float) -> float:
        ms = sorted(self.latencies_ms)
        return ms[max(0, math.ceil(len(ms) * p / 100) - 1)]  # nearest rank

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: what a request costs, whoever else wanted the cores."""
        return self.server_cpu * self.seconds / len(self.latencies_ms) * 1000

    @property
    def client_bound(self) -> bool:
        return self.client_cpu >= CLIENT_BOUND

    @property
    def crowded(self) -> bool:
        """The server got less than most of a core while every core was busy."""
        return self.server_cpu < CROWDED and self.machine_cpu >= 0.95 * (os.cpu_count() or 1)


def proc_cpu_seconds(pid: int) -> float:
    # utime and stime are fields 14 and 15; the name (field 2) may hold spaces, split after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


async def drive(
    port: int, plans: list[list[bytes]], n: int, keep: bool
) -> tuple[list[float], Counter[int], bytes, int]:
    """``n`` requests over ``len(plans)`` connections; connection ``k`` cycles ``plans[k]``."""
    conns = await asyncio.gather(*(Connection.open(port) for _ in plans))
    latencies: list[float] = []
    bad: Counter[int] = Counter()
    sample = b""
    remaining = n
    reconnects = 0

    async def client(k: int) -> None:
        nonlocal remaining, sample, reconnects
        plan, i = plans[k], k
        while remaining > 0:
            remaining -= 1
            raw = plan[i % len(plan)]
            i += 1
            t = time.perf_counter()
            status, body, close = await conns[k].request(raw)
            if keep:
                latencies.append((time.perf_counter() - t) * 1000)
            if status != 200:
                bad[status] += 1
                sample = sample or body[:300]
            if close:
                conns[k].close()
                conns[k] = await Connection.open(port)
                reconnects += 1

    try:
        async with asyncio.TaskGroup() as tg:
            for k in range(len(plans)):
                tg.create_task(client(k))
    except* (BenchError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as g:
        raise BenchError(f"a request failed: {g.exceptions[0]}") from None
    finally:
        for c in conns:
            c.close()
    return latencies, bad, sample, reconnects


async def measure(name: str, server: Server, plans: list[list[bytes]], n: int) -> Row:
    try:
        return await _measure(name, server, plans, n)
    except BenchError as exc:
        raise BenchError(f"{name}: {exc}\n{server.kind} server log:\n{server.tail()}") from None


async def _measure(name: str, server: Server, plans: list[list[bytes]], n: int) -> Row:
    await drive(server.port, plans, max(len(plans) * 5, n // 5), keep=False)  # warm-up
    server_0, client_0, machine_0 = (
        proc_cpu_seconds(server.pid),
        time.process_time(),
        machine_busy_seconds(),
    )
    t0 = time.perf_counter()
    latencies, bad, sample, reconnects = await drive(server.port, plans, n, keep=True)
    seconds = time.perf_counter() - t0
    return Row(
        name=name,
        latencies_ms=latencies,
        seconds=seconds,
        non_200=bad,
        sample_error=sample,
        server_cpu=(proc_cpu_seconds(server.pid) - server_0) / seconds,
        client_cpu=(time.process_time() - client_0) / seconds,
        machine_cpu=(machine_busy_seconds() - machine_0) / seconds,
        reconnects=reconnects,
    )


# ---- the data -------------------------------------------------------------------------------


@dataclass
class Account:
    user_id: uuid.UUID
    token: str
    positions: list[uuid.UUID] = field(default_factory=list)
    intents: int = 0


async def sign_in_all(url: str, users: int) -> list[Account]:
    """Each user signs in with a one-time code and creates an API token, through the real app
    (in this process: the captured codes are only readable here)."""
    codes = CapturingCodeSender()
    app = create_app(bench_settings(url), code_sender=codes)
    accounts = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bench") as c:
            for i in range(users):
                email = f"bench-{i:03d}@example.com"
                r = await c.post(f"{API}/auth/otp/request", json={"email": email})
                r.raise_for_status()
                v = await c.post(
                    f"{API}/auth/otp/verify", json={"email": email, "code": codes.last(email)}
                )
                v.raise_for_status()
                c.cookies.clear()
                t = await c.post(
                    f"{API}/auth/tokens",
                    json={"name": "bench"},
                    headers={
                        "Cookie": f"basis_session={v.cookies['basis_session']}",
                        "X-CSRF-Token": v.json()["csrf_token"],
                    },
                )
                t.raise_for_status()
                accounts.append(Account(uuid.UUID(v.json()["user"]["id"]), t.json()["token"]))
    return accounts


def usd(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def qty(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001"))


def trade(rng: random.Random, account: Account, now: datetime, closed: bool) -> list[object]:
    """An intent, the position it filled, its two legs; closed ones with realised PnL."""
    asset = rng.choice(list(Asset))
    leverage = Decimal(rng.choice(["2", "2.5", "3", "3.5"]))
    capital = Decimal(rng.randrange(5, 60) * 1000)
    sol = Decimal(rng.randrange(12000, 19000)) / 100
    rate = Decimal(1) if asset is Asset.SOL else Decimal(rng.randrange(1060, 1120)) / 1000
    notional = usd(capital * leverage / 2)  # each leg: half the capital, the same leverage
    created = now - timedelta(days=rng.randrange(3, 120), minutes=rng.randrange(1440))
    opened = created + timedelta(hours=rng.randrange(1, 48))
    intent = Intent(
        user_id=account.user_id,
        client_key=f"key:{uuid.uuid4().hex}",
        asset=asset,
        leverage=leverage,
        capital_usd=capital,
        min_funding_rate=Decimal("0.0003"),
        max_funding_volatility=Decimal(10),
        status=IntentStatus.FILLED,
        created_at=created,
        updated_at=opened,
    )
    position = Position(
        user_id=account.user_id,
        intent_id=intent.id,
        asset=asset,
        protocol=rng.choice(list(Protocol)),
        leverage=leverage,
        capital_usd=capital,
        status=PositionStatus.OPEN,
        entry_price=sol * rate,
        opened_at=opened,
        created_at=created,
        updated_at=opened,
    )
    intent.position_id = position.id
    long = Leg(
        position_id=position.id,
        venue=Venue.ASGARD,
        side=LegSide.LONG,
        status=LegStatus.OPEN,
        instrument=asset.value,
        venue_ref=uuid.uuid4().hex,
        size=qty(notional / (sol * rate)),
        entry_price=sol * rate,
        notional_usd=notional,
        leverage=leverage,
        venue_details={
            "collateral_usd": format(capital / 2, "f"),
            "tokens": format(qty(notional / (sol * rate)), "f"),
            "debt": format(usd(notional - capital / 2), "f"),
            "rate_sol": format(rate, "f"),
        },
        opened_at=opened,
        updated_at=opened,
    )
    short = Leg(
        position_id=position.id,
        venue=Venue.HYPERLIQUID,
        side=LegSide.SHORT,
        status=LegStatus.OPEN,
        instrument="SOL-PERP",
        venue_ref=str(rng.randrange(10**10)),
        size=qty(notional / sol),
        entry_price=sol,
        notional_usd=notional,
        leverage=leverage,
        opened_at=opened,
        updated_at=opened,
    )
    if closed:
        at = opened + timedelta(days=rng.randrange(1, 3), hours=rng.randrange(24))
        exit_sol = sol * (1 + Decimal(rng.randrange(-80, 80)) / 1000)
        position.status = PositionStatus.CLOSED
        position.exit_price = exit_sol * rate
        position.close_reason = rng.choice(["funding_negative", "user_request"])
        position.pnl_funding_usd = usd(notional * Decimal(rng.randrange(5, 60)) / 10000)
        position.pnl_staking_usd = (
            Decimal(0) if asset is Asset.SOL else usd(notional * Decimal("0.0004"))
        )
        position.pnl_lending_usd = usd(capital * Decimal("0.0002"))
        position.pnl_borrow_usd = -usd(notional * Decimal("0.0003"))
        position.pnl_price_usd = usd(Decimal(rng.randrange(-15000, 15000)) / 100)
        position.pnl_fees_usd = -usd(notional * Decimal("0.0009"))
        position.realised_pnl_usd = sum(
            (
                position.pnl_funding_usd,
                position.pnl_staking_usd,
                position.pnl_lending_usd,
                position.pnl_borrow_usd,
                position.pnl_price_usd,
                position.pnl_fees_usd,
            ),
            Decimal(0),
        )
        position.closed_at = position.updated_at = at
        for leg, price in ((long, exit_sol * rate), (short, exit_sol)):
            leg.status, leg.size, leg.exit_price = LegStatus.CLOSED, Decimal(0), price
            leg.closed_at = leg.updated_at = at
    account.positions.append(position.id)
    account.intents += 1
    return [intent, position, long, short]


def waiting(rng: random.Random, account: Account, now: datetime, status: IntentStatus) -> Intent:
    account.intents += 1
    created = now - timedelta(hours=rng.randrange(1, 72))
    return Intent(
        user_id=account.user_id,
        client_key=f"key:{uuid.uuid4().hex}",
        asset=rng.choice(list(Asset)),
        leverage=Decimal(3),
        capital_usd=Decimal(rng.randrange(5, 60) * 1000),
        min_net_apy=Decimal("0.12"),
        min_funding_rate=Decimal("0.0004"),
        status=status,
        expires_at=created + timedelta(days=7),
        created_at=created,
        updated_at=created,
    )


async def seed(url: str, accounts: list[Account]) -> None:
    rng, now = random.Random(7), utc_now()
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as s, s.begin():
            for a in accounts:
                rows: list[object] = []
                for closed in (False, False, True, True):
                    rows += trade(rng, a, now, closed)
                rows += [waiting(rng, a, now, IntentStatus.PENDING) for _ in range(2)]
                rows.append(waiting(rng, a, now, IntentStatus.CANCELLED))
                for kind in (Intent, Position, Leg):  # in foreign-key order
                    s.add_all([r for r in rows if isinstance(r, kind)])
                    await s.flush()
    finally:
        await engine.dispose()


async def check_scoping(port: int, accounts: list[Account]) -> None:
    """Each user reads exactly their own rows, and another user's position is not found."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}{API}") as c:

        async def read(path: str, a: Account, expect: int = 200) -> Any:
            r = await c.get(path, headers={"Authorization": f"Bearer {a.token}"})
            if r.status_code != expect:
                raise BenchError(f"GET {path} as {a.user_id}: {r.status_code} {r.text[:300]}")
            return r.json()

        for i, a in enumerate(accounts):
            got = {uuid.UUID(p["id"]) for p in await read("/positions", a)}
            intents = await read("/intents", a)
            await read(f"/positions/{accounts[i - 1].positions[0]}", a, expect=404)
            if got != set(a.positions) or len(intents) != a.intents:
                raise BenchError(f"user {a.user_id} does not read exactly their own rows")


# ---- the run --------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = (
        f"{'endpoint':<32}{'p50 ms':>8}{'p99 ms':>8}{'req/s':>7}{'non-200':>8}"
        f"{'CPU ms/req':>11}{'server':>7}{'client':>7}{'machine':>8}"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        out.append(
            f"{r.name:<32}{r.percentile(50):>8.1f}{r.percentile(99):>8.1f}{r.rate:>7.0f}"
            f"{sum(r.non_200.values()):>8}{r.cpu_ms:>11.2f}{r.server_cpu:>7.0%}"
            f"{r.client_cpu:>7.0%}{r.machine_cpu:>8.0%}"
        )
    return "\n".join(out)


async def run(url: str, db: str, args: argparse.Namespace, workdir: Path) -> int:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    t = time.perf_counter()
    accounts = await sign_in_all(url, args.users)
    await seed(url, accounts)
    setup = time.perf_counter() - t
    c, n = args.concurrency, args.requests
    clients = [accounts[k % len(accounts)] for k in range(c)]
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"{os.cpu_count()} cores ({cpu_model()}), "
        f"load {os.getloadavg()[0]:.2f}; Python {platform.python_version()}; "
        f"uvicorn {uvicorn.__version__} ({http}, {loop}), 1 process per server; {db}"
    )
    print(
        f"{len(accounts)} users, {sum(len(a.positions) for a in accounts)} positions, "
        f"{sum(a.intents for a in accounts)} intents (signed in and seeded in {setup:.1f} s); "
        f"{n} requests per row after a warm-up, {c} concurrent keep-alive clients"
    )
    rows = []
    async with Server("bare", url, workdir) as bare:
        plans = [[get(bare.port, BARE_PATH)] for _ in clients]
        rows.append(await measure(f"GET {BARE_PATH} (bare FastAPI)", bare, plans, n))
    async with Server("real", url, workdir) as real:
        await check_scoping(real.port, accounts)
        p = real.port
        endpoints = [
            (f"GET {API}/health/live", [[get(p, f"{API}/health/live")] for _ in clients]),
            (
                f"GET {API}/positions",
                [[get(p, f"{API}/positions", a.token)] for a in clients],
            ),
            (
                f"GET {API}/positions/{{id}}",
                [[get(p, f"{API}/positions/{i}", a.token) for i in a.positions] for a in clients],
            ),
            (f"GET {API}/intents", [[get(p, f"{API}/intents", a.token)] for a in clients]),
        ]
        for name, plans in endpoints:
            rows.append(await measure(name, real, plans, n))
    print(table(rows))
    print("CPU ms/req: the server process's CPU time per request (Postgres's own is not in it).")
    print("server, client, machine: the share of one core used by the server process, the load")
    print("generator, and all cores together.")
    status = 0
    for r in rows:
        if r.crowded:
            print(f"note: {r.name}: the server got {r.server_cpu:.0%} of a core, the machine was")
            print("      full: something else competed; req/s understates it, CPU ms/req less so")
        if r.client_bound:
            print(f"note: {r.name}: the load generator used {r.client_cpu:.0%} of a core; the")
            print("      server may have had more to give (a lower bound on its throughput)")
        if r.reconnects:
            print(f"note: {r.name}: the server closed {r.reconnects} keep-alive connections")
        if r.non_200:
            status = 1
            print(f"FAIL: {r.name}: non-200 responses {dict(r.non_200)}, e.g. {r.sample_error!r}")
    return status


async def main(args: argparse.Namespace) -> int:
    # SIGTERM unwinds like Ctrl-C: servers stopped, the scratch database dropped.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with tempfile.TemporaryDirectory(prefix="basis-api-read-") as tmp:
        workdir = Path(tmp)
        if args.sqlite:
            return await run(f"sqlite+aiosqlite:///{workdir / 'bench.db'}", "SQLite", args, workdir)
        import asyncpg

        name = f"basis_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(args.postgres)
        try:
            version = await admin.fetchval("SHOW server_version")
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                base = args.postgres.rsplit("/", 1)[0]
                url = base.replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
                return await run(url, f"PostgreSQL {version.split()[0]}", args, workdir)
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def cli() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sqlite", action="store_true", help="a temporary SQLite file")
    ap.add_argument("--postgres", default=ADMIN_URL, help="admin URL of a Postgres server")
    ap.add_argument("--requests", type=int, default=3000, help="requests per endpoint")
    ap.add_argument("--concurrency", type=int, default=100, help="concurrent clients")
    ap.add_argument("--users", type=int, default=100, help="users seeded (>= 2)")
    ap.add_argument("--serve", choices=["bare", "real"], help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--database-url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.database_url)
        return 0
    if args.users < 2 or args.concurrency < 1 or args.requests < 1:
        ap.error("--users must be at least 2, --concurrency and --requests at least 1")
    try:
        return asyncio.run(main(args))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(cli())
