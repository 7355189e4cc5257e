"""Waterbird counts, ring encounters and glacier series from the hub on the caller's view (issue 8): the hub
analyses equal the file-based ones for callers who see everything; a sensitive crane's count site and ring
encounters come generalized (the site's other species too), and private glacier data stay hidden."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

COUNT_MAPPING = """record_type: waterbird_count
columns: {site_id: site, site_name: site_name, country: country_code, lon: lon, lat: lat, species: scientific_name,
          date: date, count: count}
"""


@pytest.fixture(scope="module")
def counts_csv(tmp_path_factory):
    """The demo's SIMULATED counts at real sites (population_id kept as an extra column)."""
    step = importlib.import_module("econet.demo.steps.80_waterbirds")
    counts = step.simulate_counts()
    tmp = tmp_path_factory.mktemp("wb")
    counts.to_csv(tmp / "counts.csv", index=False)
    (tmp / "counts.yaml").write_text(COUNT_MAPPING)
    return counts, tmp / "counts.csv", tmp / "counts.yaml"


def _users(eng):
    from econet.hub import accounts
    with eng.begin() as conn:
        accounts.add_user(conn, "owner", "correct horse battery")
        accounts.set_role(conn, "owner", "Crane Network", "viewer")


def test_waterbird_sites_on_the_view(db_url, counts_csv):
    from econet.analytics import waterbirds as wb
    from econet.hub import monitoring, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.sharing import View
    counts, path, mapping = counts_csv
    import_path(db_url, path, dataset="crane-counts", org="Crane Network", fmt="csv", mapping=mapping)
    eng = open_hub(db_url)
    _users(eng)
    with eng.begin() as conn:
        sharing.set_sharing(conn, "crane-counts", visibility="public")
    want = wb.site_importance(counts, staging_share=0.25)["ranked"].set_index("site_id")
    with eng.begin() as conn:
        res, rep = monitoring.waterbird_sites_on_view(conn, View.anonymous(), staging_share=0.25)
    got = res["ranked"].set_index("site_id")
    assert rep["records"] == len(counts) and rep["generalized_input"] is False
    assert sorted(got.index) == sorted(want.index)
    assert (got.loc[want.index, "criteria"] == want["criteria"]).all()
    assert np.allclose(got.loc[want.index, "max_share_pct"], want["max_share_pct"])
    feats = monitoring.site_features(res["ranked"])
    assert feats[0]["geometry"]["type"] == "Point" and feats[0]["properties"]["criteria"]
    # the White-naped Crane becomes sensitive in Korea: Cheorwon's counts (its Red-crowned Cranes too) are
    # generalized to a 0.1 degree cell for the public; the owner still sees the site
    with eng.begin() as conn:
        sharing.set_sensitive(conn, "Antigone vipio", "KR", "0.1")
    with eng.begin() as conn:
        anon = list(monitoring.view_waterbird_counts(conn, View.anonymous(), country="KR"))
        own = list(monitoring.view_waterbird_counts(conn, View.for_user(conn, "owner"), country="KR"))
        res2, rep2 = monitoring.waterbird_sites_on_view(conn, View.anonymous())
    cheorwon = [r for r in own if r["site_id"] == "cheorwon"]
    assert {r["species"] for r in cheorwon} == {"Antigone vipio", "Grus japonensis"}
    hidden = [r for r in anon if r["hub_id"] in {c["hub_id"] for c in cheorwon}]
    assert len(hidden) == len(cheorwon)
    assert all(r["site_id"] == "cell 127.3,38.2" and r["site_name"] is None and r["coordinate_precision"] == 0.1
               for r in hidden)
    assert any(r["site_id"] == "suncheon" for r in anon)  # no sensitive species counted there
    assert rep2["generalized_input"] and "cheorwon" not in set(res2["ranked"]["site_id"])
    assert "cell 127.3,38.2" in set(res2["ranked"]["site_id"])


def _crane_rings(tmp_path):
    from econet.hub.sharing_sample import CRANE_RING
    # a Siberian crane ringed at Momoge (CN) and found at Poyang (CN) the next winter
    ringing = CRANE_RING.format(lat=45.9012, lon=123.6012)
    f = ringing.split("|")
    f[4], f[20], f[26], f[27] = "4", "15012024", "8", "28"
    f[-4], f[-3] = "29.1234", "116.3012"
    path = tmp_path / "cranes.psv"
    path.write_text(ringing + "\n" + "|".join(f) + "\n")
    return path


def test_ring_movements_on_the_view(db_url, tmp_path, euring_dir):
    from econet.analytics import rings
    from econet.hub import monitoring, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.sharing import View
    import_path(db_url, euring_dir / "euring2000_examples.txt", dataset="euring-examples", org="EURING", fmt="euring")
    import_path(db_url, _crane_rings(tmp_path), dataset="crane-rings", org="Crane Network", fmt="euring")
    eng = open_hub(db_url)
    _users(eng)
    with eng.begin() as conn:
        for d in ("euring-examples", "crane-rings"):
            sharing.set_sharing(conn, d, visibility="public")
        mv, enc, rep = monitoring.ring_movements_on_view(conn, View.anonymous())
    want = rings.link_encounters(rings.read_euring(euring_dir / "euring2000_examples.txt")).iloc[0]
    der = mv[mv["ring_id"] == want["ring_id"]].iloc[0]
    assert der["distance_km"] == pytest.approx(want["distance_km"]) and der["euring_check"] == "ok"
    crane = mv[mv["ring_id"] == "RUM|....SC0042"].iloc[0]
    assert crane["distance_km"] == pytest.approx(float(rings.geodesic(45.9012, 123.6012, 29.1234, 116.3012)[0]),
                                                 abs=0.01)
    feats = monitoring.movement_features(mv)
    assert {f["geometry"]["type"] for f in feats} == {"LineString"}
    with eng.begin() as conn:
        sharing.set_sensitive(conn, "Leucogeranus leucogeranus", "CN", "0.1")
    with eng.begin() as conn:
        anon = [r for r in monitoring.view_ring_encounters(conn, View.anonymous()) if r["scheme"] == "RUM"]
        own = [r for r in monitoring.view_ring_encounters(conn, View.for_user(conn, "owner")) if r["scheme"] == "RUM"]
        mv2, _, rep2 = monitoring.ring_movements_on_view(conn, View.anonymous())
    assert [(r["lon"], r["lat"]) for r in own] == [(123.6012, 45.9012), (116.3012, 29.1234)]
    assert [(r["lon"], r["lat"]) for r in anon] == [(123.6, 45.9), (116.3, 29.1)]
    assert all(r["place_code"] is None and "0.1 degree" in r["data_generalizations"] for r in anon)
    assert rep2["generalized_input"]
    crane2 = mv2[mv2["ring_id"] == "RUM|....SC0042"].iloc[0]
    assert crane2["from_lat"] == 45.9 and np.isnan(crane2["euring_distance_km"])


def test_glacier_trends_on_the_view_equal_the_files(db_url):
    from econet.analytics import glaciers as gl
    from econet.errors import EconetError
    from econet.hub import monitoring, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    from econet.hub.sharing import View
    import_path(db_url, gl.shipped_wgms(), dataset="wgms-central-asia", org="WGMS", fmt="wgms")
    eng = open_hub(db_url)
    mb = gl.read_wgms(None)["mass_balance"]
    n = mb.dropna(subset=["annual_mb"]).groupby("wgms_id").size()
    want = gl.glacier_summary(mb[mb["wgms_id"].isin(n[n >= 5].index)]).set_index("wgms_id")
    with eng.begin() as conn:
        with pytest.raises(EconetError, match="no glacier"):  # a new dataset is visible to its owner only
            monitoring.glacier_trends_on_view(conn, View.anonymous())
        sharing.set_sharing(conn, "wgms-central-asia", visibility="public")
    with eng.begin() as conn:
        summary, table, rep = monitoring.glacier_trends_on_view(conn, View.anonymous())
    got = summary.set_index("wgms_id")
    assert sorted(got.index) == sorted(want.index) and len(got) == 31
    for c in ("cumulative_mwe", "ts_slope_mwe_per_yr", "ols_slope_mwe_per_yr", "n_years"):
        assert np.allclose(got.loc[want.index, c], want[c], equal_nan=True), c
    feats = {f["id"]: f for f in monitoring.glacier_features(summary)}
    tuyuksu = feats[817]
    assert tuyuksu["properties"]["trend"] == "losing mass" and tuyuksu["geometry"]["type"] == "Point"
    assert rep["datasets"] == ["wgms-central-asia"]
