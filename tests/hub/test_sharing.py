"""hub.sharing: who sees what, on SQLite and PostgreSQL (visibility, embargo, Chapman generalization, the
site rule, per-country sensitivity, grants, exports and analyses through the view, the audit log)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import pytest

from econet.hub import sharing, sharing_sample as S
from econet.hub.sharing import View


@pytest.fixture
def hub(db_url, tmp_path):
    return S.build(db_url, tmp_path)


def _rows(engine, who, **filters):
    from econet.hub.query import ObservationFilter
    with engine.connect() as conn:
        v = who if isinstance(who, View) else (View.anonymous() if who is None else View.for_user(conn, who))
        return {(r["dataset"], r["scientific_name"]): r for r in sharing.view_rows(conn, v, ObservationFilter(**filters))}


def test_visibility_embargo_and_generalization(hub):
    e = hub["engine"]
    # the sample's observation datasets (other capabilities add records of their own to the sample)
    owner, partner, alliance, outsider, anon = ({k: r for k, r in _rows(e, u).items() if k[0] in S.DATASETS}
                                                for u in ("owner_viewer", "partner_viewer", "alliance_viewer",
                                                          "outsider_admin", None))
    assert len(owner) == 9 and owner[("leopard-cams", "Panthera pardus orientalis")]["lon"] == 131.123457
    assert set(k[0] for k in anon) == {"crane-counts"}
    assert set(k[0] for k in outsider) == {"crane-counts"}  # alliance-only data is not for non-members
    assert set(k[0] for k in alliance) == {"crane-counts", "alliance-plots"}
    assert set(k[0] for k in partner) == {"crane-counts", "alliance-plots", "leopard-cams"}
    leo = partner[("leopard-cams", "Panthera pardus orientalis")]
    assert (leo["lon"], leo["lat"], leo["locality"], leo["coordinate_precision"]) == (131.1, 43.2, None, 0.1)
    # rounding uncertainty added by latitude band (43 N: 14697 m for 0.1 degree, Chapman & Wieczorek Table 3)
    assert leo["coordinate_uncertainty_m"] == pytest.approx(30 + 14697)
    assert "rounded to 0.1 degree" in leo["data_generalizations"] and "category 2" in leo["data_generalizations"]
    assert "locality" in leo["information_withheld"]
    assert leo["source_row"] is None and leo["x_laea"] != owner[("leopard-cams", "Panthera pardus orientalis")]["x_laea"]
    # withheld species: not in the view; everything at its site generalized to 1 degree
    assert ("leopard-cams", "Panthera tigris altaica") not in partner
    assert partner[("leopard-cams", "Sus scrofa")]["lon"] == 131.0
    # site rule: the roe deer at the den is generalized like the leopard; the elk elsewhere is not
    assert partner[("leopard-cams", "Capreolus pygargus")]["lon"] == 131.1
    assert partner[("leopard-cams", "Cervus canadensis")]["lon"] == 131.05
    # embargo ends: the data become visible to everyone (dataset is public)
    later = View.anonymous().__class__(today=dt.date(2099, 1, 2))
    assert ("embargoed-survey", "Sus scrofa") in _rows(e, later)
    assert ("embargoed-survey", "Sus scrofa") not in _rows(e, View(today=dt.date(2098, 12, 31)))


def test_sensitive_in_one_country_only(hub, tmp_path):
    from econet.hub.ingest import import_path
    p = tmp_path / "cn.csv"
    p.write_text("id,species,date,lon,lat,country,locality,n,animal\n"
                 "c1,Panthera pardus orientalis,2023-03-03,130.777777,42.888888,CN,Hunchun camera 5,1,\n")
    import_path(hub["engine"], p, dataset="cn-cams", org=S.PARTNER, fmt="csv", mapping=hub["folder"] / "mapping.yaml")
    with hub["engine"].begin() as conn:
        sharing.set_sharing(conn, "cn-cams", visibility="public")
    anon = _rows(hub["engine"], None)
    assert anon[("cn-cams", "Panthera pardus orientalis")]["lon"] == 130.777777  # sensitive in RU, not in CN
    with hub["engine"].begin() as conn:
        sharing.set_sensitive(conn, "Panthera pardus orientalis", "CN", "0.01")
    assert _rows(hub["engine"], None)[("cn-cams", "Panthera pardus orientalis")]["lon"] == 130.78


def test_grants_are_listed_and_revocable(hub):
    e = hub["engine"]
    with e.begin() as conn:
        g = sharing.grant(conn, to=S.PARTNER, taxon="Panthera pardus orientalis", owner=S.OWNER, note="DLA 2024/7")
    rows = _rows(e, "partner_viewer")
    assert rows[("leopard-cams", "Panthera pardus orientalis")]["lon"] == 131.123457
    assert rows[("leopard-cams", "Capreolus pygargus")]["lon"] == 131.1  # the grant covers the leopard only
    assert ("leopard-cams", "Panthera tigris altaica") not in rows
    with e.connect() as conn:
        listed = sharing.list_grants(conn, view=View.for_user(conn, "partner_viewer"))
    assert [x["id"] for x in listed] == [g["id"]] and listed[0]["taxon"] == "Panthera pardus orientalis"
    with e.begin() as conn:
        with pytest.raises(Exception):
            sharing.revoke_grant(conn, g["id"], by=View.for_user(conn, "partner_manager"))  # not the owner
        sharing.revoke_grant(conn, g["id"], by=View.for_user(conn, "owner_manager"))
    assert _rows(e, "partner_viewer")[("leopard-cams", "Panthera pardus orientalis")]["lon"] == 131.1
    with e.begin() as conn:
        sharing.grant(conn, to=S.PARTNER, dataset="private-stations")
    assert _rows(e, "partner_viewer")[("private-stations", "Capreolus pygargus")]["lon"] == S.PRIVATE_SITE["lon"]


def test_exports_and_analyses_hold_exactly_the_view(hub, tmp_path):
    e = hub["engine"]
    with e.begin() as conn:
        v = View.for_user(conn, "partner_viewer")
        res = sharing.export_view(conn, v, "dwca", tmp_path / "p.zip")
        frame = sharing.analysis_frame(conn, v)
    with zipfile.ZipFile(tmp_path / "p.zip") as z:
        occ = list(csv.DictReader(io.StringIO(z.read("occurrence.txt").decode()), delimiter="\t"))
        cite = z.read("citation.txt").decode()
        assert "occurrence.txt" in z.read("meta.xml").decode()
    assert res["records"] == len(occ) == len(frame)
    assert len([r for r in occ if r["datasetName"] in S.DATASETS]) == 6  # others add records to the sample
    leo = next(r for r in occ if r["scientificName"] == "Panthera pardus orientalis")
    assert leo["decimalLongitude"] == "131.1" and leo["coordinatePrecision"] == "0.1" and leo["locality"] == ""
    assert "0.1 degree" in leo["dataGeneralizations"] and leo["informationWithheld"]
    assert "CC-BY-NC-4.0" in cite and S.OWNER in cite
    assert sorted(frame["occurrence_id"]) == sorted(r["occurrenceID"] for r in occ)
    assert set(frame["lon"].round(6)) == {float(r["decimalLongitude"]) for r in occ}
    with e.connect() as conn:
        log = sharing.read_audit(conn, View.for_user(conn, "owner_manager"))
    assert log[0]["action"] == "export" and log[0]["actor"] == "partner_viewer"
    with e.connect() as conn, pytest.raises(Exception):
        sharing.read_audit(conn, View.for_user(conn, "partner_viewer"))  # viewers do not read the log


def test_sites_of_sensitive_records_are_generalized(hub):
    from sqlalchemy import insert
    from econet.hub import models as m
    e = hub["engine"]
    with e.begin() as conn:
        ds = conn.execute(m.Dataset.__table__.select().where(m.Dataset.name == "leopard-cams")).first()
        values = dict(dataset_id=ds.id, site_key="DEN-1", name=S.SECRET_SITES[0]["locality"],
                      lon=S.SECRET_SITES[0]["lon"], lat=S.SECRET_SITES[0]["lat"], row_hash="den1", country_code="RU")
        if e.dialect.name == "sqlite":
            values["geom"] = m.point_wkb(values["lon"], values["lat"])
        conn.execute(insert(m.Site.__table__).values(**values))
    with e.connect() as conn:
        partner = [r for r in sharing.view_sites(conn, View.for_user(conn, "partner_viewer")) if r["key"] == "DEN-1"]
        owner = [r for r in sharing.view_sites(conn, View.for_user(conn, "owner_viewer")) if r["key"] == "DEN-1"]
    assert partner[0]["lon"] == 131.1 and partner[0]["name"] is None
    assert owner[0]["lon"] == S.SECRET_SITES[0]["lon"] and owner[0]["name"] == S.SECRET_SITES[0]["locality"]


def test_accounts_tokens_and_passwords(hub):
    from econet.hub import accounts
    from econet.hub import models as m
    e = hub["engine"]
    with e.begin() as conn:
        stored = conn.execute(m.User.__table__.select().where(m.User.username == "owner_viewer")).first()
        assert stored.password_hash.startswith("$argon2id$") and "correct horse" not in stored.password_hash
        assert accounts.login(conn, "owner_viewer", "correct horse battery") == stored.id
        assert accounts.login(conn, "owner_viewer", "wrong") is None and accounts.login(conn, "ghost", "x") is None
        tok = hub["tokens"]["owner_viewer"]
        assert not any(tok == r.token_hash for r in conn.execute(m.ApiToken.__table__.select()))
        assert accounts.token_user(conn, tok) == stored.id
        t = accounts.create_token(conn, "owner_viewer", days=1, now=m.utcnow() - dt.timedelta(days=1, seconds=1))
        assert accounts.token_user(conn, t["token"]) is None  # expired
        t2 = accounts.create_token(conn, "owner_viewer", days=1)
        accounts.revoke_token(conn, t2["id"])
        assert accounts.token_user(conn, t2["token"]) is None
        states = {r["id"]: r["state"] for r in accounts.list_tokens(conn, "owner_viewer")}
        assert states[t["id"]] == "expired" and states[t2["id"]] == "revoked"
