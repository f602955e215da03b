"""The embedded stack as an operator runs it: `basis up` in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from basis.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BASIS = str(Path(sys.executable).parent / "basis")


class StackProcess:
    def __init__(self, state_dir: Path, ports: dict[str, int]) -> None:
        self.state_dir = state_dir
        self.ports = ports
        self.proc: subprocess.Popen[str] | None = None
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BASIS_")},
            "BASIS_STATE_DIR": str(state_dir),
            "BASIS_API__PORT": str(ports["api"]),
            "BASIS_TEMPORAL__ADDRESS": f"127.0.0.1:{ports['temporal']}",
            "BASIS_TEMPORAL__UI_PORT": str(ports["ui"]),
            "BASIS_EMULATORS__HYPERLIQUID_PORT": str(ports["hl"]),
            "BASIS_EMULATORS__ASGARD_PORT": str(ports["asgard"]),
        }

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}/api/v1"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [BASIS, "up"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                pytest.fail(f"basis up exited early ({self.proc.returncode}):\n{out}")
            try:
                if httpx.get(f"{self.api}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        pytest.fail("stack not ready in time")

    def operator(self) -> dict[str, str]:
        """An operator's API token, provisioned the way an operator does it: the CLI."""

        def users(*args: str) -> str:
            done = subprocess.run(
                [BASIS, "users", *args], env=self.env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        users("grant-operator", "ops@example.com")
        token = users("create-token", "ops@example.com", "--name", "stack-test").strip()
        return {"Authorization": f"Bearer {token}"}

    def descendants(self) -> list[psutil.Process]:
        assert self.proc is not None
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self) -> tuple[int, str]:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        return self.proc.returncode, out


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[StackProcess]:
    ports = {k: free_port() for k in ("api", "temporal", "ui", "hl", "asgard")}
    s = StackProcess(tmp_path / "state", ports)
    yield s
    if s.proc is not None and s.proc.poll() is None:
        s.proc.kill()
        s.proc.wait()


def test_up_serves_ready_prints_the_urls_and_stops_without_leaving_a_process(
    stack: StackProcess,
) -> None:
    stack.start()
    stack.wait_ready()
    children = stack.descendants()
    names = " ".join(" ".join(c.cmdline()) for c in children)
    assert "temporal server start-dev" in names
    assert "basis worker" in names
    assert "basis api" in names

    # The Temporal UI shows our namespace with the custom search attributes.
    ui = f"http://127.0.0.1:{stack.ports['ui']}"
    attrs = httpx.get(f"{ui}/api/v1/namespaces/basis/search-attributes", timeout=5).json()
    assert {"BasisUserId", "BasisPositionId", "BasisAsset", "BasisStatus"} <= set(
        attrs["customAttributes"]
    )

    code, out = stack.stop()
    assert code == 0, out
    assert f"http://127.0.0.1:{stack.ports['api']}/api/v1/docs" in out
    assert f"{ui}/namespaces/basis/workflows" in out
    time.sleep(0.5)
    survivors = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert survivors == []


def test_a_second_start_finds_the_earlier_workflows_and_database_rows(
    stack: StackProcess,
) -> None:
    stack.start()
    stack.wait_ready()
    ops = stack.operator()
    r = httpx.post(
        f"{stack.api}/control/pause", json={"reason": "before restart"}, headers=ops, timeout=30
    )
    assert r.status_code == 200, r.text
    assert stack.stop()[0] == 0

    stack.start()
    stack.wait_ready()
    status = httpx.get(f"{stack.api}/control", headers=ops, timeout=10).json()
    assert status["paused"] is True
    assert status["scopes"][0]["reason"] == "before restart"
    # The control workflow from the first run is still there, and still takes changes.
    r = httpx.post(f"{stack.api}/control/resume", json={"reason": "after"}, headers=ops, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["paused"] is False
    assert stack.stop()[0] == 0


def test_a_taken_port_gives_one_line_naming_the_port_and_the_setting(
    stack: StackProcess,
) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", stack.ports["api"]))
        held.listen()
        result = subprocess.run(
            [BASIS, "up"], env=stack.env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert str(stack.ports["api"]) in lines[0]
    assert "BASIS_API__PORT" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_configuration_value_gives_one_line_naming_the_field(
    stack: StackProcess,
) -> None:
    env = {**stack.env, "BASIS_MODE": "production"}
    result = subprocess.run([BASIS, "up"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "mode" in lines[0]
    assert "paper" in lines[0]


def test_a_crashed_worker_is_restarted_by_the_supervisor(stack: StackProcess) -> None:
    stack.start()
    stack.wait_ready()
    ops = stack.operator()
    worker = next(c for c in stack.descendants() if c.cmdline()[-1:] == ["worker"])
    worker.kill()
    deadline = time.monotonic() + 30
    replacement = None
    while time.monotonic() < deadline and replacement is None:
        time.sleep(0.3)
        replacement = next(
            (
                c
                for c in stack.descendants()
                if c.cmdline()[-1:] == ["worker"] and c.pid != worker.pid
            ),
            None,
        )
    assert replacement is not None, "the worker was not restarted"
    # The restarted worker serves workflows: a control change goes through.
    r = httpx.post(f"{stack.api}/control/pause", json={}, headers=ops, timeout=30)
    assert r.status_code == 200, r.text
    code, out = stack.stop()
    assert code == 0
    assert "worker exited with status" in out
