"""Border crossings on the real China-Russia border near Hunchun (Natural Earth), with simulated animals whose
crossings are known by construction: camera-trap detections, a track along the border, a track with a gap
across it, straight legs across it (place and time known exactly), and tracks across the antimeridian."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, box

from econet.analytics import crossings as cx

warnings.filterwarnings("ignore", category=UserWarning)

BBOX = (129.5, 41.5, 132.5, 45.0)


@pytest.fixture(scope="module")
def countries(shared):
    import geopandas as gpd
    return gpd.read_file(shared / "data/ne_admin0/ne_50m_admin_0_countries.geojson", bbox=BBOX)


@pytest.fixture(scope="module")
def border_lines(shared):
    import geopandas as gpd
    return gpd.read_file(shared / "data/ne_admin0/ne_10m_admin_0_boundary_lines_land.geojson", bbox=BBOX)


def _crs():
    from econet.geo.crs import equal_area_crs
    return equal_area_crs((130.5, 42.5, 131.5, 43.8))


def _track(xy_m, start="2015-03-01", freq="1h", individual="LEO1", crs=None):
    crs = crs or _crs()
    lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xy_m[:, 0], xy_m[:, 1])
    return pd.DataFrame({"individual": individual, "species": "Panthera pardus orientalis",
                         "timestamp": pd.date_range(start, periods=len(lon), freq=freq, tz="UTC"),
                         "lon": lon, "lat": lat})


def _to_m(lon, lat, crs=None):
    x, y = Transformer.from_crs(4326, crs or _crs(), always_xy=True).transform(lon, lat)
    return np.array([x, y], dtype=float).T


# --------------------------------------------------------------------------------------- detections
def _camera_detections():
    # cameras ~10-20 km either side of the CHN-RUS border east of Hunchun (border near 131.2 E at 43.3 N)
    cams = {"C1": (130.95, 43.30), "C2": (131.00, 43.45), "C3": (130.90, 43.15),   # China
            "R1": (131.45, 43.30), "R2": (131.40, 43.45), "R3": (131.50, 43.15)}   # Russia
    rec = [  # individual, species, camera, date
        ("L01", "leopard", "C1", "2014-05-01"), ("L01", "leopard", "C2", "2014-07-01"),
        ("L01", "leopard", "C1", "2015-05-01"), ("L01", "leopard", "R1", "2015-06-10"),
        ("L01", "leopard", "C2", "2015-08-02"), ("L01", "leopard", "R2", "2015-09-01"),
        ("L02", "leopard", "C3", "2014-06-01"), ("L02", "leopard", "C3", "2015-06-01"),
        ("L03", "leopard", "R3", "2014-06-03"), ("L03", "leopard", "R1", "2015-04-01"),
        ("L04", "leopard", "R2", "2014-08-01"), ("L04", "leopard", "C2", "2014-09-15"),
        ("T01", "tiger", "R1", "2015-01-10"), ("T01", "tiger", "R3", "2015-02-10"),
        ("T02", "tiger", "C1", "2015-03-10"), ("T02", "tiger", "R2", "2015-03-20"),
    ]
    return pd.DataFrame([{"individualID": i, "scientificName": s, "eventStart": d + "T22:00:00Z",
                          "decimalLongitude": cams[c][0], "decimalLatitude": cams[c][1]} for i, s, c, d in rec])


def test_detections_known_crossings_and_counts(countries):
    det = cx.as_fixes(_camera_detections(), individual="individualID", timestamp="eventStart",
                      lon="decimalLongitude", lat="decimalLatitude", species="scientificName")
    res = cx.crossings(det, countries, "ISO_A3", period="year")
    ev = res.events
    # L01: 2015 C1->R1->C2->R2 = 3 crossings; L04: R2->C2 = 1; T02: C1->R2 = 1; nobody else crosses
    assert ev.groupby("individual").size().to_dict() == {"L01": 3, "L04": 1, "T02": 1}
    l01 = ev[ev["individual"] == "L01"]
    assert list(l01["direction"]) == ["CHN→RUS", "RUS→CHN", "CHN→RUS"]
    assert list(l01["time_before"].dt.strftime("%Y-%m-%d")) == ["2015-05-01", "2015-06-10", "2015-08-02"]
    assert list(l01["time_after"].dt.strftime("%Y-%m-%d")) == ["2015-06-10", "2015-08-02", "2015-09-01"]
    assert l01["crossing_time"].isna().all()  # detections: no interpolated time
    s = res.summary.set_index(["species", "period"])
    leo14, leo15 = s.loc[("leopard", "2014")], s.loc[("leopard", "2015")]
    # 2014: L01 CHN only, L02 CHN only, L03 RUS only, L04 both
    assert (leo14.n_individuals, leo14.detected_in_CHN, leo14.detected_in_RUS, leo14.in_both,
            leo14.only_CHN, leo14.only_RUS) == (4, 3, 2, 1, 2, 1)
    # 2015: L01 both, L02 CHN only, L03 RUS only
    assert (leo15.n_individuals, leo15.in_both, leo15.only_CHN, leo15.only_RUS) == (3, 1, 1, 1)
    assert leo15.share_transboundary == pytest.approx(1 / 3)
    tig = s.loc[("tiger", "2015")]
    assert (tig.n_individuals, tig.in_both, tig.only_RUS, tig.share_transboundary) == (2, 1, 1, 0.5)
    tot = res.totals.set_index(["species", "season"])
    assert tot.loc[("leopard", "2015 summer"), "n_crossings"] == 2   # 06-10 and 08-02
    assert tot.loc[("tiger", "2015 spring"), "directions"] == "CHN→RUS: 1"


def test_mcp_straddles_border(countries):
    det = cx.as_fixes(_camera_detections(), individual="individualID", timestamp="eventStart",
                      lon="decimalLongitude", lat="decimalLatitude", species="scientificName")
    res = cx.crossings(det, countries, "ISO_A3")
    m = res.mcps.set_index("individual")
    assert bool(m.loc["L01", "straddles_border"]) is True      # cameras C1, C2, R1, R2
    assert m.loc["L01", "share_CHN"] + m.loc["L01", "share_RUS"] == pytest.approx(1.0, abs=1e-6)
    assert 0.2 < m.loc["L01", "share_CHN"] < 0.8
    # the MCP of L01 is the quadrilateral C1-C2-R2-R1: its area, computed independently in the same CRS
    quad = shapely.Polygon(_to_m(*np.array([(130.95, 43.30), (131.00, 43.45), (131.40, 43.45), (131.45, 43.30)]).T,
                                 crs=res.zones.crs))
    assert m.loc["L01", "area_km2"] == pytest.approx(quad.area / 1e6, rel=1e-9)
    assert "L02" not in m.index  # a single camera site: no polygon


# ------------------------------------------------------------------------------------------- tracks
def _ns_border(res_or_zones):
    """The CHN-RUS border section running north-south east of Hunchun (metric CRS of the zones)."""
    z = res_or_zones
    part = shapely.intersection(z.border, shapely.Polygon(_to_m(*np.array(
        [(131.05, 43.05), (131.35, 43.05), (131.35, 43.6), (131.05, 43.6)]).T, crs=z.crs)))
    return max(getattr(part, "geoms", [part]), key=lambda g: g.length)


def test_track_along_border_has_no_spurious_crossings(countries):
    crs = _crs()
    z = cx.prepare_zones(countries, "ISO_A3", crs, region_lonlat=(130.5, 42.5, 131.5, 43.8), tolerance_m=150)
    line = _ns_border(z)
    d = np.arange(0, line.length, 400.0)
    pts = np.array([line.interpolate(v).coords[0] for v in d])
    nxt = np.array([line.interpolate(min(v + 1, line.length)).coords[0] for v in d])
    t = nxt - pts
    normal = np.column_stack([-t[:, 1], t[:, 0]]) / np.hypot(t[:, 0], t[:, 1])[:, None]
    zig = pts + normal * (60.0 * np.where(np.arange(len(pts)) % 2 == 0, 1, -1))[:, None]  # +-60 m, alternating
    # start 5 km inside China and end 5 km inside Russia (exactly one true crossing, at the end)
    start = _to_m([131.0], [43.3], crs)
    end = _to_m([131.45], [43.55], crs)
    track = _track(np.vstack([start, zig, end]), crs=crs)
    fixes = cx.as_fixes(track)
    strict = cx.crossings(fixes, countries, "ISO_A3", tracks=True, tolerance_m=0)
    assert len(strict.events) > 20  # without a tolerance the GPS zig-zag "crosses" at almost every fix
    res = cx.crossings(fixes, countries, "ISO_A3", tracks=True, tolerance_m=150)
    assert len(res.events) == 1
    assert res.events.iloc[0]["direction"] == "CHN→RUS"
    assert res.fixes["near_border"].sum() == len(zig)  # every zig-zag fix is inside the 150 m band


def test_straight_legs_place_and_time_interpolated(countries, border_lines):
    crs = _crs()
    a, b = _to_m([131.0], [43.30], crs)[0], _to_m([131.45], [43.32], crs)[0]
    speed = 2000.0  # m per hour
    n = int(np.hypot(*(b - a)) // speed)
    leg = a + (b - a) * (np.arange(n + 1)[:, None] * speed / np.hypot(*(b - a)))
    xy = np.vstack([leg, leg[::-1][1:], leg[1:]])  # A->B, B->A, A->B
    track = _track(xy, crs=crs)
    fixes = cx.as_fixes(track)
    res = cx.crossings(fixes, countries, "ISO_A3", tracks=True, tolerance_m=100, max_gap="6h")
    ev = res.events
    assert list(ev["direction"]) == ["CHN→RUS", "RUS→CHN", "CHN→RUS"]
    assert set(ev["method"]) == {"border"}
    # the expected place: where the straight leg meets the shared border, computed here independently
    to_test = Transformer.from_crs(res.zones.crs, crs, always_xy=True)
    border = shapely.transform(res.zones.border, lambda c: np.column_stack(to_test.transform(c[:, 0], c[:, 1])))
    hit = shapely.intersection(LineString([a, b]), border)
    hx, hy = shapely.get_coordinates(hit)[0]
    elon, elat = Transformer.from_crs(crs, 4326, always_xy=True).transform(hx, hy)
    assert np.allclose(ev["lon"], elon, atol=2e-5) and np.allclose(ev["lat"], elat, atol=2e-5)
    # expected time: constant speed along the leg
    d_hit = np.hypot(hx - a[0], hy - a[1])
    t0 = pd.Timestamp("2015-03-01", tz="UTC")
    legh = n  # hours per leg
    expected = [t0 + pd.Timedelta(hours=d_hit / speed),
                t0 + pd.Timedelta(hours=2 * legh - d_hit / speed),
                t0 + pd.Timedelta(hours=2 * legh + d_hit / speed)]
    for got, exp in zip(ev["crossing_time"], expected):
        assert abs((got - exp).total_seconds()) < 120  # within 2 minutes (projection differences ~ metres)
    # hours on each side add up to the observed time, and China's share is the leg fraction west of the border
    tbm = res.time_by_month.groupby("side")["hours"].sum()
    total = (fixes["timestamp"].iloc[-1] - fixes["timestamp"].iloc[0]).total_seconds() / 3600
    assert tbm.sum() == pytest.approx(total)
    assert tbm["CHN"] == pytest.approx(3 * d_hit / speed, abs=0.05)
    # the Natural Earth 1:10m line as border: the crossing moves onto that line
    res10 = cx.crossings(fixes, countries, "ISO_A3", border=border_lines, tracks=True, tolerance_m=100)
    assert len(res10.events) == 3
    on_line = shapely.distance(shapely.points(_to_m(res10.events["lon"].to_numpy(), res10.events["lat"].to_numpy(),
                                                    res10.zones.crs)), res10.zones.border)
    assert set(res10.events["method"]) == {"border"} and np.all(on_line < 1.0)
    assert (res10.events["lon"] - ev["lon"]).abs().max() > 0.005  # 1:10m and 1:50m borders differ by ~1 km here


def test_gap_across_border_is_flagged(countries):
    crs = _crs()
    west = _to_m(np.linspace(130.95, 131.05, 48), np.full(48, 43.3), crs)
    east = _to_m(np.linspace(131.40, 131.45, 24), np.full(24, 43.3), crs)
    t1 = pd.date_range("2015-03-01", periods=48, freq="1h", tz="UTC")
    t2 = pd.date_range(t1[-1] + pd.Timedelta(days=5), periods=24, freq="1h", tz="UTC")
    tr = _track(np.vstack([west, east]), crs=crs)
    tr["timestamp"] = t1.append(t2)
    res = cx.crossings(cx.as_fixes(tr), countries, "ISO_A3", tracks=True, tolerance_m=100, max_gap="1D")
    assert len(res.events) == 1
    e = res.events.iloc[0]
    assert e["gap"] and e["gap_hours"] == pytest.approx(120.0)
    assert e["time_before"] == t1[-1] and e["time_after"] == t2[0]
    assert t1[-1] < e["crossing_time"] < t2[0]
    tbm = res.time_by_month.groupby("side")["hours"].sum()
    assert tbm["(gap)"] == pytest.approx(120.0)
    assert tbm["CHN"] == pytest.approx(47.0) and tbm["RUS"] == pytest.approx(23.0)
    assert res.totals.iloc[0]["n_gap_crossings"] == 1


def test_track_across_antimeridian_zones():
    import geopandas as gpd
    zones = gpd.GeoDataFrame({"zone": ["WEST", "EAST"]},
                             geometry=[box(170, 60, 180, 70), box(-180, 60, -170, 70)], crs=4326)
    lon = np.concatenate([np.linspace(178.0, 179.9, 20), np.linspace(-179.9, -178.0, 20)])
    tr = pd.DataFrame({"individual": "CRANE1", "species": "Grus japonensis",
                       "timestamp": pd.date_range("2015-04-01", periods=40, freq="1h", tz="UTC"),
                       "lon": lon, "lat": np.full(40, 65.0)})
    res = cx.crossings(cx.as_fixes(tr), zones, "zone", tracks=True)
    assert len(res.events) == 1
    e = res.events.iloc[0]
    assert e["direction"] == "WEST→EAST"
    assert abs(abs(e["lon"]) - 180.0) < 1e-6  # on the antimeridian, not at the other side of the globe
    assert e["lat"] == pytest.approx(65.0, abs=0.01)
    # the step across is 0.2 degrees long (about 9.4 km) and crosses halfway in time
    assert e["crossing_time"] == pd.Timestamp("2015-04-01 19:30", tz="UTC")
    # the map/GIS line is cut at the antimeridian instead of spanning the globe
    from econet.analytics.tracks import track_lines
    line = track_lines(tr.assign(keep=True)).geometry.iloc[0]
    assert line.geom_type == "MultiLineString"
    assert max(g.length for g in line.geoms) < 3


def test_track_across_antimeridian_in_chukotka(shared):
    import geopandas as gpd
    countries = gpd.read_file(shared / "data/ne_admin0/ne_50m_admin_0_countries.geojson")
    countries = countries[countries["ISO_A3"].isin(["RUS", "USA"])]
    lon = np.concatenate([np.linspace(176.0, 179.8, 30), np.linspace(-179.8, -176.0, 30)])
    tr = pd.DataFrame({"individual": "WOLF1", "species": "Canis lupus",
                       "timestamp": pd.date_range("2016-01-01", periods=60, freq="3h", tz="UTC"),
                       "lon": lon, "lat": np.full(60, 66.2)})
    res = cx.crossings(cx.as_fixes(tr), countries, "ISO_A3", tracks=True)
    assert len(res.events) == 0
    assert set(res.fixes["side"].dropna()) == {"RUS"}
    assert res.individuals.iloc[0]["status"] == "only RUS"
    assert res.mcps.iloc[0]["area_km2"] < 5000  # a thin sliver along the parallel, not a polygon around the globe


def test_season_labels_wrap_new_year():
    ts = pd.Series(pd.to_datetime(["2014-12-15", "2015-01-15", "2015-07-01"], utc=True))
    assert list(cx.season_of(ts)) == ["2015 winter", "2015 winter", "2015 summer"]


def test_bad_input_names_row_and_field():
    from econet.errors import EconetError
    df = pd.DataFrame({"individual": ["a", "b"], "timestamp": ["2015-01-01", "not a date"], "lon": [131, 131],
                       "lat": [43, 43]})
    with pytest.raises(EconetError, match="row 3.*timestamp"):
        cx.as_fixes(df)
    with pytest.raises(EconetError, match="no individual column 'animal'"):
        cx.as_fixes(df.rename(columns={"individual": "x"}), individual="animal")


def test_cli_crossings_writes_tables_and_map(shared, tmp_path):
    from econet.cli.main import main
    det = tmp_path / "det.csv"
    _camera_detections().to_csv(det, index=False)
    out = tmp_path / "out"
    countries = shared / "data/ne_admin0/ne_50m_admin_0_countries.geojson"
    with pytest.raises(SystemExit) as e:
        main(["crossings", str(det), "--zones", str(countries), "--out", str(out), "--period", "year", "-q",
              "--format", "json"])
    assert e.value.code in (0, None)
    names = {p.name for p in out.iterdir()}
    assert {"individuals.csv", "summary.csv", "crossings.csv", "totals_by_season.csv", "mcps.csv", "crossings.gpkg",
            "map.png"} <= names
    ev = pd.read_csv(out / "crossings.csv")
    assert len(ev) == 5
    # bad input: exit 2, one line, nothing written
    bad = tmp_path / "bad.csv"
    bad.write_text("individualID,eventStart,decimalLongitude,decimalLatitude\nL1,yesterday,131,43\n")
    out2 = tmp_path / "out2"
    with pytest.raises(SystemExit) as e:
        main(["crossings", str(bad), "--zones", str(countries), "--out", str(out2), "-q"])
    assert e.value.code == 2
    assert not out2.exists() or not any(out2.iterdir())


def test_border_lines_alone_give_the_same_sides(border_lines, countries, tmp_path, shared):
    """Natural Earth boundary lines name the country on each side (adm0_a3_l/r): enough to count crossings."""
    det = cx.as_fixes(_camera_detections(), individual="individualID", timestamp="eventStart",
                      lon="decimalLongitude", lat="decimalLatitude", species="scientificName")
    z = cx.zones_from_border_lines(border_lines, "adm0_a3_l", "adm0_a3_r", (det["lon"].to_numpy(), det["lat"].to_numpy()))
    by_lines = cx.crossings(det, z, "side", period="year")
    by_polys = cx.crossings(det, countries, "ISO_A3", period="year")
    assert list(by_lines.fixes["side"]) == list(by_polys.fixes["side"])
    assert list(by_lines.events["direction"]) == list(by_polys.events["direction"])
    from econet.cli.main import main
    csv = tmp_path / "det.csv"
    _camera_detections().to_csv(csv, index=False)
    with pytest.raises(SystemExit) as e:
        main(["crossings", str(csv), "--zones", str(shared / "data/ne_admin0/ne_10m_admin_0_boundary_lines_land.geojson"),
              "--out", str(tmp_path / "o"), "-q"])
    assert e.value.code in (0, None)
    assert len(pd.read_csv(tmp_path / "o" / "crossings.csv")) == 5


def test_time_is_cut_at_month_boundaries():
    s = np.array(["2015-01-31T20:00", "2015-02-10T00:00"], dtype="datetime64[ns]")
    e = np.array(["2015-03-01T04:00", "2015-02-10T06:00"], dtype="datetime64[ns]")
    ms, me, mi = cx._split_by_month(s, e)
    hours = (me - ms).astype(np.int64) / 3.6e12
    got = sorted(zip(mi.tolist(), ms.astype("datetime64[M]").astype(str).tolist(), hours.tolist()))
    assert got == [(0, "2015-01", 4.0), (0, "2015-02", 672.0), (0, "2015-03", 4.0), (1, "2015-02", 6.0)]
