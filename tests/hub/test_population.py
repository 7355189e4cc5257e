"""Population analyses on the hub under the caller's view (hub.population): a simulated tiger survey across the
China-Russia border (hub.tiger_sim, known truth), analysed as its owner (exact) and as a partner who sees the
tiger rounded to 0.1 degree; both back ends."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from econet.hub import population, tiger_sim
from econet.hub.query import ObservationFilter

OWNER, PARTNER, DATASET = "Tiger platform RU (test)", "Tiger partner CN (test)", "tiger-scr-test"


@pytest.fixture
def tiger_hub(db_url, tmp_path):
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    truth = tiger_sim.simulate_package(tmp_path / "pkg", grid=6, days=60, D_per_100km2=2.0, seed=5)
    import_path(db_url, tmp_path / "pkg", dataset=DATASET, org=OWNER)
    engine = open_hub(db_url)
    with engine.begin() as conn:
        accounts.add_org(conn, PARTNER, country="CN")
        for user, org in (("tiger-owner", OWNER), ("tiger-partner", PARTNER)):
            accounts.add_user(conn, user, None)
            accounts.set_role(conn, user, org, "viewer")
        sharing.set_sharing(conn, DATASET, visibility="partners", partners=[PARTNER])
        for cc in ("CN", "RU"):
            sharing.set_sensitive(conn, tiger_sim.TAXON, cc, "0.1")
    deps = pd.read_csv(tmp_path / "pkg" / "deployments.csv")
    return {"engine": engine, "truth": truth, "deployments": deps, "tmp": tmp_path}


def _views(engine):
    from econet.hub.sharing import View
    with engine.connect() as conn:
        return View.for_user(conn, "tiger-owner"), View.for_user(conn, "tiger-partner")


F = ObservationFilter(dataset=DATASET, taxon=tiger_sim.TAXON)


def _exact_coordinates(deps: pd.DataFrame) -> list[str]:
    return [f"{v:.5f}" for v in np.r_[deps["longitude"].to_numpy(), deps["latitude"].to_numpy()]]


def test_scr_owner_exact_partner_generalized(tiger_hub):
    engine = tiger_hub["engine"]
    owner, partner = _views(engine)
    with engine.connect() as conn:
        o = population.run_scr(conn, owner, F, spacing_m=2000)
        p = population.run_scr(conn, partner, F, spacing_m=2000)
    assert o["input"]["view"]["user"] == "tiger-owner" and not o["input"]["generalized"]
    assert p["input"]["view"]["user"] == "tiger-partner" and p["input"]["generalized"]
    assert p["input"]["coordinate_precision_deg"] == 0.1 and "warning" in p
    # the owner's fit sees every camera; the partner's cameras collapse onto 0.1-degree cells
    assert o["input"]["detector_locations"] == tiger_hub["truth"].cameras
    assert 2 <= p["input"]["detector_locations"] < o["input"]["detector_locations"]
    assert o["fit"]["D"]["estimate"] != p["fit"]["D"]["estimate"]
    # the owner's (exact) fit recovers the simulated density: truth inside the 95% interval
    D = o["fit"]["D"]
    assert D["lcl"] < tiger_hub["truth"].D_per_100km2 / 1e4 < D["ucl"]
    assert {r["country"] for r in o["per_country"]} == {"CN", "RU"}
    # each country's part of the habitat mask: the parts add up to the whole mask
    assert sum(r["estimate"] for r in o["per_country"]) == pytest.approx(o["overall"]["estimate"], rel=1e-3)
    assert sum(r["realised"] for r in o["per_country"]) == pytest.approx(o["overall"]["realised"], rel=1e-3)
    # nothing in the partner's result gives an exact camera position away
    text = json.dumps(population.jsonable(p))
    assert not [c for c in _exact_coordinates(tiger_hub["deployments"]) if c in text]
    t = population.scr_table(p)
    assert list(t["region"]) == ["CN", "RU", "overall (mask)"] and t["generalized_input"].all()


def test_partner_scr_input_is_the_partner_export(tiger_hub):
    """The partner's SCR runs on exactly what a CSV export to the partner holds."""
    from econet.analytics import scr
    from econet.hub import sharing
    engine = tiger_hub["engine"]
    _, partner = _views(engine)
    out = tiger_hub["tmp"] / "partner.csv"
    with engine.connect() as conn:
        sharing.export_view(conn, partner, "csv", out, F)
        det, deps, info = population.camera_inputs(conn, partner, F)
        res = population.run_scr(conn, partner, F, spacing_m=2000, land_only=False)
    exp = pd.read_csv(out)
    assert len(exp) == info["records"] == len(det)
    assert exp["data_generalizations"].notna().all()
    assert sorted(zip(exp["lon"].round(6), exp["lat"].round(6))) == sorted(zip(det["lon"].round(6), det["lat"].round(6)))
    # the capture history built from the export's rows gives the same fit (same buffer, no land clipping)
    exp["site"] = [population._loc_key(a, b) for a, b in zip(exp["lon"], exp["lat"])]
    exp["timestamp"] = pd.to_datetime(exp["time_utc"], utc=True)
    exp["species"] = exp["accepted_name"]
    ch = population.capture_history(exp, deps, occasion_days=1.0, detector="proximity", crs=res["crs"])
    mask = scr.make_mask(ch.traps.xy, buffer=res["mask"]["buffer_m"], spacing=2000)
    assert len(ch.traps.ids) == res["input"]["detector_locations"]
    assert ch.n == res["fit"]["n_animals"] and ch.n_detections == res["fit"]["n_detections"]
    assert len(mask.xy) == res["mask"]["points"]
    fit = scr.fit(ch, mask, "proximity", "HN")
    assert fit.D.estimate == pytest.approx(res["fit"]["D"]["estimate"], rel=1e-9)
    assert fit.sigma.estimate == pytest.approx(res["fit"]["sigma"]["estimate"], rel=1e-9)


def test_occupancy_rai_crossings_under_views(tiger_hub):
    engine = tiger_hub["engine"]
    owner, partner = _views(engine)
    with engine.connect() as conn:
        occ_o = population.run_occupancy(conn, owner, F, occasion_days=10)
        occ_p = population.run_occupancy(conn, partner, F, occasion_days=10)
        rai_p = population.run_rai(conn, partner, ObservationFilter(dataset=DATASET))
        cx_o = population.run_crossings(conn, owner, F)
        cx_p = population.run_crossings(conn, partner, F)
    assert occ_o["fit"]["n_sites"] == tiger_hub["truth"].cameras
    assert occ_p["fit"]["n_sites"] < occ_o["fit"]["n_sites"] and occ_p["input"]["generalized"]
    assert 0 < occ_o["fit"]["psi"]["estimate"] <= 1
    text = json.dumps(population.jsonable(rai_p))
    assert not [c for c in _exact_coordinates(tiger_hub["deployments"]) if c in text]
    assert rai_p["per_species"][0]["trap_days"] == pytest.approx(60 * tiger_hub["truth"].cameras)
    # crossings use each record's country: the same answer from exact and generalized rows
    assert cx_o["summary"] == cx_p["summary"]
    s = cx_o["summary"][0]
    assert s["in_both"] == tiger_hub["truth"].detected_in_both
    assert s["n_individuals"] == tiger_hub["truth"].n_detected
    bm = pd.DataFrame(cx_o["detections_by_month"])  # for the atlas' detections-over-time chart
    assert bm["detections"].sum() == len(pd.read_csv(tiger_hub["tmp"] / "pkg" / "observations.csv"))
    assert set(bm["month"]) == {"2022-03", "2022-04"}


def test_hub_scr_refuses_when_cameras_collapse(tiger_hub):
    """A coarser generalization (1 degree) leaves one detector location: SCR says why it cannot run."""
    from econet.errors import EconetError
    from econet.hub import sharing
    engine = tiger_hub["engine"]
    with engine.begin() as conn:
        for cc in ("CN", "RU"):
            sharing.set_sensitive(conn, tiger_sim.TAXON, cc, "1")
    _, partner = _views(engine)
    with engine.connect() as conn, pytest.raises(EconetError, match="at least two detector locations"):
        population.run_scr(conn, partner, F)


def test_demo_step_recovers_the_simulated_tiger_density(tmp_path):
    import importlib

    from econet.demo import DemoContext
    step = importlib.import_module("econet.demo.steps.65_tiger_scr")
    ctx = DemoContext(out=tmp_path, db_url=f"sqlite:///{tmp_path / 'demo.db'}", quiet=True)
    s = step.run(ctx)
    assert s["true_D_inside_95ci"] and s["true_sigma_inside_95ci"]
    lo, hi = s["estimated"]["D_95ci_per_100km2"]
    assert lo < s["true"]["D_per_100km2"] < hi
    assert s["tigers_detected_in_both_countries"] >= 1
    t = pd.read_csv(tmp_path / "tiger_scr" / "estimates.csv")
    assert list(t["region"]) == ["CN", "RU", "overall (mask)"]
    assert (t["lcl"] < t["expected_animals"]).all() and (t["expected_animals"] < t["ucl"]).all()
    saved = json.loads((tmp_path / "tiger_scr" / "summary.json").read_text())
    assert saved["tigers_detected"] == s["tigers_detected"]


def _cli(capsys, *args) -> dict | None:
    from econet.cli.main import main
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    assert exc.value.code in (0, None), capsys.readouterr()
    out = capsys.readouterr().out
    return json.loads(out) if "--format" in args and "json" in args else None


def test_cli_hub_options(request, db_url, capsys, tmp_path):
    """`econet scr fit --db URL --as USER --taxon ... --dataset ...` and the other commands' hub forms."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the CLI reads the same hub.population code; one back end is enough")
    tiger_hub = request.getfixturevalue("tiger_hub")
    base = ["--db", db_url, "--dataset", DATASET]
    o = _cli(capsys, "scr", "fit", *base, "--taxon", tiger_sim.TAXON, "--as", "tiger-owner", "--spacing", "2000",
             "--out", str(tmp_path / "owner.csv"), "--format", "json", "--quiet")
    p = _cli(capsys, "scr", "fit", *base, "--taxon", tiger_sim.TAXON, "--as", "tiger-partner", "--spacing", "2000",
             "--format", "json", "--quiet")
    assert not o["input"]["generalized"] and p["input"]["generalized"]
    assert set(o["fit"]) >= {"D", "g0", "sigma", "loglik", "aic", "n_animals"}
    t = pd.read_csv(tmp_path / "owner.csv")
    assert list(t["region"]) == ["CN", "RU", "overall (mask)"] and not t["generalized_input"].any()
    occ = _cli(capsys, "occupancy", "fit", *base, "--taxon", tiger_sim.TAXON, "--as", "tiger-partner",
               "--occasion-days", "10", "--format", "json", "--quiet")
    assert occ["input"]["generalized"] and occ["fit"]["n_sites"] == p["input"]["detector_locations"]
    cx = _cli(capsys, "crossings", *base, "--as", "tiger-owner", "--out", str(tmp_path / "cx"), "--format", "json",
              "--quiet")
    assert cx["summary"][0]["in_both"] == tiger_hub["truth"].detected_in_both
    assert (tmp_path / "cx" / "events.csv").exists()
    _cli(capsys, "activity", "rai", *base, "--as", "tiger-partner", "--out", str(tmp_path / "rai.csv"), "--quiet")
    assert pd.read_csv(tmp_path / "rai.csv")["trap_days"].sum() == pytest.approx(60 * tiger_hub["truth"].cameras)


def test_cli_hub_errors_exit_2(db_url, capsys):
    from econet.cli.main import main
    if not db_url.startswith("sqlite"):
        pytest.skip("error printing is back-end independent")
    with pytest.raises(SystemExit) as exc:
        main(["scr", "fit", "--db", db_url, "--taxon", tiger_sim.TAXON, "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no detections" in err and "Traceback" not in err


def test_activity_overlap_on_the_hub_uses_recorded_local_clock_times(db_url, tmp_path):
    """Tiger vs roe deer on simulated records from both sides (UTC+8 and UTC+10): the hub's answer equals the
    file-based overlap on the source CSV's local clock times."""
    from econet.analytics.activity import activity_overlap
    from econet.hub import simulate
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.sharing import View
    mapping = simulate.write_csv(tmp_path / "sim.csv", 800)
    import_path(db_url, tmp_path / "sim.csv", dataset="sim", org="o", mapping=mapping)
    a, b = "Panthera tigris altaica", "Capreolus pygargus"
    with open_hub(db_url).connect() as conn:
        res = population.run_activity(conn, View.admin(), ObservationFilter(dataset="sim"),
                                      species_a=a, species_b=b)
    src = pd.read_csv(tmp_path / "sim.csv")
    src["timestamp"] = pd.to_datetime(src["local_time"].str.slice(0, 19)).dt.tz_localize("UTC")
    ref = activity_overlap(src, a, b)
    assert res["n_a"] == ref["n_a"] and res["n_b"] == ref["n_b"]
    assert res["Dhat1"] == pytest.approx(ref["Dhat1"], rel=1e-12) and res["Dhat4"] == pytest.approx(ref["Dhat4"])
