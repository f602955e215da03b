"""The embedded stack behind ``make run`` / ``basis up``.

Starts, supervises and stops together: the Temporal dev server (persistent SQLite under the
state directory, our namespace and search attributes, web UI on), database migrations, the
venue emulators in paper mode, the worker and the API. Children run in their own sessions and
die with the supervisor (PR_SET_PDEATHSIG), so nothing outlives it; a crashed child is
restarted with backoff, and one that keeps crashing stops the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from basis.config import Settings
from basis.db import create_engine
from basis.migrate import upgrade
from basis.ports import PortClaim, check_ports
from basis.temporal import connect
from models import search

_PR_SET_PDEATHSIG = 1
_MAX_RESTARTS = 5
_RESTART_WINDOW_S = 60.0
_STOP_GRACE_S = 15.0


def die_with_parent() -> None:
    # Runs in the child between fork and exec: if the supervisor is killed outright (even
    # SIGKILL), the kernel sends the child SIGTERM instead of leaving it orphaned.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Service:
    name: str
    argv: list[str]
    ready: Callable[[], Awaitable[bool]]
    env: dict[str, str] = field(default_factory=dict)
    proc: asyncio.subprocess.Process | None = None
    restarts: list[float] = field(default_factory=list)
    log: TextIO | None = None


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def dev_server_host(settings: Settings) -> str:
    """The embedded Temporal dev server has no TLS and no sign-in: it binds (frontend and UI)
    to this machine only. A non-loopback ``temporal.address`` is refused, not honoured."""
    host = settings.temporal.address.rsplit(":", 1)[0]
    if host not in _LOOPBACK_HOSTS:
        raise ValueError(
            f"temporal.address: the embedded dev server binds only to 127.0.0.1 (got {host}); "
            "use the compose deployment (mTLS) to serve Temporal to other machines"
        )
    return host


class StackError(Exception):
    """A failure that stops the stack, with the one line to show the operator."""


class Stack:
    def __init__(self, settings: Settings, out: TextIO = sys.stdout) -> None:
        self.settings = settings
        self.out = out
        self.state_dir = settings.state_dir.resolve()
        self.logs = self.state_dir / "logs"
        self.services: list[Service] = []
        self._stop = asyncio.Event()
        self._bin = Path(sys.executable).parent

    # ---- what runs -------------------------------------------------------------------------

    def port_claims(self) -> list[PortClaim]:
        s = self.settings
        host = s.temporal.address.rsplit(":", 1)[0]
        claims = [
            PortClaim(host, s.temporal.port, "Temporal frontend", "BASIS_TEMPORAL__ADDRESS"),
            PortClaim(host, s.temporal.ui_port, "Temporal web UI", "BASIS_TEMPORAL__UI_PORT"),
            PortClaim(s.api.host, s.api.port, "API", "BASIS_API__PORT"),
        ]
        if s.mode == "paper":
            e = s.emulators
            claims += [
                PortClaim(
                    e.host,
                    e.hyperliquid_port,
                    "Hyperliquid emulator",
                    "BASIS_EMULATORS__HYPERLIQUID_PORT",
                ),
                PortClaim(e.host, e.asgard_port, "Asgard emulator", "BASIS_EMULATORS__ASGARD_PORT"),
            ]
        return claims

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["BASIS_STATE_DIR"] = str(self.state_dir)
        env["BASIS_DATABASE_URL"] = self.settings.database_url
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def build_services(self) -> list[Service]:
        s = self.settings
        t = s.temporal
        host = dev_server_host(s)
        temporal = Service(
            "temporal",
            [
                str(self._bin / "temporal"),
                "server",
                "start-dev",
                "--ip",
                host,
                "--ui-ip",
                host,
                "--port",
                str(t.port),
                "--ui-port",
                str(t.ui_port),
                "--db-filename",
                str(self.state_dir / "temporal.db"),
                "--namespace",
                t.namespace,
                "--log-level",
                "warn",
                *search.dev_server_flags(),
            ],
            ready=self._temporal_ready,
        )
        services = [temporal]
        if s.mode == "paper":
            # The venues first: the worker connects to them at start.
            services.append(
                Service(
                    "emulators",
                    [str(self._bin / "basis"), "emulator", "all"],
                    ready=self._emulators_ready,
                )
            )
        services.append(Service("worker", [str(self._bin / "basis"), "worker"], ready=_always))
        services.append(Service("api", [str(self._bin / "basis"), "api"], ready=self._api_ready))
        return services

    # ---- readiness -------------------------------------------------------------------------

    async def _temporal_ready(self) -> bool:
        try:
            client = await asyncio.wait_for(connect(self.settings), timeout=2)
            from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=self.settings.temporal.namespace)
            )
        except Exception:  # not up yet
            return False
        return True

    async def _http_ok(self, url: str) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    async def _emulators_ready(self) -> bool:
        e = self.settings.emulators
        return await self._http_ok(
            f"http://{e.host}:{e.hyperliquid_port}/admin/health"
        ) and await self._http_ok(f"http://{e.host}:{e.asgard_port}/admin/health")

    async def _api_ready(self) -> bool:
        a = self.settings.api
        return await self._http_ok(f"http://{a.host}:{a.port}/api/v1/health/ready")

    # ---- lifecycle -------------------------------------------------------------------------

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    async def run(self) -> int:
        check_ports(self.port_claims())
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)
        self.services = self.build_services()
        try:
            return await self._run()
        finally:
            await self._stop_all()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        if self._stop.is_set():
            # A second Ctrl-C: stop waiting politely.
            for svc in self.services:
                _signal_group(svc, signal.SIGKILL)
        self._stop.set()

    async def _run(self) -> int:
        s = self.settings
        self.say(f"Asgard Basis ({s.mode} mode), state in {self.state_dir}")
        by_name = {svc.name: svc for svc in self.services}
        await self._start(by_name["temporal"])
        if not await self._wait_ready(by_name["temporal"], 60):
            return 1
        self.say("  migrating database ...")
        engine = create_engine(s.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        # In order: the venues before the worker that connects to them, the API last.
        for svc in self.services[1:]:
            await self._start(svc)
            if not await self._wait_ready(svc, 60):
                return 1
        a, t = s.api, s.temporal
        self.say("")
        self.say(f"  API          http://{a.host}:{a.port}/api/v1")
        self.say(f"  API docs     http://{a.host}:{a.port}/api/v1/docs")
        ui = f"http://{t.address.rsplit(':', 1)[0]}:{t.ui_port}"
        self.say(f"  Temporal UI  {ui}/namespaces/{t.namespace}/workflows")
        if s.mode == "paper":
            e = s.emulators
            self.say(f"  Hyperliquid  http://{e.host}:{e.hyperliquid_port} (emulator)")
            self.say(
                f"  Asgard       http://{e.host}:{e.asgard_port}/margin-trading (emulator; "
                "Solana RPC at /solana, market control at /admin/market)"
            )
        self.say(f"  logs         {self.logs}")
        self.say("Ready. Ctrl-C stops everything.")
        return await self._supervise()

    async def _start(self, svc: Service) -> None:
        if svc.log is None:
            svc.log = (self.logs / f"{svc.name}.log").open("a", buffering=1)
        svc.proc = await asyncio.create_subprocess_exec(
            *svc.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=svc.log,
            stderr=asyncio.subprocess.STDOUT,
            env=self._child_env() | svc.env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.say(f"  started {svc.name} (pid {svc.proc.pid})")

    async def _wait_ready(self, svc: Service, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            if svc.proc is not None and svc.proc.returncode is not None:
                self.say(
                    f"{svc.name} exited with status {svc.proc.returncode} while starting; "
                    f"see {self.logs / (svc.name + '.log')}"
                )
                return False
            if await svc.ready():
                return True
            await asyncio.sleep(0.25)
        if not self._stop.is_set():
            self.say(
                f"{svc.name} not ready after {timeout:.0f}s; see {self.logs / (svc.name + '.log')}"
            )
        return False

    async def _supervise(self) -> int:
        while not self._stop.is_set():
            waits = {
                asyncio.ensure_future(svc.proc.wait()): svc
                for svc in self.services
                if svc.proc is not None
            }
            stop_wait = asyncio.ensure_future(self._stop.wait())
            done, pending = await asyncio.wait(
                [*waits, stop_wait], return_when=asyncio.FIRST_COMPLETED
            )
            for fut in pending:
                fut.cancel()
            if stop_wait in done:
                break
            for fut in done:
                svc = waits[fut]
                code = fut.result()
                now = time.monotonic()
                svc.restarts = [t for t in svc.restarts if now - t < _RESTART_WINDOW_S]
                if len(svc.restarts) >= _MAX_RESTARTS:
                    self.say(
                        f"{svc.name} keeps failing ({_MAX_RESTARTS} restarts in "
                        f"{_RESTART_WINDOW_S:.0f}s, last status {code}); stopping. "
                        f"See {self.logs / (svc.name + '.log')}"
                    )
                    return 1
                delay = min(2 ** len(svc.restarts), 30)
                svc.restarts.append(now)
                self.say(f"{svc.name} exited with status {code}; restarting in {delay}s")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                if not self._stop.is_set():
                    await self._start(svc)
        return 0

    async def _stop_all(self) -> None:
        running = [s for s in reversed(self.services) if s.proc and s.proc.returncode is None]
        if running:
            self.say("stopping ...")
        # Reverse start order: the API stops taking requests before the worker goes, and the
        # worker finishes its activities before Temporal goes.
        for svc in running:
            _signal_group(svc, signal.SIGTERM)
            assert svc.proc is not None
            try:
                await asyncio.wait_for(svc.proc.wait(), timeout=_STOP_GRACE_S)
            except TimeoutError:
                self.say(f"  {svc.name} did not stop in {_STOP_GRACE_S:.0f}s; killing it")
                _signal_group(svc, signal.SIGKILL)
                await svc.proc.wait()
            # Anything the child left in its session (grandchildren) goes too.
            _signal_group(svc, signal.SIGKILL)
            self.say(f"  stopped {svc.name}")
        for svc in self.services:
            if svc.log is not None:
                svc.log.close()
                svc.log = None


async def _always() -> bool:
    return True


def _signal_group(svc: Service, sig: signal.Signals) -> None:
    if svc.proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(svc.proc.pid, sig)
