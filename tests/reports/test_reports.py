"""Reports (issue 11): `econet report AREA --out DIR` and POST /api/v1/reports - an HTML and PDF atlas of an
area on one caller's view of the hub."""

from __future__ import annotations

import json
import time

import pytest

from econet.hub import sharing_sample as S

DEN = S.SECRET_SITES[0]
KILL = S.SECRET_SITES[1]
#: the sample hub's sites: a box around them (GeoJSON file, as a user would draw it in QGIS)
SITES_BOX = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "Khasan test area"},
             "geometry": {"type": "Polygon", "coordinates": [[[130.8, 42.8], [132.0, 42.8], [132.0, 44.0],
                                                              [130.8, 44.0], [130.8, 42.8]]]}}]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from econet.hub.db import dispose_all
    folder = tmp_path_factory.mktemp("report-hub")
    db = f"sqlite:///{folder / 'hub.db'}"
    built = S.build(db, folder)
    area = folder / "area.geojson"
    area.write_text(json.dumps(SITES_BOX))
    yield {"db": db, "area": area, "folder": folder, **built}
    dispose_all()


def _report(hub, out, user=None):
    from econet.reports import build_report
    res = build_report(hub["area"], out, db=hub["db"], user=user)
    return res, (out / "report.html").read_text(encoding="utf-8"), json.loads((out / "report.json").read_text())


def test_demo_region_report_holds_its_pas_and_indicators(tmp_path):
    from econet.demo.region import DEMO_BOUNDS, read_pa_facts
    from econet.reports import build_report
    res = build_report("demo-region", tmp_path / "r")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert (tmp_path / "r" / "report.pdf").read_bytes()[:5] == b"%PDF-"
    facts = read_pa_facts()
    w, s, e, n = DEMO_BOUNDS
    inside = facts[facts["lon"].between(w, e) & facts["lat"].between(s, n)]
    names = {p["name"] for p in data["protected_areas"]}
    assert names == set(inside["name"]) and res["protected_areas"] == len(inside) >= 10
    for name in names:
        assert name in html
    # the transboundary pair of the Land of Big Cats is listed, with no field of cooperation on record
    pair = next(p for p in data["pa_pairs"] if {p["pa_a"], p["pa_b"]} ==
                {"Land of the Leopard National Park", "Hunchun National Nature Reserve"})
    assert pair["transboundary"] and 5 < pair["gap_km"] < 20 and pair["fields"] == "not recorded"
    # coverage: the union of the country's footprints (overlaps once) within the sum and above the largest
    for c in data["coverage"]:
        mine = [p["in_area_km2"] for p in data["protected_areas"] if p["country"] == c["country"]]
        if mine:
            assert max(mine) - 1 <= c["protected_km2"] <= sum(mine) + 1
            assert f"{c['protected_pct']:.6g}" in html
    # ProtConn: ProtConn <= Prot, and its parts (within, contiguous, transboundary, unprotected) add up to 100 %
    rus = [r for r in data["protconn"] if r["region"] == "RUS"]
    assert {r["distance"] for r in rus} == {"10km", "30km"}
    for r in rus:
        assert 0 < r["ProtConn"] <= r["Prot"]
        parts = r["ProtConn_Within"] + r["ProtConn_Contig"] + r["ProtConn_Trans"] + r["ProtConn_Unprot"]
        assert parts == pytest.approx(100, abs=0.01)
        assert f"{r['ProtConn']:.6g}" in html
    assert "anonymous" in html and "Sources and licenses" in html and "Natural Earth" in html
    assert "<script" not in html and "http://" not in html.split("</style>")[0]  # nothing fetched from a CDN


def test_partner_report_shows_generalized_locations_only(hub, tmp_path):
    res, html, data = _report(hub, tmp_path / "partner", user="partner_viewer")
    assert data["view"]["user"] == "partner_viewer" and "partner_viewer" in html
    taxa = {t["taxon"] for t in data["observations"]["by_taxon"]}
    assert "Panthera pardus orientalis" in taxa and "Panthera tigris altaica" not in taxa  # withheld
    leo = [r for r in data["records"] if r["taxon"] == "Panthera pardus orientalis"]
    assert leo and all((r["lon"], r["lat"]) == (131.1, 43.2) and r["generalization"] for r in leo)
    for site in (DEN, KILL, S.PRIVATE_SITE, S.EMBARGO_SITE):
        for token in (f"{site['lon']}", f"{site['lat']}", site["locality"]):
            assert token not in html and token not in json.dumps(data)
    assert data["observations"]["generalized"] >= 3
    lic = {s["dataset"]: s["license"] for s in data["sources"]}
    assert lic["leopard-cams"] == "CC-BY-NC-4.0" and "private-stations" not in lic


def test_owner_report_is_exact_and_anonymous_sees_public_data(hub, tmp_path):
    _, html, data = _report(hub, tmp_path / "owner", user="owner_viewer")
    assert str(DEN["lon"]) in html and data["observations"]["generalized"] == 0
    _, html, data = _report(hub, tmp_path / "anon")
    assert {s["dataset"] for s in data["sources"]} >= {"crane-counts"} and "leopard-cams" not in html
    assert str(DEN["lon"]) not in html and "anonymous" in html


def test_bad_area_is_one_clear_line_and_writes_nothing(tmp_path, capsys):
    from econet.cli.main import main
    for area, words in (("Nowhere Nature Reserve", "neither a polygon file nor a named area"),
                        (str(tmp_path / "missing.gpkg"), "polygon file not found")):
        with pytest.raises(SystemExit) as exc:
            main(["report", area, "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and words in err and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err and not (tmp_path / "out").exists()
    points = tmp_path / "points.geojson"
    points.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                  "geometry": {"type": "Point", "coordinates": [131, 43]}}]}))
    with pytest.raises(SystemExit) as exc:
        main(["report", str(points), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2 and "no polygon" in capsys.readouterr().err


def test_cli_report_on_a_users_view(hub, tmp_path, capsys):
    from econet.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(["report", "Kedrovaya Pad", "--out", str(tmp_path / "k"), "--as", "partner_viewer", "--db", hub["db"],
              "--quiet", "--format", "json"])
    assert exc.value.code == 0
    res = json.loads(capsys.readouterr().out)
    assert res["area"] == "Kedrovaya Pad Nature Reserve" and res["view"]["user"] == "partner_viewer"
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["report.html", "report.json", "report.pdf"]


def test_rest_report_job_for_the_atlas_button(hub):
    from fastapi.testclient import TestClient
    from tests.api.conftest import bearer, make_app
    app = make_app(hub["db"])
    wkt = "POLYGON((130.8 42.8, 132 42.8, 132 44, 130.8 44, 130.8 42.8))"
    with TestClient(app) as c:
        r = c.post("/api/v1/reports", json={"area": wkt, "title": "Khasan"},
                   headers=bearer(hub["tokens"]["partner_viewer"]))
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["view"]["user"] == "partner_viewer"
        for _ in range(240):
            st = c.get(job["status_url"], headers=bearer(hub["tokens"]["partner_viewer"])).json()
            if st["status"] in ("done", "failed"):
                break
            time.sleep(0.25)
        assert st["status"] == "done", st
        html = c.get(job["html_url"], headers=bearer(hub["tokens"]["partner_viewer"]))
        assert html.status_code == 200 and "Khasan" in html.text and str(DEN["lon"]) not in html.text
        assert "131.1" in html.text
        pdf = c.get(job["pdf_url"], headers=bearer(hub["tokens"]["partner_viewer"]))
        assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
        # another caller does not get it
        assert c.get(job["html_url"]).status_code == 404
        assert c.get(job["status_url"], headers=bearer(hub["tokens"]["owner_viewer"])).status_code == 404
        # never a path on the server; a bad area fails the job with its reason
        r = c.post("/api/v1/reports", json={"area": str(hub["area"])})
        jid = r.json()["id"]
        for _ in range(40):
            st = c.get(f"/api/v1/reports/{jid}").json()
            if st["status"] in ("done", "failed"):
                break
            time.sleep(0.25)
        assert st["status"] == "failed" and "neither a polygon file nor a named area" in st["error"]
        assert c.get(f"/api/v1/reports/{jid}/report.html").status_code == 409


def test_demo_step_writes_the_report_with_the_earlier_steps_results(hub, tmp_path):
    import importlib

    import pandas as pd

    from econet.atomic import OutputSet
    from econet.demo import DemoContext
    step = importlib.import_module("econet.demo.steps.99_report")
    ctx = DemoContext(out=tmp_path / "demo", db_url=hub["db"], quiet=True)
    with OutputSet(ctx.out) as outputs:
        ctx.outputs = outputs
        # an earlier step's SCR table, computed on the admin's view (as step 65 does)
        scr = ctx.output("tiger_scr")
        scr.mkdir()
        pd.DataFrame([{"region": "CHN", "expected_animals": 12.0, "lcl": 8.0, "ucl": 17.0, "view": "admin"}]).to_csv(
            scr / "estimates.csv", index=False)
        summary = step.run(ctx)
    assert summary["view"] == "anonymous" and summary["protected_areas"] >= 10
    data = json.loads((ctx.out / "report" / "report.json").read_text())
    assert (ctx.out / "report" / "report.pdf").read_bytes()[:5] == b"%PDF-"
    # estimates computed on the admin's view are not shown on the anonymous view, and the report says why
    assert not data["population_estimates"]
    assert any("tiger_scr/estimates.csv" in n and "admin" in n for n in data["notes"])
    # the admin's report shows them, with their intervals
    from econet.hub.sharing import View
    from econet.reports import build_report
    build_report(hub["area"], tmp_path / "admin", db=hub["db"], view=View.admin(),
                 results={"tiger_scr/estimates.csv": ctx.out / "tiger_scr" / "estimates.csv"})
    data = json.loads((tmp_path / "admin" / "report.json").read_text())
    assert data["population_estimates"] == [{"region": "CHN", "expected_animals": 12.0, "lcl": 8.0, "ucl": 17.0,
                                             "view": "admin"}]
    assert "tiger_scr/estimates.csv" in (tmp_path / "admin" / "report.html").read_text()
