"""Relative abundance (detections per 100 trap-days) and activity overlap (as the R package overlap).

overlap's own test suite checks its estimators on its `simulatedData` (tigerObs, pigObs: 0.290862,
0.269201, 0.227500), but that R data file is binary and not available here, so those figures cannot be
reproduced; the estimators are checked on cases with known answers instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from econet.analytics import activity as ac


def test_independent_events_compare_with_the_previous_record():
    t = pd.to_datetime(["2020-01-01 10:00", "2020-01-01 10:10", "2020-01-01 10:50", "2020-01-01 11:05",
                        "2020-01-01 10:05"], utc=True)
    d = pd.DataFrame({"site": ["A", "A", "A", "A", "B"], "species": "Panthera tigris", "timestamp": t})
    ev = ac.independent_events(d, min_delta="30min")
    assert list(ev.loc[ev["site"] == "A", "timestamp"].dt.strftime("%H:%M")) == ["10:00", "10:50"]
    assert (ev["site"] == "B").sum() == 1


def test_rai_on_the_camtrap_dp_example(shared):
    obs = pd.read_csv(shared / "conformance/camtrap-dp/observations.csv")
    dep = pd.read_csv(shared / "conformance/camtrap-dp/deployments.csv")
    obs = obs[(obs["observationLevel"] == "event") & (obs["observationType"] == "animal")]
    det = obs.rename(columns={"deploymentID": "site", "scientificName": "species", "eventStart": "timestamp"})
    dp = dep.rename(columns={"deploymentID": "site", "deploymentStart": "start", "deploymentEnd": "end"})
    res = ac.relative_abundance(det, dp, min_delta="0s").set_index(["site", "species"])
    # by hand: events of each species at each deployment / deployment length in days * 100
    days = ((pd.to_datetime(dp["end"], utc=True)
             - pd.to_datetime(dp["start"], utc=True)).dt.total_seconds() / 86400).set_axis(dp["site"])
    counts = det.groupby(["site", "species"]).size()
    assert len(counts) > 3
    for (s, sp), n in counts.items():
        assert res.loc[(s, sp), "n_independent"] == n
        assert res.loc[(s, sp), "rai"] == pytest.approx(n / days[s] * 100)
    # every deployment x species pair is reported, zeros included
    assert len(res) == dp["site"].nunique() * det["species"].nunique()


def test_cli_rai_reads_camtrap_dp(shared, tmp_path):
    from econet.cli.main import main
    out = tmp_path / "rai.csv"
    with pytest.raises(SystemExit) as e:
        main(["activity", "rai", str(shared / "conformance/camtrap-dp/observations.csv"), "--deployments",
              str(shared / "conformance/camtrap-dp/deployments.csv"), "--min-delta", "0s", "--out", str(out), "-q",
              "--format", "csv"])
    assert e.value.code in (0, None)
    rai = pd.read_csv(out)
    obs = pd.read_csv(shared / "conformance/camtrap-dp/observations.csv")
    n_events = ((obs["observationLevel"] == "event") & (obs["observationType"] == "animal")).sum()
    assert rai["n_independent"].sum() == n_events


def test_rai_rejects_reversed_deployment():
    from econet.errors import EconetError
    det = pd.DataFrame({"site": ["A"], "species": ["x"], "timestamp": ["2020-01-02"]})
    dep = pd.DataFrame({"site": ["A"], "start": ["2020-01-05"], "end": ["2020-01-01"]})
    with pytest.raises(EconetError, match="ends before it starts"):
        ac.relative_abundance(det, dep)


def test_density_integrates_to_one_and_bandwidth_scales():
    rng = np.random.default_rng(0)
    x = np.mod(rng.vonmises(np.pi, 2.0, 200), 2 * np.pi)
    grid = np.linspace(0, 2 * np.pi, 2001)
    bw = ac.bandwidth(x)
    assert np.trapezoid(ac.density(x, grid, bw), grid) == pytest.approx(1.0, abs=1e-6)
    # the trigonometric moments of a doubled sample are unchanged, so bw grows as n^(2/5)
    assert ac.bandwidth(np.concatenate([x, x])) == pytest.approx(bw * 2 ** 0.4, rel=1e-9)


def test_overlap_identical_and_known_overlap():
    rng = np.random.default_rng(1)
    a = np.mod(rng.vonmises(np.pi / 2, 2.0, 400), 2 * np.pi)
    same = ac.overlap(a, a.copy())
    assert same["Dhat1"] == pytest.approx(1.0) and same["Dhat4"] == pytest.approx(1.0)
    assert same["Dhat5"] == pytest.approx(1.0)
    # two von Mises activity curves (dawn vs dusk), true overlap = integral of the smaller density
    b = np.mod(rng.vonmises(np.pi, 2.0, 400), 2 * np.pi)
    from scipy.stats import vonmises
    g = np.linspace(0, 2 * np.pi, 20001)
    true = np.trapezoid(np.minimum(vonmises.pdf(g, 2.0, loc=np.pi / 2), vonmises.pdf(g, 2.0, loc=np.pi)), g)
    est = ac.overlap(a, b)
    assert est["Dhat4"] == pytest.approx(true, abs=0.05)
    assert est["Dhat1"] == pytest.approx(true, abs=0.06)
    assert 0 < est["Dhat4"] < 1


def test_activity_overlap_from_detections_and_cli(tmp_path):
    rng = np.random.default_rng(2)
    base = pd.Timestamp("2021-01-01", tz="UTC")
    tiger = base + pd.to_timedelta(np.mod(rng.normal(22, 3, 60), 24), unit="h")
    boar = base + pd.to_timedelta(np.mod(rng.normal(12, 3, 80), 24), unit="h")
    det = pd.DataFrame({"site": "S1", "species": ["Panthera tigris"] * 60 + ["Sus scrofa"] * 80,
                        "timestamp": list(tiger) + list(boar)})
    res = ac.activity_overlap(det, "Panthera tigris", "Sus scrofa")
    assert res["n_a"] == 60 and res["n_b"] == 80 and res["recommended"] == "Dhat4"
    assert res["Dhat4"] < 0.5  # night-active tiger vs day-active boar
    csv = tmp_path / "det.csv"
    det.to_csv(csv, index=False)
    from econet.cli.main import main
    png = tmp_path / "act.png"
    with pytest.raises(SystemExit) as e:
        main(["activity", "overlap", str(csv), "--a", "Panthera tigris", "--b", "Sus scrofa", "--plot", str(png),
              "--format", "json", "-q"])
    assert e.value.code in (0, None) and png.stat().st_size > 10000
    with pytest.raises(SystemExit) as e:
        main(["activity", "overlap", str(csv), "--a", "Panthera tigris", "--b", "Panthera pardus", "-q"])
    assert e.value.code == 2
