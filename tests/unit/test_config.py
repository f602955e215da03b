"""Configuration: seed risk values, one-line errors naming the field, live-mode guards."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest

from basis.config import INSECURE_DEFAULT_SECRET, ConfigError, load_settings
from tests.live_config import KEK_PRIVATE, LIVE_SECRETS, live_env

SEED = {
    "leverage": (Decimal("1.1"), Decimal("4"), Decimal("3")),
    "health": (Decimal("0.20"), Decimal("0.10"), Decimal("0.05")),
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("BASIS_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


def test_defaults_are_paper_mode_on_sqlite_with_the_seed_risk_values() -> None:
    s = load_settings()
    assert s.mode == "paper"
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    r = s.risk
    assert (r.leverage.min, r.leverage.max, r.leverage.default) == SEED["leverage"]
    assert (r.asgard_health.min, r.asgard_health.emergency, r.asgard_health.critical) == SEED[
        "health"
    ]
    assert r.hyperliquid.margin_fraction_min == Decimal("0.10")
    assert r.liquidation_proximity.threshold == Decimal("0.20")
    assert r.liquidation_proximity.sustained_seconds == 20
    assert r.max_price_deviation == Decimal("0.005")
    assert (r.slippage.entry_bps, r.slippage.exit_bps) == (50, 100)
    assert (r.delta_drift.warning, r.delta_drift.critical) == (Decimal("0.005"), Decimal("0.02"))
    assert r.lst_peg.premium_warning == Decimal("0.03")
    assert r.lst_peg.premium_critical == Decimal("0.05")
    assert r.lst_peg.discount_warning == Decimal("0.01")
    assert r.lst_peg.discount_critical == Decimal("0.02")
    assert r.cadence.max_single_leg_exposure_seconds == 120
    assert r.cadence.monitor_interval_seconds == 30
    assert r.cadence.intent_scan_interval_seconds == 60
    assert r.funding.lookback_hours == 168
    assert r.funding.max_volatility == Decimal("0.50")
    assert r.positions.max_position_usd == Decimal("500000")
    assert r.positions.max_total_exposure_usd == Decimal("2000000")
    assert r.positions.min_position_usd == Decimal("100")


def test_paper_mode_points_every_venue_at_the_local_emulators() -> None:
    v = load_settings().venues
    assert v.hyperliquid_url == "http://127.0.0.1:8301"
    assert v.asgard_url == "http://127.0.0.1:8302/margin-trading"
    assert v.solana_rpc_url == "http://127.0.0.1:8302/solana"


def test_postgres_url_is_read_from_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://u@h:5432/db")
    assert load_settings().database_url == "postgresql+asyncpg://u@h:5432/db"


def test_an_unsupported_database_driver_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASIS_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="database_url must start with"):
        load_settings()


def test_an_out_of_range_value_names_the_field_and_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASIS_API__PORT", "70000")
    with pytest.raises(ConfigError) as err:
        load_settings()
    message = str(err.value)
    assert "\n" not in message
    assert "api.port" in message
    assert "65535" in message


def test_a_risk_value_outside_its_range_names_the_dotted_field(tmp_path: Path) -> None:
    bad = tmp_path / "risk.yaml"
    bad.write_text("version: 1\nleverage: {min: 1.1, max: 4, default: 7}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(risk_file=bad)
    assert "risk.leverage.default" in str(err.value)
    assert "less than or equal to 4" in str(err.value)


def test_inconsistent_health_thresholds_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "risk.yaml"
    bad.write_text("version: 1\nasgard_health: {min: 0.05, emergency: 0.10, critical: 0.20}\n")
    with pytest.raises(ConfigError, match="critical < emergency < min"):
        load_settings(risk_file=bad)


def test_a_risk_file_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "risk.yaml"
    bad.write_text("version: 99\n")
    with pytest.raises(ConfigError, match="risk.version"):
        load_settings(risk_file=bad)


def test_unknown_risk_keys_are_refused_rather_than_ignored(tmp_path: Path) -> None:
    bad = tmp_path / "risk.yaml"
    bad.write_text("version: 1\nlevrage: {max: 4}\n")
    with pytest.raises(ConfigError, match="levrage"):
        load_settings(risk_file=bad)


@pytest.mark.parametrize("mode", ["testnet", "mainnet"])
def test_live_modes_refuse_the_default_secret(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", mode)
    monkeypatch.setenv("BASIS_CSRF_SECRET", INSECURE_DEFAULT_SECRET)
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    with pytest.raises(ConfigError, match="csrf_secret: .* refuses the default development"):
        load_settings().check_role("api")


@pytest.mark.parametrize("purpose", ["session", "csrf", "hash"])
def test_live_modes_need_each_secret_on_its_own(
    monkeypatch: pytest.MonkeyPatch, purpose: str
) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_SERVER_SECRET", "s" * 40)
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    monkeypatch.delenv(f"BASIS_{purpose.upper()}_SECRET")
    settings = load_settings()
    with pytest.raises(ConfigError, match=f"{purpose}_secret: mode mainnet needs its own secret"):
        settings.check_role("api")


def test_live_modes_refuse_one_value_for_two_purposes(monkeypatch: pytest.MonkeyPatch) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    monkeypatch.setenv("BASIS_HASH_SECRET", LIVE_SECRETS["csrf_secret"])
    with pytest.raises(ConfigError, match="must all differ"):
        load_settings().check_role("api")


def test_in_live_modes_only_the_worker_holds_the_private_kek(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    load_settings().check_role("api")
    with pytest.raises(ConfigError, match="wallet_keks: a worker in mode mainnet needs"):
        load_settings().check_role("worker")
    monkeypatch.setenv("BASIS_WALLET_KEKS", KEK_PRIVATE)
    load_settings().check_role("worker")
    with pytest.raises(ConfigError, match="the API must not hold the private KEKs"):
        load_settings().check_role("api")
    monkeypatch.delenv("BASIS_WALLET_KEKS")
    monkeypatch.delenv("BASIS_WALLET_KEK_PUBLIC")
    with pytest.raises(ConfigError, match="wallet_kek_public: the API in mode mainnet needs"):
        load_settings().check_role("api")


def test_a_malformed_kek_line_names_the_setting_and_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASIS_WALLET_KEKS", KEK_PRIVATE + "\n1 AAAA")
    with pytest.raises(ConfigError, match="wallet_keks line 2: versions start at 2"):
        load_settings()
    monkeypatch.setenv("BASIS_WALLET_KEKS", "3 not-base64!")
    with pytest.raises(ConfigError, match="wallet_keks line 1: key is not base64"):
        load_settings()


def test_live_modes_keep_payload_encryption_on(monkeypatch: pytest.MonkeyPatch) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_TEMPORAL__PAYLOAD_ENCRYPTION", "false")
    with pytest.raises(ConfigError, match="mode mainnet requires encrypted payloads"):
        load_settings()
    monkeypatch.setenv("BASIS_TEMPORAL__PAYLOAD_KEYS", "k1 short")
    monkeypatch.delenv("BASIS_TEMPORAL__PAYLOAD_ENCRYPTION")
    with pytest.raises(ConfigError, match="payload_keys line 1: key k1 is not base64"):
        load_settings()


def test_secrets_list_the_current_one_first_and_fall_back_to_the_server_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASIS_SERVER_SECRET", "root-" + "r" * 40)
    monkeypatch.setenv("BASIS_SESSION_SECRET", "new-" + "n" * 40 + "\n\nold-" + "o" * 40 + "\n")
    s = load_settings()
    assert s.secrets_for("session") == ["new-" + "n" * 40, "old-" + "o" * 40]
    assert s.secrets_for("csrf") == ["root-" + "r" * 40]


def test_mainnet_refuses_a_hyperliquid_url_that_would_sign_for_testnet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    monkeypatch.setenv("BASIS_VENUES__HYPERLIQUID_URL", "http://127.0.0.1:8301")
    with pytest.raises(ConfigError, match="requires https://api.hyperliquid.xyz"):
        load_settings()


def test_mainnet_starts_with_real_secrets_and_real_endpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    s = load_settings()
    assert s.temporal.payload_encryption is True
    assert s.venues.hyperliquid_url == "https://api.hyperliquid.xyz"
    assert "asgard.finance" in s.venues.asgard_url


def test_secrets_are_read_from_files_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "basis_server_secret").write_text("x" * 48)
    monkeypatch.setenv("BASIS_SECRETS_DIR", str(tmp_path))
    s = load_settings()
    assert s.server_secret.get_secret_value() == "x" * 48
    assert "x" * 48 not in str(s.public_dict())


def test_nested_settings_can_come_from_secret_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "basis_venues__asgard_api_key").write_text("asgard-key")
    (tmp_path / "basis_database_url").write_text("postgresql+asyncpg://u:pw@db:5432/basis")
    monkeypatch.setenv("BASIS_SECRETS_DIR", str(tmp_path))
    s = load_settings()
    assert s.venues.asgard_api_key.get_secret_value() == "asgard-key"
    assert s.database_url == "postgresql+asyncpg://u:pw@db:5432/basis"


@pytest.mark.parametrize("role", ["api", "worker"])
def test_api_and_worker_refuse_to_start_with_encryption_on_and_no_payload_key(
    monkeypatch: pytest.MonkeyPatch, role: Literal["api", "worker"]
) -> None:
    live_env(monkeypatch)
    monkeypatch.setenv("BASIS_MODE", "mainnet")
    monkeypatch.setenv("BASIS_VENUES__ASGARD_API_KEY", "key")
    monkeypatch.delenv("BASIS_TEMPORAL__PAYLOAD_KEYS")
    if role == "worker":
        monkeypatch.delenv("BASIS_WALLET_KEK_PUBLIC")
        monkeypatch.setenv("BASIS_WALLET_KEKS", KEK_PRIVATE)
    with pytest.raises(ConfigError, match="temporal.payload_keys: payload encryption is on"):
        load_settings().check_role(role)
