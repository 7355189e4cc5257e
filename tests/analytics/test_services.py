"""Ecosystem services as InVEST defines them: carbon (pools x area, what is not counted, change) and annual
water yield (Budyko/Fu-Zhang), on constructed rasters with answers worked out by hand, the demo region's real
land cover, the CLI, and natcap.invest itself where it is installed."""

from __future__ import annotations

import io
import math
from contextlib import redirect_stdout

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from rasterio.crs import CRS
from shapely.geometry import box

from econet.analytics import services as sv
from econet.errors import EconetError
from econet.geo.raster import Raster, write_raster

EA = CRS.from_epsg(6933)


def grid(data, cell=1000.0, crs=EA) -> Raster:
    """North-up grid with its top-left corner at (0, rows*cell): cell (r, c) spans x c..c+1, y rows-r-1..rows-r km."""
    data = np.asarray(data, dtype=float)
    return Raster(data=data, transform=Affine(cell, 0, 0, 0, -cell, data.shape[0] * cell), crs=crs, nodata=255)


@pytest.fixture()
def table(tmp_path):
    p = tmp_path / "pools.csv"
    p.write_text("lucode,lulc_name,c_above,c_below,c_soil,c_dead\n"
                 "1,forest,10,2,30,1\n"
                 "2,steppe,5,1,20,\n"          # dead matter without a sourced value
                 "3,water,0,0,0,0\n")
    return sv.load_carbon_table(p)


def test_carbon_pools_times_area(table):
    # 1000 m cells = 100 ha; classes [[1,1,2],[2,3,nodata]]
    lc = grid([[1, 1, 2], [2, 3, np.nan]])
    res = sv.carbon_storage(lc, table)
    # forest 43 Mg/ha x 200 ha = 8600; steppe 26 (dead not counted) x 200 = 5200; water 0
    assert res.total_mg == pytest.approx(8600 + 5200)
    bc = res.by_class.set_index("lucode")
    assert bc.loc[1, "total_mg"] == pytest.approx(8600)
    assert bc.loc[2, "pools_not_counted"] == "c_dead"
    assert list(res.not_counted_classes["lucode"]) == [2]
    assert np.isnan(res.total_density[1, 2])
    assert res.notes and "lower bounds" in res.notes[0]
    # left column (x 0..1 km): cells (0,0) forest and (1,0) steppe -> 4300 + 2600 = 6900 Mg on 200 ha
    zones = gpd.GeoDataFrame({"zid": ["left", "all"]}, geometry=[box(0, 0, 1000, 2000), box(0, 0, 3000, 2000)],
                             crs=EA)
    z = sv.carbon_by_zone(res, lc, zones, zone_id="zid").set_index("zone_id")
    assert z.loc["left", "total_mg"] == pytest.approx(6900)
    assert z.loc["left", "density_mg_ha"] == pytest.approx(6900 / 200)
    assert z.loc["left", "c_soil_mg"] == pytest.approx(3000 + 2000)
    assert "steppe (2): c_dead on 100 ha" in z.loc["left", "not_counted"]
    assert z.loc["all", "total_mg"] == pytest.approx(13800)
    assert z.loc["all", "mapped_ha"] == pytest.approx(500)     # the nodata cell is not mapped
    assert z.loc["all", "area_ha"] == pytest.approx(600)


def test_carbon_change(table):
    cur = grid([[1, 2], [2, 2]])
    fut = grid([[1, 1], [3, 2]])
    c, f, delta = sv.carbon_change(cur, fut, table)
    # cell (0,1): steppe 26 -> forest 43 (+17); cell (1,0): steppe 26 -> water 0 (-26)
    np.testing.assert_allclose(delta, [[0, 17], [-26, 0]])
    ch = sv.change_by_zone(c, f, cur, fut, gpd.GeoDataFrame(geometry=[box(0, 0, 2000, 2000)], crs=EA))
    assert ch.loc[0, "change_mg"] == pytest.approx((17 - 26) * 100)
    with pytest.raises(EconetError, match="one grid"):
        sv.carbon_change(cur, grid([[1, 2, 3]]), table)


def test_carbon_rejects_missing_class_and_bad_table(table, tmp_path):
    with pytest.raises(EconetError, match="class\\(es\\) 7"):
        sv.carbon_storage(grid([[1, 7]]), table)
    bad = tmp_path / "bad.csv"
    bad.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,10,x,3,4\n")
    with pytest.raises(EconetError, match="row 2"):
        sv.load_carbon_table(bad)
    neg = tmp_path / "neg.csv"
    neg.write_text("lucode,c_above,c_below,c_soil,c_dead\n1,-1,0,3,4\n")
    with pytest.raises(EconetError, match="zero or positive"):
        sv.load_carbon_table(neg)
    with pytest.raises(EconetError, match="missing column"):
        sv.load_carbon_table(_write(tmp_path / "m.csv", "lucode,c_above\n1,2\n"))


def _write(p, text):
    p.write_text(text)
    return p


def test_geographic_cell_area():
    # a 1 x 1 degree cell on the equator: 111.32 km x 110.57 km = 12,308 km2 (WGS84 ellipsoid)
    g = Raster(data=np.zeros((1, 1)), transform=Affine(1, 0, 0, 0, -1, 0.5), crs=CRS.from_epsg(4326))
    assert sv.cell_area_ha(g)[0, 0] / 100 == pytest.approx(12308, rel=2e-3)


def test_shipped_table_only_sourced_values(shared):
    """The shipped IGBP table is the peers' sourced table (same soil values) plus the biomass and dead-matter pools
    filled from IPCC 2006 defaults; every value carries its citation and nothing else is filled in."""
    ours = sv.load_carbon_table()
    theirs = sv.load_carbon_table(shared / "data" / "carbon_pools" / "carbon_pools_igbp.csv")
    np.testing.assert_array_equal(ours["c_soil"].to_numpy(), theirs["c_soil"].to_numpy())
    for p in sv.POOLS:
        both = ~np.isnan(theirs[p].to_numpy())
        np.testing.assert_array_equal(ours[p].to_numpy()[both], theirs[p].to_numpy()[both])
    for code, r in ours.iterrows():
        for p in sv.POOLS:
            if not np.isnan(r[p]):
                assert "IPCC 2006" in str(r[f"source_{p[2:]}"]), (code, p)


def test_shipped_table_biomass_and_dead_pools_by_hand():
    """The filled pools are the cited IPCC figures converted by hand: grassland (Table 6.4, cold temperate - wet:
    peak above-ground 2.4 and total 13.6 t d.m./ha) x carbon fraction 0.47 (Table 4.3); dead organic matter 0 on
    grassland and cropland (Tier-1 assumption); every pool no table gives stays empty (not counted)."""
    t = sv.load_carbon_table()
    assert t.loc[10, "c_above"] == pytest.approx(2.4 * 0.47)
    assert t.loc[10, "c_below"] == pytest.approx((13.6 - 2.4) * 0.47)
    assert t.loc[10, "c_dead"] == 0 and t.loc[12, "c_dead"] == 0
    assert "Table 6.4" in t.loc[10, "source_above"] and "Table 4.3" in t.loc[10, "source_above"]
    assert "Table 6.4" in t.loc[10, "source_below"]
    for code in (1, 2, 3, 4, 5, 6, 7, 8, 9):       # Table 4.7 and the litter table were not readable
        assert all(np.isnan(t.loc[code, p]) for p in ("c_above", "c_below", "c_dead")), code
    assert np.isnan(t.loc[12, "c_above"]) and np.isnan(t.loc[12, "c_below"])
    by_pool = sv.counted_by_pool(t).set_index("pool")
    assert by_pool.loc["c_above", "classes_counted"] == "grasslands (10)"
    assert by_pool.loc["c_dead", "classes_counted"] == "grasslands (10); croplands (12)"
    assert by_pool.loc["c_soil", "n_counted"] == 11


def test_pa_total_with_shipped_table_by_hand():
    """A PA of 2 forest, 1 grassland, 1 cropland and 1 water cell (100 ha each) with the shipped table:
    forest 95 (soil only), grassland 1.128 + 5.264 + 95 + 0 = 101.392, cropland 65.55 + 0, water nothing."""
    lc = grid([[1, 1, 10], [12, 0, 4]])
    res = sv.carbon_storage(lc, sv.load_carbon_table())
    pa = gpd.GeoDataFrame({"name": ["PA"]}, geometry=[box(0, 1000, 3000, 2000).union(box(0, 0, 2000, 1000))], crs=EA)
    z = sv.carbon_by_zone(res, lc, pa, zone_id="name").set_index("zone_id").loc["PA"]
    expected = 2 * 100 * 95 + 100 * (1.128 + 5.264 + 95 + 0) + 100 * (65.55 + 0) + 0
    assert z["total_mg"] == pytest.approx(expected)                     # 35694.2 Mg C
    assert z["c_above_mg"] == pytest.approx(100 * 1.128)
    assert z["c_below_mg"] == pytest.approx(100 * 5.264)
    assert z["c_dead_mg"] == pytest.approx(0)
    assert z["mapped_ha"] == pytest.approx(500)
    assert "evergreen needleleaf forest (1): c_above,c_below,c_dead on 200 ha" in z["not_counted"]
    assert "croplands (12): c_above,c_below on 100 ha" in z["not_counted"]
    assert "grasslands" not in z["not_counted"]
    bp = res.by_pool.set_index("pool")
    assert bp.loc["c_above", "classes_counted"] == "grasslands (10)"
    assert bp.loc["c_above", "area_counted_ha"] == pytest.approx(100)
    assert bp.loc["c_above", "pct_area_counted"] == pytest.approx(100 / 600 * 100)
    assert bp.loc["c_dead", "area_counted_ha"] == pytest.approx(200)
    assert any(n.startswith("c_above (above-ground biomass): counted for grasslands (10)") for n in res.notes)


def test_demo_region_carbon_per_pa():
    """Real MODIS land cover of the demo region: forests carry soil carbon only (SOCref 95 Mg C/ha; biomass pools
    not counted), grassland 101.392 and cropland 65.55 Mg C/ha, and the per-class totals add up to the map total."""
    from econet.demo.region import build_region

    r = build_region()
    res = sv.carbon_storage(r.landcover, sv.load_carbon_table())
    assert res.by_class["total_mg"].sum() == pytest.approx(res.total_mg)
    cell_ha = 1500.0 ** 2 / 1e4
    bc = res.by_class.set_index("lucode")
    forest = bc.loc[[1, 4, 5]]
    assert np.allclose(forest["total_mg"], 95.0 * forest["area_ha"])
    assert bc.loc[10, "total_mg"] == pytest.approx(101.392 * bc.loc[10, "area_ha"])
    assert bc.loc[12, "total_mg"] == pytest.approx(65.55 * bc.loc[12, "area_ha"])
    assert np.allclose(res.by_class["area_ha"] % cell_ha, 0)
    z = sv.carbon_by_zone(res, r.landcover, r.pas, zone_id="name").set_index("zone_id")
    bikin = z.loc["Bikin National Park"]
    assert bikin["density_mg_ha"] == pytest.approx(95.0)       # all forest cells
    assert "c_above" in bikin["not_counted"]                    # forest biomass pools reported as not counted
    assert not res.not_counted_classes.empty
    bp = res.by_pool.set_index("pool")
    assert bp.loc["c_above", "classes_counted"] == "grasslands (10)"
    assert 0 < bp.loc["c_above", "pct_area_counted"] < 10


# ----------------------------------------------------------------------------------------------- water
def _bio(tmp_path):
    p = tmp_path / "bio.csv"
    p.write_text("lucode,lulc_name,kc,root_depth,lulc_veg\n1,forest,1.0,1000,1\n2,water,1.2,,0\n")
    return sv.load_biophysical_table(p)


def test_fractp_by_hand():
    # P 1000, ET0 800, Kc 1, root 1000, depth 500, PAWC 0.2, Z 5:
    # AWC = min(500, 1000) * 0.2 = 100 mm; omega = 5 * 100/1000 + 1.25 = 1.75; PET/P = 0.8;
    # AET/P = 1 + 0.8 - (1 + 0.8**1.75)**(1/1.75) = 1.8 - 1.6767**0.5714 = 0.45642
    one = np.array([1.0])
    f = sv.fractp(one, 800 * one, 1000 * one, 1000 * one, 500 * one, 0.2 * one, one, 5.0)
    assert f[0] == pytest.approx(0.456422, abs=1e-6)
    # omega capped at 5: AWC 2000 mm -> 11.25 -> 5; AET/P = 1.8 - (1 + 0.8**5)**0.2 = 0.74168
    f5 = sv.fractp(one, 800 * one, 1000 * one, 4000 * one, 4000 * one, 0.5 * one, one, 5.0)
    assert f5[0] == pytest.approx(0.741676, abs=1e-6)
    # wet site (PET/P = 0.1): AET never exceeds PET (the min() of InVEST's fractp)
    fd = sv.fractp(one, 100 * one, 1000 * one, 1000 * one, 1000 * one, 1.0 * one, one, 30.0)
    assert fd[0] <= 0.1 + 1e-12
    # non-vegetated: AET = min(Kc ET0, P): 1.2 * 900 = 1080 > 1000 -> AET/P = 1
    fn = sv.fractp(1.2 * one, 900 * one, 1000 * one, one, 500 * one, 0.2 * one, 0 * one, 5.0)
    assert fn[0] == 1.0
    # P = 0 or missing input: no value (InVEST leaves such cells out)
    assert np.isnan(sv.fractp(one, 800 * one, 0 * one, one, one, one, one, 5.0)[0])


def test_water_yield_per_watershed(tmp_path):
    t = _bio(tmp_path)
    lc = grid([[1, 1], [1, 2]])
    same = lambda v: grid(np.full((2, 2), v, dtype=float))  # noqa: E731
    ws = gpd.GeoDataFrame({"ws_id": [7]}, geometry=[box(0, 0, 2000, 2000)], crs=EA)
    res = sv.water_yield(lc, same(1000), same(800), same(500), same(0.2), t, 5.0, ws, ws_id="ws_id")
    y_forest = (1 - 0.4564222152649853) * 1000      # 543.578 mm (see test_fractp_by_hand)
    y_water = (1 - min(1.2 * 800, 1000) / 1000) * 1000  # 40 mm
    np.testing.assert_allclose(res.wyield, [[y_forest, y_forest], [y_forest, y_water]])
    row = res.watersheds.iloc[0]
    mean = (3 * y_forest + y_water) / 4
    assert row["wyield_mn"] == pytest.approx(mean)
    assert row["wyield_vol"] == pytest.approx(mean * 4e6 / 1000)          # mm x m2 / 1000 = m3
    assert row["AET_mn"] == pytest.approx(1000 - mean)
    assert row["PET_mn"] == pytest.approx((3 * 800 + 960) / 4)
    with pytest.raises(EconetError, match="fraction"):
        sv.water_yield(lc, same(1000), same(800), same(500), same(20), t, 5.0, ws)
    with pytest.raises(EconetError, match="not in the biophysical"):
        sv.water_yield(grid([[1, 3], [1, 1]]), same(1000), same(800), same(500), same(0.2), t, 5.0, ws)
    with pytest.raises(EconetError, match="grid"):
        sv.water_yield(lc, grid(np.full((3, 3), 1000.0)), same(800), same(500), same(0.2), t, 5.0, ws)


def test_biophysical_table_checks(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("lucode,kc,root_depth,lulc_veg\n1,1.0,,1\n")
    with pytest.raises(EconetError, match="root_depth"):
        sv.load_biophysical_table(p)
    p.write_text("lucode,kc,root_depth,lulc_veg\n1,1.0,100,2\n")
    with pytest.raises(EconetError, match="lulc_veg"):
        sv.load_biophysical_table(p)


# ----------------------------------------------------------------------------------------------- CLI
def _run(args):
    from econet.cli.main import main
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main(args)
    return e.value.code, buf.getvalue()


def test_cli_carbon_with_change_and_zones(tmp_path, table):
    tpath = tmp_path / "pools.csv"
    lc = grid([[1, 1, 2], [2, 3, 3]])
    fut = grid([[1, 1, 1], [1, 3, 3]])
    write_raster(tmp_path / "cur.tif", lc, dtype="uint8")
    write_raster(tmp_path / "fut.tif", fut, dtype="uint8")
    gpd.GeoDataFrame({"name": ["left"]}, geometry=[box(0, 0, 1000, 2000)], crs=EA).to_file(tmp_path / "z.gpkg")
    out = tmp_path / "out"
    code, _ = _run(["services", "carbon", str(tmp_path / "cur.tif"), "--future", str(tmp_path / "fut.tif"),
                    "--table", str(tpath), "--zones", str(tmp_path / "z.gpkg"), "--zone-name", "name",
                    "--out", str(out), "--quiet", "--format", "json"])
    assert code in (0, None)
    for f in ("carbon_by_class.csv", "carbon_by_zone.csv", "carbon_by_zone.gpkg", "pools_not_counted.csv",
              "tot_c_cur.tif", "tot_c_fut.tif", "delta_cur_fut.tif", "carbon_density_map.png",
              "carbon_change_map.png", "carbon_by_zone.png", "carbon_change_by_zone.csv", "summary.json"):
        assert (out / f).is_file(), f
    ch = pd.read_csv(out / "carbon_change_by_zone.csv")
    assert ch.loc[0, "change_mg"] == pytest.approx((43 - 26) * 100)     # cell (1,0) steppe -> forest


def test_cli_water(tmp_path):
    _bio(tmp_path)
    lc = grid([[1, 1], [1, 2]])
    write_raster(tmp_path / "lc.tif", lc, dtype="uint8")
    for name, v in (("p", 1000.0), ("et0", 800.0), ("d", 500.0), ("pawc", 0.2)):
        write_raster(tmp_path / f"{name}.tif", grid(np.full((2, 2), v)), dtype="float32")
    gpd.GeoDataFrame({"ws_id": [1]}, geometry=[box(0, 0, 2000, 2000)], crs=EA).to_file(tmp_path / "ws.gpkg")
    out = tmp_path / "wy"
    code, _ = _run(["services", "water", "--lulc", str(tmp_path / "lc.tif"), "--precip", str(tmp_path / "p.tif"),
                    "--eto", str(tmp_path / "et0.tif"), "--depth", str(tmp_path / "d.tif"),
                    "--pawc", str(tmp_path / "pawc.tif"), "--biophysical", str(tmp_path / "bio.csv"),
                    "--watersheds", str(tmp_path / "ws.gpkg"), "--z", "5", "--out", str(out), "--quiet"])
    assert code in (0, None)
    t = pd.read_csv(out / "watershed_results_wyield.csv")
    mean = (3 * (1 - 0.4564222152649853) * 1000 + 40) / 4
    assert t.loc[0, "wyield_mn"] == pytest.approx(mean, rel=1e-6)
    for f in ("watershed_results_wyield.gpkg", "wyield.tif", "aet.tif", "water_yield_map.png",
              "water_yield_by_watershed.png"):
        assert (out / f).is_file(), f


def test_cli_bad_table_exit_2(tmp_path, capsys):
    write_raster(tmp_path / "lc.tif", grid([[1]]), dtype="uint8")
    (tmp_path / "t.csv").write_text("lucode,c_above\n1,2\n")
    code, _ = _run(["services", "carbon", str(tmp_path / "lc.tif"), "--table", str(tmp_path / "t.csv"),
                    "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2
    assert "missing column" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# ----------------------------------------------------------------------------------------------- natcap.invest
def test_agrees_with_natcap_invest(tmp_path, table):
    ok, why = sv.invest_available()
    if not ok:
        pytest.skip(f"natcap.invest not installed here ({why}); no wheel builds without system GDAL")
    lc = grid([[1, 1, 2], [2, 3, 3]])
    write_raster(tmp_path / "lc.tif", lc, dtype="int32")
    outs = sv.run_invest_carbon(tmp_path / "lc.tif", table, tmp_path / "ws")
    from econet.geo.raster import read_raster
    inv = read_raster(outs["tot_c_cur"])
    ours = sv.carbon_storage(lc, table).total_density
    np.testing.assert_allclose(inv.data, ours, rtol=1e-5)
    # water yield on the same inputs
    bio = _bio(tmp_path)
    for name, v in (("p", 1000.0), ("et0", 800.0), ("d", 500.0), ("pawc", 0.2)):
        write_raster(tmp_path / f"{name}.tif", grid(np.full((2, 3), v)), dtype="float32")
    ws = gpd.GeoDataFrame({"ws_id": [1]}, geometry=[box(0, 0, 3000, 2000)], crs=EA)
    ws.to_file(tmp_path / "ws.shp")
    lc2 = grid([[1, 1, 2], [2, 1, 1]])
    write_raster(tmp_path / "lc2.tif", lc2, dtype="int32")
    inv_t = sv.run_invest_water({"lulc": tmp_path / "lc2.tif", "precip": tmp_path / "p.tif",
                                 "eto": tmp_path / "et0.tif", "depth": tmp_path / "d.tif",
                                 "pawc": tmp_path / "pawc.tif"}, bio, 5.0, tmp_path / "ws.shp", tmp_path / "wsw")
    same = lambda v: grid(np.full((2, 3), v))  # noqa: E731
    ours_w = sv.water_yield(lc2, same(1000.0), same(800.0), same(500.0), same(0.2), bio, 5.0, ws, ws_id="ws_id")
    assert inv_t["wyield_mn"].iloc[0] == pytest.approx(ours_w.watersheds["wyield_mn"].iloc[0], rel=1e-5)
    assert math.isfinite(inv_t["wyield_vol"].iloc[0])
