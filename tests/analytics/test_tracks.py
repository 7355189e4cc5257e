"""GPS tracks: Movebank import, cleaning with flags (nothing dropped), stopovers, migration routes across the
Mongolia-China border (Dauria), corridor use against random steps, and the `econet tracks` commands."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from econet.analytics import tracks as tr
from econet.analytics import tracksim

warnings.filterwarnings("ignore", category=UserWarning)
# movingpandas 0.23 still calls pandas methods with inplace=True (deprecated in pandas 3.1): not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword")


@pytest.fixture(scope="module")
def countries(shared):
    import geopandas as gpd
    return gpd.read_file(shared / "data/ne_admin0/ne_50m_admin_0_countries.geojson", bbox=(110, 40, 135, 55))


@pytest.fixture()
def movebank(tmp_path):
    f = tracksim.simulate_tracks(4, 300, seed=11)
    f, truth = tracksim.inject_errors(f, n_duplicates=6, n_spikes=4, seed=5)
    mb = tracksim.to_movebank(f)
    mb.loc[10, "visible"] = "false"                       # marked hidden in Movebank
    mb.loc[20, ["location-long", "location-lat"]] = np.nan  # a fix without location
    mb.loc[[10, 20], "individual-local-identifier"] = "PAR0001"
    path = tmp_path / "events.csv"
    mb.to_csv(path, index=False)
    ref = tracksim.to_movebank_reference(["PAR0001", "PAR0002", "PAR0003", "PAR0004"], "Panthera pardus orientalis",
                                         ["2015-01-01", "2015-01-03", "2015-01-01", "2015-01-01"],
                                         ["", "", "2015-02-01", ""])
    rpath = tmp_path / "reference.csv"
    ref.to_csv(rpath, index=False)
    return path, rpath, f, truth


def test_read_and_clean_flags_every_bad_fix(movebank):
    path, rpath, f, truth = movebank
    raw = tr.read_movebank(path)
    assert len(raw) == len(f)
    assert {"individual", "timestamp", "lon", "lat", "tag", "sensor", "species"} <= set(raw.columns)
    c = tr.clean(raw, tr.read_reference(rpath))
    assert len(c) == len(raw)  # nothing dropped
    counts = c["flag"].value_counts().to_dict()
    assert counts["no_location"] == 1 and counts["marked_outlier"] == 1
    # PAR0002 deployed on Jan 3 (16 three-hourly fixes before), PAR0003 removed on Feb 1 (fixes after Feb 1 00:00)
    ts = raw["timestamp"]
    before = ((raw["individual"] == "PAR0002") & (ts < pd.Timestamp("2015-01-03", tz="UTC"))).sum()
    after = ((raw["individual"] == "PAR0003") & (ts > pd.Timestamp("2015-02-01", tz="UTC"))).sum()
    assert counts["outside_deployment"] == before + after
    # every injected duplicate and spike that is still in play is found, nothing else
    truth_rows = f.reset_index(drop=True)
    inplay = (c["flag"].isin(["", "duplicate", "speed"])).to_numpy()
    exp_dup = ((truth_rows["true_flag"] == "duplicate").to_numpy() & inplay).sum()
    exp_spk = ((truth_rows["true_flag"] == "speed").to_numpy() & inplay).sum()
    assert counts.get("duplicate", 0) == exp_dup
    assert counts.get("speed", 0) == exp_spk
    assert set(c.loc[c["flag"] == "speed"].index) == set(np.flatnonzero((truth_rows["true_flag"] == "speed").to_numpy()
                                                                      & inplay))
    rep = tr.cleaning_report(c)
    assert rep["total"].sum() == len(c) and rep["kept"].sum() == int(c["keep"].sum())


def test_speed_limit_per_species():
    assert tr._speed_limit("Panthera tigris", None) == 50.0
    assert tr._speed_limit("Grus leucogeranus", None) == 150.0  # unknown crane: the fallback
    assert tr._speed_limit("Grus leucogeranus", {"Grus": 90}) == 90.0
    assert tr._speed_limit("anything", 12) == 12.0


def _dauria_gazelle():
    """A Mongolian gazelle: summer around 114.5E 47.5N (Mongolia), autumn trek east, winter near 118.6E 48.3N
    (China, Hulunbuir), with a 3-day stop on the way."""
    rng = np.random.default_rng(4)
    summer = pd.date_range("2015-06-01", "2015-08-31 21:00", freq="6h", tz="UTC")
    trek = pd.date_range("2015-09-01", "2015-11-30 21:00", freq="6h", tz="UTC")
    winter = pd.date_range("2015-12-01", "2016-02-28 21:00", freq="6h", tz="UTC")
    s_lon = 114.5 + rng.normal(0, 0.05, len(summer))
    s_lat = 47.5 + rng.normal(0, 0.03, len(summer))
    frac = np.linspace(0, 1, len(trek))
    stop = (trek >= pd.Timestamp("2015-10-10", tz="UTC")) & (trek < pd.Timestamp("2015-10-13", tz="UTC"))
    frac[stop] = frac[np.argmax(stop)]
    frac[trek >= pd.Timestamp("2015-10-13", tz="UTC")] = np.linspace(frac[np.argmax(stop)], 1,
                                                                       (trek >= pd.Timestamp("2015-10-13", tz="UTC")).sum())
    t_lon = 114.5 + frac * (118.6 - 114.5)
    t_lat = 47.5 + frac * (48.3 - 47.5)
    w_lon = 118.6 + rng.normal(0, 0.05, len(winter))
    w_lat = 48.3 + rng.normal(0, 0.03, len(winter))
    return pd.DataFrame({"individual": "G1", "species": "Procapra gutturosa",
                         "timestamp": summer.append(trek).append(winter),
                         "lon": np.concatenate([s_lon, t_lon, w_lon]), "lat": np.concatenate([s_lat, t_lat, w_lat]),
                         "keep": True})


def test_migration_stopover_ranges_and_countries(countries):
    g = _dauria_gazelle()
    stops = tr.stopovers(g, max_diameter_m=500, min_duration="48h", zones=countries, zone_field="ISO_A3")
    trek_stops = stops[(stops["start_time"] >= pd.Timestamp("2015-09-01", tz="UTC"))
                       & (stops["end_time"] <= pd.Timestamp("2015-11-30", tz="UTC"))]
    assert len(trek_stops) == 1
    s = trek_stops.iloc[0]
    assert s["start_time"] == pd.Timestamp("2015-10-10", tz="UTC")
    assert s["duration_h"] == pytest.approx(72.0)  # the trek resumes from the stop on Oct 13, 00:00
    assert s["zone"] == "MNG"
    seasons = {12: "winter", 1: "winter", 2: "winter", 6: "summer", 7: "summer", 8: "summer"}
    ranges = tr.seasonal_ranges(g, seasons, zones=countries, zone_field="ISO_A3")
    r = ranges.set_index("season")
    assert set(r.index) == {"2015 summer", "2016 winter"}
    assert r.loc["2015 summer", "share_MNG"] == pytest.approx(1.0)
    assert r.loc["2016 winter", "share_CHN"] == pytest.approx(1.0)
    routes = tr.migration_routes(g, seasons, zones=countries, zone_field="ISO_A3", stops=stops)
    assert len(routes) == 1
    route = routes.iloc[0]
    assert (route["from_season"], route["to_season"]) == ("2015 summer", "2016 winter")
    # the border zig-zags here: the expected order comes from a plain spatial join of the route's fixes
    import geopandas as gpd
    seg = g[(g["timestamp"] >= route["start"]) & (g["timestamp"] <= route["end"])]
    pts = gpd.GeoDataFrame(seg, geometry=gpd.points_from_xy(seg["lon"], seg["lat"]), crs=4326)
    seq = gpd.sjoin(pts, countries[["ISO_A3", "geometry"]], predicate="within")["ISO_A3"].tolist()
    runs = [c for i, c in enumerate(seq) if i == 0 or seq[i - 1] != c]
    assert route["countries"] == " > ".join(runs)
    assert runs[0] == "MNG" and runs[-1] == "CHN"
    assert route["n_stopovers"] == 1
    # straight-ish 4.1 deg of longitude at ~48 N: about 320 km
    assert 300 < route["length_km"] < 340
    visits = tr.zones_passed(g, countries, "ISO_A3")
    zs = [v for v in visits["zone"] if v is not None]
    assert zs[0] == "MNG" and zs[-1] == "CHN" and len(zs) == len(runs)


def _corridor_walker(n=400, seed=3):
    """An animal that walks up and down a 1 km wide valley (the corridor), plus the corridor polygon."""
    from pyproj import Transformer

    from econet.geo.crs import equal_area_crs
    rng = np.random.default_rng(seed)
    crs = equal_area_crs((130.5, 42.5, 131.5, 43.8))
    y = np.cumsum(rng.normal(0, 3000, n))
    x = rng.uniform(-400, 400, n)
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(x, y)
    import geopandas as gpd
    corr = gpd.GeoDataFrame(geometry=[box(-500, y.min() - 5000, 500, y.max() + 5000)], crs=crs)
    f = pd.DataFrame({"individual": "TIG1", "species": "Panthera tigris",
                      "timestamp": pd.date_range("2015-01-01", periods=n, freq="2h", tz="UTC"),
                      "lon": lon, "lat": lat, "keep": True})
    return f, corr


def test_corridor_use_beats_random_steps():
    f, corr = _corridor_walker()
    res = tr.corridor_use(f, corr, n_random=99, seed=1)
    assert res["observed_share"] == 1.0  # every step midpoint is inside the valley
    assert res["expected_share"] < 0.8
    assert res["p_value"] == pytest.approx(0.01)
    assert res["n_steps"] == len(f) - 1


def test_corridor_use_null_and_raster_mask():
    from affine import Affine

    from econet.geo.raster import Raster
    f = tracksim.simulate_tracks(3, 400, seed=7).assign(keep=True)
    import geopandas as gpd
    corr = gpd.GeoDataFrame(geometry=[box(130.9, 42.9, 131.2, 43.4)], crs=4326)
    res = tr.corridor_use(f, corr, n_random=99, seed=2)
    assert 0 < res["observed_share"] < 1
    assert res["p_value"] > 0.05                     # a walk that ignores the corridor shows no preference
    assert res["ratio"] == pytest.approx(1.0, abs=0.15)
    # the same corridor as a raster mask (0.01 degree cells, lon/lat)
    nx, ny = 300, 300
    tf = Affine(0.01, 0, 129.5, 0, -0.01, 44.5)
    data = np.zeros((ny, nx))
    r0, c0 = int((44.5 - 43.4) / 0.01), int((130.9 - 129.5) / 0.01)
    r1, c1 = int((44.5 - 42.9) / 0.01), int((131.2 - 129.5) / 0.01)
    data[r0:r1, c0:c1] = 1.0
    from pyproj import CRS
    mask = Raster(data, tf, CRS.from_epsg(4326))
    res_r = tr.corridor_use(f, mask, n_random=19, seed=2)
    assert res_r["observed_share"] == pytest.approx(res["observed_share"], abs=0.01)


def test_cli_tracks_import_clean_crossings_homerange(movebank, shared, tmp_path):
    import pyogrio

    from econet.cli.main import main
    path, rpath, f, truth = movebank
    countries = shared / "data/ne_admin0/ne_50m_admin_0_countries.geojson"
    gpkg = tmp_path / "t.gpkg"

    def run(*args):
        with pytest.raises(SystemExit) as e:
            main([*map(str, args), "-q"])
        return e.value.code

    assert run("tracks", "import", path, "--reference", rpath, "--out", gpkg, "--format", "csv") in (0, None)
    layers = {n for n, _ in pyogrio.list_layers(gpkg)}
    assert layers == {"fixes", "tracks"}
    fixes = pyogrio.read_dataframe(gpkg, layer="fixes")
    assert len(fixes) == len(f) and (~fixes["keep"]).sum() > 0
    flagged = tmp_path / "flagged.csv"
    assert run("tracks", "clean", path, "--out", flagged) in (0, None)
    fl = pd.read_csv(flagged, keep_default_na=False)
    assert len(fl) == len(f) and set(fl["flag"]) >= {"", "duplicate", "speed", "no_location"}
    out = tmp_path / "cx"
    assert run("tracks", "crossings", gpkg, "--zones", countries, "--out", out) in (0, None)
    assert {"crossings.csv", "time_by_month.csv", "map.png", "crossings.gpkg"} <= {p.name for p in out.iterdir()}
    tbm = pd.read_csv(out / "time_by_month.csv")
    assert tbm["hours"].sum() > 0
    hr = tmp_path / "hr.gpkg"
    assert run("tracks", "homerange", gpkg, "--method", "mcp", "--percent", "95", "--zones", countries,
               "--out", hr) in (0, None)
    areas = pd.read_csv(tmp_path / "hr.csv")
    assert len(areas) == 4 and (areas["area_km2"] > 0).all()
    share_cols = [c for c in areas.columns if c.startswith("share_")]
    assert (areas[share_cols].sum(axis=1) <= 1 + 1e-9).all()
    cu = tmp_path / "cu.csv"
    assert run("tracks", "corridor-use", gpkg, "--corridors", countries, "--random", "9", "--out", cu) in (0, None)
    assert len(pd.read_csv(cu)) == 4
    # not a Movebank file: one-line error, exit 2
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert run("tracks", "import", bad, "--out", tmp_path / "x.gpkg") == 2
    assert not (tmp_path / "x.gpkg").exists()


def test_speed_filter_equals_a_full_movingpandas_run():
    """The windowed use of movingpandas' OutlierCleaner removes exactly what one run over the track removes,
    including back-to-back spikes and a spike near the end."""
    import geopandas as gpd
    import movingpandas as mpd
    f = tracksim.simulate_tracks(1, 600, interval="1h", seed=21)
    for i, km in ((50, 200), (51, 220), (300, 80), (301, 90), (302, 100), (597, 300)):
        f.loc[i, "lat"] += km / 111.0
    got = set(tr._speed_outliers(f, 20.0).tolist())
    gdf = gpd.GeoDataFrame({"t": f["timestamp"].dt.tz_convert(None), "row": f.index},
                           geometry=gpd.points_from_xy(f["lon"], f["lat"]), crs=4326).set_index("t")
    cleaned = mpd.OutlierCleaner(mpd.Trajectory(gdf, traj_id="x")).clean(v_max=20.0, units=("km", "h"))
    expected = set(f.index) - set(cleaned.df["row"])
    assert got == expected and {50, 51, 300, 301, 302, 597} <= got


def test_cli_migration(shared, tmp_path):
    from econet.cli.main import main
    csv = tmp_path / "gazelle.csv"
    _dauria_gazelle().drop(columns="keep").to_csv(csv, index=False)
    out = tmp_path / "mig"
    with pytest.raises(SystemExit) as e:
        main(["tracks", "migration", str(csv), "--zones", str(shared / "data/ne_admin0/ne_50m_admin_0_countries.geojson"),
              "--stop-diameter", "500", "--stop-duration", "48h", "--out", str(out), "-q"])
    assert e.value.code in (0, None)
    routes = pd.read_csv(out / "routes.csv")
    assert len(routes) == 1 and routes["countries"].iloc[0].startswith("MNG") and routes["n_stopovers"].iloc[0] == 1
    import pyogrio
    assert {n for n, _ in pyogrio.list_layers(out / "migration.gpkg")} == {"ranges", "routes", "stopovers"}
    assert (out / "map.png").stat().st_size > 10000
    with pytest.raises(SystemExit) as e:
        main(["tracks", "migration", str(csv), "--seasons", "13=never", "--out", str(tmp_path / "x"), "-q"])
    assert e.value.code == 2
