"""The fast paths of the sharing view hold the same guarantees as the row-by-row rules, on SQLite and PostgreSQL:

- the view's SQL clause (`sharing.scope_clause`: hidden datasets, withheld species) drops exactly the rows
  `apply_rules` drops, for every role under every sharing setting and grant;
- keyset pages (`after`) put together are the whole view, in id order, with no row twice;
- SQLite's plan choice for pages with broad filters (table walked in id order) returns the same rows as the
  indexed plan.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from econet.hub import models as m, query, sharing, sharing_sample as S
from econet.hub.query import ObservationFilter, observation_rows
from econet.hub.sharing import View

ROLES = [None, "admin", "owner_viewer", "partner_viewer", "alliance_viewer", "outsider_admin"]
SETTINGS = [  # (leopard-cams terms, grants to the partner)
    ({"visibility": "partners", "partners": [S.PARTNER]}, []),
    ({"visibility": "public"}, []),
    ({"visibility": "alliance"}, []),
    ({"visibility": "owner"}, []),
    ({"visibility": "public", "embargo_until": "2099-01-01"}, []),
    ({"visibility": "partners", "partners": [S.PARTNER]}, [{"taxon": "Panthera tigris altaica", "owner": S.OWNER}]),
    ({"visibility": "public"}, [{"dataset": "leopard-cams"}]),
]


@pytest.fixture
def hub(db_url, tmp_path):
    return S.build(db_url, tmp_path)


def _view(conn, role):
    return View.anonymous() if role is None else View.for_user(conn, role)


def _reference(conn, view):
    """The view the slow way: every row of the hub through apply_rules (no SQL clause)."""
    rules = sharing.load_rules(conn, view)
    return list(sharing.apply_rules(rules, observation_rows(conn, ObservationFilter())))


def _apply(engine, terms, grants):
    with engine.begin() as conn:
        conn.execute(update(m.AccessGrant).values(revoked_at=m.utcnow()))
        sharing.set_sharing(conn, "leopard-cams", visibility=terms["visibility"], partners=terms.get("partners", []),
                            embargo_until=terms.get("embargo_until"), clear_embargo="embargo_until" not in terms)
        for g in grants:
            sharing.grant(conn, to=S.PARTNER, owner=g.get("owner"), dataset=g.get("dataset"), taxon=g.get("taxon"))


def test_sql_scope_drops_exactly_what_the_rules_drop(hub):
    e = hub["engine"]
    seen_withheld = False
    for terms, grants in SETTINGS:
        _apply(e, terms, grants)
        with e.connect() as conn:
            for role in ROLES:
                view = _view(conn, role)
                want = _reference(conn, view)
                paged = list(sharing.view_rows(conn, view, ObservationFilter(limit=1000)))
                assert paged == want, (role, terms, grants)
                rules = sharing.load_rules(conn, view)
                if rules.scope is not None:  # the clause alone already leaves out what the rules leave out
                    raw = {r["hub_id"] for r in observation_rows(conn, ObservationFilter(scope=rules.scope))}
                    assert {r["hub_id"] for r in want} <= raw
                    tiger = {r["hub_id"] for r in observation_rows(conn, ObservationFilter(taxon="Panthera tigris altaica"))
                             if r["dataset"] == "leopard-cams"}
                    if not any(r["hub_id"] in tiger for r in want):
                        assert not raw & tiger  # withheld rows never leave the database
                        seen_withheld = seen_withheld or bool(tiger)
        if grants and "taxon" in grants[0]:  # the partner's taxon grant shows the tiger exactly
            with e.connect() as conn:
                rows = list(sharing.view_rows(conn, View.for_user(conn, "partner_viewer"),
                                              ObservationFilter(taxon="Panthera tigris altaica", limit=10)))
            assert [r["lon"] for r in rows if r["dataset"] == "leopard-cams"] == [S.SECRET_SITES[1]["lon"]]
    assert seen_withheld


def test_keyset_pages_make_up_the_whole_view(hub):
    e = hub["engine"]
    with e.connect() as conn:
        for role in ("partner_viewer", "owner_viewer", None):
            view = _view(conn, role)
            want = [r["hub_id"] for r in sharing.view_rows(conn, view, ObservationFilter())]
            got, after = [], None
            for _ in range(100):
                page = list(sharing.view_rows(conn, view, ObservationFilter(limit=2), after=after))
                got += [r["hub_id"] for r in page]
                if len(page) < 2:
                    break
                after = page[-1]["hub_id"]
            assert got == want and len(want) == len(set(want)) and want == sorted(want), role


def test_broad_page_plan_gives_the_indexed_plans_rows(db_url, tmp_path, monkeypatch):
    from econet.hub.ingest import import_path
    from econet.hub.simulate import write_csv
    mapping = write_csv(tmp_path / "sim.csv", 4000, n_stations=200)
    import_path(db_url, tmp_path / "sim.csv", dataset="sim", org="WWF China", mapping=mapping)
    from econet.hub.db import open_hub
    e = open_hub(db_url)
    filters = [ObservationFilter(taxon="Capreolus pygargus", start="2020-01-01", end="2020-12-31", limit=5),
               ObservationFilter(country="CN", taxon="Sus scrofa", year=2021, limit=40, after=500),
               ObservationFilter(start="2019-01-01", end="2022-12-31", limit=30),
               ObservationFilter(country="RU", dataset="sim", limit=25)]
    with e.connect() as conn:
        chosen = [[r["hub_id"] for r in observation_rows(conn, f)] for f in filters]
        if conn.dialect.name == "sqlite":  # a short page of a broad filter walks the table in id order
            tids = query.taxon_ids(conn, "Capreolus pygargus")
            f0 = filters[0]
            assert query._columns(conn, f0, tids, query._time(f0.start), query._time(f0.end, True), None) \
                is query._UNINDEXED
        monkeypatch.setattr(query, "_columns", lambda *a: query._INDEXED)
        indexed = [[r["hub_id"] for r in observation_rows(conn, f)] for f in filters]
    assert chosen == indexed
    assert all(len(c) == f.limit for c, f in zip(chosen, filters))
    assert chosen[1][0] > 500 and all(b > a for c in chosen for a, b in zip(c, c[1:]))


def test_sites_learnt_from_new_imports_without_a_rescan(hub, tmp_path, monkeypatch):
    """A leopard recorded at a new place by a later import generalizes the other records there at once (the
    cached sites are extended with the new records only)."""
    from econet.hub.ingest import import_path
    e = hub["engine"]
    with e.connect() as conn:  # cache the sites of the sample
        sharing.load_rules(conn, View.for_user(conn, "partner_viewer"))
    scanned = []
    real = sharing._add_sites
    monkeypatch.setattr(sharing, "_add_sites", lambda *a, **k: scanned.append(k["after"]) or real(*a, **k))
    place = {"lon": 131.456789, "lat": 43.567891}
    p = tmp_path / "new.csv"
    p.write_text("id,species,date,lon,lat,country,locality,n,animal\n"
                 f"n1,Sus scrofa,2024-02-01,{place['lon']},{place['lat']},RU,Glade 3,1,\n"
                 f"n2,Panthera pardus orientalis,2024-02-02,{place['lon']},{place['lat']},RU,Glade 3,1,\n",
                 encoding="utf-8")
    import_path(e, p, dataset="leopard-cams", org=S.OWNER, fmt="csv", mapping=hub["folder"] / "mapping.yaml")
    with e.connect() as conn:
        rows = list(sharing.view_rows(conn, View.for_user(conn, "partner_viewer"),
                                      ObservationFilter(start="2024-02-01", end="2024-02-28")))
    assert sorted((r["scientific_name"], r["lon"], r["lat"]) for r in rows) == [
        ("Panthera pardus orientalis", 131.5, 43.6), ("Sus scrofa", 131.5, 43.6)]
    assert len(scanned) == 1 and scanned[0] is not None  # only the records after the cached ones were read
