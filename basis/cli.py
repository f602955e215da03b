"""``basis``: the operator's entry point.

Every command leaves through ``hard_exit`` with its real status (see ``basis.runtime``), and
every expected failure (bad configuration, a taken port) is one line naming what to change.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, Literal

import click
import typer

from basis.cli_backtest import backtest
from basis.cli_data import data_app
from basis.config import ConfigError, Settings, load_settings
from basis.ports import PortClaim, PortInUseError, check_ports
from basis.runtime import hard_exit

app = typer.Typer(
    name="basis",
    help="Asgard Basis: delta-neutral SOL funding basis trade on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
temporal_app = typer.Typer(help="Temporal cluster set-up.", no_args_is_help=True)
control_app = typer.Typer(help="Pause, resume and inspect trading.", no_args_is_help=True)
emulator_app = typer.Typer(help="Local venue emulators (paper mode).", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(temporal_app, name="temporal")
app.add_typer(control_app, name="control")
app.add_typer(emulator_app, name="emulator")
users_app = typer.Typer(help="Accounts: the operator role and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
keys_app = typer.Typer(
    help="Wallet key-encryption keys: create, inspect, rotate.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")


class CommandFailed(Exception):
    """An expected failure: its message is the one line the operator sees."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def settings_or_fail(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from exc


def _role_or_fail(settings: Settings, role: Literal["api", "worker"]) -> None:
    try:
        settings.check_role(role)
    except ConfigError as exc:
        raise CommandFailed(str(exc)) from exc


def run_async(factory: Callable[[], Coroutine[Any, Any, int | None]]) -> int:
    try:
        return asyncio.run(factory()) or 0
    except ConfigError as exc:  # found when a command first needs it (payload keys)
        raise CommandFailed(str(exc)) from exc
    except (PortInUseError, ValueError) as exc:
        if isinstance(exc, PortInUseError) or str(exc).startswith("port "):
            raise CommandFailed(str(exc)) from exc
        raise


def _configure_logging(settings: Settings, service: str) -> None:
    from basis.logging import configure_logging

    configure_logging(service, settings.log_level, settings.log_format)


# ---- the stack ------------------------------------------------------------------------------


@app.command()
def up() -> int:
    """Start the embedded stack (Temporal dev server, migrations, emulators, worker, API)."""
    from basis.logging import configure_logging
    from basis.stack import Stack, dev_server_host

    settings = settings_or_fail()
    try:
        dev_server_host(settings)
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    configure_logging(
        "stack", settings.log_level, settings.log_format, settings.state_dir / "logs" / "stack.log"
    )
    return run_async(lambda: Stack(settings).run())


@app.command()
def worker(
    roles: Annotated[
        str, typer.Option(help="Task-queue roles to serve: engine, venues (comma-separated).")
    ] = "engine,venues",
) -> int:
    """Run a Temporal worker (run several for more capacity)."""
    import worker as worker_module

    settings = settings_or_fail()
    _role_or_fail(settings, "worker")
    _configure_logging(settings, "worker")
    chosen = [r.strip() for r in roles.split(",") if r.strip()]
    bad = [r for r in chosen if r not in worker_module.QUEUE_ROLES]
    if bad or not chosen:
        raise CommandFailed(
            f"--roles: unknown role(s) {bad}; allowed: {', '.join(worker_module.QUEUE_ROLES)}"
        )
    return run_async(lambda: worker_module.run(settings, chosen))


@app.command("worker-health")
def worker_health(
    max_age: Annotated[int, typer.Option(help="Seconds since this host's last poll.")] = 90,
) -> int:
    """Exit 0 when a worker on this host is polling its task queue (container health check)."""
    import socket
    from datetime import UTC

    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from basis.clock import utc_now
    from basis.temporal import connect

    settings = settings_or_fail()
    host = socket.gethostname()

    async def go() -> int:
        client = await connect(settings)
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=settings.temporal.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        now = utc_now()
        for poller in resp.pollers:
            seen = poller.last_access_time.ToDatetime(tzinfo=UTC)
            if poller.identity.endswith(f"@{host}") and (now - seen).total_seconds() <= max_age:
                return 0
        raise CommandFailed(f"no worker on {host} polled {settings.temporal.task_queue} recently")

    return run_async(go)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Bind address (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
) -> int:
    """Serve the HTTP API."""
    from api.main import create_app, serve

    settings = settings_or_fail()
    _role_or_fail(settings, "api")
    _configure_logging(settings, "api")
    h, p = host or settings.api.host, port or settings.api.port
    check_ports([PortClaim(h, p, "API", "BASIS_API__PORT")])
    serve(create_app(settings), h, p)
    return 0


@app.command()
def migrate() -> int:
    """Apply database migrations up to the newest revision."""
    from basis.db import create_engine
    from basis.migrate import current_revision, upgrade

    settings = settings_or_fail()
    if settings.is_sqlite:
        settings.state_dir.mkdir(parents=True, exist_ok=True)

    async def go() -> int:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            typer.echo(f"database at revision {await current_revision(engine)}")
        finally:
            await engine.dispose()
        return 0

    return run_async(go)


# ---- configuration --------------------------------------------------------------------------


@config_app.command("check")
def config_check() -> int:
    """Validate the configuration and the risk file; print one line."""
    s = settings_or_fail()
    typer.echo(f"configuration ok: mode={s.mode} database={s.database_url.split('://')[0]}")
    return 0


@config_app.command("show")
def config_show() -> int:
    """Print the effective configuration (secrets masked) and risk parameters."""
    s = settings_or_fail()
    out = s.public_dict()
    out["risk"] = s.risk.model_dump(mode="json")
    typer.echo(json.dumps(out, indent=2))
    return 0


# ---- temporal -------------------------------------------------------------------------------


@temporal_app.command("setup")
def temporal_setup() -> int:
    """Create the namespace and register the search attributes (production clusters)."""
    from basis.temporal import ensure_namespace_and_search_attributes

    settings = settings_or_fail()
    _configure_logging(settings, "setup")

    async def go() -> int:
        await ensure_namespace_and_search_attributes(settings)
        typer.echo(f"namespace {settings.temporal.namespace} ready")
        return 0

    return run_async(go)


@temporal_app.command("certs")
def temporal_certs(
    out: Annotated[Path, typer.Option(help="Directory for the PEM files.")] = Path(
        "secrets/temporal"
    ),
    name: Annotated[
        list[str] | None,
        typer.Option(help="Frontend names for the server certificate (repeat; first is its CN)."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Leaf lifetime in days.")] = 365,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
) -> int:
    """Generate the CA, frontend and client certificates for mTLS to Temporal (compose)."""
    from datetime import UTC, datetime

    from basis.certs import DEFAULT_NAMES, generate_certs

    try:
        files = generate_certs(
            out,
            now=datetime.now(UTC),
            names=tuple(name) if name else DEFAULT_NAMES,
            days=days,
            overwrite=overwrite,
        )
    except (FileExistsError, ValueError) as exc:
        raise CommandFailed(str(exc)) from exc
    typer.echo(f"wrote {files.ca_cert}, {files.server_cert}, {files.client_cert} and their keys")
    typer.echo(f"keep {files.ca_key} off the servers: it signs new client certificates")
    return 0


@temporal_app.command("payload-key")
def temporal_payload_key(
    key_id: Annotated[str, typer.Argument(help="A new, unused key id (e.g. k2).")],
) -> int:
    """Print a new payload-encryption key line: append it to the payload_keys secret file
    (the last line encrypts; keep the older lines so history still decodes)."""
    from basis.codec import PayloadKeyError, new_key_line

    try:
        typer.echo(new_key_line(key_id))
    except PayloadKeyError as exc:
        raise CommandFailed(str(exc)) from exc
    return 0


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8888,
) -> int:
    """Serve Temporal's remote codec protocol (/encode, /decode) for the Temporal UI."""
    from api.main import serve
    from basis.codec import PayloadKeys
    from basis.codec_server import build_codec_app

    settings = settings_or_fail()
    _configure_logging(settings, "codec-server")
    t = settings.temporal
    if not t.payload_keys.get_secret_value().strip():
        raise CommandFailed("temporal.payload_keys: the codec server needs the payload keys")
    if not t.codec_cors_origin:
        raise CommandFailed("temporal.codec_cors_origin: set the Temporal UI's origin")
    try:
        app_ = build_codec_app(
            PayloadKeys.parse(t.payload_keys.get_secret_value()),
            token=t.codec_server_token.get_secret_value(),
            cors_origin=t.codec_cors_origin,
            namespace=t.namespace,
        )
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc
    check_ports([PortClaim(host, port, "codec server", "--port")])
    serve(app_, host, port)
    return 0


# ---- keys -----------------------------------------------------------------------------------


@keys_app.command("new-kek")
def keys_new_kek(
    version: Annotated[int, typer.Argument(help="The new version: above every one in use.")],
) -> int:
    """Print a new wallet KEK: the private line for the worker's wallet_keks, the public line
    for the API's wallet_kek_public."""
    from wallets.envelope import KekConfigError, new_kek

    try:
        private, public = new_kek(version)
    except KekConfigError as exc:
        raise CommandFailed(str(exc)) from exc
    typer.echo(f"wallet_keks (worker only, append): {private}")
    typer.echo(f"wallet_kek_public (API):          {public}")
    return 0


@keys_app.command("status")
def keys_status() -> int:
    """How many local wallets are wrapped under each KEK version."""
    from wallets.factory import kek_ring
    from wallets.keystore import LocalKeystore

    async def action(sessions: Any, settings: Settings) -> int:
        versions = await LocalKeystore(sessions, kek_ring(settings)).key_versions()
        typer.echo(json.dumps({str(k): v for k, v in sorted(versions.items())}))
        return 0

    return _users(action)


@keys_app.command("rotate")
def keys_rotate() -> int:
    """Re-wrap every wallet data key under the newest KEK in wallet_keks (run where the
    private KEKs are: a worker host). Workers keep signing throughout."""
    from wallets.envelope import KekUnavailableError
    from wallets.factory import kek_ring
    from wallets.keystore import LocalKeystore

    async def action(sessions: Any, settings: Settings) -> int:
        ring = kek_ring(settings)
        if ring.current.private is None and ring.current.secret is None:
            raise CommandFailed("wallet_keks: rotation needs the private KEKs (a worker host)")
        try:
            report = await LocalKeystore(sessions, ring).rotate()
        except KekUnavailableError as exc:
            raise CommandFailed(
                f"{exc}; add the old KEK to wallet_keks until this finishes"
            ) from exc
        typer.echo(
            f"KEK v{report.version}: re-wrapped {report.rewrapped}, "
            f"already current {report.already_current}, still older {report.remaining}"
        )
        return 0 if not report.remaining else 1

    return _users(action)


# ---- control --------------------------------------------------------------------------------


def _control(paused: bool, reason: str | None, actor: str) -> int:
    from api.services.control import apply_change
    from basis.temporal import connect
    from models.domain import GLOBAL_SCOPE
    from models.messages import ControlChange

    settings = settings_or_fail()

    async def go() -> int:
        client = await connect(settings)
        view = await apply_change(
            client,
            settings,
            ControlChange(scope=GLOBAL_SCOPE, paused=paused, reason=reason, actor=actor),
        )
        typer.echo(view.model_dump_json())
        return 0

    return run_async(go)


@control_app.command("pause")
def control_pause(
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    actor: Annotated[str, typer.Option(help="Who is pausing.")] = "cli",
) -> int:
    """Stop new entries for everyone (open positions stay monitored)."""
    return _control(True, reason, actor)


@control_app.command("resume")
def control_resume(
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    actor: Annotated[str, typer.Option(help="Who is resuming.")] = "cli",
) -> int:
    """Allow new entries again."""
    return _control(False, reason, actor)


# ---- users ----------------------------------------------------------------------------------


def _users(action: Callable[[Any, Settings], Coroutine[Any, Any, int]]) -> int:
    """Run ``action(sessions, settings)`` on the configured database."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from api.errors import ApiError
    from basis.db import create_engine, session_factory

    settings = settings_or_fail()

    async def go() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await action(session_factory(engine), settings)
        except (OperationalError, ProgrammingError) as exc:
            raise CommandFailed(
                f"database not ready ({type(exc).__name__}); run `basis migrate` first"
            ) from exc
        except LookupError as exc:
            raise CommandFailed(str(exc).strip("'\"")) from exc
        except ApiError as exc:
            raise CommandFailed(exc.message) from exc
        except ValueError as exc:
            raise CommandFailed(f"EMAIL: {exc}") from exc
        finally:
            await engine.dispose()

    return run_async(go)


def _set_role(email: str, operator: bool) -> int:
    from api.services.accounts import set_role
    from basis.clock import utc_now
    from models.domain import UserRole

    role = UserRole.OPERATOR if operator else UserRole.USER

    async def action(sessions: Any, _: Settings) -> int:
        user = await set_role(sessions, email, role, utc_now(), create=operator)
        typer.echo(f"{user.email} ({user.id}) is now {role.value}")
        return 0

    return _users(action)


@users_app.command("grant-operator")
def users_grant_operator(
    email: Annotated[str, typer.Argument(help="The operator's sign-in address.")],
) -> int:
    """Make EMAIL an operator (global pause, resume, emergency stop, scan). Creates the account
    if it does not exist yet; the person signs in with a one-time code as usual."""
    return _set_role(email, operator=True)


@users_app.command("revoke-operator")
def users_revoke_operator(email: Annotated[str, typer.Argument()]) -> int:
    """Make EMAIL an ordinary user again."""
    return _set_role(email, operator=False)


@users_app.command("create-token")
def users_create_token(
    email: Annotated[str, typer.Argument(help="Whose token (the account must exist).")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[
        int | None, typer.Option(help="Lifetime (default: auth.token_max_days).")
    ] = None,
) -> int:
    """Create an API token for EMAIL and print it (once). For self-hosted scripts and
    automation; users create their own with POST /api/v1/auth/tokens."""
    from sqlmodel import select

    from api.services import tokens
    from api.services.accounts import normalise_email
    from basis.clock import utc_now
    from models.tables import User

    async def action(sessions: Any, settings: Settings) -> int:
        address = normalise_email(email)
        async with sessions() as s:
            user = (await s.exec(select(User).where(User.email == address))).first()
            if user is None:
                raise LookupError(f"no user with address {address}")
            _, token = await tokens.create(
                s, settings, user.id, name=name, expires_in_days=days, now=utc_now(), actor="cli"
            )
        typer.echo(token)
        return 0

    return _users(action)


# ---- emulators ------------------------------------------------------------------------------


@emulator_app.command("hyperliquid")
def emulator_hyperliquid(
    port: Annotated[
        int | None, typer.Option(help="Port (default: emulators.hyperliquid_port).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: emulators.host).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Random-walk market seed (default: emulators.seed).")
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Simulated seconds per real second (default: emulators.clock_speed)."),
    ] = None,
    state_file: Annotated[
        str | None,
        typer.Option(help="Persist venue state here and reload it at start (default: none)."),
    ] = None,
    mainnet: Annotated[
        bool, typer.Option(help="Verify signatures as mainnet (source 'a') instead of testnet.")
    ] = False,
) -> int:
    """Run the Hyperliquid emulator alone, on a seeded random-walk market."""
    from pathlib import Path

    import uvicorn

    from venues.emulators.hyperliquid import EmulatorConfig, create_app
    from venues.market import SimClock
    from venues.market.random_walk import RandomWalkSource

    settings = settings_or_fail()
    _configure_logging(settings, "emulator-hyperliquid")
    e = settings.emulators
    h, p = host or e.host, port or e.hyperliquid_port
    clock_speed = speed if speed is not None else e.clock_speed
    if clock_speed <= 0:
        raise CommandFailed("--speed must be positive")
    check_ports([PortClaim(h, p, "Hyperliquid emulator", "BASIS_EMULATORS__HYPERLIQUID_PORT")])
    app = create_app(
        RandomWalkSource(seed=seed if seed is not None else e.seed),
        SimClock(speed=clock_speed),
        state_file=Path(state_file) if state_file else None,
        config=EmulatorConfig(chain="Mainnet" if mainnet else "Testnet"),
    )
    typer.echo(f"hyperliquid emulator on http://{h}:{p} (admin: /admin/health)")
    server = uvicorn.Server(
        uvicorn.Config(app, host=h, port=p, log_config=None, lifespan="off", server_header=False)
    )
    server.run()
    return 0


@emulator_app.command("asgard")
def emulator_asgard(
    port: Annotated[int | None, typer.Option(help="Port (default: emulators.asgard_port).")] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default: emulators.host).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Market seed (default: emulators.seed).")] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Clock speed, x real time (default: emulators.clock_speed)."),
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(help="Emulator state file (default: <state_dir>/emulators/asgard.json)."),
    ] = None,
) -> int:
    """Serve the Asgard API (/margin-trading) and Solana RPC (/solana) emulator alone, on a
    seeded random-walk market."""
    import uvicorn

    from venues.emulators.asgard import EmulatorConfig, create_app
    from venues.market import SimClock
    from venues.market.random_walk import RandomWalkSource

    settings = settings_or_fail()
    _configure_logging(settings, "emulator-asgard")
    e = settings.emulators
    h, p = host or e.host, port or e.asgard_port
    chosen_seed = e.seed if seed is None else seed
    check_ports([PortClaim(h, p, "Asgard emulator", "BASIS_EMULATORS__ASGARD_PORT")])
    path = state_file or settings.state_dir / "emulators" / "asgard.json"
    key = settings.venues.asgard_api_key.get_secret_value() or None
    app = create_app(
        RandomWalkSource(seed=chosen_seed),
        SimClock(speed=speed or e.clock_speed),
        state_file=path,
        config=EmulatorConfig(seed=chosen_seed, api_key=key),
    )
    typer.echo(f"Asgard emulator on http://{h}:{p}/margin-trading, Solana RPC on /solana")
    uvicorn.Server(
        uvicorn.Config(app, host=h, port=p, log_config=None, lifespan="off", server_header=False)
    ).run()
    return 0


@emulator_app.command("all")
def emulator_all(
    scenario: Annotated[
        str | None, typer.Option(help="Market scenario (default: emulators.scenario).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Market seed (default: emulators.seed).")] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Simulated seconds per real second (default: emulators.clock_speed)."),
    ] = None,
) -> int:
    """Both emulators in one process on one simulated market: Hyperliquid, and Asgard with the
    Solana RPC. State persists under <state_dir>/emulators."""
    from venues.emulators.combined import build, serve
    from venues.market.scenarios import SCENARIOS

    settings = settings_or_fail()
    _configure_logging(settings, "emulators")
    e = settings.emulators
    chosen = scenario or e.scenario
    if chosen not in SCENARIOS:
        raise CommandFailed(f"--scenario: unknown {chosen!r}; known: {', '.join(SCENARIOS)}")
    check_ports(
        [
            PortClaim(
                e.host,
                e.hyperliquid_port,
                "Hyperliquid emulator",
                "BASIS_EMULATORS__HYPERLIQUID_PORT",
            ),
            PortClaim(e.host, e.asgard_port, "Asgard emulator", "BASIS_EMULATORS__ASGARD_PORT"),
        ]
    )
    state_dir = settings.state_dir / "emulators"
    state_dir.mkdir(parents=True, exist_ok=True)
    venues = build(
        scenario=chosen,
        seed=e.seed if seed is None else seed,
        speed=speed or e.clock_speed,
        state_dir=state_dir,
        asgard_api_key=settings.venues.asgard_api_key.get_secret_value() or None,
    )
    return run_async(
        lambda: serve(
            venues, host=e.host, hyperliquid_port=e.hyperliquid_port, asgard_port=e.asgard_port
        )
    )


# ---- backtest and data ---------------------------------------------------------------------

app.command()(backtest)
app.add_typer(data_app, name="data")


# ---- entry point ----------------------------------------------------------------------------


def main() -> None:
    code = 0
    try:
        rv = app(standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except CommandFailed as exc:
        sys.stderr.write(f"basis: {exc}\n")
        code = exc.code
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        code = 130
    hard_exit(code)


if __name__ == "__main__":
    main()
