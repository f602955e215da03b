"""What authentication costs per request, in process (no network), on a SQLite file.

    .venv/bin/python bench/api_auth.py [--requests N] [--postgres ADMIN_URL]

SQLite by default (a temporary file); with ``--postgres postgresql://postgres@127.0.0.1:5432/postgres``
a scratch database is created on that server for the run and dropped after it.

Times a full one-time-code sign-in (code sent, verified, account and wallets created), then
``GET /auth/me`` with an API token and with the session cookie, against ``GET /health/live``
(no authentication) as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from api.main import create_app
from api.security.codes import CapturingCodeSender
from basis.config import load_settings
from basis.db import create_engine
from basis.migrate import upgrade


async def timed(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], n: int
) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        r = await client.get(path, headers=headers)
        out.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.text
    return out


def line(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[int(len(ms) * 0.95) - 1]
    return f"{name:<28} median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--postgres", default=None, help="admin URL of a Postgres server")
    args = ap.parse_args()
    if args.postgres is None:
        await run(f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", args.requests)
        return
    import asyncpg

    name = f"basis_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.postgres)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        await run(f"{base}/{name}", args.requests)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run(url: str, n: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    settings = load_settings(database_url=url, paper_deposits=False)
    r = settings.auth.rate_limits
    r.ip_per_second = r.user_per_second = r.login_per_minute = r.code_requests_per_hour = 1e9
    r.ip_burst = r.user_burst = r.login_burst = r.code_requests_burst = 10**9
    codes = CapturingCodeSender()
    app = create_app(settings, code_sender=codes)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bench") as c:
            sign_ins = []
            for i in range(20):
                email = f"bench-{i}@example.com"
                t = time.perf_counter()
                await c.post("/api/v1/auth/otp/request", json={"email": email})
                v = await c.post(
                    "/api/v1/auth/otp/verify", json={"email": email, "code": codes.last(email)}
                )
                sign_ins.append((time.perf_counter() - t) * 1000)
            session = {"Cookie": f"basis_session={v.cookies['basis_session']}"}
            c.cookies.clear()
            tok = await c.post(
                "/api/v1/auth/tokens",
                json={"name": "bench"},
                headers={**session, "X-CSRF-Token": v.json()["csrf_token"]},
            )
            token = {"Authorization": f"Bearer {tok.json()['token']}"}
            print(f"{url.split(':')[0]}, {n} requests each")
            print(line("sign-in (code, new account)", sign_ins))
            print(line("GET /health/live (no auth)", await timed(c, "/api/v1/health/live", {}, n)))
            print(line("GET /auth/me (API token)", await timed(c, "/api/v1/auth/me", token, n)))
            print(line("GET /auth/me (session)", await timed(c, "/api/v1/auth/me", session, n)))


if __name__ == "__main__":
    asyncio.run(main())
