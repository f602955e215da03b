"""Who is calling, and what they may do.

A caller proves who they are one of two ways, and nothing else identifies them:

- ``Authorization: Bearer bsk_...``: a per-user API token (scripts). When the header is
  present it is the only credential looked at; no CSRF token is needed, because a browser
  never attaches it to a cross-site request on its own.
- The ``basis_session`` cookie (browsers): a signed session token whose server-side row is
  live. Every state-changing request made with it must echo the CSRF token (the readable
  ``basis_csrf`` cookie) in ``X-CSRF-Token``.

Then the per-user rate limit applies. ``Operator`` routes also need the operator role, which
only the command line grants (``basis users grant-operator EMAIL``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Request, Response, Security
from fastapi.security import APIKeyCookie, HTTPBearer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.limits import enforce
from api.security.sessions import SessionError, csrf_ok
from api.services import logins, tokens
from api.services.logins import NewSession
from basis.config import Settings
from models.domain import UserRole
from models.tables import ApiToken, AuthSession, User

SESSION_COOKIE = "basis_session"
CSRF_COOKIE = "basis_csrf"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for the OpenAPI document (the docs' "Authorize" button); the checks below read the
# request themselves so that a malformed credential is refused, never silently ignored.
_bearer_doc = HTTPBearer(
    auto_error=False, scheme_name="apiToken", description="A per-user API token (bsk_...)."
)
_cookie_doc = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The browser session cookie; state changes also need X-CSRF-Token.",
)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    method: Literal["session", "token"]
    session_id: str | None = None
    token_id: uuid.UUID | None = None


def now_of(request: Request) -> datetime:
    """The API's clock (tests substitute their own)."""
    now: datetime = request.app.state.clock()
    return now


async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _bearer: Annotated[object, Security(_bearer_doc)] = None,
    _cookie: Annotated[object, Security(_cookie_doc)] = None,
) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    now = now_of(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise ApiError("AUT-0002", "Authorization must be 'Bearer <API token>'")
        try:
            user, token = await tokens.resolve(session, settings, credential.strip(), now)
        except tokens.TokenError as exc:
            raise ApiError("AUT-0002", "invalid, expired or revoked API token") from exc
        principal = Principal(user=user, method="token", token_id=token.id)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise ApiError("AUT-0001", "sign in, or send an API token")
        try:
            user, auth = await logins.resolve(session, settings, cookie, now)
        except SessionError as exc:
            raise ApiError("AUT-0002", "session invalid, expired or ended") from exc
        if request.method not in _SAFE_METHODS and not csrf_ok(
            settings.secrets_for("csrf"), auth.id, request.headers.get(CSRF_HEADER)
        ):
            raise ApiError("AUT-0004", f"state changes need the {CSRF_HEADER} header")
        principal = Principal(user=user, method="session", session_id=auth.id)
    if not principal.user.is_active:
        raise ApiError("AUT-0006")
    limits = settings.auth.rate_limits
    enforce(
        request,
        f"user:{principal.user.id}",
        rate=limits.user_per_second,
        burst=limits.user_burst,
    )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def require_operator(principal: CurrentPrincipal) -> User:
    if principal.user.role != UserRole.OPERATOR:
        raise ApiError("AUT-0003", "operators only")
    return principal.user


Operator = Annotated[User, Depends(require_operator)]


async def require_browser_session(principal: CurrentPrincipal) -> Principal:
    """Minting credentials needs a person at a browser: an API token cannot mint more
    tokens (a leaked one must not be able to make itself permanent)."""
    if principal.method != "session":
        raise ApiError("AUT-0008")
    return principal


BrowserSession = Annotated[Principal, Depends(require_browser_session)]


async def still_valid(
    sessions: async_sessionmaker[AsyncSession], principal: Principal, now: datetime
) -> bool:
    """Whether the credential a long-lived request (an event stream) started with still
    holds: not logged out, not revoked, not expired, the user still active."""
    async with sessions() as s:
        user = await s.get(User, principal.user.id)
        if user is None or not user.is_active:
            return False
        if principal.session_id is not None:
            auth = await s.get(AuthSession, principal.session_id)
            return auth is not None and auth.revoked_at is None and auth.expires_at > now
        if principal.token_id is not None:
            tok = await s.get(ApiToken, principal.token_id)
            return (
                tok is not None
                and tok.revoked_at is None
                and (tok.expires_at is None or tok.expires_at > now)
            )
    return False


def set_session_cookies(response: Response, settings: Settings, new: NewSession) -> None:
    a = settings.auth
    max_age = int(timedelta(hours=a.session_ttl_hours).total_seconds())
    common = {
        "max_age": max_age,
        "secure": a.cookie_secure,
        "samesite": a.cookie_samesite,
        "domain": a.cookie_domain,
        "path": "/",
    }
    response.set_cookie(SESSION_COOKIE, new.token, httponly=True, **common)  # type: ignore[arg-type]
    # Readable by the page's script, which echoes it in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, new.csrf, httponly=False, **common)  # type: ignore[arg-type]


def clear_session_cookies(response: Response, settings: Settings) -> None:
    a = settings.auth
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            name,
            path="/",
            domain=a.cookie_domain,
            secure=a.cookie_secure,
            httponly=httponly,
            samesite=a.cookie_samesite,
        )
