"""Accounts: organizations, users (argon2 password hashes), roles per organization, API tokens.

Tokens are random 32-byte strings shown once; only their SHA-256 is stored, so a stolen database gives
no usable token. A token is valid until it expires or is revoked. Roles, lowest to highest:
viewer < contributor < data_manager < admin (per organization); `User.is_admin` is the hub's operator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m

ROLES = ("viewer", "contributor", "data_manager", "admin")
TOKEN_PREFIX = "ecn_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def role_rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


def normalize_role(role: str) -> str:
    r = (role or "").strip().lower().replace(" ", "_").replace("-", "_")
    if r == "manager":
        r = "data_manager"
    if r not in ROLES:
        raise EconetError(f"unknown role {role!r} (one of: {', '.join(ROLES)})", field="role")
    return r


# --------------------------------------------------------------------------- passwords

def _hasher():
    from argon2 import PasswordHasher
    return PasswordHasher()


def hash_password(password: str) -> str:
    if not password or len(password) < 8:
        raise EconetError("a password needs at least 8 characters", field="password")
    if len(password) > 1024:
        raise EconetError("password too long", field="password")
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
    if not stored or not password:
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- organizations and users

def _check_name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not _NAME.match(value):
        raise EconetError(f"{what} must be 1-100 letters, digits or _ . @ - (starting with a letter or digit)",
                          field=what)
    return value


def org_id(conn: Connection, name_or_id: str | int) -> int:
    O = m.Organization
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        oid = conn.execute(select(O.id).where(O.id == int(name_or_id))).scalar()
    else:
        oid = conn.execute(select(O.id).where(O.name == str(name_or_id))).scalar()
    if oid is None:
        raise EconetError(f"no organization {name_or_id!r}", field="organization")
    return oid


def add_org(conn: Connection, name: str, *, country: str | None = None, alliance_member: bool = True,
            kind: str | None = None, url: str | None = None) -> int:
    """Create an organization (or update the country/alliance flag of an existing one); return its id."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(c in name for c in "<>\x00"):
        raise EconetError("organization name must be 1-200 characters without < > or NUL", field="name")
    if country is not None and not re.fullmatch(r"[A-Za-z]{2}", country):
        raise EconetError("country must be an ISO 3166-1 alpha-2 code", field="country")
    O = m.Organization
    oid = conn.execute(select(O.id).where(O.name == name)).scalar()
    values = {"country": country.upper() if country else None, "alliance_member": alliance_member,
              "kind": kind, "url": url}
    from econet.hub.sharing import bump_generation
    bump_generation(conn)  # alliance membership decides who sees "alliance" datasets
    if oid is None:
        return conn.execute(insert(O).values(name=name, created_at=m.utcnow(), **values).returning(O.id)).scalar_one()
    conn.execute(update(O).where(O.id == oid).values(**{k: v for k, v in values.items() if v is not None}))
    return oid


def add_user(conn: Connection, username: str, password: str | None = None, *, email: str | None = None,
             admin: bool = False) -> int:
    username = _check_name(username, "username")
    if conn.execute(select(m.User.id).where(m.User.username == username)).scalar() is not None:
        raise EconetError(f"user {username!r} exists already", field="username")
    h = hash_password(password) if password else None
    return conn.execute(insert(m.User).values(username=username, email=email, password_hash=h, is_admin=admin,
                                              active=True, created_at=m.utcnow()).returning(m.User.id)).scalar_one()


def user_id(conn: Connection, username: str) -> int:
    uid = conn.execute(select(m.User.id).where(m.User.username == username)).scalar()
    if uid is None:
        raise EconetError(f"no user {username!r}", field="username")
    return uid


def set_password(conn: Connection, username: str, password: str) -> None:
    conn.execute(update(m.User).where(m.User.id == user_id(conn, username)).values(
        password_hash=hash_password(password)))


def set_role(conn: Connection, username: str, org: str | int, role: str) -> None:
    """Give a user a role in an organization (replacing the previous one)."""
    uid, oid, role = user_id(conn, username), org_id(conn, org), normalize_role(role)
    M = m.Membership
    mid = conn.execute(select(M.id).where(M.user_id == uid, M.organization_id == oid)).scalar()
    if mid is None:
        conn.execute(insert(M).values(user_id=uid, organization_id=oid, role=role))
    else:
        conn.execute(update(M).where(M.id == mid).values(role=role))


def remove_role(conn: Connection, username: str, org: str | int) -> None:
    from sqlalchemy import delete
    conn.execute(delete(m.Membership).where(m.Membership.user_id == user_id(conn, username),
                                            m.Membership.organization_id == org_id(conn, org)))


def list_users(conn: Connection) -> list[dict]:
    U, M, O = m.User, m.Membership, m.Organization
    users = conn.execute(select(U.id, U.username, U.email, U.is_admin, U.active).order_by(U.username)).all()
    roles = conn.execute(select(M.user_id, O.name, M.role).join(O, O.id == M.organization_id)).all()
    by: dict[int, list[str]] = {}
    for r in roles:
        by.setdefault(r.user_id, []).append(f"{r.name}:{r.role}")
    return [{"id": u.id, "username": u.username, "email": u.email, "admin": bool(u.is_admin),
             "active": bool(u.active), "roles": sorted(by.get(u.id, []))} for u in users]


def list_orgs(conn: Connection) -> list[dict]:
    O = m.Organization
    return [{"id": r.id, "name": r.name, "country": r.country, "alliance_member": bool(r.alliance_member),
             "kind": r.kind, "url": r.url}
            for r in conn.execute(select(O.id, O.name, O.country, O.alliance_member, O.kind, O.url).order_by(O.name))]


def login(conn: Connection, username: str, password: str) -> int | None:
    """The user id when the password matches an active user, else None (same answer for unknown users)."""
    row = conn.execute(select(m.User.id, m.User.password_hash, m.User.active)
                       .where(m.User.username == username)).first()
    if row is None:
        verify_password(_DUMMY_HASH, password)  # same time whether or not the user exists
        return None
    return row.id if row.active and verify_password(row.password_hash, password) else None


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


# --------------------------------------------------------------------------- tokens

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_token(conn: Connection, username: str, *, name: str | None = None, days: float | None = 90,
                 now: dt.datetime | None = None) -> dict:
    """A new token for the user: returns {"id", "token" (shown once), "expires_at"}."""
    uid = user_id(conn, username)
    if days is not None and days <= 0:
        raise EconetError("--days must be positive", field="days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or m.utcnow()
    expires = now + dt.timedelta(days=days) if days else None
    tid = conn.execute(insert(m.ApiToken).values(user_id=uid, name=name, token_hash=_digest(token),
                                                 prefix=token[:10], created_at=now, expires_at=expires)
                       .returning(m.ApiToken.id)).scalar_one()
    return {"id": tid, "token": token, "user": username, "name": name,
            "expires_at": expires.isoformat() if expires else None}


def list_tokens(conn: Connection, username: str | None = None) -> list[dict]:
    T, U = m.ApiToken, m.User
    q = select(T.id, U.username, T.name, T.prefix, T.created_at, T.expires_at, T.revoked_at, T.last_used_at
               ).join(U, U.id == T.user_id).order_by(T.id)
    if username:
        q = q.where(U.username == username)
    now = m.utcnow()
    return [{"id": r.id, "user": r.username, "name": r.name, "prefix": r.prefix,
             "created_at": r.created_at.isoformat(), "expires_at": r.expires_at and r.expires_at.isoformat(),
             "state": "revoked" if r.revoked_at else ("expired" if r.expires_at and r.expires_at <= now else "active"),
             "last_used_at": r.last_used_at and r.last_used_at.isoformat()} for r in conn.execute(q)]


def revoke_token(conn: Connection, token_id: int, *, username: str | None = None) -> None:
    T = m.ApiToken
    q = select(T.id, T.user_id).where(T.id == token_id)
    row = conn.execute(q).first()
    if row is None or (username is not None and row.user_id != user_id(conn, username)):
        raise EconetError(f"no token {token_id}", field="token")
    conn.execute(update(T).where(T.id == token_id, T.revoked_at.is_(None)).values(revoked_at=m.utcnow()))


def token_user(conn: Connection, token: str, *, touch: bool = False) -> int | None:
    """The user id of a valid (known, unexpired, unrevoked, active user) token, else None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    T, U = m.ApiToken, m.User
    row = conn.execute(select(T.id, T.user_id, T.expires_at, T.revoked_at, U.active)
                       .join(U, U.id == T.user_id).where(T.token_hash == _digest(token))).first()
    now = m.utcnow()
    if row is None or row.revoked_at is not None or not row.active or (row.expires_at and row.expires_at <= now):
        return None
    if touch:
        conn.execute(update(T).where(T.id == row.id).values(last_used_at=now))
    return row.user_id


# --------------------------------------------------------------------------- who is calling

@dataclass(frozen=True)
class Principal:
    """An authenticated caller: user id, name, hub-admin flag and role per organization id."""

    user_id: int | None = None
    username: str | None = None
    is_admin: bool = False
    roles: dict = field(default_factory=dict)

    def role_in(self, org: int) -> str | None:
        return self.roles.get(org)

    def has(self, org: int, role: str) -> bool:
        return self.is_admin or role_rank(self.roles.get(org)) >= role_rank(role)


def principal(conn: Connection, uid: int) -> Principal:
    u = conn.execute(select(m.User.id, m.User.username, m.User.is_admin).where(m.User.id == uid)).one()
    roles = {r.organization_id: r.role for r in conn.execute(
        select(m.Membership.organization_id, m.Membership.role).where(m.Membership.user_id == uid))}
    return Principal(u.id, u.username, bool(u.is_admin), roles)


def token_principal(conn: Connection, token: str) -> Principal | None:
    """The caller behind a valid token (as `token_user` then `principal`), in one query: the API asks this on
    every signed-in request."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    T, U, M = m.ApiToken, m.User, m.Membership
    rows = conn.execute(select(T.expires_at, T.revoked_at, U.id, U.username, U.is_admin, U.active,
                               M.organization_id, M.role)
                        .join(U, U.id == T.user_id).join(M, M.user_id == U.id, isouter=True)
                        .where(T.token_hash == _digest(token))).all()
    if not rows:
        return None
    r = rows[0]
    if r.revoked_at is not None or not r.active or (r.expires_at and r.expires_at <= m.utcnow()):
        return None
    return Principal(r.id, r.username, bool(r.is_admin),
                     {x.organization_id: x.role for x in rows if x.organization_id is not None})
