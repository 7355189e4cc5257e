"""/api/v1/registry: agreements, joint projects and activities, their links to protected areas, datasets and
analysis jobs (both ways), fields of cooperation per PA pair, mutual recognition; import and export."""

from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from econet.api.auth import get_view, router as make_router, rule
from econet.api.routers._common import PREFIX, clean_text, engine
from econet.hub import registry
from econet.hub.sharing import View

router = make_router(prefix=PREFIX + "/registry", tags=["registry"])


class PartyIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=300)
    organization: Optional[str] = Field(None, max_length=200, description="Hub organization (name or id)")
    country: Optional[str] = Field(None, pattern=r"^[A-Za-z]{2}$")
    role: Literal["party", "partner", "lead", "funder", "participant"] = "party"
    recognized_on: Optional[str] = Field(None, max_length=10, description="Mutual recognition: YYYY[-MM[-DD]]")
    recognition_note: Optional[str] = Field(None, max_length=2000)


class LinkIn(BaseModel):
    kind: Literal["pa", "dataset", "job", "record"]
    target: str = Field(..., min_length=1, max_length=300)
    note: Optional[str] = Field(None, max_length=2000)


class Source(BaseModel):
    title: Optional[str] = Field(None, max_length=1000)
    url: Optional[str] = Field(None, max_length=1000, pattern=r"^https?://[^\s<>\"']+$")


class RecordIn(BaseModel):
    key: str = Field(..., pattern=r"^[a-z0-9][a-z0-9._-]{0,119}$")
    kind: Literal["agreement", "project", "activity"]
    title: str = Field(..., min_length=1, max_length=1000)
    status: Optional[str] = Field(None, max_length=30)
    start_date: Optional[str] = Field(None, max_length=10, description="Signed / started: YYYY[-MM[-DD]]")
    end_date: Optional[str] = Field(None, max_length=10)
    renewed: list[str] = Field(default_factory=list, max_length=50)
    scope: Optional[str] = Field(None, max_length=5000, description="Scope (agreement) or objectives")
    fields: list[str] = Field(default_factory=list, max_length=100, description="Fields of cooperation")
    visibility: Literal["public", "alliance", "parties"] = "public"
    keeper: Optional[str] = Field(None, max_length=200, description="Keeping organization")
    parent: Optional[str] = Field(None, max_length=120, description="Agreement or project it was done under")
    details: dict[str, Any] = Field(default_factory=dict, description="funding, indicators, outputs, where, type...")
    sources: list[Source] = Field(default_factory=list, max_length=50)
    parties: list[PartyIn] = Field(default_factory=list, max_length=200)
    links: list[LinkIn] = Field(default_factory=list, max_length=500)


class Recognition(BaseModel):
    party: str = Field(..., min_length=1, max_length=300)
    date: str = Field(..., max_length=10)
    note: Optional[str] = Field(None, max_length=2000)


class CooperationIn(BaseModel):
    pa_a: str = Field(..., min_length=1, max_length=300)
    pa_b: str = Field(..., min_length=1, max_length=300)
    field: str = Field(..., min_length=1, max_length=200)
    status: str = Field("proposed", max_length=30)
    record: Optional[str] = Field(None, max_length=120)
    source: Optional[str] = Field(None, max_length=2000)
    note: Optional[str] = Field(None, max_length=2000)


class ImportIn(BaseModel):
    records: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    parties: list[dict[str, Any]] = Field(default_factory=list, max_length=20000)
    links: list[dict[str, Any]] = Field(default_factory=list, max_length=50000)
    cooperation: list[dict[str, Any]] = Field(default_factory=list, max_length=20000)


def _clean(body: BaseModel) -> None:
    """Refuse markup and injection shapes in every free-text field of a request body."""
    def walk(v, name):
        if isinstance(v, str):
            clean_text(v, name, max_len=5000)
        elif isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{name}.{k}")
        elif isinstance(v, list):
            for x in v:
                walk(x, name)
    for k, v in body.model_dump().items():
        walk(v, k)


def _save(conn, view: View, body: RecordIn) -> dict:
    data = body.model_dump(exclude={"parties", "links"})
    data["sources"] = [{k: v for k, v in s.items() if v} for s in data["sources"]]
    out = registry.add(conn, view, data)
    for p in body.parties:
        registry.set_party(conn, view, body.key, p.name, organization=p.organization, country=p.country, role=p.role,
                           recognized_on=p.recognized_on, recognition_note=p.recognition_note)
    for lk in body.links:
        registry.link(conn, view, body.key, lk.kind, lk.target, lk.note)
    return out


@router.get("", dependencies=[rule("public")], summary="Registry records the caller may see")
def list_records(request: Request, view: View = Depends(get_view),
                 kind: Optional[Literal["agreement", "project", "activity"]] = None,
                 pa: Optional[str] = Query(None, max_length=300), dataset: Optional[str] = Query(None, max_length=200),
                 party: Optional[str] = Query(None, max_length=300)):
    for k, v in (("pa", pa), ("dataset", dataset), ("party", party)):
        clean_text(v, k)
    with engine(request).connect() as conn:
        return {"records": registry.list_records(conn, view, kind=kind, pa=pa, dataset=dataset, party=party)}


@router.get("/records/{record}", dependencies=[rule("public")],
            summary="One record: parties, links, what was done under it, what links to it")
def show(record: str, request: Request, view: View = Depends(get_view)):
    from fastapi import HTTPException
    from econet.errors import EconetError
    with engine(request).connect() as conn:
        try:
            return registry.show(conn, view, record)
        except EconetError as exc:  # absent or hidden: the same answer
            raise HTTPException(404, exc.message) from None


@router.post("/records", dependencies=[rule("data_manager")], status_code=201,
             summary="Add or update a record with its parties and links (keeper's or parties' data managers)")
def add(body: RecordIn, request: Request, view: View = Depends(get_view)):
    _clean(body)
    with engine(request).begin() as conn:
        out = _save(conn, view, body)
        return {**out, "record": registry.show(conn, view, body.key)}


@router.put("/records/{record}", dependencies=[rule("data_manager")], summary="Update a record")
def update(record: str, body: RecordIn, request: Request, view: View = Depends(get_view)):
    _clean(body)
    with engine(request).begin() as conn:
        if body.key != record:
            from econet.errors import EconetError
            raise EconetError("the body's key must be the record's key", field="key")
        registry._writable(conn, view, record)
        _save(conn, view, body)
        return registry.show(conn, view, record)


@router.delete("/records/{record_key}", dependencies=[rule("data_manager")], summary="Remove a record")
def remove(record_key: str, request: Request, view: View = Depends(get_view)):
    with engine(request).begin() as conn:
        return registry.remove(conn, view, record_key)


@router.post("/records/{record}/parties", dependencies=[rule("data_manager")], summary="Add or update a party")
def add_party(record: str, body: PartyIn, request: Request, view: View = Depends(get_view)):
    _clean(body)
    with engine(request).begin() as conn:
        return registry.set_party(conn, view, record, body.name, organization=body.organization, country=body.country,
                                  role=body.role, recognized_on=body.recognized_on,
                                  recognition_note=body.recognition_note)


@router.post("/records/{record}/recognitions", dependencies=[rule("data_manager")],
             summary="Record a partner's mutual recognition of a project (its own data managers)")
def recognize(record: str, body: Recognition, request: Request, view: View = Depends(get_view)):
    _clean(body)
    with engine(request).begin() as conn:
        return registry.recognize(conn, view, record, body.party, body.date, body.note)


@router.post("/records/{record}/links", dependencies=[rule("data_manager")],
             summary="Link a record to a PA, dataset, analysis job or another record")
def add_link(record: str, body: LinkIn, request: Request, view: View = Depends(get_view)):
    _clean(body)
    with engine(request).begin() as conn:
        return registry.link(conn, view, record, body.kind, body.target, body.note)


@router.delete("/records/{record}/links", dependencies=[rule("data_manager")], summary="Remove a link")
def remove_link(record: str, request: Request, view: View = Depends(get_view),
                kind: Literal["pa", "dataset", "job", "record"] = Query(...),
                target: str = Query(..., max_length=300)):
    with engine(request).begin() as conn:
        return registry.unlink(conn, view, record, kind, target)


@router.get("/pas/{pa}", dependencies=[rule("public")],
            summary="A protected area's page: its agreements, projects, activities, their data, fields of cooperation")
def pa_page(pa: str, request: Request, view: View = Depends(get_view)):
    clean_text(pa, "pa")
    with engine(request).connect() as conn:
        return registry.pa_page(conn, view, pa)


@router.get("/datasets/{name}", dependencies=[rule("public")], summary="Records that produced or use a dataset")
def dataset_records(name: str, request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return registry.linked_to(conn, view, "dataset", name)


@router.get("/jobs/{job_id}", dependencies=[rule("user")], summary="Records an analysis job belongs to")
def job_records(job_id: int, request: Request, view: View = Depends(get_view)):
    with engine(request).connect() as conn:
        return registry.linked_to(conn, view, "job", str(job_id))


@router.get("/cooperation", dependencies=[rule("public")], summary="Fields of cooperation per PA pair")
def cooperation(request: Request, view: View = Depends(get_view),
                pa: Optional[list[str]] = Query(None, max_length=100)):
    for p in pa or []:
        clean_text(p, "pa")
    with engine(request).connect() as conn:
        return {"cooperation": registry.fields_of_cooperation(conn, view, pa)}


@router.put("/cooperation", dependencies=[rule("data_manager")], summary="Record a field of cooperation of a PA pair")
def set_cooperation(body: CooperationIn, request: Request, view: View = Depends(get_view)):
    _clean(body)
    with engine(request).begin() as conn:
        return registry.set_cooperation(conn, view, body.pa_a, body.pa_b, body.field, status=body.status,
                                        record=body.record, source=body.source, note=body.note)


@router.get("/export", dependencies=[rule("public")],
            summary="Everything the caller may see: JSON, or a zip of CSV tables (records, parties, links, cooperation)")
def export(request: Request, view: View = Depends(get_view), format: Literal["json", "csv"] = "json"):
    import io
    import tempfile
    import zipfile
    from pathlib import Path
    with engine(request).begin() as conn:
        if format == "json":
            data = registry.export_data(conn, view)
            registry.audit(conn, view, "registry.export", "registry:json", {"records": len(data["records"])})
            return data
        with tempfile.TemporaryDirectory() as tmp:
            registry.export(conn, view, Path(tmp) / "registry", "csv")
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for f in sorted((Path(tmp) / "registry").glob("*.csv")):
                    z.write(f, f.name)
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": 'attachment; filename="registry.zip"'})


@router.post("/import", dependencies=[rule("data_manager")],
             summary="Import records, parties, links and fields of cooperation (the JSON export format)")
def import_(body: ImportIn, request: Request, view: View = Depends(get_view)):
    import json
    import tempfile
    from pathlib import Path
    _clean(body)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.json"
        path.write_text(json.dumps(body.model_dump()), encoding="utf-8")
        with engine(request).begin() as conn:
            out = registry.import_file(conn, view, path)
    return {**out, "source": "request body"}
