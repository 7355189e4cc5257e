"""/api/v1/auth/token and /api/v1/users: sign in, who am I, tokens, and (admin) user management."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Form, HTTPException, Request
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import accounts
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["users"])


@router.post("/auth/token", dependencies=[rule("public")], summary="Sign in (OAuth2 password form): a 1-day token")
def sign_in(request: Request, username: str = Form(..., max_length=100), password: str = Form(..., max_length=1024)):
    # the password check (about a second of argon2) reads outside the write transaction: on SQLite a read
    # snapshot that another request writes after cannot be upgraded to a write ("database is locked")
    with engine(request).connect() as conn:
        uid = accounts.login(conn, username, password)
    if uid is None:
        raise HTTPException(401, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"})
    with engine(request).begin() as conn:
        t = accounts.create_token(conn, username, name="sign-in", days=1)
    return {"access_token": t["token"], "token_type": "bearer", "expires_at": t["expires_at"]}


@router.get("/users/me", dependencies=[rule("user")], summary="The signed-in user and their roles")
def me(view: View = Depends(get_view)):
    return {"username": view.username, "admin": view.is_admin, "view": view.describe(),
            "roles": [{"organization_id": o, "role": r} for o, r in view.orgs]}


class NewToken(BaseModel):
    name: Optional[str] = Field(None, max_length=200)
    days: float = Field(90, gt=0, le=3650)


@router.get("/users/me/tokens", dependencies=[rule("user")], summary="My API tokens (never the secret)")
def my_tokens(request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return {"tokens": accounts.list_tokens(conn, view.username)}


@router.post("/users/me/tokens", dependencies=[rule("user")], status_code=201, summary="A new API token (shown once)")
def new_token(body: NewToken, request: Request, view: View = Depends(get_view)):
    clean_text(body.name, "name")
    with engine(request).begin() as conn:
        return accounts.create_token(conn, view.username, name=body.name, days=body.days)


@router.delete("/users/me/tokens/{token_id}", dependencies=[rule("user")], summary="Revoke one of my tokens")
def revoke(token_id: int, request: Request, view: View = Depends(get_view)):
    with engine(request).begin() as conn:
        accounts.revoke_token(conn, token_id, username=view.username)
    return {"revoked": token_id}


class NewUser(BaseModel):
    username: str = Field(..., max_length=100)
    password: str = Field(..., min_length=8, max_length=1024)
    email: Optional[str] = Field(None, max_length=200)
    admin: bool = False


@router.get("/users", dependencies=[rule("admin")], summary="All users with their roles (admin)")
def users(request: Request):
    with engine(request).connect() as conn:
        return {"users": accounts.list_users(conn)}


@router.post("/users", dependencies=[rule("admin")], status_code=201, summary="Add a user (admin)")
def add_user(body: NewUser, request: Request):
    clean_text(body.email, "email", max_len=200)
    with engine(request).begin() as conn:
        uid = accounts.add_user(conn, body.username, body.password, email=body.email, admin=body.admin)
    return {"id": uid, "username": body.username}
