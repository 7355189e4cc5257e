"""Tracks in the hub (issue 7): streamed Movebank import with the same flags as the file cleaning, re-import
idempotence, fixes under the sharing rules (a sensitive animal's whole track generalized, a withheld one left
out, embargoes), and crossings / home ranges on the caller's view equal to the file-based analyses."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from econet.analytics import crossings as cx
from econet.analytics import tracks as tr
from econet.analytics import tracksim

warnings.filterwarnings("ignore", category=UserWarning)
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


@pytest.fixture(scope="module")
def movebank(tmp_path_factory):
    """4 leopards near Hunchun (both sides of the CN-RU border), with duplicates, GPS spikes, a hidden fix, a fix
    without location and deployment windows; fixes 3 h apart."""
    tmp = tmp_path_factory.mktemp("mb")
    centres = np.array([[131.05, 43.05], [131.25, 43.35], [131.15, 43.55], [130.95, 42.85]])
    f = tracksim.simulate_tracks(4, 250, centres_lonlat=centres, home_sd_m=6000, step_sd_m=1500, seed=7)
    f, truth = tracksim.inject_errors(f, n_duplicates=6, n_spikes=4, seed=5)
    mb = tracksim.to_movebank(f)
    mb.loc[10, "visible"] = "false"
    mb.loc[20, ["location-long", "location-lat"]] = np.nan
    path = tmp / "events.csv"
    mb.to_csv(path, index=False)
    ref = tracksim.to_movebank_reference(["PAR0001", "PAR0002", "PAR0003", "PAR0004"], "Panthera pardus orientalis",
                                         ["2015-01-01", "2015-01-03", "2015-01-01", "2015-01-01"],
                                         ["", "", "2015-01-25", ""])
    rpath = tmp / "reference.csv"
    ref.to_csv(rpath, index=False)
    return path, rpath, truth


def test_streamed_cleaning_and_crossings_equal_the_in_memory_path(movebank):
    from econet.hub.spatial import countries
    path, rpath, truth = movebank
    ref = tr.read_reference(rpath)
    whole = tr.clean(tr.read_movebank(path), ref)
    parts = list(tr.iter_individuals(path, ref, chunksize=173))  # chunks cut individuals and duplicates apart
    assert len(parts) == 4 and all(p["timestamp"].is_monotonic_increasing for p in parts)
    streamed = pd.concat(parts)
    assert streamed["flag"].astype(str).value_counts().to_dict() == whole["flag"].astype(str).value_counts().to_dict()
    assert (streamed["flag"] == "speed").sum() == truth["spikes"]
    assert (streamed["flag"] == "duplicate").sum() == truth["duplicates"]
    z = countries()[["iso2", "geometry"]]
    kw = dict(tracks=True, tolerance_m=100, period="season", mcp_percent=None)
    full = cx.crossings(tr.kept(whole), z, "iso2", **kw)
    st = tr.crossings_streamed(iter(parts), z, "iso2", batch_fixes=200, **kw)
    assert st.meta["batches"] >= 3 and len(full.events) > 5
    assert len(st.events) == len(full.events)
    pd.testing.assert_frame_equal(st.totals.reset_index(drop=True), full.totals.reset_index(drop=True))
    pd.testing.assert_frame_equal(st.summary.reset_index(drop=True), full.summary.reset_index(drop=True))
    assert st.time_by_month["hours"].sum() == pytest.approx(full.time_by_month["hours"].sum())
    e1 = full.events.sort_values(["individual", "crossing_time"]).reset_index(drop=True)
    e2 = st.events.sort_values(["individual", "crossing_time"]).reset_index(drop=True)
    # each batch is projected in an equal-area CRS centred on it: the crossing placed on the border by
    # straight steps in that CRS moves by metres and seconds, not more
    dt_s = (e1["crossing_time"] - e2["crossing_time"]).dt.total_seconds().abs()
    assert dt_s.max() < 120 and (e1["direction"] == e2["direction"]).all()
    assert np.abs(e1["lon"] - e2["lon"]).max() < 2e-3 and np.abs(e1["lat"] - e2["lat"]).max() < 2e-3


def test_movebank_import_flags_like_the_file_cleaning_and_reimport_adds_nothing(db_url, movebank):
    from sqlalchemy import select

    from econet.hub import models as m
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    path, rpath, truth = movebank
    rep = import_path(db_url, path, dataset="collars", org="Land of the Leopard NP", reference=rpath, chunksize=173)
    assert rep["format"] == "movebank"
    n = len(pd.read_csv(path))
    assert rep["added"]["fixes"] == n and rep["added"]["tag_deployments"] == 4 and rep["added"]["individuals"] == 4
    eng = open_hub(db_url)
    with eng.connect() as conn:
        got = {int(k): f for k, f in conn.execute(select(m.Fix.event_key, m.Fix.flag))}
        taxa = conn.execute(select(m.Taxon.scientific_name).join(m.Fix, m.Fix.taxon_id == m.Taxon.id).distinct()).scalars().all()
    # the same flag on every fix (by Movebank event-id) as the in-memory file cleaning
    c = tr.clean(tr.read_movebank(path), tr.read_reference(rpath))
    want = dict(zip(c["event_id"].astype(int), c["flag"].astype(str)))
    assert got == want
    assert set(got.values()) == {"", "duplicate", "speed", "no_location", "marked_outlier", "outside_deployment"}
    assert taxa == ["Panthera pardus orientalis"]
    again = import_path(db_url, path, dataset="collars", org="Land of the Leopard NP", reference=rpath)
    assert again["added"] == {} and "nothing new" in again["notes"][0]


def _owner_hub(db_url, movebank):
    from econet.hub import accounts, sharing
    from econet.hub.db import open_hub
    from econet.hub.ingest import import_path
    path, rpath, _ = movebank
    import_path(db_url, path, dataset="collars", org="Land of the Leopard NP", country="RU", reference=rpath)
    eng = open_hub(db_url)
    with eng.begin() as conn:
        accounts.add_org(conn, "Hunchun NR", country="CN")
        for user, org in (("owner", "Land of the Leopard NP"), ("partner", "Hunchun NR")):
            accounts.add_user(conn, user, "correct horse battery")
            accounts.set_role(conn, user, org, "viewer")
        sharing.set_sharing(conn, "collars", visibility="public")
    return eng


def test_a_sensitive_animal_is_generalized_along_its_whole_track(db_url, movebank):
    from econet.hub import sharing, tracking
    from econet.hub.sharing import View
    eng = _owner_hub(db_url, movebank)
    with eng.begin() as conn:
        sharing.set_sensitive(conn, "Panthera pardus orientalis", "RU", "0.1")
    with eng.connect() as conn:
        exact = list(tracking.view_fixes(conn, View.for_user(conn, "owner")))
        anon = list(tracking.view_fixes(conn, View.anonymous()))
    assert len(anon) == len(exact) and {r["country_code"] for r in exact} == {"CN", "RU"}
    assert all(r["data_generalizations"] is None for r in exact)
    # every fix of the (RU-sensitive) leopards, in China too, on the 0.1 degree grid with the note
    assert all(r["coordinate_precision"] == 0.1 and "sensitive species in RU" in r["data_generalizations"]
               for r in anon)
    assert all(abs(r["lon"] * 10 - round(r["lon"] * 10)) < 1e-9 for r in anon)
    by_id = {r["hub_id"]: r for r in anon}
    assert all(by_id[r["hub_id"]]["country_code"] == r["country_code"] for r in exact)  # the true country kept
    with eng.begin() as conn:
        sharing.set_sensitive(conn, "Panthera pardus orientalis", "RU", "withheld")
    with eng.connect() as conn:
        assert list(tracking.view_fixes(conn, View.anonymous())) == []
        assert tracking.view_tracks(conn, View.anonymous()) == []
        assert len(tracking.view_tracks(conn, View.for_user(conn, "owner"))) == 4
        # paging: the pages join up to the whole set, in hub_id order
        p1 = list(tracking.view_fixes(conn, View.admin(), limit=100))
        p2 = list(tracking.view_fixes(conn, View.admin(), after=p1[-1]["hub_id"], limit=10_000))
        assert [r["hub_id"] for r in p1 + p2] == [r["hub_id"] for r in exact]


def test_embargo_and_owner_visibility_hide_tracks(db_url, movebank):
    import datetime as dt

    from econet.errors import EconetError
    from econet.hub import sharing, tracking
    from econet.hub.sharing import View
    eng = _owner_hub(db_url, movebank)
    with eng.begin() as conn:
        sharing.set_sharing(conn, "collars", embargo_until=dt.date(2099, 1, 1))
    with eng.connect() as conn:
        assert list(tracking.view_fixes(conn, View.for_user(conn, "partner"))) == []
        assert len(list(tracking.view_fixes(conn, View.for_user(conn, "owner")))) > 900
        with pytest.raises(EconetError, match="unknown dataset"):
            list(tracking.view_fixes(conn, View.anonymous(), tracking.TrackFilter(dataset="collars")))
        assert tracking.track_summary(conn, View.anonymous()) == []


def test_crossings_and_home_ranges_on_the_view_equal_the_file_analyses(db_url, movebank):
    from econet.analytics.homerange import home_ranges
    from econet.hub import tracking
    from econet.hub.sharing import View
    path, rpath, _ = movebank
    eng = _owner_hub(db_url, movebank)
    whole = tr.kept(tr.clean(tr.read_movebank(path), tr.read_reference(rpath)))
    z, field = tracking.border_zones("CN-RU")
    kw = dict(tracks=True, tolerance_m=100, period="season", mcp_percent=None)
    want = cx.crossings(whole, z, field, **kw)
    with eng.begin() as conn:
        res, rep = tracking.crossings_on_view(conn, View.anonymous(), border="CN-RU", **kw)
        hr, rep_hr = tracking.home_ranges_on_view(conn, View.anonymous(), method="mcp", percent=[95])
    assert rep["view"]["kind"] == "anonymous" and rep["generalized_input"] is False
    assert rep["fixes"] == len(whole) and rep["datasets"] == ["collars"]
    assert len(res.events) == len(want.events) > 0
    assert sorted(res.events["direction"]) == sorted(want.events["direction"])
    feats = tracking.crossing_features(res.events)
    assert feats[0]["geometry"]["type"] == "Point" and {"from_country", "to_country", "crossing_time"} <= set(
        feats[0]["properties"])
    ref = home_ranges(whole, method="mcp", percent=[95]).set_index("individual")["area_ha"]
    got = hr.set_index("individual")["area_ha"]
    # per animal, the equal-area CRS is centred on that animal: areas agree to well under 0.01 %
    assert got.sort_index().to_numpy() == pytest.approx(ref.sort_index().to_numpy(), rel=1e-5)
