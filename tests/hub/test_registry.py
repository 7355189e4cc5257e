"""The cooperation registry (issue 9): the region's real agreements (econet/data/registry/agreements.json),
links both ways, permissions and audit, mutual recognition, fields of cooperation per PA pair, CSV/JSON
round trips and bad input."""

from __future__ import annotations

import csv
import json
from importlib.resources import files
from pathlib import Path

import pytest

from econet.errors import EconetError

AGREEMENTS = Path(str(files("econet"))) / "data" / "registry" / "agreements.json"
OWNER, PARTNER, OTHER = "Land of the Leopard NP", "Hunchun Tiger-Leopard NR", "Altai Alliance Institute"
DIPA_PAS = {"Daursky Nature Reserve", "Mongol Daguur Strictly Protected Area",
            "Dalai Lake National Nature Reserve (Hulun Lake)"}


@pytest.fixture
def hub(db_url):
    """The real agreements imported, three partner organizations with users of each role, one dataset."""
    from econet.hub import accounts, registry
    from econet.hub.db import open_hub
    from econet.hub.sharing import View
    engine = open_hub(db_url)
    with engine.begin() as conn:
        for org, cc in ((OWNER, "RU"), (PARTNER, "CN"), (OTHER, "MN")):
            accounts.add_org(conn, org, country=cc)
        accounts.add_org(conn, "Outside Consultancy", country="KZ", alliance_member=False)
        for user, org, role in (("owner_dm", OWNER, "data_manager"), ("owner_viewer", OWNER, "viewer"),
                                ("partner_dm", PARTNER, "data_manager"), ("partner_viewer", PARTNER, "viewer"),
                                ("other_dm", OTHER, "data_manager"), ("outsider", "Outside Consultancy", "admin")):
            accounts.add_user(conn, user, None)
            accounts.set_role(conn, user, org, role)
        registry.import_file(conn, View.admin(), AGREEMENTS)
    return engine


def _view(conn, user):
    from econet.hub.sharing import View
    return View.anonymous() if user is None else View.for_user(conn, user)


def _dataset(engine, tmp_path, name, org, visibility):
    from econet.hub import sharing
    from econet.hub.ingest import import_path
    (tmp_path / "m.yaml").write_text("record_type: observation\ncolumns: {id: occurrence_id, species: scientific_name, "
                                     "date: time, lon: lon, lat: lat}\n", encoding="utf-8")
    (tmp_path / f"{name}.csv").write_text(f"id,species,date,lon,lat\n{name}-1,Sus scrofa,2023-01-01,131.4,43.4\n",
                                          encoding="utf-8")
    import_path(engine, tmp_path / f"{name}.csv", dataset=name, org=org, fmt="csv", mapping=tmp_path / "m.yaml")
    with engine.begin() as conn:
        sharing.set_sharing(conn, name, visibility=visibility)


def test_real_agreements_have_sources_and_no_invented_dates():
    data = json.loads(AGREEMENTS.read_text(encoding="utf-8"))
    keys = {r["key"] for r in data["records"]}
    assert {"dipa-1994", "khanka-xingkai-1996", "leopard-parks-mou-2019", "altai-ru-kz-2011"} <= keys
    for r in data["records"]:
        assert r["sources"] and all(s["url"].startswith("http") for s in r["sources"]), r["key"]
    dates = {r["key"]: r.get("start_date") for r in data["records"]}
    assert dates["dipa-1994"] == "1994-03-29" and dates["khanka-xingkai-1996"] == "1996"
    assert dates["altai-ru-kz-2011"] == "2011"  # the month differs between the source's pages: unknown
    assert dates["land-of-big-cats"] is None
    pa_names = {r["name"] for r in csv.DictReader(open(Path(str(files("econet"))) / "data" / "demo_region"
                                                        / "protected_areas" / "pa_facts.csv", encoding="utf-8"))}
    assert {lk["target"] for lk in data["links"] if lk["kind"] == "pa"} <= pa_names


def test_links_both_ways(hub, tmp_path):
    from econet.hub import registry
    from econet.hub.sharing import View
    _dataset(hub, tmp_path, "dauria-cranes", OTHER, "public")
    with hub.begin() as conn:
        admin = View.admin()
        registry.link(conn, admin, "dipa-expeditions", "dataset", "dauria-cranes", "records of the expeditions")
        # a PA's page: its agreements, projects, the activities done under them, and their data
        page = registry.pa_page(conn, View.anonymous(), "daursky nature reserve")  # matched case-insensitively
        assert page["target"] == "Daursky Nature Reserve"
        assert [r["key"] for r in page["agreements"]] == ["dipa-1994"]
        assert [r["key"] for r in page["projects"]] == ["landscapes-of-dauria"]
        assert {r["key"] for r in page["activities"]} == {"dipa-plan-2006-2010", "dipa-expeditions", "dipa-meeting-2015"}
        assert page["datasets"] == ["dauria-cranes"]
        # an agreement: its PAs, parties, what was done under it, and what links to it
        dipa = registry.show(conn, View.anonymous(), "dipa-1994")
        assert {lk["target"] for lk in dipa["links"] if lk["kind"] == "pa"} == DIPA_PAS
        assert {p["country"] for p in dipa["parties"]} == {"CN", "MN", "RU"}
        assert [r["key"] for r in dipa["done_under"]] == ["dipa-expeditions", "dipa-plan-2006-2010", "dipa-meeting-2015"]
        assert [r["key"] for r in dipa["linked_from"]] == ["landscapes-of-dauria"]
        # a dataset's records, and the activity's link back to it
        back = registry.linked_to(conn, View.anonymous(), "dataset", "dauria-cranes")
        assert [r["key"] for r in back["activities"]] == ["dipa-expeditions"]
        assert registry.show(conn, admin, "dipa-expeditions")["parent"] == "dipa-1994"
        # the other PAs do not show it
        khanka = registry.pa_page(conn, View.anonymous(), "Xingkai Lake National Nature Reserve")
        assert [r["key"] for r in khanka["agreements"]] == ["khanka-xingkai-1996"]
        assert {r["key"] for r in khanka["projects"] + khanka["activities"]} == {
            "khanka-diagnostic-analysis", "khanka-meetings-2003-2005"}


def test_job_links_are_shown_to_the_jobs_owner_only(hub):
    from sqlalchemy import insert
    from econet.hub import models as m, registry
    from econet.hub.accounts import user_id
    from econet.hub.sharing import View
    with hub.begin() as conn:
        jid = conn.execute(insert(m.Job).values(kind="analysis", status="done", user_id=user_id(conn, "owner_dm"),
                                                done=1, created_at=m.utcnow()).returning(m.Job.id)).scalar_one()
        registry.link(conn, View.admin(), "leopard-parks-action-plan-2019-2021", "job", str(jid), "occupancy run")
        owner = registry.show(conn, View.for_user(conn, "owner_dm"), "leopard-parks-action-plan-2019-2021")
        assert [(lk["kind"], lk["target"], lk["status"]) for lk in owner["links"] if lk["kind"] == "job"] == [
            ("job", str(jid), "done")]
        other = registry.show(conn, View.for_user(conn, "partner_dm"), "leopard-parks-action-plan-2019-2021")
        assert not [lk for lk in other["links"] if lk["kind"] == "job"]
        assert [r["key"] for r in registry.linked_to(conn, View.for_user(conn, "owner_dm"), "job", str(jid))["projects"]] \
            == ["leopard-parks-action-plan-2019-2021"]


def test_read_permissions_follow_record_visibility(hub, tmp_path):
    from econet.hub import registry
    from econet.hub.sharing import View
    _dataset(hub, tmp_path, "owner-private", OWNER, "owner")
    with hub.begin() as conn:
        owner = View.for_user(conn, "owner_dm")
        for key, vis in (("joint-parties", "parties"), ("joint-alliance", "alliance")):
            registry.add(conn, owner, {"key": key, "kind": "project", "title": key, "visibility": vis})
            registry.set_party(conn, owner, key, PARTNER, organization=PARTNER, role="partner")
            registry.link(conn, owner, key, "dataset", "owner-private")
        seen = {u: {r["key"] for r in registry.list_records(conn, _view(conn, u), kind="project")}
                for u in (None, "owner_viewer", "partner_viewer", "other_dm", "outsider")}
        assert {"joint-parties", "joint-alliance"} <= seen["owner_viewer"]  # the keeper's members
        assert {"joint-parties", "joint-alliance"} <= seen["partner_viewer"]  # a party's members
        assert "joint-parties" not in seen["other_dm"] and "joint-alliance" in seen["other_dm"]  # alliance member
        assert not {"joint-parties", "joint-alliance"} & (seen[None] | seen["outsider"])
        assert "landscapes-of-dauria" in seen[None]  # public facts: everyone
        with pytest.raises(EconetError, match="no registry record"):  # hidden looks like absent
            registry.show(conn, View.anonymous(), "joint-parties")
        # the link to the owner's private dataset is shown to the owner only
        assert [lk["target"] for lk in registry.show(conn, owner, "joint-parties")["links"]] == ["owner-private"]
        assert registry.show(conn, View.for_user(conn, "partner_viewer"), "joint-parties")["links"] == []
        with pytest.raises(EconetError, match="unknown dataset"):
            registry.linked_to(conn, View.for_user(conn, "partner_viewer"), "dataset", "owner-private")


def test_write_permissions_and_audit(hub):
    from sqlalchemy import select
    from econet.hub import models as m, registry
    with hub.begin() as conn:
        owner_dm = _view(conn, "owner_dm")
        registry.add(conn, owner_dm, {"key": "joint-patrols", "kind": "activity", "title": "Joint patrol",
                                      "details": {"type": "patrol", "where": "border strip"}})
        registry.set_party(conn, owner_dm, "joint-patrols", PARTNER, organization=PARTNER, role="participant")
        # a party's data manager may change it; viewers, other organizations and anonymous may not
        registry.add(conn, _view(conn, "partner_dm"), {"key": "joint-patrols", "kind": "activity",
                                                       "title": "Joint patrol (revised)", "start_date": "2024-05"})
        for user in ("owner_viewer", "partner_viewer", "other_dm", None):
            with pytest.raises(EconetError, match="data managers"):
                registry.add(conn, _view(conn, user), {"key": "joint-patrols", "kind": "activity", "title": "x"})
            with pytest.raises(EconetError, match="data managers"):
                registry.link(conn, _view(conn, user), "joint-patrols", "pa", "Hunchun National Nature Reserve")
        with pytest.raises(EconetError, match="keeper"):  # a new record is kept by the creator's organization
            registry.add(conn, _view(conn, "owner_viewer"), {"key": "x-new", "kind": "project", "title": "x"})
        shown = registry.show(conn, owner_dm, "joint-patrols")
        assert shown["title"] == "Joint patrol (revised)" and shown["keeper"] == OWNER
        assert shown["details"] == {}  # an update replaces the record's fields
        log = conn.execute(select(m.AuditEntry.actor, m.AuditEntry.action, m.AuditEntry.target)
                           .where(m.AuditEntry.target == "registry:joint-patrols").order_by(m.AuditEntry.id)).all()
        assert [tuple(r) for r in log] == [("owner_dm", "registry.add", "registry:joint-patrols"),
                                           ("owner_dm", "registry.party", "registry:joint-patrols"),
                                           ("partner_dm", "registry.update", "registry:joint-patrols")]
        registry.remove(conn, owner_dm, "joint-patrols")
        with pytest.raises(EconetError, match="no registry record"):
            registry.show(conn, owner_dm, "joint-patrols")
        from econet.hub.sharing import View
        with pytest.raises(EconetError, match="done under it"):
            registry.remove(conn, View.admin(), "dipa-1994")


def test_mutual_recognition_by_each_partner(hub):
    from econet.hub import registry
    with hub.begin() as conn:
        owner_dm = _view(conn, "owner_dm")
        registry.add(conn, owner_dm, {"key": "joint-cameras", "kind": "project", "title": "Joint cameras",
                                      "visibility": "parties"})
        for org in (OWNER, PARTNER):
            registry.set_party(conn, owner_dm, "joint-cameras", org, organization=org, role="partner")
        registry.recognize(conn, owner_dm, "joint-cameras", OWNER, "2024-03-01", "board decision 12")
        with pytest.raises(EconetError, match="its own data managers"):  # the owner cannot recognize for the partner
            registry.recognize(conn, owner_dm, "joint-cameras", PARTNER, "2024-03-02")
        registry.recognize(conn, _view(conn, "partner_dm"), "joint-cameras", PARTNER, "2024-04", "letter")
        with pytest.raises(EconetError, match="YYYY"):
            registry.recognize(conn, _view(conn, "partner_dm"), "joint-cameras", PARTNER, "04/2024")
        parties = {p["name"]: p for p in registry.show(conn, owner_dm, "joint-cameras")["parties"]}
    assert (parties[OWNER]["recognized_on"], parties[OWNER]["recognition_note"]) == ("2024-03-01", "board decision 12")
    assert (parties[PARTNER]["recognized_on"], parties[PARTNER]["recognition_note"]) == ("2024-04", "letter")


def test_fields_of_cooperation_per_pa_pair(hub):
    from econet.hub import registry
    from econet.hub.sharing import View
    with hub.begin() as conn:
        rows = registry.fields_of_cooperation(conn, View.anonymous(), ["Mongol Daguur Strictly Protected Area"])
        pairs = {(r["pa_a"], r["pa_b"]) for r in rows}
        assert pairs == {("Daursky Nature Reserve", "Mongol Daguur Strictly Protected Area"),
                         ("Dalai Lake National Nature Reserve (Hulun Lake)", "Mongol Daguur Strictly Protected Area")}
        dipa = json.loads(AGREEMENTS.read_text())["records"][0]
        by_pair = [r for r in rows if r["pa_a"] == "Dalai Lake National Nature Reserve (Hulun Lake)"]
        assert sorted(r["field"] for r in by_pair) == sorted(dipa["fields"])
        assert all(r["record"] == "dipa-1994" and r["origin"] == "agreement" for r in by_pair)
        wh = [r for r in rows if r["origin"] == "pair"]
        assert [(r["field"], r["status"], r["record"]) for r in wh] == [
            ("World Heritage site 'Landscapes of Dauria' (inscribed 2017)", "ongoing", "landscapes-of-dauria")]
        registry.set_cooperation(conn, _view(conn, "owner_dm"), "Land of the Leopard National Park",
                                 "Hunchun National Nature Reserve", "joint anti-poaching patrols", status="proposed")
        got = registry.fields_of_cooperation(conn, View.anonymous(), ["Hunchun National Nature Reserve"])
        assert [(r["pa_a"], r["pa_b"], r["field"]) for r in got] == [
            ("Hunchun National Nature Reserve", "Land of the Leopard National Park", "joint anti-poaching patrols")]
        with pytest.raises(EconetError, match="data managers"):
            registry.set_cooperation(conn, _view(conn, "owner_viewer"), "a", "b", "c")
        with pytest.raises(EconetError, match="two different"):
            registry.set_cooperation(conn, View.admin(), "Bikin National Park", "bikin national park", "x")


def _snapshot(engine, view=None):
    from econet.hub import registry
    from econet.hub.sharing import View
    with engine.connect() as conn:
        data = registry.export_data(conn, view or View.admin())
    for r in data["records"]:
        r.pop("updated_at", None)
    return data


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_import_round_trip(hub, tmp_path, fmt):
    from econet.hub import registry
    from econet.hub.db import open_hub
    from econet.hub.sharing import View
    with hub.begin() as conn:
        registry.add(conn, View.admin(), {"key": "with-details", "kind": "project", "title": "Details; and lists",
                                          "renewed": ["2020", "2024-06-01"], "fields": ["a", "b"],
                                          "details": {"funding": "EUR 10,000", "indicators": "3 surveys"},
                                          "keeper": OWNER, "parent": "dipa-1994", "visibility": "alliance"})
        out = tmp_path / ("registry.json" if fmt == "json" else "registry")
        report = registry.export(conn, View.admin(), out, fmt)
    assert report["records"] == 14 and report["links"] == 20
    if fmt == "csv":
        assert sorted(p.name for p in out.iterdir()) == ["cooperation.csv", "links.csv", "parties.csv", "records.csv"]
        rows = {r["key"]: r for r in csv.DictReader(open(out / "records.csv", encoding="utf-8"))}
        assert rows["with-details"]["renewed"] == "2020 ; 2024-06-01"
    other = open_hub(f"sqlite:///{tmp_path / 'other.db'}")
    from econet.hub import accounts
    with other.begin() as conn:
        accounts.add_org(conn, OWNER, country="RU")
        registry.import_file(conn, View.admin(), out)
    assert _snapshot(other) == _snapshot(hub)


def test_bad_input_names_the_row_and_stores_nothing(hub, tmp_path):
    from sqlalchemy import func, select
    from econet.hub import models as m, registry
    from econet.hub.sharing import View
    folder = tmp_path / "bad"
    folder.mkdir()
    with open(folder / "records.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "kind", "title", "start_date"])
        w.writerow(["new-one", "project", "Fine", "2020"])
        w.writerow(["new-two", "project", "Bad date", "2020-02-30"])
    with hub.connect() as conn:
        before = conn.execute(select(func.count()).select_from(m.RegistryRecord)).scalar_one()
    with pytest.raises(EconetError) as e:
        with hub.begin() as conn:
            registry.import_file(conn, View.admin(), folder)
    assert (e.value.row, e.value.field, Path(e.value.path).name) == (3, "start_date", "records.csv")
    with hub.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.RegistryRecord)).scalar_one() == before
    cases = [({"records": [{"key": "Bad Key", "kind": "project", "title": "x"}]}, "key"),
             ({"records": [{"key": "ok", "kind": "treaty", "title": "x"}]}, "kind"),
             ({"records": [{"key": "ok", "kind": "project", "title": ""}]}, "title"),
             ({"records": [], "links": [{"record": "dipa-1994", "kind": "dataset", "target": "nope"}]}, "target"),
             ({"records": [], "links": [{"record": "dipa-1994", "kind": "site", "target": "x"}]}, "kind"),
             ({"records": [{"key": "ok", "kind": "project", "title": "x", "parent": "missing"}]}, "parent")]
    for data, field in cases:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(EconetError) as e:
            with hub.begin() as conn:
                registry.import_file(conn, View.admin(), path)
        assert e.value.field == field, (data, e.value.message)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EconetError, match="not valid JSON"):
        with hub.begin() as conn:
            registry.import_file(conn, View.admin(), tmp_path / "broken.json")
    with hub.connect() as conn:
        assert conn.execute(select(func.count()).select_from(m.RegistryRecord)).scalar_one() == before
