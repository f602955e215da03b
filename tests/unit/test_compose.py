"""The production compose file cannot be run here (no Docker engine): check its structure."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_every_dependency_names_a_defined_service() -> None:
    for name, svc in SERVICES.items():
        for dep in svc.get("depends_on", {}):
            assert dep in SERVICES, f"{name} depends on undefined service {dep}"


def test_every_image_is_pinned_and_every_build_context_exists() -> None:
    for name, svc in SERVICES.items():
        assert "image" in svc or "build" in svc, name
        if "image" in svc:
            image = svc["image"]
            assert re.match(r"^[\w./-]+:[\w.-]+$", image), f"{name}: unpinned image {image}"
            assert not image.endswith(":latest"), name
        if "build" in svc:
            ctx = ROOT / svc["build"]["context"]
            assert ctx.is_dir(), name
            assert (ctx / svc["build"]["dockerfile"]).is_file(), name


def test_every_secret_used_is_declared_from_a_file() -> None:
    declared = COMPOSE["secrets"]
    for name, svc in SERVICES.items():
        for secret in svc.get("secrets", []):
            assert secret in declared, f"{name} uses undeclared secret {secret}"
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")


def test_the_worker_can_be_scaled() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["command"] == ["worker"]


@pytest.mark.parametrize("name", ["postgres", "temporal", "api", "worker"])
def test_long_running_services_have_health_checks(name: str) -> None:
    assert "healthcheck" in SERVICES[name]


def test_our_services_run_read_only_without_new_privileges() -> None:
    for name in ("api", "worker", "migrate", "temporal-setup"):
        svc = SERVICES[name]
        assert svc["read_only"] is True, name
        assert "no-new-privileges:true" in svc["security_opt"], name


def test_the_dockerfile_runs_as_a_non_root_user_and_copies_only_existing_paths() -> None:
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    for src in re.findall(r"^COPY (?!--from)(.+?) \S+$", text, re.M):
        for part in src.split():
            assert (ROOT / part).exists(), f"Dockerfile copies missing {part}"


def test_the_commands_our_services_run_exist_in_the_cli() -> None:
    from typer.main import get_command

    from basis.cli import app

    cli = get_command(app)
    known = set(cli.commands)  # type: ignore[attr-defined]
    for name, svc in SERVICES.items():
        if svc.get("image", "").startswith("asgard-basis"):
            assert svc["command"][0] in known, f"{name} runs unknown command {svc['command']}"


def _published_hosts(svc: dict[str, Any]) -> list[str]:
    # "host_ip:host_port:container_port" publishes on host_ip; anything shorter, on all.
    every = "0.0.0.0"  # noqa: S104 - what a port without a host address publishes on
    return [str(p).split(":")[0] if str(p).count(":") == 2 else every for p in svc.get("ports", [])]


def test_only_the_api_is_published_beyond_this_host() -> None:
    for name, svc in SERVICES.items():
        if name == "api":
            continue
        for host in _published_hosts(svc):
            assert host == "127.0.0.1", f"{name} published on {host}"
    assert "ports" not in SERVICES["temporal"]


def test_the_temporal_frontend_requires_client_certificates_and_clients_present_them() -> None:
    env = SERVICES["temporal"]["environment"]
    assert env["TEMPORAL_TLS_REQUIRE_CLIENT_AUTH"] == "true"
    assert env["TEMPORAL_TLS_FRONTEND_CERT"].startswith("/run/secrets/")
    basis_env = COMPOSE["x-basis"]["environment"]
    for key in ("CA_FILE", "CERT_FILE", "KEY_FILE"):
        path = basis_env[f"BASIS_TEMPORAL__TLS__{key}"]
        assert path.startswith("/run/secrets/")
        for name in ("api", "worker", "temporal-setup"):
            assert path.removeprefix("/run/secrets/") in SERVICES[name]["secrets"], name
    ui = SERVICES["temporal-ui"]["environment"]
    assert ui["TEMPORAL_TLS_CERT"].startswith("/run/secrets/")


def test_the_temporal_ui_is_read_only_with_oidc_sign_in_available() -> None:
    env = SERVICES["temporal-ui"]["environment"]
    for key in (
        "TEMPORAL_DISABLE_WRITE_ACTIONS",
        "TEMPORAL_START_WORKFLOW_DISABLED",
        "TEMPORAL_WORKFLOW_SIGNAL_DISABLED",
        "TEMPORAL_WORKFLOW_TERMINATE_DISABLED",
    ):
        assert env[key] == "true", key
    for key in ("ENABLED", "PROVIDER_URL", "CLIENT_ID", "CLIENT_SECRET", "CALLBACK_URL"):
        assert f"TEMPORAL_AUTH_{key}" in env


def test_each_service_holds_only_its_own_secrets() -> None:
    api, worker = set(SERVICES["api"]["secrets"]), set(SERVICES["worker"]["secrets"])
    assert "basis_wallet_keks" not in api and "basis_server_secret" not in api
    assert "basis_wallet_kek_public" in api and "basis_wallet_keks" in worker
    assert not {"basis_session_secret", "basis_csrf_secret", "basis_hash_secret"} & worker
    assert "basis_temporal__payload_keys" in api & worker
    codec = set(SERVICES["codec-server"]["secrets"])
    assert codec == {"basis_temporal__payload_keys", "basis_temporal__codec_server_token"}
