"""/api/v1/organizations: partners, their members and roles."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import accounts
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["organizations"])


class NewOrg(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    country: Optional[str] = Field(None, pattern=r"^[A-Za-z]{2}$")
    alliance_member: bool = True
    kind: Optional[str] = Field(None, max_length=50)
    url: Optional[str] = Field(None, max_length=500, pattern=r"^https?://[^\s<>\"']+$")


class Member(BaseModel):
    username: str = Field(..., max_length=100)
    role: str = Field(..., max_length=20)


@router.get("/organizations", dependencies=[rule("public")], summary="Partner organizations")
def list_orgs(request: Request):
    with engine(request).connect() as conn:
        return {"organizations": accounts.list_orgs(conn)}


@router.post("/organizations", dependencies=[rule("admin")], status_code=201, summary="Add an organization (admin)")
def add_org(body: NewOrg, request: Request):
    clean_text(body.name, "name", ident=True)
    clean_text(body.kind, "kind", ident=True)
    with engine(request).begin() as conn:
        oid = accounts.add_org(conn, body.name, country=body.country, alliance_member=body.alliance_member,
                               kind=body.kind, url=body.url)
    return {"id": oid, "name": body.name}


@router.get("/organizations/{org_id}/members", dependencies=[rule("user")],
            summary="Members and roles (the organization's own members and the admin)")
def members(org_id: int, request: Request, view: View = Depends(get_view)):
    if not view.is_admin and org_id not in view.org_ids:
        raise HTTPException(404, "no such organization")
    with engine(request).connect() as conn:
        users = accounts.list_users(conn)
        name = dict(o for o in ((r["id"], r["name"]) for r in accounts.list_orgs(conn)))[org_id]
    return {"organization": name, "members": [
        {"username": u["username"], "role": r.split(":", 1)[1]} for u in users for r in u["roles"]
        if r.rsplit(":", 1)[0] == name]}


@router.put("/organizations/{org_id}/members", dependencies=[rule("user")],
            summary="Give a user a role (the organization's admins and the hub admin)")
def set_member(org_id: int, body: Member, request: Request, view: View = Depends(get_view)):
    if not (view.is_admin or view.role(org_id) == "admin"):
        raise HTTPException(403, "only the organization's admins may change its members")
    with engine(request).begin() as conn:
        accounts.set_role(conn, body.username, org_id, body.role)
    return {"organization_id": org_id, "username": body.username, "role": accounts.normalize_role(body.role)}
