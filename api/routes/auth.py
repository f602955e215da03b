"""Sign-in (e-mail one-time code, or Privy), the session, and API tokens."""

from __future__ import annotations

import functools
import logging
import uuid
from datetime import datetime
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.auth import (
    BrowserSession,
    CurrentPrincipal,
    clear_session_cookies,
    now_of,
    set_session_cookies,
)
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.limits import client_ip, enforce, private_key
from api.security.privy import PrivyTokenError, load_verification_key, verify_privy_token
from api.services import accounts, logins, otp, tokens
from basis.config import Settings
from models.domain import Chain, UserRole
from models.tables import ApiToken, User, Wallet
from wallets.privy import PrivyError

log = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["auth"])


# ---- bodies -----------------------------------------------------------------------------------


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=254)]

    @field_validator("email")
    @classmethod
    def _email(cls, v: str) -> str:
        return accounts.normalise_email(v)


class CodeVerify(CodeRequest):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class PrivySync(BaseModel):
    model_config = ConfigDict(extra="forbid")
    access_token: Annotated[str, Field(min_length=16, max_length=4096)]


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    everywhere: bool = False
    """End every session of this user, not only this one."""


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w .:@/-]+$")]
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


# ---- answers ----------------------------------------------------------------------------------


class CodeSent(BaseModel):
    status: str = "sent"
    expires_in_seconds: int


class WalletsPublic(BaseModel):
    solana: str | None
    evm: str | None


class MePublic(BaseModel):
    id: uuid.UUID
    email: str | None
    privy_id: str | None
    role: UserRole
    wallets: WalletsPublic
    created_at: datetime
    last_login_at: datetime | None
    auth_method: str | None = None


class LoginPublic(BaseModel):
    user: MePublic
    csrf_token: str
    """Echo in ``X-CSRF-Token`` on every state-changing request (also in the
    ``basis_csrf`` cookie)."""
    expires_at: datetime


class LoggedOut(BaseModel):
    sessions_ended: int


class TokenPublic(BaseModel):
    id: uuid.UUID
    name: str
    hint: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str
    """Shown this once; only a hash of it is kept."""


def _token_public(row: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=row.id,
        name=row.name,
        hint=row.hint,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def me_public(session: AsyncSession, user: User, method: str | None = None) -> MePublic:
    rows = (await session.exec(select(Wallet).where(Wallet.user_id == user.id))).all()
    by_chain = {Chain(r.chain): r.address for r in rows}
    return MePublic(
        id=user.id,
        email=user.email,
        privy_id=user.privy_id,
        role=UserRole(user.role),
        wallets=WalletsPublic(solana=by_chain.get(Chain.SOLANA), evm=by_chain.get(Chain.EVM)),
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        auth_method=method,
    )


# ---- sign-in ----------------------------------------------------------------------------------


@router.post("/otp/request", response_model=CodeSent, status_code=status.HTTP_202_ACCEPTED)
async def request_code(
    body: CodeRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> CodeSent:
    """Send a six-digit sign-in code to the address. The answer is the same whether or not
    an account exists for it; a new code replaces the previous one."""
    r = settings.auth.rate_limits
    per_hour = r.code_requests_per_hour / 3600
    enforce(request, f"code-ip:{client_ip(request)}", rate=per_hour, burst=r.code_requests_burst)
    enforce(
        request,
        private_key("code-email", body.email),
        rate=per_hour,
        burst=r.code_requests_burst,
    )
    await otp.request_code(
        session, settings, request.app.state.code_sender, body.email, now_of(request)
    )
    return CodeSent(expires_in_seconds=settings.auth.otp_ttl_seconds)


@router.post("/otp/verify", response_model=LoginPublic)
async def verify_code(
    body: CodeVerify,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> LoginPublic:
    """Exchange the code for a session (cookie). First sign-in creates the account and its
    wallets. A code works once, for ten minutes, and dies after five wrong tries."""
    _login_limit(request, settings)
    now = now_of(request)
    await otp.verify_code(session, settings, body.email, body.code, now)
    user = await accounts.user_by_email(request.app.state.sessions, body.email, now)
    return await _sign_in(request, response, session, settings, user, "otp")


@router.post("/sync", response_model=LoginPublic)
async def privy_sync(
    body: PrivySync,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> LoginPublic:
    """Sign in with a Privy access token (ES256, issuer ``privy.io``, audience = this app):
    finds or creates the user by Privy DID, ensures their wallets, starts a session."""
    _login_limit(request, settings)
    if not settings.privy.login_enabled:
        raise ApiError("AUT-0007", "Privy sign-in is not configured on this server")
    key = _verification_key(settings.privy.verification_key)
    now = now_of(request)
    try:
        identity = verify_privy_token(body.access_token, key, settings.privy.app_id, now)
    except PrivyTokenError as exc:
        raise ApiError("AUT-0002", "invalid or expired Privy token") from exc
    user = await accounts.user_by_privy_id(request.app.state.sessions, identity.privy_id, now)
    return await _sign_in(request, response, session, settings, user, "privy")


@functools.lru_cache(maxsize=4)
def _verification_key(pem: str) -> EllipticCurvePublicKey:
    return load_verification_key(pem)


def _login_limit(request: Request, settings: Settings) -> None:
    r = settings.auth.rate_limits
    enforce(
        request,
        f"login-ip:{client_ip(request)}",
        rate=r.login_per_minute / 60,
        burst=r.login_burst,
        code="AUT-0005",
        message="too many sign-in attempts; wait and try again",
    )


async def _sign_in(
    request: Request,
    response: Response,
    session: SessionDep,
    settings: Settings,
    user: User,
    method: str,
) -> LoginPublic:
    if not user.is_active:
        raise ApiError("AUT-0006")
    try:
        await accounts.onboard(settings, request.app.state.wallets, user)
    except PrivyError as exc:
        log.warning("wallet provider failed for %s: %s", user.id, exc)
        raise ApiError("WAL-0003", "could not set up your wallets; try again shortly") from exc
    new = await logins.start(
        session,
        settings,
        user,
        method=method,
        now=now_of(request),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    set_session_cookies(response, settings, new)
    fresh = await session.get(User, user.id)
    return LoginPublic(
        user=await me_public(session, fresh or user, "session"),
        csrf_token=new.csrf,
        expires_at=new.claims.expires_at,
    )


# ---- the session ------------------------------------------------------------------------------


@router.get("/me", response_model=MePublic)
async def me(principal: CurrentPrincipal, session: SessionDep) -> MePublic:
    """Who you are signed in as, with your wallet addresses."""
    return await me_public(session, principal.user, principal.method)


@router.post("/logout", response_model=LoggedOut)
async def logout(
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    body: LogoutRequest | None = None,
) -> LoggedOut:
    """End this session on the server (its cookie stops working at once), or every session
    with ``everywhere``. API tokens are revoked separately."""
    everywhere = bool(body and body.everywhere)
    if principal.method != "session" and not everywhere:
        return LoggedOut(sessions_ended=0)
    ended = await logins.revoke(
        session,
        principal.user.id,
        now_of(request),
        session_id=None if everywhere else principal.session_id,
    )
    clear_session_cookies(response, settings)
    return LoggedOut(sessions_ended=ended)


# ---- API tokens -------------------------------------------------------------------------------


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreate,
    principal: BrowserSession,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenCreated:
    """A token for scripts (``Authorization: Bearer ...``), shown once. Needs a browser
    session: a token cannot mint tokens."""
    row, token = await tokens.create(
        session,
        settings,
        principal.user.id,
        name=body.name,
        expires_in_days=body.expires_in_days,
        now=now_of(request),
        actor=f"user:{principal.user.id}",
    )
    return TokenCreated(**_token_public(row).model_dump(), token=token)


@router.get("/tokens", response_model=list[TokenPublic])
async def list_tokens(principal: CurrentPrincipal, session: SessionDep) -> list[TokenPublic]:
    return [_token_public(r) for r in await tokens.list_for(session, principal.user.id)]


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
async def revoke_token(
    token_id: uuid.UUID, principal: CurrentPrincipal, request: Request, session: SessionDep
) -> TokenPublic:
    """Revoke one of your tokens; it stops working at once. Revoking twice is harmless."""
    row = await tokens.revoke(session, principal.user.id, token_id, now_of(request))
    return _token_public(row)
