"""/api/v1/datasets, grants and sensitive taxa: what callers may see, and the rules owners set."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Optional

from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["datasets"])


class Sharing(BaseModel):
    visibility: Optional[Literal["public", "alliance", "partners", "owner"]] = None
    partners: Optional[list[str]] = Field(None, max_length=200)
    embargo_until: Optional[dt.date] = None
    clear_embargo: bool = False
    license: Optional[str] = Field(None, max_length=200)
    citation: Optional[str] = Field(None, max_length=2000)


class Grant(BaseModel):
    grantee: str = Field(..., max_length=200, description="Organization name or id")
    dataset: Optional[str] = Field(None, max_length=200)
    taxon: Optional[str] = Field(None, max_length=300)
    owner: Optional[str] = Field(None, max_length=200, description="Owner organization (taxon grants)")
    note: Optional[str] = Field(None, max_length=1000)


class Sensitive(BaseModel):
    taxon: str = Field(..., max_length=300)
    country: str = Field(..., pattern=r"^[A-Za-z]{2}$")
    category: Literal["withheld", "0.1", "0.01", "0.001"]
    reason: Optional[str] = Field(None, max_length=1000)
    review_date: Optional[dt.date] = None


def _visible(conn, view: View, name: str) -> dict:
    for d in sharing.visible_datasets(conn, view):
        if d["name"] == name:
            return d
    raise HTTPException(404, "no such dataset")


@router.get("/datasets", dependencies=[rule("public")], summary="Datasets the caller may see, with license and citation")
def list_datasets(request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return {"view": view.describe(), "datasets": sharing.visible_datasets(conn, view)}


@router.get("/datasets/{name}", dependencies=[rule("public")], summary="One dataset (sharing terms for its managers)")
def get_dataset(name: str, request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        d = _visible(conn, view, name)
        info = sharing.sharing_of(conn, name)
        from sqlalchemy import select
        from econet.hub import models as m
        owner = conn.execute(select(m.Dataset.organization_id).where(m.Dataset.name == name)).scalar()
    if sharing.can_manage(view, owner):
        d = {**d, "sharing": info}
    return d


@router.put("/datasets/{name}/sharing", dependencies=[rule("data_manager")],
            summary="Set visibility, partners, embargo, license, citation (owner's data managers)")
def set_sharing(name: str, body: Sharing, request: Request, view: View = Depends(get_view)):
    clean_text(body.license, "license", max_len=200)
    clean_text(body.citation, "citation")
    for p in body.partners or []:
        clean_text(p, "partners", ident=True)
    with engine(request).begin() as conn:
        _visible(conn, view, name)
        out = sharing.set_sharing(conn, name, visibility=body.visibility, partners=body.partners,
                                  embargo_until=body.embargo_until, clear_embargo=body.clear_embargo,
                                  license=body.license, citation=body.citation, by=view)
        sharing.audit(conn, view, "sharing", f"dataset:{name}", body.model_dump(exclude_none=True))
    return out


@router.get("/grants", dependencies=[rule("user")], summary="Grants my organizations gave or received")
def grants(request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return {"grants": sharing.list_grants(conn, view=view)}


@router.post("/grants", dependencies=[rule("data_manager")], status_code=201,
             summary="Grant a partner exact access to a dataset or a taxon (owner's data managers)")
def add_grant(body: Grant, request: Request, view: View = Depends(get_view)):
    clean_text(body.note, "note")
    for k in ("grantee", "dataset", "owner"):
        clean_text(getattr(body, k), k, ident=True)
    clean_text(body.taxon, "taxon", ident=True)
    with engine(request).begin() as conn:
        if body.dataset:
            _visible(conn, view, body.dataset)
        g = sharing.grant(conn, to=body.grantee, dataset=body.dataset, taxon=body.taxon, owner=body.owner,
                          note=body.note, by=view)
        sharing.audit(conn, view, "grant", f"grant:{g['id']}", body.model_dump(exclude_none=True))
    return g


@router.delete("/grants/{grant_id}", dependencies=[rule("data_manager")], summary="Revoke a grant")
def revoke_grant(grant_id: int, request: Request, view: View = Depends(get_view)):
    with engine(request).begin() as conn:
        sharing.revoke_grant(conn, grant_id, by=view)
        sharing.audit(conn, view, "revoke", f"grant:{grant_id}")
    return {"revoked": grant_id}


@router.get("/sensitive-taxa", dependencies=[rule("user")], summary="Sensitive taxa per country (Chapman 2020)")
def sensitive(request: Request):
    with engine(request).connect() as conn:
        return {"sensitive_taxa": sharing.list_sensitive(conn)}


@router.put("/sensitive-taxa", dependencies=[rule("data_manager")],
            summary="Declare a taxon sensitive in a country (data managers of an organization of that country)")
def set_sensitive(body: Sensitive, request: Request, view: View = Depends(get_view)):
    clean_text(body.taxon, "taxon", ident=True)
    clean_text(body.reason, "reason")
    with engine(request).begin() as conn:
        if not view.is_admin:
            from sqlalchemy import select
            from econet.hub import models as m
            from econet.hub.accounts import role_rank
            countries = {o: c for o, c in conn.execute(select(m.Organization.id, m.Organization.country))}
            if not any(role_rank(r) >= role_rank("data_manager") and countries.get(o) == body.country.upper()
                       for o, r in view.orgs):
                raise HTTPException(403, "only data managers of an organization in that country may do this")
        out = sharing.set_sensitive(conn, body.taxon, body.country, body.category, reason=body.reason,
                                    review_date=body.review_date.isoformat() if body.review_date else None)
        sharing.audit(conn, view, "sensitive", f"{body.taxon}:{body.country}", out)
    return out
