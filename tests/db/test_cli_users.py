"""``basis users``: how someone becomes an operator, and tokens for automation."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from basis.cli import CommandFailed, app
from basis.config import get_settings
from basis.db import create_engine


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BASIS_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    return sqlite_url


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["users", *args])
    if result.exception is not None:
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    async def go() -> list[tuple[object, ...]]:
        engine = create_engine(url)
        async with engine.connect() as conn:
            out = [tuple(r) for r in (await conn.execute(text(query))).all()]
        await engine.dispose()
        return out

    return asyncio.run(go())


def test_grant_operator_creates_or_promotes_the_account_and_revoke_demotes_it(db: str) -> None:
    out = run("grant-operator", "Ops@Example.com")
    assert "ops@example.com" in out and "operator" in out
    assert rows(db, "SELECT email, role FROM users") == [("ops@example.com", "operator")]
    run("revoke-operator", "ops@example.com")
    assert rows(db, "SELECT role FROM users") == [("user",)]
    actions = rows(db, "SELECT action FROM audit_log WHERE action = 'role_changed'")
    assert len(actions) == 2


def test_create_token_prints_a_token_whose_hash_alone_is_stored(db: str) -> None:
    run("grant-operator", "bot@example.com")
    token = run("create-token", "bot@example.com", "--name", "ci", "--days", "7").strip()
    assert token.startswith("bsk_")
    stored = rows(db, "SELECT name, token_hash, hint FROM api_tokens")
    assert [(n, h) for n, _, h in stored] == [("ci", token[:10])]
    assert token not in str(stored)


def test_unknown_accounts_and_bad_addresses_are_one_line_errors(db: str) -> None:
    with pytest.raises(CommandFailed, match="no user with address nobody@example.com"):
        run("create-token", "nobody@example.com")
    with pytest.raises(CommandFailed, match="no user"):
        run("revoke-operator", "nobody@example.com")
    with pytest.raises(CommandFailed, match="EMAIL: not a valid e-mail address"):
        run("grant-operator", "not-an-address")
