"""Glacier change: trends on synthetic series with known slopes, cumulative balances of the real WGMS series,
outlines shrinking by a known area, volume-area scaling with the published coefficients."""

from __future__ import annotations

import csv
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from econet.analytics import glaciers as gl
from econet.errors import EconetError


def run_cli(args) -> int:
    """Run the econet CLI in-process; it always ends with sys.exit, whose code is returned."""
    from econet.cli.main import main

    try:
        main([str(a) for a in args])
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ---------------------------------------------------------------------------------------------- trends
def test_trend_exact_line_and_outlier_robustness():
    x = np.arange(1990, 2020)
    y = 100.0 - 0.5 * (x - 1990)
    t = gl.trend(x, y)
    assert t["ols_slope"] == pytest.approx(-0.5) and t["ts_slope"] == pytest.approx(-0.5)
    assert t["r2"] == pytest.approx(1.0) and t["mk_tau"] == pytest.approx(-1.0)
    y2 = y.copy()
    y2[5] += 50.0                       # one wild year
    t2 = gl.trend(x, y2)
    assert t2["ts_slope"] == pytest.approx(-0.5)          # the median of pairwise slopes ignores it
    assert abs(t2["ols_slope"] + 0.5) > 0.2               # least squares does not


def test_trend_confidence_interval_covers_true_slope_at_nominal_rate():
    rng = np.random.default_rng(42)
    x = np.arange(40, dtype=float)
    hits_ols = hits_ts = 0
    for _ in range(200):
        y = 0.3 * x + rng.normal(0, 2.0, x.size)
        t = gl.trend(x, y)
        hits_ols += t["ols_ci_low"] <= 0.3 <= t["ols_ci_high"]
        hits_ts += t["ts_ci_low"] <= 0.3 <= t["ts_ci_high"]
    assert 0.90 <= hits_ols / 200 <= 0.99
    assert 0.88 <= hits_ts / 200 <= 0.995


def test_trend_too_short_gives_nan():
    t = gl.trend([2000, 2001], [1.0, 2.0])
    assert t["n"] == 2 and math.isnan(t["ols_slope"])


# ---------------------------------------------------------------------------------------------- real WGMS
def _file_sum(path) -> tuple[float, int]:
    total, n = 0.0, 0
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["ANNUAL_BALANCE"].strip():
                total += float(row["ANNUAL_BALANCE"])
                n += 1
    return total, n


@pytest.mark.parametrize("wgms_id, name", [(1511, "URUMQI"), (1512, "URUMQI"), (817, "TUYUKSU"),
                                           (732, "ABRAMOV"), (753, "GOLUBIN")])
def test_cumulative_balance_equals_sum_of_file(shared, wgms_id, name):
    folder = shared / "data" / "glaciers" / "wgms_oggm"
    data = gl.read_wgms(folder, ids=[wgms_id])
    s = gl.glacier_summary(data["mass_balance"]).set_index("wgms_id").loc[wgms_id]
    total, n = _file_sum(folder / "mbdata" / f"mbdata_WGMS-{wgms_id:05d}.csv")
    assert name in s["name"]
    assert s["n_years"] == n
    assert s["cumulative_mwe"] == pytest.approx(total / 1000.0, abs=1e-9)
    assert s["cumulative_mwe"] < 0
    cum = gl.cumulative_mass_balance(data["mass_balance"])
    assert cum["cumulative_mm"].iloc[-1] == pytest.approx(total)


def test_urumqi_by_name_reads_both_branches(shared):
    d = gl.read_wgms(shared / "data" / "glaciers" / "wgms_oggm", ids=["urumqi"])
    mb = d["mass_balance"]
    assert set(mb["wgms_id"]) == {1511, 1512}
    assert mb["lon"].notna().all()                       # positions from the selection table
    e = mb[mb["wgms_id"] == 1511]
    assert e["annual_mb"].isna().sum() == 3              # 2001-2003 have no value in the file


def test_read_wgms_unknown_glacier(shared):
    with pytest.raises(EconetError, match="no glacier"):
        gl.read_wgms(shared / "data" / "glaciers" / "wgms_oggm", ids=["NO SUCH GLACIER"])


# ---------------------------------------------------------------------------------------------- basins, FoG
def test_basin_mean_is_area_weighted():
    mb = pd.DataFrame({"wgms_id": [1, 2, 1, 2], "name": ["A", "B", "A", "B"], "year": [2000, 2000, 2001, 2001],
                       "area_km2": [1.0, 3.0, 1.0, 3.0], "annual_mb": [-1000.0, 0.0, -500.0, -500.0]})
    b = gl.basin_mass_balance(mb, {1: "Ili", 2: "Ili"})
    assert b["mean_mb_mwe"].tolist() == pytest.approx([-0.25, -0.5])
    assert b["cumulative_mwe"].tolist() == pytest.approx([-0.25, -0.75])
    assert b["n_glaciers"].tolist() == [2, 2]


def test_fog_front_variation_and_state(tmp_path):
    fv = tmp_path / "FRONT_VARIATION.csv"
    pd.DataFrame({"POLITICAL_UNIT": ["KG"] * 3, "NAME": ["GOLUBIN"] * 3, "WGMS_ID": [753] * 3,
                  "YEAR": [2000, 2001, 2002], "FRONT_VARIATION": [-10.0, -20.0, 5.0],
                  "FRONT_VAR_UNC": [3.0, 4.0, 12.0]}).to_csv(fv, index=False)
    st = tmp_path / "STATE.csv"
    pd.DataFrame({"POLITICAL_UNIT": ["KG"] * 3, "NAME": ["GOLUBIN"] * 3, "WGMS_ID": [753] * 3,
                  "YEAR": [1990, 2000, 2010], "AREA": [6.0, 5.6, 5.0], "AREA_UNC": [0.3, 0.4, 0.0],
                  "LENGTH": [5.0, 4.8, 4.5]}).to_csv(st, index=False)
    d = gl.read_wgms(tmp_path)
    c = gl.front_variation_cumulative(d["front_variation"])
    assert c["cumulative_m"].tolist() == [-10.0, -30.0, -25.0]
    assert c["cumulative_unc_m"].tolist() == pytest.approx([3.0, 5.0, 13.0])
    ch = gl.state_changes(d["state"])
    a = ch[(ch["variable"] == "area_km2") & (ch["from_year"] == 1990) & (ch["to_year"] == 2000)].iloc[0]
    assert a["change"] == pytest.approx(-0.4) and a["change_unc"] == pytest.approx(0.5)
    assert a["rate_per_yr"] == pytest.approx(-0.04) and a["rate_unc_per_yr"] == pytest.approx(0.05)
    whole = ch[(ch["variable"] == "length_km") & (ch["period"] == "first-last")].iloc[0]
    assert whole["change"] == pytest.approx(-0.5) and whole["rate_per_yr"] == pytest.approx(-0.025)


# ---------------------------------------------------------------------------------------------- outlines
def _outlines():
    # A 1 km wide valley glacier in UTM 44N (Tianshan): 2.0 km long in 2000, terminus retreats 500 m by 2010.
    x0, y0 = 500_000.0, 4_770_000.0
    g = gpd.GeoDataFrame({"glacier_id": ["G1", "G1"], "date": ["2000-08-31", "2010-08-31"], "basin": ["Urumqi"] * 2},
                         geometry=[box(x0, y0, x0 + 1000, y0 + 2000), box(x0, y0 + 500, x0 + 1000, y0 + 2000)],
                         crs="EPSG:32644")
    cl = gpd.GeoDataFrame({"glacier_id": ["G1"]}, geometry=[LineString([(x0 + 500, y0 - 200), (x0 + 500, y0 + 2300)])],
                          crs="EPSG:32644")
    return g, cl


def test_outline_area_and_length_change_with_uncertainty():
    g, cl = _outlines()
    m = gl.outline_metrics(g, centerlines=cl, position_unc_m=15.0)
    # UTM areas differ from true (equal-area) areas by the UTM scale factor squared (< 0.1 % here)
    assert m["area_km2"].tolist() == pytest.approx([2.0, 1.5], rel=2e-3)
    assert m["length_km"].tolist() == pytest.approx([2.0, 1.5], rel=2e-3)
    assert m["area_unc_km2"].tolist() == pytest.approx([6.0 * 0.015, 5.0 * 0.015], rel=2e-3)
    ch = gl.outline_changes(m)
    a = ch[ch["variable"] == "area_km2"].iloc[0]
    assert a["change"] == pytest.approx(-0.5, rel=2e-3)
    assert a["rate_per_yr"] == pytest.approx(-0.05, rel=3e-3)
    assert a["change_unc"] == pytest.approx(math.hypot(0.09, 0.075), rel=2e-3)
    length = ch[ch["variable"] == "length_km"].iloc[0]
    assert length["change"] == pytest.approx(-0.5, rel=2e-3)
    feret = gl.outline_metrics(g)          # no centerline: largest extent of the outline
    assert feret["length_km"].tolist() == pytest.approx([math.hypot(2, 1), math.hypot(1.5, 1)], rel=2e-3)
    assert set(feret["length_method"]) == {"feret"}


def test_outlines_need_dates():
    g, _ = _outlines()
    g.loc[1, "date"] = "sometime"
    with pytest.raises(EconetError, match="not a date"):
        gl.outline_metrics(g)


# ---------------------------------------------------------------------------------------------- volume
def test_volume_area_scaling_known_values():
    assert gl.va_volume(1.0, 0.034, 1.375) == pytest.approx(0.034)
    assert gl.va_volume(10.0, 0.034, 1.375) == pytest.approx(0.034 * 10 ** 1.375)
    rh = next(k for k in gl.VA_COEFFICIENTS if k["name"] == "radic_hock")
    # Radic & Hock's c = 0.2055 m^(3-2 gamma): the same glacier in m2 and m3 gives the same volume
    a_km2 = 7.0
    v_m3 = 0.2055 * (a_km2 * 1e6) ** 1.375
    assert gl.va_volume(a_km2, rh["c"], rh["gamma"]) == pytest.approx(v_m3 / 1e9)
    t = gl.volume_estimates([10.0], [0.5]).iloc[0]
    assert t["v_km3"] == pytest.approx(0.034 * 10 ** 1.375)
    assert t["v_min_km3"] <= t["v_km3"] <= t["v_max_km3"]
    assert t["we_km3"] == pytest.approx(0.9 * t["v_km3"])
    assert t["v_area_unc_km3"] == pytest.approx(0.034 * 1.375 * 10 ** 0.375 * 0.5)


def test_basin_volume_change_of_shrinking_glacier():
    g, cl = _outlines()
    m = gl.outline_metrics(g, centerlines=cl).assign(basin="Urumqi")
    v = gl.basin_volume_change(m).set_index("year")
    a0, a1 = m["area_km2"].tolist()
    last = v.iloc[-1]
    assert last["dv_km3"] == pytest.approx(0.034 * (a1 ** 1.375 - a0 ** 1.375))
    assert last["dv_min_km3"] <= last["dv_km3"] <= last["dv_max_km3"] < 0
    assert last["dwe_km3"] == pytest.approx(0.9 * last["dv_km3"])
    assert last["dv_unc_km3"] > 0 and v.iloc[0]["dv_km3"] == 0


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_trends_end_to_end_on_wgms(shared, tmp_path, capsys):
    out = tmp_path / "trends"
    src = shared / "data" / "glaciers" / "wgms_oggm"
    code = run_cli(["glaciers", "trends", src, "-g", "urumqi", "-g", "tuyuksu", "-g", "abramov", "-g", "golubin",
                    "--out", out, "--format", "csv", "--quiet"])
    assert code == 0
    for name in ("mass_balance.csv", "glacier_trends.csv", "basin_mass_balance.csv", "cumulative_mass_balance.png",
                 "annual_mass_balance_trends.png", "basin_cumulative_mass_balance.png"):
        assert (out / name).exists(), name
    t = pd.read_csv(out / "glacier_trends.csv").set_index("wgms_id")
    total, _ = _file_sum(src / "mbdata" / "mbdata_WGMS-01511.csv")
    assert t.loc[1511, "cumulative_mwe"] == pytest.approx(total / 1000.0)
    assert {1511, 1512, 817, 816, 732, 753} <= set(t.index)
    assert capsys.readouterr().out.startswith("wgms_id,name")


def test_cli_outlines_and_bad_input(tmp_path, capsys):
    g, _ = _outlines()
    f = tmp_path / "outlines.gpkg"
    g.to_file(f, driver="GPKG")
    out = tmp_path / "o"
    assert run_cli(["glaciers", "outlines", f, "--out", out, "--quiet", "--format", "csv"]) == 0
    vol = pd.read_csv(out / "basin_volume.csv")
    assert vol["basin"].iloc[0] == "Urumqi" and vol["dv_km3"].iloc[-1] < 0
    assert (out / "outline_change.png").stat().st_size > 10_000
    assert run_cli(["glaciers", "trends", tmp_path / "nowhere"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0]


def test_shipped_wgms_extract_equals_shared(shared):
    shipped = gl.shipped_wgms() / "mbdata"
    source = shared / "data" / "glaciers" / "wgms_oggm" / "mbdata"
    names = sorted(p.name for p in source.glob("*.csv"))
    assert names == sorted(p.name for p in shipped.glob("*.csv")) and len(names) == 31
    for n in names:
        assert (shipped / n).read_bytes() == (source / n).read_bytes()


def test_demo_step_on_shipped_series(tmp_path):
    import importlib

    from econet.demo import DemoContext

    step = importlib.import_module("econet.demo.steps.82_glaciers")
    summary = step.run(DemoContext(out=tmp_path, db_url="sqlite://"))
    total, n = _file_sum(gl.shipped_wgms() / "mbdata" / "mbdata_WGMS-00817.csv")
    assert summary["tuyuksu_cumulative_mwe"].startswith(f"{total / 1000:.2f} m w.e. over {n} years")
    vol = pd.read_csv(tmp_path / "glacier_volume_change.csv").set_index("wgms_id")
    assert vol.loc[732, "dv_min_km3"] <= vol.loc[732, "dv_km3"] <= vol.loc[732, "dv_max_km3"] < 0   # Abramov shrank
    assert (tmp_path / "glacier_mass_balance_trends.png").exists()


def test_cli_trends_defaults_to_shipped_series(tmp_path):
    out = tmp_path / "t"
    assert run_cli(["glaciers", "trends", "-g", "817", "--out", out, "--quiet", "--format", "json"]) == 0
    t = pd.read_csv(out / "glacier_trends.csv")
    assert t["wgms_id"].tolist() == [817] and t["n_years"].iloc[0] == 64
