"""Alembic environment: runs on a connection handed in by ``basis.migrate`` (async engines on
asyncpg or aiosqlite), or, from the alembic CLI, on the URL in ``sqlalchemy.url``."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import models.tables  # noqa: F401 - registers every table on SQLModel.metadata
from basis.db import create_engine
from models.sqltypes import EnumInt, EnumText

target_metadata = SQLModel.metadata
config = context.config


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Enum columns are plain strings/integers in the database: migrations must not depend on
    # the Python enum classes, which may gain members without a schema change.
    if type_ == "type" and isinstance(obj, EnumText):
        return f"sa.String(length={obj.length})"
    if type_ == "type" and isinstance(obj, EnumInt):
        return "sa.Integer()"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        # SQLite cannot ALTER most things: batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: run migrations with `basis migrate`")
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; use `basis migrate`")
run_migrations_online()
