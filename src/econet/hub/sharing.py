"""Who sees what: the one place every path out of the hub (API, exports, map layers, analyses) goes through.

A `View` is a caller (anonymous, a user with roles per organization, or the hub admin). `view_rows(conn,
view, filter)` yields exactly the observations and fields that caller may see:

- datasets: visible when public, alliance (caller belongs to an alliance-member organization), partners
  (caller belongs to a listed organization) or to their owner; before the embargo date only the owner sees it;
  an owner's dataset grant makes it visible to the grantee too;
- sensitive taxa (per country, Chapman 2020): callers without exact access get coordinates rounded to the
  category's grid (0.1 / 0.01 / 0.001 degree) with the rounding added to the uncertainty; `withheld` rows are
  left out; the free-text locality is removed; once a sensitive species is recorded at a site (same place
  within ~10 m, or the same locality text) every record at that site is generalized the same way (a site
  that held a withheld species: 1 degree);
- exact access: owner organization members, the hub admin, and owner grants per dataset or per taxon;
- every generalized row says so in `data_generalizations` / `information_withheld` (dwc:dataGeneralizations,
  dwc:informationWithheld) and `coordinate_precision`.

Every use is logged (`audit`), and results report the view they were computed under (`View.describe`).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Iterator

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from econet.errors import EconetError
from econet.hub import models as m
from econet.hub.query import COLUMNS, ObservationFilter, observation_rows, taxon_ids

VISIBILITIES = ("public", "alliance", "partners", "owner")
CATEGORIES = {"withheld": None, "1": 1.0, "0.1": 0.1, "0.01": 0.01, "0.001": 0.001}
CHAPMAN = {"withheld": 1, "1": 1, "0.1": 2, "0.01": 3, "0.001": 4}
#: the extra columns every view row carries
VIEW_COLUMNS = COLUMNS + ["coordinate_precision", "data_generalizations", "information_withheld"]
#: rounding uncertainty (m) by latitude band 0/30/60/85 degrees (Chapman & Wieczorek 2020, Table 3)
_ROUNDING_M = {1.0: (156910, 146970, 124610, 112110), 0.1: (15691, 14697, 12461, 11211),
               0.01: (1570, 1470, 1246, 1121), 0.001: (157, 147, 125, 112)}
_SITE_CELL = 1e-4  # ~10 m: records closer than this to a sensitive record are at the same site


def normalize_category(category: str) -> str:
    c = str(category).strip().lower().rstrip("°").replace(" degree", "").replace(" deg", "")
    c = {"1.0": "1", "0.10": "0.1", "category 1": "withheld", "cat1": "withheld", "2": "0.1", "3": "0.01",
         "4": "0.001"}.get(c, c)
    if c not in CATEGORIES:
        raise EconetError(f"unknown sensitivity category {category!r} (withheld, 0.1, 0.01, 0.001)",
                          field="category")
    return c


@dataclass(frozen=True)
class View:
    """The caller a query runs for. `orgs`: organization id -> role. Build with the classmethods."""

    kind: str = "anonymous"  # anonymous | user | admin
    username: str | None = None
    user_id: int | None = None
    orgs: tuple = ()         # ((org_id, role), ...)
    today: dt.date | None = None  # for tests of embargoes; default: today (UTC)

    @classmethod
    def anonymous(cls) -> "View":
        return cls()

    @classmethod
    def admin(cls, username: str = "admin") -> "View":
        return cls(kind="admin", username=username)

    @classmethod
    def for_user(cls, conn: Connection, user: int | str) -> "View":
        from econet.hub import accounts
        uid = accounts.user_id(conn, user) if isinstance(user, str) else user
        return cls.for_principal(accounts.principal(conn, uid))

    @classmethod
    def for_principal(cls, p) -> "View":
        """The view of an authenticated caller (econet.hub.accounts.Principal)."""
        return cls(kind="admin" if p.is_admin else "user", username=p.username, user_id=p.user_id,
                   orgs=tuple(sorted(p.roles.items())))

    @classmethod
    def for_token(cls, conn: Connection, token: str) -> "View":
        from econet.hub import accounts
        uid = accounts.token_user(conn, token)
        if uid is None:
            raise EconetError("invalid, expired or revoked token", field="token")
        return cls.for_user(conn, uid)

    @property
    def org_ids(self) -> set[int]:
        return {o for o, _ in self.orgs}

    def role(self, org_id: int) -> str | None:
        return dict(self.orgs).get(org_id)

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def date(self) -> dt.date:
        return self.today or dt.datetime.now(dt.timezone.utc).date()

    def describe(self) -> dict:
        """What results report: which view they were computed under."""
        return {"kind": self.kind, "user": self.username, "organizations": [o for o, _ in self.orgs],
                "date": self.date().isoformat()}


# --------------------------------------------------------------------------- the rules, loaded per query

@dataclass
class DatasetAccess:
    id: int
    name: str
    owner: int
    owner_name: str
    license: str | None
    citation: str | None
    exact: bool           # caller sees every record exactly (owner, admin, dataset grant)
    exact_taxa: frozenset  # taxon ids the caller sees exactly through a taxon grant


@dataclass
class Rules:
    """Everything needed to filter and generalize rows for one view (loaded once per query)."""

    view: View
    datasets: dict[str, DatasetAccess]
    sensitive: dict[tuple[str, str], str]       # (accepted name, country) -> category
    site_cells: dict[tuple[int, int], str]      # 1e-4 degree cell -> strictest category recorded there
    site_localities: dict[str, str]             # normalized locality text -> category
    exact_names: dict[int, frozenset] = field(default_factory=dict)  # dataset id -> accepted names granted
    hidden: int = 0                             # datasets this view does not see
    hidden_ids: frozenset = frozenset()         # their ids
    sensitive_taxa: dict[int, str] = field(default_factory=dict)  # taxon id -> accepted name (sensitive ones)
    scope: Any = None                           # the view as an SQL clause (see `scope_clause`), built once

    def __post_init__(self):
        if self.scope is None:
            self.scope = scope_clause(self)


def _visible(view: View, ds, owner_alliance: dict[int, bool], grants_ds: set[int]) -> bool:
    if view.is_admin or ds.organization_id in view.org_ids:
        return True
    if ds.embargo_until is not None and view.date() < ds.embargo_until:
        return False
    if ds.id in grants_ds:
        return True
    vis = ds.visibility or "owner"
    if vis == "public":
        return True
    if vis == "alliance":
        return any(owner_alliance.get(o) for o in view.org_ids)
    if vis == "partners":
        return bool(view.org_ids & {int(x) for x in (ds.shared_with or [])})
    return False


def _strictest(a: str | None, b: str) -> str:
    if a is None:
        return b
    rank = ["withheld", "1", "0.1", "0.01", "0.001"]
    return a if rank.index(a) <= rank.index(b) else b


@lru_cache(maxsize=65536)
def _norm_text(s: str | None) -> str:
    return " ".join((s or "").lower().split())


_SITE_CACHE: dict = {}
_SITE_LOCK = threading.Lock()


def _sensitive_sites(conn: Connection, sens_ids: dict) -> tuple[dict, dict]:
    """Cells (1e-4 degree, with neighbours) and locality texts where a sensitive species was recorded.

    Cached per database and sensitive list. Records only get added between two calls in the usual case (the
    newest id grew, the import batches too): then only the new records are scanned and merged in, so an
    import does not make every server process rescan every sensitive record. Anything else (a record or
    batch removed, another sensitive list, an accepted taxon review) rescans all.
    """
    from sqlalchemy import func
    Ob = m.Observation
    url = str(conn.engine.url)
    lists = tuple(sorted((t, tuple(sorted(v))) for t, v in sens_ids.items()))
    R = m.TaxonReview
    top, batches, reviews = conn.execute(select(
        select(func.max(Ob.id)).scalar_subquery(), select(func.count()).select_from(m.ImportBatch).scalar_subquery(),
        select(func.count()).select_from(R).where(R.status == "accepted").scalar_subquery())).one()
    key = (lists, top, batches, reviews)  # an accepted review may move existing records to another taxon
    hit = _SITE_CACHE.get(url)
    if hit is not None and hit[0] == key:
        return hit[1], hit[2]
    with _SITE_LOCK:  # one thread computes, the others wait for its result
        hit = _SITE_CACHE.get(url)
        if hit is not None and hit[0] == key:
            return hit[1], hit[2]
        grown = (hit is not None and hit[0][0] == lists and (hit[0][1] or 0) <= (top or 0)
                 and hit[0][2] <= batches and hit[0][3] == reviews)
        cells, localities = (dict(hit[1]), dict(hit[2])) if grown else ({}, {})
        _add_sites(conn, sens_ids, cells, localities, after=hit[0][1] if grown else None)
        _SITE_CACHE[url] = (key, cells, localities)
        return cells, localities


def _add_sites(conn: Connection, sens_ids: dict, cells: dict, localities: dict, *, after: int | None) -> None:
    Ob = m.Observation
    q = (select(Ob.taxon_id, Ob.country_code, Ob.lon, Ob.lat, Ob.locality).where(Ob.taxon_id.in_(list(sens_ids)))
         .distinct())
    if after is not None:
        q = q.where(Ob.id > after)
    for r in conn.execute(q):
        cat = None
        for cc, c in sens_ids.get(r.taxon_id, ()):
            if (r.country_code or "").upper() == cc:
                cat = _strictest(cat, c)
        if cat is None:
            continue
        site_cat = "1" if cat == "withheld" else cat
        if r.lon is not None and r.lat is not None:
            cx, cy = int(math.floor(r.lon / _SITE_CELL)), int(math.floor(r.lat / _SITE_CELL))
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    k = (cx + dx, cy + dy)
                    cells[k] = _strictest(cells.get(k), site_cat)
        if r.locality and r.locality.strip():
            k = _norm_text(r.locality)
            localities[k] = _strictest(localities.get(k), site_cat)


_RULES_CACHE: dict = {}
GENERATION_KEY = "sharing_generation"


def bump_generation(conn: Connection) -> None:
    """Note that sharing terms changed (cached rules of every process are then reloaded)."""
    import uuid
    H = m.HubSetting
    value = uuid.uuid4().hex
    if conn.execute(select(H.key).where(H.key == GENERATION_KEY)).first() is None:
        conn.execute(insert(H).values(key=GENERATION_KEY, value=value))
    else:
        conn.execute(update(H).where(H.key == GENERATION_KEY).values(value=value))


def _version(conn: Connection) -> tuple:
    """A cheap fingerprint of everything the rules depend on (one query)."""
    from sqlalchemy import func
    H, D, B, Ob, R = m.HubSetting, m.Dataset, m.ImportBatch, m.Observation, m.TaxonReview
    q = select(select(H.value).where(H.key == GENERATION_KEY).scalar_subquery(),
               select(func.max(D.id)).scalar_subquery(), select(func.max(B.id)).scalar_subquery(),
               select(func.max(Ob.id)).scalar_subquery(),
               select(func.count()).select_from(R).where(R.status == "accepted").scalar_subquery())
    return tuple(conn.execute(q).one())


def load_rules(conn: Connection, view: View) -> Rules:
    """The rules for this view (cached per database and view until sharing terms or records change)."""
    key = (str(conn.engine.url), view.kind, view.orgs, view.date())
    version = _version(conn)
    hit = _RULES_CACHE.get(key)
    if hit is not None and hit[0] == version:
        return replace(hit[1], view=view)
    rules = _load_rules(conn, view)
    if len(_RULES_CACHE) > 512:
        _RULES_CACHE.clear()
    _RULES_CACHE[key] = (version, rules)
    return rules


def _load_rules(conn: Connection, view: View) -> Rules:
    from sqlalchemy import func
    D, O, G = m.Dataset, m.Organization, m.AccessGrant
    orgs = {r.id: (r.name, bool(r.alliance_member)) for r in conn.execute(select(O.id, O.name, O.alliance_member))}
    alliance = {k: v[1] for k, v in orgs.items()}
    grants_ds: set[int] = set()
    grants_taxa: dict[int, set[int]] = {}  # owner org -> taxon ids
    if view.org_ids and not view.is_admin:
        for g in conn.execute(select(G.owner_organization_id, G.dataset_id, G.taxon_id).where(
                G.grantee_organization_id.in_(view.org_ids), G.revoked_at.is_(None))):
            if g.dataset_id is not None and g.taxon_id is None:
                grants_ds.add(g.dataset_id)
            elif g.taxon_id is not None:
                grants_taxa.setdefault(g.owner_organization_id, set()).add(g.taxon_id)
    taxa_cache: dict[int, frozenset] = {}

    def subtree(tid: int) -> frozenset:
        if tid not in taxa_cache:
            name = conn.execute(select(m.Taxon.scientific_name).where(m.Taxon.id == tid)).scalar()
            taxa_cache[tid] = frozenset(taxon_ids(conn, name)) if name else frozenset()
        return taxa_cache[tid]

    datasets: dict[str, DatasetAccess] = {}
    for ds in conn.execute(select(D.id, D.name, D.organization_id, D.visibility, D.shared_with, D.embargo_until,
                                  D.license, D.citation)):
        if not _visible(view, ds, alliance, grants_ds):
            continue
        exact = view.is_admin or ds.organization_id in view.org_ids or ds.id in grants_ds
        et = frozenset().union(*[subtree(t) for t in grants_taxa.get(ds.organization_id, ())]) if not exact else frozenset()
        datasets[ds.name] = DatasetAccess(ds.id, ds.name, ds.organization_id, orgs[ds.organization_id][0],
                                          ds.license, ds.citation, exact, et)
    # sensitive taxa: (accepted names of the taxon and everything below it, country) -> category
    sensitive: dict[tuple[str, str], str] = {}
    S, T = m.SensitiveTaxon, m.Taxon
    sens_ids: dict[int, list[tuple[str, str]]] = {}
    for s in conn.execute(select(S.taxon_id, S.country_code, S.category)):
        cat = normalize_category(s.category)
        for tid in subtree(s.taxon_id):
            sens_ids.setdefault(tid, []).append((s.country_code.upper(), cat))
    exact_names: dict[int, frozenset] = {}
    if sens_ids:
        names = dict(conn.execute(select(T.id, T.scientific_name).where(T.id.in_(list(sens_ids)))).all())
        for tid, entries in sens_ids.items():
            for cc, cat in entries:
                key = (names.get(tid), cc)
                sensitive[key] = _strictest(sensitive.get(key), cat)
        for d in datasets.values():
            if d.exact_taxa:
                all_names = dict(conn.execute(select(T.id, T.scientific_name).where(T.id.in_(list(d.exact_taxa)))).all())
                exact_names[d.id] = frozenset(all_names.values())
    # sites where a sensitive species was recorded (in any dataset: the place must not be given away)
    cells, localities = _sensitive_sites(conn, sens_ids) if sens_ids else ({}, {})
    all_ids = set(conn.execute(select(D.id)).scalars())
    hidden_ids = frozenset(all_ids - {d.id for d in datasets.values()})
    return Rules(view, datasets, sensitive, cells, localities, exact_names, hidden=len(hidden_ids),
                 hidden_ids=hidden_ids, sensitive_taxa=names if sens_ids else {})


def scope_clause(rules: Rules):
    """The view as one SQL clause on observations: rows of hidden datasets and rows withheld from this view
    (a `withheld` species in its country, in a dataset the caller does not see exactly) never leave the
    database, so a page of n rows is one `LIMIT n` query. `apply_rules` still checks every row in Python."""
    from sqlalchemy import func, not_, true
    Ob = m.Observation
    w = []
    visible = sorted(d.id for d in rules.datasets.values())
    if not visible:
        return Ob.id.is_(None)  # nothing (ids are never NULL)
    if rules.hidden_ids:  # the shorter list: NOT IN keeps the id-ordered scan, IN lets an index pick the rows
        w.append(Ob.dataset_id.notin_(sorted(rules.hidden_ids)) if len(rules.hidden_ids) <= len(visible)
                 else Ob.dataset_id.in_(visible))
    # withheld (taxon, country) pairs per group of datasets seen the same way (grants differ per owner)
    by_grant: dict[frozenset, list[int]] = {}
    for d in rules.datasets.values():
        if not d.exact:
            by_grant.setdefault(rules.exact_names.get(d.id, frozenset()), []).append(d.id)
    withheld: dict[str, set[int]] = {}
    for tid, name in rules.sensitive_taxa.items():
        for (n, cc), cat in rules.sensitive.items():
            if n == name and cat == "withheld":
                withheld.setdefault(cc, set()).add(tid)
    if withheld and by_grant:
        hide = []
        for granted, ids in by_grant.items():
            pairs = [and_(func.upper(Ob.country_code) == cc,
                          Ob.taxon_id.in_(sorted(t for t in tids if rules.sensitive_taxa[t] not in granted)))
                     for cc, tids in sorted(withheld.items())
                     if any(rules.sensitive_taxa[t] not in granted for t in tids)]
            if pairs:
                hide.append(and_(Ob.dataset_id.in_(sorted(ids)), or_(*pairs)))
        if hide:  # NULL taxon or country: never withheld (and NOT of NULL would drop the row)
            w.append(or_(Ob.taxon_id.is_(None), Ob.country_code.is_(None), not_(or_(*hide))))
    return and_(true(), *w) if w else None


# --------------------------------------------------------------------------- generalization

def _band(lat: float) -> int:
    a = abs(lat)
    return 0 if a < 30 else 1 if a < 60 else 2 if a < 85 else 3


_DIGITS = {step: max(0, round(-math.log10(step))) for step in (1.0, 0.1, 0.01, 0.001)}


def _round_to(value: float, step: float) -> float:
    digits = _DIGITS.get(step)
    if digits is None:
        digits = max(0, round(-math.log10(step)))
    return round(round(value / step) * step, digits)


@lru_cache(maxsize=65536)
def _equal_area(lon: float, lat: float) -> tuple[float, float]:
    """Equal-area x/y of a generalized point (few distinct grid points: cached)."""
    from econet.hub.spatial import to_equal_area
    x, y = to_equal_area([lon], [lat])
    return float(x[0]), float(y[0])


def generalize_row(row: dict, category: str, reason: str) -> dict | None:
    """The row as a caller without exact access sees it under `category`; None when withheld."""
    if category == "withheld":
        return None
    step = CATEGORIES[category]
    out = dict(row)
    notes = []
    if row.get("lon") is not None and row.get("lat") is not None:
        lat = float(row["lat"])
        out["lon"], out["lat"] = _round_to(float(row["lon"]), step), _round_to(lat, step)
        base = row.get("coordinate_uncertainty_m") or 30.0
        out["coordinate_uncertainty_m"] = float(base) + _ROUNDING_M[step][_band(lat)]
        out["x_laea"], out["y_laea"] = _equal_area(out["lon"], out["lat"])
        notes.append(f"coordinates rounded to {step:g} degree")
    out["coordinate_precision"] = step
    withheld = []
    if row.get("locality"):
        out["locality"] = None
        withheld.append("locality")
    for k in ("source_row", "batch"):
        out[k] = None
    out["data_generalizations"] = "; ".join(notes + (["locality removed"] if withheld else [])) + f" ({reason})"
    out["information_withheld"] = ("exact location" + (" and locality text" if withheld else "")
                                   + f" withheld ({reason}); available from the data owner on request")
    return out


def _row_category(rules: Rules, d: DatasetAccess, row: dict) -> tuple[str | None, str]:
    """(category, reason) the row is generalized under for this view; (None, "") when shown exactly."""
    if d.exact:
        return None, ""
    cc = (row.get("country_code") or "").upper()
    name = row.get("accepted_name")
    cat = rules.sensitive.get((name, cc))
    if cat is not None:
        if name in rules.exact_names.get(d.id, ()):
            return None, ""
        return cat, f"sensitive species in {cc}, Chapman 2020 category {CHAPMAN[cat]}"
    site = None
    if row.get("lon") is not None and row.get("lat") is not None and rules.site_cells:
        site = rules.site_cells.get((int(math.floor(row["lon"] / _SITE_CELL)), int(math.floor(row["lat"] / _SITE_CELL))))
    if row.get("locality") and rules.site_localities:
        loc = rules.site_localities.get(_norm_text(row["locality"]))
        if loc is not None:
            site = _strictest(site, loc)
    if site is not None:
        return site, "site where a sensitive species was recorded"
    return None, ""


def apply_rules(rules: Rules, rows, *, fresh: bool = False) -> Iterator[dict]:
    """Filter and generalize rows (query.COLUMNS dicts) for the view the rules were loaded for.
    `fresh`: the rows are the caller's own throw-away dicts (rows shown exactly are completed in place)."""
    datasets = rules.datasets
    for row in rows:
        d = datasets.get(row["dataset"])
        if d is None:  # not visible: never reaches the caller
            continue
        cat, reason = _row_category(rules, d, row)
        if cat is None:
            out = row if fresh else dict(row)
            out["coordinate_precision"] = None
            out["data_generalizations"] = None
            out["information_withheld"] = None
            yield out
            continue
        g = generalize_row(row, cat, reason)
        if g is not None:
            yield g


def _scoped(rules: Rules, f: ObservationFilter) -> ObservationFilter | None:
    """The filter limited to what the view may see (None: nothing to see): the datasets asked for by id
    (an unknown and a hidden dataset get the same message) and the view's SQL clause (`scope_clause`)."""
    if f.dataset:
        asked = [f.dataset] if isinstance(f.dataset, str) else list(f.dataset)
        unknown = [a for a in asked if a not in rules.datasets]
        if unknown:  # the same message whether the dataset is absent or hidden
            raise EconetError(f"unknown dataset {unknown[0]!r}", field="dataset")
        ids = sorted({rules.datasets[a].id for a in asked})
        if f.dataset_ids is not None:
            ids = sorted(set(ids) & set(f.dataset_ids))
        f = replace(f, dataset=None, dataset_ids=ids)
    elif not rules.datasets:
        return None
    if rules.scope is not None:
        f = replace(f, scope=rules.scope if f.scope is None else and_(f.scope, rules.scope))
    return f


def view_rows(conn: Connection, view: View, f: ObservationFilter | None = None, *, rules: Rules | None = None,
              after: int | None = None) -> Iterator[dict]:
    """The observations the filter selects, as the view may see them (VIEW_COLUMNS dicts, id order).

    `after` (or `f.after`): keyset paging, only rows with a greater hub_id; a page (`f.limit`) then costs the
    same wherever it starts. Hidden datasets and withheld rows are excluded in SQL, so a page is one query;
    rows are still checked and generalized by `apply_rules`.
    """
    f = f or ObservationFilter()
    rules = rules or load_rules(conn, view)
    scoped = _scoped(rules, f if after is None else replace(f, after=max(after, f.after or after)))
    if scoped is None:
        return
    limit = scoped.limit
    if limit is None:
        yield from apply_rules(rules, observation_rows(conn, scoped))
        return
    n, last = 0, scoped.after
    while n < limit:  # more than one query only when apply_rules drops a row the SQL clause let through
        want = limit - n
        page = list(observation_rows(conn, replace(scoped, after=last, limit=want)))
        if page:
            last = page[-1]["hub_id"]
        for out in apply_rules(rules, page, fresh=True):
            yield out
            n += 1
        if len(page) < want:
            return


def visible_datasets(conn: Connection, view: View) -> list[dict]:
    """Datasets the view may see, with license, citation and whether the caller sees them exactly."""
    rules = load_rules(conn, view)
    return [{"id": d.id, "name": d.name, "owner": d.owner_name, "license": d.license, "citation": d.citation,
             "access": "exact" if d.exact else "generalized where sensitive"}
            for d in sorted(rules.datasets.values(), key=lambda d: d.name)]


def view_sites(conn: Connection, view: View, *, dataset: str | None = None, limit: int = 1000,
               rules: Rules | None = None) -> list[dict]:
    """Sites and camera deployments of the datasets the view may see; a place where a sensitive species was
    recorded is generalized (its name removed) for callers without exact access."""
    rules = rules or load_rules(conn, view)
    names = list(rules.datasets) if not dataset else [dataset]
    if dataset and dataset not in rules.datasets:
        raise EconetError(f"unknown dataset {dataset!r}", field="dataset")
    ids = {rules.datasets[n].id: n for n in names}
    out = []
    for table, key in ((m.Site, m.Site.site_key), (m.Deployment, m.Deployment.deployment_key)):
        q = (select(table.id, table.dataset_id, key.label("key"), table.lon, table.lat, table.country_code,
                    table.coordinate_uncertainty_m, *( [table.name] if table is m.Site else []))
             .where(table.dataset_id.in_(list(ids))).order_by(table.id).limit(limit))
        for r in conn.execute(q):
            d = rules.datasets[ids[r.dataset_id]]
            row = {"kind": table.__tablename__[:-1], "id": r.id, "key": r.key, "dataset": d.name,
                   "name": getattr(r, "name", None), "lon": r.lon, "lat": r.lat, "country_code": r.country_code,
                   "coordinate_uncertainty_m": r.coordinate_uncertainty_m, "coordinate_precision": None,
                   "data_generalizations": None, "information_withheld": None}
            if not d.exact:
                cat = None
                if r.lon is not None and r.lat is not None:
                    cat = rules.site_cells.get((int(math.floor(r.lon / _SITE_CELL)), int(math.floor(r.lat / _SITE_CELL))))
                if row["name"] and _norm_text(row["name"]) in rules.site_localities:
                    cat = _strictest(cat, rules.site_localities[_norm_text(row["name"])])
                if cat is not None:
                    g = generalize_row({**row, "locality": row["name"]}, cat,
                                       "site where a sensitive species was recorded")
                    g["name"] = None
                    g.pop("locality", None)
                    g.pop("source_row", None)
                    g.pop("batch", None)
                    g.pop("x_laea", None)
                    g.pop("y_laea", None)
                    row = g
            out.append(row)
    return out[:limit]


# --------------------------------------------------------------------------- settings owners make

def _dataset(conn: Connection, name: str):
    row = conn.execute(select(m.Dataset.__table__).where(m.Dataset.name == name)).first()
    if row is None:
        raise EconetError(f"no dataset named {name!r}", field="dataset")
    return row


def can_manage(view: View, owner_org: int) -> bool:
    from econet.hub.accounts import role_rank
    return view.is_admin or role_rank(view.role(owner_org)) >= role_rank("data_manager")


def set_sharing(conn: Connection, dataset: str, *, visibility: str | None = None, partners: list | None = None,
                embargo_until: dt.date | str | None = None, clear_embargo: bool = False, license: str | None = None,
                citation: str | None = None, by: View | None = None) -> dict:
    """Set a dataset's visibility, partner list, embargo, license and citation (owner's data managers)."""
    from econet.hub.accounts import org_id
    ds = _dataset(conn, dataset)
    if by is not None and not can_manage(by, ds.organization_id):
        raise EconetError(f"only the owner's data managers may change the sharing of {dataset!r}", field="dataset")
    values: dict[str, Any] = {}
    if visibility is not None:
        if visibility not in VISIBILITIES:
            raise EconetError(f"visibility must be one of {', '.join(VISIBILITIES)}", field="visibility")
        values["visibility"] = visibility
    if partners is not None:
        values["shared_with"] = sorted({org_id(conn, p) for p in partners})
    if embargo_until is not None:
        try:
            values["embargo_until"] = (embargo_until if isinstance(embargo_until, dt.date)
                                       else dt.date.fromisoformat(str(embargo_until)))
        except ValueError:
            raise EconetError("embargo must be a date YYYY-MM-DD", field="embargo") from None
    if clear_embargo:
        values["embargo_until"] = None
    if license is not None:
        values["license"] = license
    if citation is not None:
        values["citation"] = citation
    if values:
        conn.execute(update(m.Dataset).where(m.Dataset.id == ds.id).values(**values))
        bump_generation(conn)
    return sharing_of(conn, dataset)


def sharing_of(conn: Connection, dataset: str) -> dict:
    ds = _dataset(conn, dataset)
    names = dict(conn.execute(select(m.Organization.id, m.Organization.name)).all())
    return {"dataset": ds.name, "owner": names.get(ds.organization_id), "visibility": ds.visibility,
            "partners": [names.get(int(i)) for i in (ds.shared_with or [])],
            "embargo_until": ds.embargo_until.isoformat() if ds.embargo_until else None,
            "license": ds.license, "citation": ds.citation}


def set_sensitive(conn: Connection, taxon: str, country: str, category: str, *, reason: str | None = None,
                  review_date: str | None = None, organization: str | None = None) -> dict:
    """Declare a taxon sensitive in one country with a Chapman 2020 category (replaces an earlier entry)."""
    from econet.hub.accounts import org_id
    cat = normalize_category(category)
    if not country or len(country) != 2 or not country.isalpha():
        raise EconetError("country must be an ISO 3166-1 alpha-2 code", field="country")
    tid = _taxon_id(conn, taxon)
    S = m.SensitiveTaxon
    values = {"category": cat, "reason": reason,
              "review_date": dt.date.fromisoformat(review_date) if review_date else None,
              "organization_id": org_id(conn, organization) if organization else None}
    sid = conn.execute(select(S.id).where(S.taxon_id == tid, S.country_code == country.upper())).scalar()
    if sid is None:
        conn.execute(insert(S).values(taxon_id=tid, country_code=country.upper(), **values))
    else:
        conn.execute(update(S).where(S.id == sid).values(**values))
    bump_generation(conn)
    return {"taxon": taxon, "country": country.upper(), "category": cat, "reason": reason}


def _taxon_id(conn: Connection, taxon: str) -> int:
    from econet.hub.taxonomy import canonical
    T = m.Taxon
    c = canonical(taxon) or taxon
    row = conn.execute(select(T.id, T.status, T.accepted_id).where(T.scientific_name == c)).first()
    if row is None:
        from econet.hub.taxonomy import seed
        seed(conn)
        row = conn.execute(select(T.id, T.status, T.accepted_id).where(T.scientific_name == c)).first()
    if row is None:
        raise EconetError(f"unknown taxon {taxon!r}", field="taxon")
    return row.accepted_id if row.status == "synonym" and row.accepted_id else row.id


def remove_sensitive(conn: Connection, taxon: str, country: str) -> None:
    from sqlalchemy import delete
    tid = _taxon_id(conn, taxon)
    conn.execute(delete(m.SensitiveTaxon).where(m.SensitiveTaxon.taxon_id == tid,
                                                m.SensitiveTaxon.country_code == country.upper()))
    bump_generation(conn)


def list_sensitive(conn: Connection) -> list[dict]:
    S, T = m.SensitiveTaxon, m.Taxon
    return [{"taxon": r.scientific_name, "country": r.country_code, "category": r.category,
             "chapman_category": CHAPMAN.get(r.category), "reason": r.reason,
             "review_date": r.review_date and r.review_date.isoformat()}
            for r in conn.execute(select(T.scientific_name, S.country_code, S.category, S.reason, S.review_date)
                                  .join(T, T.id == S.taxon_id).order_by(T.scientific_name, S.country_code))]


def grant(conn: Connection, *, to: str | int, dataset: str | None = None, taxon: str | None = None,
          owner: str | int | None = None, note: str | None = None, by: View | None = None) -> dict:
    """An owner grants a partner organization exact access to a dataset or to a taxon (in the owner's data)."""
    from econet.hub.accounts import org_id
    if not dataset and not taxon:
        raise EconetError("a grant names a dataset or a taxon", field="dataset")
    ds = _dataset(conn, dataset) if dataset else None
    owner_id = ds.organization_id if ds is not None else (org_id(conn, owner) if owner is not None else None)
    if owner_id is None:
        raise EconetError("a taxon grant names the owner organization", field="owner")
    if by is not None and not can_manage(by, owner_id):
        raise EconetError("only the owner's data managers may grant access", field="owner")
    grantee = org_id(conn, to)
    tid = _taxon_id(conn, taxon) if taxon else None
    gid = conn.execute(insert(m.AccessGrant).values(
        owner_organization_id=owner_id, grantee_organization_id=grantee, dataset_id=ds.id if ds else None,
        taxon_id=tid, note=note, created_by=by.username if by else None, created_at=m.utcnow())
        .returning(m.AccessGrant.id)).scalar_one()
    bump_generation(conn)
    return {"id": gid, "owner": owner_id, "grantee": grantee, "dataset": dataset, "taxon": taxon}


def revoke_grant(conn: Connection, grant_id: int, *, by: View | None = None) -> None:
    G = m.AccessGrant
    row = conn.execute(select(G.id, G.owner_organization_id).where(G.id == grant_id)).first()
    if row is None:
        raise EconetError(f"no grant {grant_id}", field="grant")
    if by is not None and not can_manage(by, row.owner_organization_id):
        raise EconetError(f"no grant {grant_id}", field="grant")
    conn.execute(update(G).where(G.id == grant_id, G.revoked_at.is_(None)).values(revoked_at=m.utcnow()))
    bump_generation(conn)


def list_grants(conn: Connection, *, view: View | None = None, include_revoked: bool = False) -> list[dict]:
    G, O, D, T = m.AccessGrant, m.Organization, m.Dataset, m.Taxon
    names = dict(conn.execute(select(O.id, O.name)).all())
    q = (select(G.id, G.owner_organization_id, G.grantee_organization_id, D.name.label("dataset"),
                T.scientific_name.label("taxon"), G.note, G.created_by, G.created_at, G.revoked_at)
         .join(D, D.id == G.dataset_id, isouter=True).join(T, T.id == G.taxon_id, isouter=True).order_by(G.id))
    if not include_revoked:
        q = q.where(G.revoked_at.is_(None))
    if view is not None and not view.is_admin:
        q = q.where(or_(G.owner_organization_id.in_(view.org_ids), G.grantee_organization_id.in_(view.org_ids)))
    return [{"id": r.id, "owner": names.get(r.owner_organization_id), "grantee": names.get(r.grantee_organization_id),
             "dataset": r.dataset, "taxon": r.taxon, "note": r.note, "created_by": r.created_by,
             "created_at": r.created_at.isoformat(), "revoked_at": r.revoked_at and r.revoked_at.isoformat()}
            for r in conn.execute(q)]


# --------------------------------------------------------------------------- audit and exports

def audit(conn: Connection, view: View, action: str, target: str, details: dict | None = None, *,
          rules: Rules | None = None, rows=None) -> None:
    """Append who read or exported what (append-only: the hub has no update or delete of entries).

    With `rules` and `rows`, the datasets read and their owner organizations are recorded, so the owners'
    data managers can read who took their data.
    """
    conn.execute(insert(m.AuditEntry).values(**_audit_entry(view, action, target, details, rules, rows)))


def _audit_entry(view: View, action: str, target: str, details, rules, rows) -> dict:
    import json
    details = dict(details or {})
    if rules is not None and rows is not None:
        used = sorted({r["dataset"] for r in rows})
        details["datasets"] = used
        details["owners"] = sorted({rules.datasets[u].owner for u in used if u in rules.datasets})
    return {"at": m.utcnow(), "actor": view.username or "anonymous",
            "organization_id": next(iter(sorted(view.org_ids)), None), "action": action, "target": target[:2000],
            "details": json.loads(json.dumps({"view": view.describe(), **details}, default=str))}


class _AuditBuffer:
    """Read entries of one engine, written together: at most `AUDIT_DELAY` s after the first or at once when
    `AUDIT_BATCH` wait (one transaction for many API reads instead of one write per request)."""

    def __init__(self, engine):
        self.engine, self.rows, self.lock, self.timer = engine, [], threading.Lock(), None

    def add(self, entry: dict) -> None:
        with self.lock:
            self.rows.append(entry)
            full = len(self.rows) >= AUDIT_BATCH
            if not full and self.timer is None:
                self.timer = threading.Timer(AUDIT_DELAY, self.flush)
                self.timer.daemon = True
                self.timer.start()
        if full:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            rows, self.rows = self.rows, []
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if not rows:
                return
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(m.AuditEntry), rows)
            except Exception:  # noqa: BLE001 - keep the entries for the next flush; say so in the server log
                import logging
                logging.getLogger("econet.audit").exception("audit entries not written yet (%d)", len(rows))
                self.rows[:0] = rows


AUDIT_DELAY, AUDIT_BATCH = 0.2, 200
_AUDIT_BUFFERS: dict = {}


def audit_soon(engine, view: View, action: str, target: str, details: dict | None = None, *,
               rules: Rules | None = None, rows=None) -> None:
    """`audit` for the API's reads: the entry (stamped now) is written within AUDIT_DELAY seconds, together
    with the other reads of this process; `flush_audit` writes the waiting ones at once."""
    buf = _AUDIT_BUFFERS.get(id(engine))
    if buf is None:
        buf = _AUDIT_BUFFERS.setdefault(id(engine), _AuditBuffer(engine))
        if len(_AUDIT_BUFFERS) == 1:
            import atexit
            atexit.register(flush_audit)
    buf.add(_audit_entry(view, action, target, details, rules, rows))


def flush_audit(engine=None) -> None:
    """Write the waiting read entries (of one engine, or all) now: before the log is read, and at exit."""
    for key, buf in list(_AUDIT_BUFFERS.items()):
        if engine is None or key == id(engine):
            buf.flush()


def read_audit(conn: Connection, view: View, *, limit: int = 1000, offset: int = 0) -> list[dict]:
    """Entries a data manager may read: hub admins all; data managers those by their organizations' members
    or about their organizations' data."""
    from econet.hub.accounts import role_rank
    flush_audit(conn.engine)  # (seen by this read when its transaction has not begun yet)
    A = m.AuditEntry
    managed = set() if view.is_admin else {o for o, r in view.orgs if role_rank(r) >= role_rank("data_manager")}
    if not view.is_admin and not managed:
        raise EconetError("the audit log is readable by data managers", field="role")
    out, skipped = [], 0
    for e in conn.execute(select(A).order_by(A.id.desc()).execution_options(yield_per=1000)).all():
        owners = set((e.details or {}).get("owners") or [])
        if not view.is_admin and e.organization_id not in managed and not owners & managed:
            continue
        if skipped < offset:
            skipped += 1
            continue
        out.append({"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "organization_id": e.organization_id,
                    "action": e.action, "target": e.target, "details": e.details})
        if len(out) >= limit:
            break
    return out


EXPORT_FORMATS = ("csv", "geojson", "dwca")

#: hub column -> Darwin Core term (view exports)
DWC = {"occurrence_id": "occurrenceID", "scientific_name": "verbatimScientificName", "accepted_name": "scientificName",
       "count": "individualCount", "time_utc": "eventDate", "lon": "decimalLongitude", "lat": "decimalLatitude",
       "coordinate_uncertainty_m": "coordinateUncertaintyInMeters", "coordinate_precision": "coordinatePrecision",
       "country_code": "countryCode", "individual": "organismID", "sex": "sex", "life_stage": "lifeStage",
       "behaviour": "behavior", "locality": "locality", "dataset": "datasetName", "record_type": "basisOfRecord",
       "data_generalizations": "dataGeneralizations", "information_withheld": "informationWithheld"}


def export_view(conn: Connection, view: View, fmt: str, out, f: ObservationFilter | None = None, *,
                progress=None) -> dict:
    """Write what the view may see to `out` (csv, geojson, or a Darwin Core Archive zip) atomically."""
    import csv
    import json
    import zipfile
    from pathlib import Path
    from econet.atomic import atomic_path

    if fmt not in EXPORT_FORMATS:
        raise EconetError(f"unknown export format {fmt!r} (one of: {', '.join(EXPORT_FORMATS)})", field="format")
    rules = load_rules(conn, view)
    f = f or ObservationFilter()
    rows = view_rows(conn, view, f, rules=rules)
    used = set()
    n = 0
    out = Path(out)

    def counted():
        nonlocal n
        for r in rows:
            n += 1
            used.add(r["dataset"])
            if progress and n % 20000 == 0:
                progress(n, None, "exporting")
            yield r

    with atomic_path(out) as tmp:
        if fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=VIEW_COLUMNS, lineterminator="\n")
                w.writeheader()
                for r in counted():
                    w.writerow(r)
        elif fmt == "geojson":
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write('{"type": "FeatureCollection", "features": [\n')
                for i, r in enumerate(counted()):
                    fh.write((",\n" if i else "") + json.dumps(feature(r), default=str))
                # license and citation travel with the file (a foreign member, as in the API's pages)
                fh.write('\n], "datasets": ' + json.dumps(dataset_terms(rules, used)) + "}\n")
        else:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                with z.open("occurrence.txt", "w") as raw:
                    import io
                    fh = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                    terms = list(DWC.values())
                    w = csv.writer(fh, delimiter="\t", lineterminator="\n")
                    w.writerow(terms)
                    for r in counted():
                        w.writerow(["" if r.get(k) is None else r[k] for k in DWC])
                    fh.flush()
                    fh.detach()
                z.writestr("meta.xml", _meta_xml(list(DWC.values())))
                z.writestr("citation.txt", citation_text(rules, used))
    terms = dataset_terms(rules, used)
    audit(conn, view, "export", f"{fmt}:{','.join(sorted(used)) or 'nothing'}", {"records": n, "out": str(out)},
          rules=rules, rows=[{"dataset": u} for u in used])
    return {"format": fmt, "files": [str(out)], "records": n, "view": view.describe(), "datasets": terms}


def dataset_terms(rules: Rules, used) -> list[dict]:
    """License and citation of each dataset used (by name)."""
    return [{"dataset": rules.datasets[d].name, "owner": rules.datasets[d].owner_name,
             "license": rules.datasets[d].license, "citation": rules.datasets[d].citation} for d in sorted(used)]


def citation_text(rules: Rules, used) -> str:
    lines = ["Data from the econet hub. Cite each dataset and follow its license:", ""]
    for name in sorted(used):
        d = rules.datasets[name]
        lines.append(f"- {d.name} ({d.owner_name}). License: {d.license or 'not stated: ask the owner'}. "
                     f"Citation: {d.citation or d.owner_name + ', ' + d.name}")
    return "\n".join(lines) + "\n"


def _meta_xml(terms: list[str]) -> str:
    fields = "\n".join(f'      <field index="{i}" term="http://rs.tdwg.org/dwc/terms/{t}"/>'
                       for i, t in enumerate(terms))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<archive xmlns="http://rs.tdwg.org/dwc/text/">\n'
            '  <core encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" '
            'ignoreHeaderLines="1" rowType="http://rs.tdwg.org/dwc/terms/Occurrence">\n'
            '    <files><location>occurrence.txt</location></files>\n    <id index="0"/>\n'
            f"{fields}\n  </core>\n</archive>\n")


def feature(row: dict) -> dict:
    """A view row as a GeoJSON Feature (no geometry when the location is withheld)."""
    props = dict(row)
    lon, lat = props.pop("lon", None), props.pop("lat", None)
    geom = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
    return {"type": "Feature", "id": row["hub_id"], "geometry": geom, "properties": props}


def analysis_frame(conn: Connection, view: View, f: ObservationFilter | None = None):
    """The observations an analysis for this view runs on: exactly what an export to the view would hold."""
    import pandas as pd
    return pd.DataFrame(list(view_rows(conn, view, f)), columns=VIEW_COLUMNS)

