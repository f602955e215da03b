"""Configuration: environment (``BASIS_`` prefix, ``__`` for nesting), secret files and the
versioned risk YAML. Invalid configuration stops start-up with a message naming the field."""

from __future__ import annotations

import os
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from models.risk import RiskParams

Mode = Literal["paper", "testnet", "mainnet"]

DEFAULT_RISK_FILE = Path(__file__).with_name("risk.yaml")
# A recognisable development value: live modes refuse to start while it is in use.
INSECURE_DEFAULT_SECRET = "insecure-development-secret-do-not-use-live"  # noqa: S105

HYPERLIQUID_MAINNET_URL = "https://api.hyperliquid.xyz"
HYPERLIQUID_TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
ASGARD_URL = "https://v2-ultra-edge.asgard.finance/margin-trading"
SOLANA_MAINNET_RPC = "https://api.mainnet-beta.solana.com"
SOLANA_DEVNET_RPC = "https://api.devnet.solana.com"


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ConfigError(Exception):
    """Configuration that cannot be used; the message names the field and what is allowed."""


class TemporalTLSSettings(BaseModel):
    """TLS to the Temporal frontend (``BASIS_TEMPORAL__TLS__*``). With ``cert_file`` and
    ``key_file`` the client presents a certificate (mTLS, as compose's frontend requires);
    without ``ca_file`` the system roots verify the server (Temporal Cloud)."""

    enabled: bool = False
    ca_file: Path | None = None
    """The CA that signed the frontend's certificate (``basis temporal certs`` writes one)."""
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None
    """The name to verify in the frontend's certificate, when it differs from the address."""

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, value: Any) -> Any:
        # ``BASIS_TEMPORAL__TLS=true`` (the old boolean) still means "TLS, system roots".
        if isinstance(value, bool | str):
            return {"enabled": value}
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("temporal.tls: cert_file and key_file go together (mTLS)")
        if self.ca_file or self.cert_file or self.server_name:
            self.enabled = True
        for name in ("ca_file", "cert_file", "key_file"):
            path: Path | None = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"temporal.tls.{name}: {path} is not a readable file")
        return self


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "basis"
    task_queue: str = Field(default="basis-engine", min_length=1)
    """Workflows and database activities."""
    venue_task_queue: str = Field(default="basis-venues", min_length=1)
    """Activities that call a venue; a separate queue lets venue concurrency be capped alone."""
    ui_port: int = Field(default=8233, ge=1, le=65535)
    schedules: bool = True
    """Create the cycle schedules (intent scan, monitor) at worker start. Off for workers
    that must not own them (test harnesses driving cycles by hand)."""
    api_key: SecretStr | None = None
    """Temporal Cloud API key (sent as a bearer token; implies TLS)."""
    tls: TemporalTLSSettings = TemporalTLSSettings()
    payload_encryption: bool | None = None
    """Encrypt every payload with ``payload_keys`` (see ``basis.codec``). Unset means on in
    live modes, off in paper; live modes refuse to turn it off."""
    payload_keys: SecretStr = SecretStr("")
    """``<key id> <base64 32-byte key>`` lines; the last one encrypts, all decrypt. From the
    ``basis_temporal__payload_keys`` secret file in compose."""
    codec_server_token: SecretStr = SecretStr("")
    """Bearer token the codec server demands (``basis codec-server``)."""
    codec_cors_origin: str = ""
    """The Temporal UI's origin, the only one the codec server answers cross-origin."""

    @property
    def port(self) -> int:
        return _port_of(self.address, "temporal.address")


class RateLimitSettings(BaseModel):
    """Token buckets: ``*_per_second`` refills, ``*_burst`` is the bucket size."""

    ip_per_second: float = Field(default=20.0, gt=0)
    ip_burst: int = Field(default=200, ge=1)
    user_per_second: float = Field(default=10.0, gt=0)
    user_burst: int = Field(default=100, ge=1)
    login_per_minute: float = Field(default=10.0, gt=0)
    """Per IP: one-time-code verifications and Privy syncs."""
    login_burst: int = Field(default=10, ge=1)
    code_requests_per_hour: float = Field(default=5.0, gt=0)
    """Per address and per IP: one-time codes sent."""
    code_requests_burst: int = Field(default=5, ge=1)


class AuthSettings(BaseModel):
    """Sessions, one-time codes, API tokens and their limits."""

    session_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    cookie_secure: bool = True
    """Send the session cookies only over HTTPS. Off only for plain-http paper use."""
    cookie_samesite: Literal["strict", "lax"] = "strict"
    cookie_domain: str | None = None
    otp_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    otp_sender: Literal["log"] = "log"
    """Where one-time codes go: ``log`` writes them to the API's log (self-hosted, paper)."""
    max_tokens_per_user: int = Field(default=20, ge=1, le=1000)
    token_max_days: int = Field(default=365, ge=1, le=3650)
    rate_limits: RateLimitSettings = RateLimitSettings()


class PrivySettings(BaseModel):
    """Privy: login (``/auth/sync`` verifies Privy access tokens) and, with
    ``wallet_provider: privy``, server wallets."""

    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    verification_key: str = ""
    """The app's ES256 verification key (PEM), from the Privy dashboard."""
    api_url: str = "https://api.privy.io"
    authorization_key: SecretStr = SecretStr("")
    """Optional P-256 authorization key (``wallet-auth:<base64 PKCS#8>`` or PEM): when set,
    wallets are created owned by it and every wallet request is signed with it."""
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @property
    def login_enabled(self) -> bool:
        return bool(self.app_id and self.verification_key)


class EventSettings(BaseModel):
    """The per-user server-sent-events stream."""

    poll_seconds: float = Field(default=2.0, gt=0, le=60)
    ping_seconds: float = Field(default=15.0, gt=0, le=300)
    balance_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_stream_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    """A stream ends after this long; clients reconnect with ``Last-Event-ID``."""
    max_streams_per_user: int = Field(default=5, ge=1, le=100)


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    events: EventSettings = EventSettings()


class EmulatorSettings(BaseModel):
    """Local venue emulators started by the embedded stack in paper mode."""

    host: str = "127.0.0.1"
    hyperliquid_port: int = Field(default=8301, ge=1, le=65535)
    asgard_port: int = Field(default=8302, ge=1, le=65535)
    scenario: str = "calm"
    seed: int = 7
    clock_speed: float = Field(default=1.0, gt=0, le=100_000)
    paper_deposit_usd: Decimal = Field(default=Decimal(100_000), gt=0, le=Decimal(10**9))
    """USDC credited on each venue to a new paper user."""


class VenueSettings(BaseModel):
    """Venue endpoints. Empty means: derived from the mode (emulators in paper mode)."""

    hyperliquid_url: str = ""
    asgard_url: str = ""
    solana_rpc_url: str = ""
    asgard_api_key: SecretStr = SecretStr("")
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    asgard_program_id: str = ""
    """Asgard's on-chain program, allowed in the transactions our wallets sign. Empty means
    the emulator's in paper mode; required in live modes (see venues.asgard.factory)."""
    solana_extra_programs: list[str] = Field(default_factory=list)
    """Further programs Asgard's transactions may call (the signer refuses all others)."""
    asgard_health_unit: Literal["auto", "percent", "fraction"] = "auto"
    """Unit of Asgard's healthFactor (unconfirmed; see venues.asgard.health)."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BASIS_",
        env_nested_delimiter="__",
        secrets_nested_delimiter="__",
        secrets_prefix="basis_",
        extra="ignore",
        validate_default=True,
    )

    mode: Mode = "paper"
    state_dir: Path = Path("state")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("BASIS_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    server_secret: SecretStr = SecretStr(INSECURE_DEFAULT_SECRET)
    """Paper/development root: stands in for each of the secrets below left unset. Live modes
    need each of those set on its own, so no single value unlocks everything."""
    session_secret: SecretStr = SecretStr("")
    """Signs session tokens. One secret a line: the first signs, the others still verify
    (rotation: put the new one first, drop the old after ``auth.session_ttl_hours``)."""
    csrf_secret: SecretStr = SecretStr("")
    """Derives CSRF tokens; lines as for ``session_secret``."""
    hash_secret: SecretStr = SecretStr("")
    """Keys the stored hashes of API tokens and one-time codes; the first hashes new ones, the
    others still match (keep an old line until the tokens hashed with it have expired)."""
    wallet_keks: SecretStr = SecretStr("")
    """Worker only: wallet key-encryption keys, ``<version> <base64 X25519 private key>`` a
    line (``basis keys new-kek``). The highest version wraps new data keys; every version
    listed unwraps."""
    wallet_kek_public: str = ""
    """API: ``<version> <base64 X25519 public key>`` of the newest KEK. Enough to create
    wallets, useless for decrypting them."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    kill_switch_file: Path | None = None
    paper_deposits: bool = True
    """Paper mode: credit new users' wallets on the emulators."""
    risk_file: Path = DEFAULT_RISK_FILE
    wallet_provider: Literal["local", "privy"] = "local"
    """Key custody: ``local`` keystore (keys encrypted in the database) or Privy server
    wallets."""

    temporal: TemporalSettings = TemporalSettings()
    api: ApiSettings = ApiSettings()
    auth: AuthSettings = AuthSettings()
    privy: PrivySettings = PrivySettings()
    emulators: EmulatorSettings = EmulatorSettings()
    venues: VenueSettings = VenueSettings()

    # Loaded from risk_file after validation; not settable from the environment.
    risk: RiskParams = Field(default_factory=RiskParams, exclude=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Secret files may set nested fields too (``basis_venues__asgard_api_key``).
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            NestedSecretsSettingsSource(file_secret_settings),
        )

    @model_validator(mode="after")
    def _derive_and_check(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.state_dir / 'basis.db').as_posix()}"
        if not self.database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "database_url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        if self.kill_switch_file is None:
            self.kill_switch_file = self.state_dir / "KILL"
        self.temporal.port  # noqa: B018 - validates the address early
        self._check_temporal()
        self._derive_venue_urls()
        self._check_auth()
        self._check_keks()
        if self.mode != "paper":
            self._check_live()
        self.risk = load_risk_params(self.risk_file)
        return self

    def _derive_venue_urls(self) -> None:
        v, e = self.venues, self.emulators
        if self.mode == "paper":
            hl = f"http://{e.host}:{e.hyperliquid_port}"
            asg = f"http://{e.host}:{e.asgard_port}"
            v.hyperliquid_url = v.hyperliquid_url or hl
            v.asgard_url = v.asgard_url or f"{asg}/margin-trading"
            v.solana_rpc_url = v.solana_rpc_url or f"{asg}/solana"
        elif self.mode == "testnet":
            v.hyperliquid_url = v.hyperliquid_url or HYPERLIQUID_TESTNET_URL
            v.asgard_url = v.asgard_url or ASGARD_URL
            v.solana_rpc_url = v.solana_rpc_url or SOLANA_DEVNET_RPC
        else:
            v.hyperliquid_url = v.hyperliquid_url or HYPERLIQUID_MAINNET_URL
            v.asgard_url = v.asgard_url or ASGARD_URL
            v.solana_rpc_url = v.solana_rpc_url or SOLANA_MAINNET_RPC

    def _check_temporal(self) -> None:
        t = self.temporal
        if t.payload_encryption is None:
            t.payload_encryption = self.mode != "paper"
        if self.mode != "paper" and not t.payload_encryption:
            raise ValueError(
                f"temporal.payload_encryption: mode {self.mode} requires encrypted payloads"
            )
        if t.payload_encryption:
            from basis.codec import PayloadKeyError, PayloadKeys

            if not t.payload_keys.get_secret_value().strip():
                return  # needed only by Temporal clients: ``basis.temporal`` says so there
            try:
                PayloadKeys.parse(t.payload_keys.get_secret_value())
            except PayloadKeyError as exc:
                raise ValueError(str(exc)) from exc
        if t.codec_cors_origin and not t.codec_cors_origin.startswith(("https://", "http://")):
            raise ValueError("temporal.codec_cors_origin: an origin like https://temporal.example")

    def _check_keks(self) -> None:
        private, public = self.wallet_keks.get_secret_value(), self.wallet_kek_public
        if private.strip() or public.strip():
            from wallets.envelope import KekConfigError, KekRing

            try:
                ring = KekRing.parse(private, public)
            except KekConfigError as exc:
                raise ValueError(str(exc)) from exc
            if public.strip() and len(public.strip().splitlines()) != 1:
                raise ValueError("wallet_kek_public: one '<version> <base64 key>' line")
            if private.strip() and public.strip() and ring.current.private is None:
                raise ValueError(
                    "wallet_kek_public: newer than every wallet_keks version; add its private "
                    "key to wallet_keks first"
                )

    def _check_auth(self) -> None:
        if not self.auth.cookie_secure and (self.mode != "paper" or self.api.host not in _LOOPBACK):
            raise ValueError(
                "auth.cookie_secure: cookies may go over plain http only in paper mode with the "
                f"API on this machine (mode {self.mode}, api.host {self.api.host})"
            )
        p = self.privy
        if self.wallet_provider == "privy" and not (p.app_id and p.app_secret.get_secret_value()):
            raise ValueError("wallet_provider: privy needs privy.app_id and privy.app_secret")
        if p.verification_key and not p.app_id:
            raise ValueError("privy.verification_key: set privy.app_id too (the token audience)")
        if p.verification_key:
            from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            try:
                key = load_pem_public_key(p.verification_key.encode())
            except ValueError as exc:
                raise ValueError("privy.verification_key: not a PEM public key") from exc
            if not isinstance(key, EllipticCurvePublicKey):
                raise ValueError("privy.verification_key: must be an EC (P-256) public key")
        if self.mode != "paper" and not p.api_url.startswith("https://"):
            raise ValueError(f"privy.api_url: mode {self.mode} requires https")

    def secrets_for(self, purpose: Literal["session", "csrf", "hash"]) -> list[str]:
        """The secrets for one purpose, current first; the server secret when unset."""
        field: SecretStr = getattr(self, f"{purpose}_secret")
        lines = [ln.strip() for ln in field.get_secret_value().splitlines() if ln.strip()]
        return lines or [self.server_secret.get_secret_value()]

    def _check_live(self) -> None:
        expected = HYPERLIQUID_MAINNET_URL if self.mode == "mainnet" else HYPERLIQUID_TESTNET_URL
        if self.venues.hyperliquid_url.rstrip("/") != expected:
            # The SDK signs as mainnet only for the exact mainnet URL: a mismatch would sign
            # every order for the wrong chain.
            raise ValueError(
                f"venues.hyperliquid_url: mode {self.mode} requires {expected}, "
                f"got {self.venues.hyperliquid_url}"
            )

    def check_role(self, role: Literal["api", "worker"]) -> None:
        """What one process needs, checked at its start (``basis api``, ``basis worker``):
        live modes give each process only its own secrets, so these are not asked of every
        command. Raises ``ConfigError`` naming the setting."""
        try:
            t = self.temporal
            if t.payload_encryption and not t.payload_keys.get_secret_value().strip():
                raise ValueError(
                    "temporal.payload_keys: payload encryption is on but no key is set; create "
                    "one with `basis temporal payload-key` into basis_temporal__payload_keys"
                )
            if self.mode != "paper":
                if role == "api":
                    self._check_api_secrets()
                self._check_wallet_kek(role)
                if not self.venues.asgard_api_key.get_secret_value():
                    raise ValueError(f"venues.asgard_api_key: required in mode {self.mode}")
        except ValueError as exc:
            raise ConfigError(f"invalid configuration: {exc}") from exc

    def _check_api_secrets(self) -> None:
        current: dict[str, str] = {}
        for purpose in ("session", "csrf", "hash"):
            name = f"{purpose}_secret"
            field: SecretStr = getattr(self, name)
            lines = [ln.strip() for ln in field.get_secret_value().splitlines() if ln.strip()]
            if not lines:
                raise ValueError(
                    f"{name}: mode {self.mode} needs its own secret (BASIS_{name.upper()} or "
                    f"the basis_{name} secret file); the server secret alone is refused"
                )
            if any(ln == INSECURE_DEFAULT_SECRET for ln in lines):
                raise ValueError(f"{name}: mode {self.mode} refuses the default development secret")
            if any(len(ln) < 32 for ln in lines):
                raise ValueError(f"{name}: every line must be at least 32 characters")
            current[name] = lines[0]
        if len(set(current.values())) < len(current):
            raise ValueError("session_secret, csrf_secret, hash_secret: must all differ")

    def _check_wallet_kek(self, role: Literal["api", "worker"]) -> None:
        if self.wallet_provider != "local":
            return
        private = self.wallet_keks.get_secret_value().strip()
        if role == "worker" and not private:
            raise ValueError(
                f"wallet_keks: a worker in mode {self.mode} needs the wallet key-encryption "
                "keys (`basis keys new-kek`)"
            )
        if role == "api" and private:
            raise ValueError(
                "wallet_keks: the API must not hold the private KEKs; give it only "
                "wallet_kek_public"
            )
        if role == "api" and not self.wallet_kek_public.strip():
            raise ValueError(
                f"wallet_kek_public: the API in mode {self.mode} needs the KEK public key to "
                "create wallets (`basis keys new-kek`)"
            )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def public_dict(self) -> dict[str, Any]:
        """The configuration with every secret masked, for logs and ``basis config show``."""
        return self.model_dump(mode="json", exclude={"risk"})


def _port_of(address: str, field: str) -> int:
    parts = urlsplit(f"//{address}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{field}: '{address}' has an invalid port") from exc
    if port is None or not parts.hostname:
        raise ValueError(f"{field}: expected host:port, got '{address}'")
    return port


def load_risk_params(path: Path) -> RiskParams:
    """Read and validate the risk YAML; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ValueError(f"risk_file: {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"risk_file: {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"risk_file: {path} must hold a mapping")
    try:
        return RiskParams.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"risk_file {path}: {describe_validation_error(exc, 'risk')}") from exc


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per problem: the dotted field, what is wrong, and the value given."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if p != "__root__")
        loc = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        msg = err["msg"].removeprefix("Value error, ")
        given = err.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
        lines.append(f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment and secret files; raise ``ConfigError`` with a
    one-line description on anything invalid."""
    secrets_dir = os.environ.get("BASIS_SECRETS_DIR")
    if secrets_dir is None and Path("/run/secrets").is_dir():
        secrets_dir = "/run/secrets"
    try:
        if secrets_dir:
            return Settings(_secrets_dir=secrets_dir, **overrides)
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_validation_error(exc)}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return load_settings()
