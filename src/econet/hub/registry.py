"""The cooperation registry: agreements, joint projects and activities, linked both ways to protected areas,
datasets, analysis jobs and each other; fields of cooperation per PA pair; partners' mutual recognition.

Who sees a record: ``public`` everyone, ``alliance`` members of alliance-member organizations, ``parties``
members of the keeper organization and of the party organizations; the hub admin sees all. Who changes it:
data managers (or admins) of the keeper or of a party organization, and the hub admin. Every change is
written to the hub's audit log (`sharing.audit`). Linked datasets and jobs are shown only to callers who may
see them. Dates are text (YYYY, YYYY-MM or YYYY-MM-DD): a year known only as a year stays a year.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.sharing import View, audit

KINDS = ("agreement", "project", "activity")
PLURAL = {"agreement": "agreements", "project": "projects", "activity": "activities"}
VISIBILITIES = ("public", "alliance", "parties")
LINK_KINDS = ("pa", "dataset", "job", "record")
ROLES = ("party", "partner", "lead", "funder", "participant")
ACTIVITY_TYPES = ("expedition", "patrol", "survey", "workshop", "training", "meeting", "exchange", "other")
#: record columns in CSV and JSON, in this order (lists are joined by " ; " in CSV cells)
RECORD_FIELDS = ["key", "kind", "title", "status", "start_date", "end_date", "renewed", "scope", "fields",
                 "visibility", "keeper", "parent", "details", "sources"]
PARTY_FIELDS = ["record", "name", "organization", "country", "role", "recognized_on", "recognition_note"]
LINK_FIELDS = ["record", "kind", "target", "note"]
COOPERATION_FIELDS = ["pa_a", "pa_b", "field", "status", "record", "source", "note"]
LIST_SEP = " ; "
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
R, P, L, C = m.RegistryRecord, m.RegistryParty, m.RegistryLink, m.PaCooperation


# --------------------------------------------------------------------------- checks

def _date(value: Any, field: str, *, row=None, path=None) -> str | None:
    """A date as text (YYYY, YYYY-MM or YYYY-MM-DD); empty or 'unknown' -> None."""
    if value is None:
        return None
    s = str(value).strip()
    if s == "" or s.lower() == "unknown":
        return None
    if not _DATE.match(s):
        raise EconetError(f"{field} must be YYYY, YYYY-MM or YYYY-MM-DD (or 'unknown'), got {s!r}",
                          field=field, row=row, path=path)
    try:
        parts = [int(p) for p in s.split("-")]
        dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError:
        raise EconetError(f"{field}: no such date {s!r}", field=field, row=row, path=path) from None
    return s


def _choice(value: Any, allowed: tuple, field: str, *, row=None, path=None) -> str:
    v = str(value or "").strip().lower()
    if v not in allowed:
        raise EconetError(f"{field} must be one of {', '.join(allowed)}, got {value!r}", field=field, row=row,
                          path=path)
    return v


def _text(value: Any, field: str, *, required: bool = False, max_len: int = 5000, row=None, path=None) -> str | None:
    s = None if value is None else str(value).strip()
    if not s:
        if required:
            raise EconetError(f"{field} is required", field=field, row=row, path=path)
        return None
    if len(s) > max_len or any(c in s for c in "<>\x00"):
        raise EconetError(f"{field}: plain text up to {max_len} characters without < > or NUL", field=field,
                          row=row, path=path)
    return s


def _list(value: Any) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    if isinstance(value, (list, tuple)):
        return [v for v in value if v not in (None, "")]
    raise EconetError(f"expected a list, got {type(value).__name__}")


def parse_source(text: str) -> dict:
    """A source from its CSV form 'Title <url>' (or a bare title or URL)."""
    t = text.strip()
    if t.endswith(">") and "<" in t:
        title, url = t[:-1].rsplit("<", 1)
        return {"title": title.strip() or None, "url": url.strip()}
    return {"url": t} if t.startswith(("http://", "https://")) else {"title": t}


def _key(value: Any, *, row=None, path=None) -> str:
    k = str(value or "").strip()
    if not _KEY.match(k):
        raise EconetError(f"key must be 1-120 lower-case letters, digits, . _ - (got {k!r})", field="key", row=row,
                          path=path)
    return k


def _org(conn: Connection, name: str | int | None) -> int | None:
    if name in (None, ""):
        return None
    from econet.hub.accounts import org_id
    return org_id(conn, name)


def known_pas() -> dict[str, str]:
    """Protected-area names shipped with the demo region: lower-case name -> name as written."""
    from econet.demo.region import PA_FACTS, data_dir
    path = data_dir() / PA_FACTS
    if not path.exists():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["name"].lower(): r["name"] for r in csv.DictReader(fh)}


def _pa(name: str) -> str:
    """The PA's name as the hub writes it (matched case-insensitively to the region's PA facts)."""
    n = _text(name, "pa", required=True, max_len=300)
    return known_pas().get(n.lower(), n)


# --------------------------------------------------------------------------- who may see and change

def _alliance_orgs(conn: Connection) -> set[int]:
    return set(conn.execute(select(m.Organization.id).where(m.Organization.alliance_member.is_(True))).scalars())


def _party_orgs(conn: Connection, record_ids: Iterable[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    ids = list(record_ids)
    if ids:
        for rid, oid in conn.execute(select(P.record_id, P.organization_id).where(
                P.record_id.in_(ids), P.organization_id.is_not(None))):
            out.setdefault(rid, set()).add(oid)
    return out


def _visible_ids(conn: Connection, view: View, rows) -> set[int]:
    rows = list(rows)
    if view.is_admin:
        return {r.id for r in rows}
    alliance = _alliance_orgs(conn)
    parties = _party_orgs(conn, [r.id for r in rows if r.visibility == "parties"])
    out = set()
    for r in rows:
        if r.visibility == "public" or (r.visibility == "alliance" and view.org_ids & alliance):
            out.add(r.id)
        elif view.org_ids & ({r.organization_id} | parties.get(r.id, set())):
            out.add(r.id)
    return out


def can_write(conn: Connection, view: View, record) -> bool:
    """Data managers (or admins) of the keeper or of a party organization, and the hub admin."""
    from econet.hub.accounts import role_rank
    if view.is_admin:
        return True
    orgs = {record.organization_id} | _party_orgs(conn, [record.id]).get(record.id, set())
    return any(role_rank(view.role(o)) >= role_rank("data_manager") for o in orgs if o is not None)


def _record(conn: Connection, view: View, key: str):
    """The record row the view may see (the same 'no record' whether absent or hidden)."""
    row = conn.execute(select(R).where(R.key == str(key))).first()
    if row is None or row.id not in _visible_ids(conn, view, [row]):
        raise EconetError(f"no registry record {key!r}", field="key")
    return row


def _writable(conn: Connection, view: View, key: str):
    rec = _record(conn, view, key)
    if not can_write(conn, view, rec):
        raise EconetError(f"only data managers of the keeper or of a party may change {key!r}", field="key")
    return rec


# --------------------------------------------------------------------------- changes

def _record_values(conn: Connection, data: dict, *, row=None, path=None) -> dict:
    """Checked column values of a record from a dict in the export format (keeper/parent by name/key)."""
    kind = _choice(data.get("kind"), KINDS, "kind", row=row, path=path)
    values = {"kind": kind, "title": _text(data.get("title"), "title", required=True, max_len=1000, row=row, path=path),
              "status": _text(data.get("status"), "status", max_len=30, row=row, path=path) or "unknown",
              "start_date": _date(data.get("start_date"), "start_date", row=row, path=path),
              "end_date": _date(data.get("end_date"), "end_date", row=row, path=path),
              "renewed": [_date(d, "renewed", row=row, path=path) for d in _list(data.get("renewed"))] or None,
              "scope": _text(data.get("scope"), "scope", row=row, path=path),
              "fields": [_text(f, "fields", max_len=200, row=row, path=path) for f in _list(data.get("fields"))] or None,
              "visibility": _choice(data.get("visibility") or "public", VISIBILITIES, "visibility", row=row, path=path)}
    details = data.get("details")
    if isinstance(details, str):
        try:
            details = json.loads(details) if details.strip() else None
        except ValueError:
            raise EconetError("details must be a JSON object", field="details", row=row, path=path) from None
    if details is not None and not isinstance(details, dict):
        raise EconetError("details must be a JSON object", field="details", row=row, path=path)
    if kind == "activity" and details and details.get("type") is not None:
        details["type"] = _choice(details["type"], ACTIVITY_TYPES, "details.type", row=row, path=path)
    values["details"] = details or None
    sources = data.get("sources")
    if isinstance(sources, str):
        sources = [parse_source(s) for s in sources.split(LIST_SEP.strip()) if s.strip()]
    values["sources"] = [{k: _text(v, "sources", max_len=1000, row=row, path=path) for k, v in s.items()}
                         for s in (sources or [])] or None
    try:
        values["organization_id"] = _org(conn, data.get("keeper"))
    except EconetError as exc:
        raise EconetError(exc.message, field="keeper", row=row, path=path) from None
    parent = data.get("parent")
    values["parent_id"] = None
    if parent:
        pid = conn.execute(select(R.id).where(R.key == str(parent))).scalar()
        if pid is None:
            raise EconetError(f"no registry record {parent!r} to be the parent", field="parent", row=row, path=path)
        values["parent_id"] = pid
    return values


def _may_keep(view: View, org: int | None) -> bool:
    from econet.hub.accounts import role_rank
    return view.is_admin or (org is not None and role_rank(view.role(org)) >= role_rank("data_manager"))


def add(conn: Connection, view: View, data: dict, *, row=None, path=None) -> dict:
    """Create a record, or update it when the key exists (then the caller must be allowed to change it)."""
    key = _key(data.get("key"), row=row, path=path)
    values = _record_values(conn, data, row=row, path=path)
    existing = conn.execute(select(R).where(R.key == key)).first()
    if existing is None:
        if values["organization_id"] is None and not view.is_admin:
            managed = [o for o, _ in view.orgs if _may_keep(view, o)]
            values["organization_id"] = managed[0] if managed else None
        if not _may_keep(view, values["organization_id"]):
            raise EconetError("a record is added by data managers of its keeper organization", field="keeper",
                              row=row, path=path)
        now = m.utcnow()
        conn.execute(insert(R).values(key=key, created_by=view.username, created_at=now, updated_at=now, **values))
        action = "registry.add"
    else:
        rec = existing
        if rec.id not in _visible_ids(conn, view, [rec]) or not can_write(conn, view, rec):
            raise EconetError(f"only data managers of the keeper or of a party may change {key!r}", field="key",
                              row=row, path=path)
        if values["organization_id"] is None:
            values["organization_id"] = rec.organization_id
        if values["parent_id"] == rec.id:
            raise EconetError("a record cannot be its own parent", field="parent", row=row, path=path)
        conn.execute(update(R).where(R.id == rec.id).values(updated_at=m.utcnow(), **values))
        action = "registry.update"
    audit(conn, view, action, f"registry:{key}", {"kind": values["kind"], "title": values["title"]})
    return {"key": key, "action": action.split(".")[1]}


def remove(conn: Connection, view: View, key: str) -> dict:
    rec = _writable(conn, view, key)
    if conn.execute(select(R.id).where(R.parent_id == rec.id)).first() is not None:
        raise EconetError(f"{key!r} has records done under it; remove or move them first", field="key")
    for t in (P, L):
        conn.execute(delete(t).where(t.record_id == rec.id))
    conn.execute(update(C).where(C.record_id == rec.id).values(record_id=None))
    conn.execute(delete(L).where(L.target_kind == "record", L.target == key))
    conn.execute(delete(R).where(R.id == rec.id))
    audit(conn, view, "registry.remove", f"registry:{key}")
    return {"key": key, "removed": True}


def set_party(conn: Connection, view: View, key: str, name: str, *, organization: str | None = None,
              country: str | None = None, role: str = "party", recognized_on: str | None = None,
              recognition_note: str | None = None, row=None, path=None) -> dict:
    """Add or update a party/partner; `recognized_on` and the note record its mutual recognition."""
    rec = _writable(conn, view, key)
    name = _text(name, "name", required=True, max_len=300, row=row, path=path)
    if country is not None and country != "" and not re.fullmatch(r"[A-Za-z]{2}", str(country)):
        raise EconetError("country must be an ISO 3166-1 alpha-2 code", field="country", row=row, path=path)
    values = {"organization_id": _org(conn, organization), "country": country.upper() if country else None,
              "role": _choice(role or "party", ROLES, "role", row=row, path=path),
              "recognized_on": _date(recognized_on, "recognized_on", row=row, path=path),
              "recognition_note": _text(recognition_note, "recognition_note", row=row, path=path)}
    pid = conn.execute(select(P.id).where(P.record_id == rec.id, P.name == name)).scalar()
    if pid is None:
        conn.execute(insert(P).values(record_id=rec.id, name=name, **values))
    else:
        conn.execute(update(P).where(P.id == pid).values(**values))
    audit(conn, view, "registry.party", f"registry:{key}", {"party": name, **{k: v for k, v in values.items() if v}})
    return {"record": key, "name": name, **values}


def recognize(conn: Connection, view: View, key: str, party: str, date: str, note: str | None = None) -> dict:
    """A partner recognizes a project mutually (date and note), by its own data managers or the admin."""
    rec = _record(conn, view, key)
    row = conn.execute(select(P).where(P.record_id == rec.id, P.name == party)).first()
    if row is None:
        raise EconetError(f"{party!r} is not a party of {key!r}", field="party")
    p = row
    from econet.hub.accounts import role_rank
    if not (view.is_admin or (p.organization_id is not None
                              and role_rank(view.role(p.organization_id)) >= role_rank("data_manager"))):
        raise EconetError("a partner's recognition is recorded by its own data managers", field="party")
    when = _date(date, "date")
    if when is None:
        raise EconetError("a recognition needs its date", field="date")
    conn.execute(update(P).where(P.id == p.id).values(recognized_on=when, recognition_note=_text(note, "note")))
    audit(conn, view, "registry.recognize", f"registry:{key}", {"party": party, "date": when, "note": note})
    return {"record": key, "party": party, "recognized_on": when, "recognition_note": note}


def _check_target(conn: Connection, view: View, kind: str, target: str, *, row=None, path=None) -> str:
    kind = _choice(kind, LINK_KINDS, "kind", row=row, path=path)
    t = _text(target, "target", required=True, max_len=300, row=row, path=path)
    if kind == "pa":
        return _pa(t)
    if kind == "dataset":
        from econet.hub.sharing import visible_datasets
        if t not in {d["name"] for d in visible_datasets(conn, view)}:
            raise EconetError(f"unknown dataset {t!r}", field="target", row=row, path=path)
    elif kind == "job":
        if not t.isdigit() or conn.execute(select(m.Job.id).where(m.Job.id == int(t))).scalar() is None:
            raise EconetError(f"no analysis job {t!r}", field="target", row=row, path=path)
    elif conn.execute(select(R.id).where(R.key == t)).scalar() is None:
        raise EconetError(f"no registry record {t!r}", field="target", row=row, path=path)
    return t


def link(conn: Connection, view: View, key: str, kind: str, target: str, note: str | None = None, *,
         row=None, path=None) -> dict:
    """Link a record to a PA (by name), a dataset, an analysis job (id) or another record (key)."""
    rec = _writable(conn, view, key)
    kind = _choice(kind, LINK_KINDS, "kind", row=row, path=path)
    target = _check_target(conn, view, kind, target, row=row, path=path)
    if kind == "record" and target == key:
        raise EconetError("a record cannot link to itself", field="target", row=row, path=path)
    lid = conn.execute(select(L.id).where(L.record_id == rec.id, L.target_kind == kind, L.target == target)).scalar()
    note = _text(note, "note", row=row, path=path)
    if lid is None:
        conn.execute(insert(L).values(record_id=rec.id, target_kind=kind, target=target, note=note))
    else:
        conn.execute(update(L).where(L.id == lid).values(note=note))
    audit(conn, view, "registry.link", f"registry:{key}", {"kind": kind, "target": target})
    return {"record": key, "kind": kind, "target": target, "note": note}


def unlink(conn: Connection, view: View, key: str, kind: str, target: str) -> dict:
    rec = _writable(conn, view, key)
    n = conn.execute(delete(L).where(L.record_id == rec.id, L.target_kind == kind, L.target == target)).rowcount
    if not n:
        raise EconetError(f"{key!r} has no {kind} link to {target!r}", field="target")
    audit(conn, view, "registry.unlink", f"registry:{key}", {"kind": kind, "target": target})
    return {"record": key, "kind": kind, "target": target, "removed": True}


def set_cooperation(conn: Connection, view: View, pa_a: str, pa_b: str, field: str, *, status: str = "proposed",
                    record: str | None = None, source: str | None = None, note: str | None = None,
                    row=None, path=None) -> dict:
    """A field of cooperation between two PAs (proposed or under way), optionally under a registry record.

    Under a record: its writers; without one: data managers of any organization (and the admin)."""
    a, b = sorted([_pa(pa_a), _pa(pa_b)])
    if a == b:
        raise EconetError("a field of cooperation joins two different protected areas", field="pa_b", row=row, path=path)
    values = {"status": _text(status, "status", max_len=30, row=row, path=path) or "proposed",
              "source": _text(source, "source", row=row, path=path), "note": _text(note, "note", row=row, path=path),
              "record_id": None}
    if record:
        values["record_id"] = _writable(conn, view, record).id
    else:
        from econet.hub.accounts import role_rank
        if not view.is_admin and not any(role_rank(r) >= role_rank("data_manager") for _, r in view.orgs):
            raise EconetError("fields of cooperation are recorded by data managers", field="record", row=row, path=path)
    fld = _text(field, "field", required=True, max_len=200, row=row, path=path)
    cid = conn.execute(select(C.id).where(C.pa_a == a, C.pa_b == b, C.field == fld)).scalar()
    if cid is None:
        conn.execute(insert(C).values(pa_a=a, pa_b=b, field=fld, **values))
    else:
        conn.execute(update(C).where(C.id == cid).values(**values))
    audit(conn, view, "registry.cooperation", f"pa:{a}|{b}", {"field": fld, "status": values["status"]})
    return {"pa_a": a, "pa_b": b, "field": fld, **values}


# --------------------------------------------------------------------------- reading

def _order(r) -> tuple:
    return (r.start_date or "", r.key)


def _names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(m.Organization.id, m.Organization.name)).all())


def _summary(r, keys: dict[int, str], orgs: dict[int, str]) -> dict:
    return {"key": r.key, "kind": r.kind, "title": r.title, "status": r.status, "start_date": r.start_date,
            "end_date": r.end_date, "visibility": r.visibility, "keeper": orgs.get(r.organization_id),
            "parent": keys.get(r.parent_id)}


def list_records(conn: Connection, view: View, *, kind: str | None = None, pa: str | None = None,
                 dataset: str | None = None, party: str | None = None) -> list[dict]:
    """Records the view may see, optionally of one kind or linked to a PA / dataset, or with a party."""
    q = select(R)
    if kind:
        q = q.where(R.kind == _choice(kind, KINDS, "kind"))
    for k, t in (("pa", _pa(pa) if pa else None), ("dataset", dataset)):
        if t:
            q = q.where(R.id.in_(select(L.record_id).where(L.target_kind == k, L.target == t)))
    if party:
        q = q.where(R.id.in_(select(P.record_id).join(m.Organization, m.Organization.id == P.organization_id,
                                                        isouter=True)
                             .where(or_(P.name == party, m.Organization.name == party))))
    rows = sorted(conn.execute(q), key=_order)  # in Python: SQLite and PostgreSQL sort NULL dates differently
    ok = _visible_ids(conn, view, rows)
    keys = dict(conn.execute(select(R.id, R.key)).all())
    orgs = _names(conn)
    return [_summary(r, keys, orgs) for r in rows if r.id in ok]


def _visible_links(conn: Connection, view: View, rows) -> list[dict]:
    """Links the view may follow: hidden datasets, other users' jobs and hidden records are left out."""
    from econet.hub.sharing import visible_datasets
    rows = list(rows)
    datasets = {d["name"] for d in visible_datasets(conn, view)} if any(r.target_kind == "dataset" for r in rows) else set()
    records = {r.key for r in _visible_records(conn, view)} if any(r.target_kind == "record" for r in rows) else set()
    out = []
    for r in rows:
        if r.target_kind == "dataset" and r.target not in datasets:
            continue
        if r.target_kind == "record" and r.target not in records:
            continue
        if r.target_kind == "job":
            job = conn.execute(select(m.Job.id, m.Job.kind, m.Job.status, m.Job.user_id)
                               .where(m.Job.id == int(r.target))).first()
            if job is None or not (view.is_admin or (view.user_id is not None and job.user_id == view.user_id)):
                continue
            out.append({"kind": "job", "target": r.target, "note": r.note, "job_kind": job.kind,
                        "status": job.status})
            continue
        out.append({"kind": r.target_kind, "target": r.target, "note": r.note})
    return out


def _visible_records(conn: Connection, view: View):
    rows = list(conn.execute(select(R)))
    ok = _visible_ids(conn, view, rows)
    return [r for r in rows if r.id in ok]


def show(conn: Connection, view: View, key: str) -> dict:
    """A record with its parties, links, what was done under it and what links to it (all filtered by view)."""
    rec = _record(conn, view, key)
    orgs = _names(conn)
    keys = dict(conn.execute(select(R.id, R.key)).all())
    out = _summary(rec, keys, orgs)
    out.update(renewed=rec.renewed or [], scope=rec.scope, fields=rec.fields or [], details=rec.details or {},
               sources=rec.sources or [], created_by=rec.created_by,
               updated_at=rec.updated_at.isoformat(timespec="seconds"))
    out["parties"] = [{"name": p.name, "organization": orgs.get(p.organization_id), "country": p.country,
                       "role": p.role, "recognized_on": p.recognized_on, "recognition_note": p.recognition_note}
                      for p in conn.execute(select(P).where(P.record_id == rec.id).order_by(P.id))]
    out["links"] = _visible_links(conn, view, (conn.execute(
        select(L).where(L.record_id == rec.id).order_by(L.target_kind, L.target))))
    visible = {r.id: r for r in _visible_records(conn, view)}
    out["done_under"] = [_summary(r, keys, orgs) for r in sorted(visible.values(), key=_order)
                         if r.parent_id == rec.id]
    back = conn.execute(select(L.record_id, L.note).where(L.target_kind == "record", L.target == key)).all()
    out["linked_from"] = [{**_summary(visible[rid], keys, orgs), "note": note}
                          for rid, note in sorted(back, key=lambda b: _order(visible[b[0]]) if b[0] in visible else ())
                          if rid in visible]
    pas = [lk["target"] for lk in out["links"] if lk["kind"] == "pa"]
    out["cooperation"] = [c for c in fields_of_cooperation(conn, view, pas) if c["record"] == key]
    return out


def linked_to(conn: Connection, view: View, kind: str, target: str) -> dict:
    """The other way round: the records linked to a PA, dataset or job, grouped by kind, and the datasets
    and jobs those records link to (a PA's page: its agreements, projects, activities and their data)."""
    kind = _choice(kind, LINK_KINDS, "kind")
    target = _pa(target) if kind == "pa" else str(target)
    if kind == "dataset":
        from econet.hub.sharing import visible_datasets
        if target not in {d["name"] for d in visible_datasets(conn, view)}:
            raise EconetError(f"unknown dataset {target!r}", field="dataset")
    ids = set(conn.execute(select(L.record_id).where(L.target_kind == kind, L.target == target)).scalars())
    visible = _visible_records(conn, view)
    while True:  # what was done under those records belongs to the page too
        more = {r.id for r in visible if r.parent_id in ids} - ids
        if not more:
            break
        ids |= more
    recs = [r for r in visible if r.id in ids]
    keys = dict(conn.execute(select(R.id, R.key)).all())
    orgs = _names(conn)
    out: dict[str, Any] = {"kind": kind, "target": target}
    for k in KINDS:
        out[PLURAL[k]] = [_summary(r, keys, orgs) for r in sorted(recs, key=_order)
                        if r.kind == k]
    data = _visible_links(conn, view, (conn.execute(
        select(L).where(L.record_id.in_([r.id for r in recs]), L.target_kind.in_(("dataset", "job"))))))
    out["datasets"] = sorted({d["target"] for d in data if d["kind"] == "dataset"})
    out["jobs"] = sorted({d["target"] for d in data if d["kind"] == "job"}, key=int)
    if kind == "pa":
        out["cooperation"] = fields_of_cooperation(conn, view, [target])
    return out


def pa_page(conn: Connection, view: View, pa: str) -> dict:
    """What a protected area's page shows: its agreements, projects, activities, their data, and fields of
    cooperation with its partner PAs."""
    return linked_to(conn, view, "pa", pa)


def fields_of_cooperation(conn: Connection, view: View, pa_names: Iterable[str] | None = None) -> list[dict]:
    """Fields of cooperation per PA pair (one row per pair x field), for the PAs named (all when None).

    Rows come from the per-pair table and from agreements and projects linked to both PAs of a pair
    (`origin`: "pair" or the record's kind). Records the view may not see contribute nothing."""
    wanted = None if pa_names is None else {_pa(p) for p in pa_names}
    visible = {r.id: r for r in _visible_records(conn, view)}
    out: dict[tuple, dict] = {}
    for c in conn.execute(select(C).order_by(C.pa_a, C.pa_b, C.field)):
        if c.record_id is not None and c.record_id not in visible:
            continue
        if wanted is not None and not ({c.pa_a, c.pa_b} & wanted):
            continue
        out[(c.pa_a, c.pa_b, c.field)] = {"pa_a": c.pa_a, "pa_b": c.pa_b, "field": c.field, "status": c.status,
                                          "record": visible[c.record_id].key if c.record_id else None,
                                          "origin": "pair", "source": c.source, "note": c.note}
    pas: dict[int, list[str]] = {}
    for rid, t in conn.execute(select(L.record_id, L.target).where(L.target_kind == "pa")):
        pas.setdefault(rid, []).append(t)
    for rid, names in pas.items():
        r = visible.get(rid)
        if r is None or r.kind == "activity" or not r.fields:
            continue
        names = sorted(set(names))
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if wanted is not None and not ({a, b} & wanted):
                    continue
                for f in r.fields:
                    out.setdefault((a, b, f), {"pa_a": a, "pa_b": b, "field": f, "status": r.status,
                                               "record": r.key, "origin": r.kind,
                                               "source": "; ".join(s.get("url") or s.get("title") or ""
                                                                   for s in (r.sources or [])) or None,
                                               "note": None})
    return sorted(out.values(), key=lambda d: (d["pa_a"], d["pa_b"], d["field"]))


# --------------------------------------------------------------------------- import and export

def export_data(conn: Connection, view: View) -> dict:
    """Everything the view may see, in the import format (JSON-ready)."""
    records, parties, links = [], [], []
    for s in list_records(conn, view):
        full = show(conn, view, s["key"])
        records.append({k: full.get(k) for k in RECORD_FIELDS})
        parties += [{"record": s["key"], **p} for p in full["parties"]]
        links += [{"record": s["key"], "kind": lk["kind"], "target": lk["target"], "note": lk["note"]}
                  for lk in full["links"]]
    coop = [{k: c[k] for k in COOPERATION_FIELDS} for c in fields_of_cooperation(conn, view) if c["origin"] == "pair"]
    return {"records": records, "parties": parties, "links": links, "cooperation": coop}


def export(conn: Connection, view: View, out: str | Path, fmt: str | None = None) -> dict:
    """Write the registry as one JSON file or a folder of CSV files (records, parties, links, cooperation),
    atomically."""
    from econet.atomic import OutputSet, atomic_path
    out = Path(out)
    fmt = fmt or ("json" if out.suffix.lower() == ".json" else "csv")
    if fmt not in ("json", "csv"):
        raise EconetError("format must be json or csv", field="format")
    data = export_data(conn, view)
    if fmt == "json":
        with atomic_path(out) as tmp:
            Path(tmp).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        files = [str(out)]
    else:
        tables = {"records": RECORD_FIELDS, "parties": PARTY_FIELDS, "links": LINK_FIELDS,
                  "cooperation": COOPERATION_FIELDS}
        with OutputSet(out) as outputs:
            for name, cols in tables.items():
                with open(outputs.path(f"{name}.csv"), "w", newline="", encoding="utf-8") as fh:
                    w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
                    w.writeheader()
                    for r in data[name]:
                        w.writerow({c: _cell(r.get(c)) for c in cols})
        files = [str(out / f"{n}.csv") for n in tables]
    audit(conn, view, "registry.export", f"registry:{fmt}", {"records": len(data["records"]), "out": str(out)})
    return {"format": fmt, "files": files, **{k: len(v) for k, v in data.items()}}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False) if v else ""
    if isinstance(v, list):
        if v and isinstance(v[0], dict):  # sources
            return LIST_SEP.join(f"{s.get('title') or ''} <{s['url']}>" if s.get("url") else (s.get("title") or "")
                                 for s in v)
        return LIST_SEP.join(str(x) for x in v)
    return str(v)


def _read_input(path: Path) -> tuple[dict, dict[str, Path]]:
    """(data, file of each table) from a JSON file, a folder of CSV files, or one records CSV."""
    if not path.exists():
        raise EconetError("file not found", path=path)
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise EconetError(f"not valid JSON ({exc})", path=path) from None
        if not isinstance(data, dict) or not isinstance(data.get("records", []), list):
            raise EconetError('expected {"records": [...], "parties": [...], "links": [...], "cooperation": [...]}',
                              path=path)
        return data, {k: path for k in ("records", "parties", "links", "cooperation")}
    files = ({n: path / f"{n}.csv" for n in ("records", "parties", "links", "cooperation")} if path.is_dir()
             else {"records": path})
    data, where = {}, {}
    for name, f in files.items():
        if not f.exists():
            continue
        with open(f, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            need = {"records": ["key", "kind", "title"], "parties": ["record", "name"],
                    "links": ["record", "kind", "target"], "cooperation": ["pa_a", "pa_b", "field"]}[name]
            missing = [c for c in need if c not in (reader.fieldnames or [])]
            if missing:
                raise EconetError(f"missing column '{missing[0]}'", path=f, field=missing[0])
            data[name] = [{k: (v if v != "" else None) for k, v in r.items()} for r in reader]
        where[name] = f
    if "records" not in data:
        raise EconetError("no records.csv in the folder", path=path)
    return data, where


def import_file(conn: Connection, view: View, path: str | Path) -> dict:
    """Import records, parties, links and fields of cooperation (JSON, or CSV as written by `export`).

    Records are matched by key (added or updated). Runs in the caller's transaction: the first bad row raises
    an EconetError naming file, row and field, and nothing is kept."""
    path = Path(path)
    data, where = _read_input(path)
    counts = {"records": 0, "parties": 0, "links": 0, "cooperation": 0}
    records = data.get("records") or []
    # parents may come later in the file: add records without parents first, then set parents
    for i, r in enumerate(records):
        if not isinstance(r, dict):
            raise EconetError("each record must be an object", path=where["records"], row=i + 2)
        add(conn, view, {**r, "parent": None}, row=i + 2, path=where["records"])
        counts["records"] += 1
    for i, r in enumerate(records):
        if r.get("parent"):
            add(conn, view, r, row=i + 2, path=where["records"])
    for i, p in enumerate(data.get("parties") or []):
        set_party(conn, view, str(p.get("record") or ""), p.get("name"), organization=p.get("organization"),
                  country=p.get("country"), role=p.get("role") or "party", recognized_on=p.get("recognized_on"),
                  recognition_note=p.get("recognition_note"), row=i + 2, path=where.get("parties"))
        counts["parties"] += 1
    for i, lk in enumerate(data.get("links") or []):
        link(conn, view, str(lk.get("record") or ""), lk.get("kind"), lk.get("target"), lk.get("note"),
             row=i + 2, path=where.get("links"))
        counts["links"] += 1
    for i, c in enumerate(data.get("cooperation") or []):
        set_cooperation(conn, view, c.get("pa_a"), c.get("pa_b"), c.get("field"), status=c.get("status") or "proposed",
                        record=c.get("record"), source=c.get("source"), note=c.get("note"), row=i + 2,
                        path=where.get("cooperation"))
        counts["cooperation"] += 1
    audit(conn, view, "registry.import", f"registry:{path.name}", counts)
    return {"source": str(path), **counts}
