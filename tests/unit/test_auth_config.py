"""Authentication settings: secure cookies outside paper mode, Privy configured whole."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from basis.config import HYPERLIQUID_TESTNET_URL, ConfigError, load_settings
from tests.live_config import LIVE_SECRETS

LIVE = {
    "mode": "testnet",
    **LIVE_SECRETS,
    "venues": {"asgard_api_key": "k", "hyperliquid_url": HYPERLIQUID_TESTNET_URL},
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("BASIS_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_cookies_may_go_over_plain_http_only_in_paper_mode_on_this_machine() -> None:
    assert load_settings(auth={"cookie_secure": False}).auth.cookie_secure is False
    assert load_settings(**LIVE).auth.cookie_secure is True
    with pytest.raises(ConfigError, match=r"auth.cookie_secure: .* \(mode testnet"):
        load_settings(**LIVE, auth={"cookie_secure": False})
    with pytest.raises(ConfigError, match=r"api.host 0.0.0.0"):
        load_settings(auth={"cookie_secure": False}, api={"host": "0.0.0.0"})  # noqa: S104


def test_privy_wallets_need_the_app_credentials() -> None:
    with pytest.raises(ConfigError, match="wallet_provider: privy needs privy.app_id"):
        load_settings(wallet_provider="privy")
    s = load_settings(wallet_provider="privy", privy={"app_id": "a", "app_secret": "hush-9f2c"})
    assert s.wallet_provider == "privy"
    assert "hush-9f2c" not in str(s.public_dict())


def test_the_privy_verification_key_must_be_an_ec_public_key_with_an_app_id() -> None:
    good = _pem(ec.generate_private_key(ec.SECP256R1()))
    assert load_settings(privy={"app_id": "a", "verification_key": good}).privy.login_enabled
    assert not load_settings().privy.login_enabled
    with pytest.raises(ConfigError, match="set privy.app_id too"):
        load_settings(privy={"verification_key": good})
    rsa_pem = _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    with pytest.raises(ConfigError, match="must be an EC"):
        load_settings(privy={"app_id": "a", "verification_key": rsa_pem})
    with pytest.raises(ConfigError, match="not a PEM public key"):
        load_settings(privy={"app_id": "a", "verification_key": "nonsense"})


def test_live_modes_reach_privy_only_over_https() -> None:
    with pytest.raises(ConfigError, match="privy.api_url: mode testnet requires https"):
        load_settings(**LIVE, privy={"api_url": "http://privy.internal"})
