"""Home ranges as adehabitatHR computes them.

The adehabitatHR vignette prints areas for the puechabonsp wild boar relocations, but the printed figures
could not be retrieved here (the vignette PDF is not in the searchable corpus; only its R code is). So the
estimators are checked on hand-computable cases (squares, the type-7 quantile rule, the href formula, a
Gaussian sample whose 95% kernel range is known in closed form) and on puechabonsp for internal
consistency (independent convex hulls, kernel.area vs getverticeshr areas).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from econet.analytics import homerange as hr


def test_mcp_square_and_percent_rule():
    # 4 corners of a 100 m square plus its centre: 100% MCP = 1 ha
    sq = np.array([[0, 0], [100, 0], [100, 100], [0, 100], [50, 50]], float)
    assert hr.mcp_polygon(sq, 100).area == pytest.approx(10000.0)
    # add one far outlier among 20 fixes: the 95% MCP drops exactly the farthest fix (type-7 quantile)
    rng = np.random.default_rng(0)
    pts = np.vstack([rng.uniform(0, 100, (19, 2)), [[1000, 1000]]])
    p95 = hr.mcp_polygon(pts, 95)
    assert p95.bounds[2] <= 100 and p95.bounds[3] <= 100
    # by hand: distances to the mean, R quantile type 7 at 0.95, keep d <= q
    c = pts.mean(0)
    d = np.sort(np.hypot(*(pts - c).T))
    h = (len(d) - 1) * 0.95
    q = d[int(np.floor(h))] + (h - np.floor(h)) * (d[int(np.floor(h)) + 1] - d[int(np.floor(h))])
    from scipy.spatial import ConvexHull
    kept = pts[np.hypot(*(pts - c).T) <= q]
    assert p95.area == pytest.approx(ConvexHull(kept).volume)


def test_href_formula_and_bad_input():
    xy = np.array([[0, 0], [10, 0], [0, 20], [10, 20], [5, 10], [7, 3]], float)
    sd = np.sqrt(0.5 * (np.var(xy[:, 0], ddof=1) + np.var(xy[:, 1], ddof=1)))
    assert hr.href(xy) == pytest.approx(sd * 6 ** (-1 / 6))
    from econet.errors import EconetError
    with pytest.raises(EconetError, match="at least 5"):
        hr.kernel_ud(xy[:4])
    with pytest.raises(EconetError, match="href, LSCV or a number"):
        hr.kernel_ud(xy, h="silverman")


def test_kernel_area_of_a_gaussian_sample():
    # n fixes from N(0, s^2 I); the kernel UD is close to N(0, (s^2 + h^2) I), whose p% region is a disc of
    # area 2 pi (s^2 + h^2) ln(1 / (1 - p))
    rng = np.random.default_rng(42)
    s = 1000.0
    xy = rng.normal(0, s, (3000, 2))
    ud = hr.kernel_ud(xy, "href", grid=120)
    for p in (50, 95):
        theory = 2 * np.pi * (s * s + ud.h ** 2) * np.log(1 / (1 - p / 100))
        assert hr.kernel_area(ud, p)[0] == pytest.approx(theory, rel=0.04)
        assert hr.kernel_polygon(ud, p).area == pytest.approx(theory, rel=0.04)
    # the UD integrates to ~1 over the grid (extent = 1 leaves almost no mass outside)
    assert ud.density.sum() * ud.cellsize ** 2 == pytest.approx(1.0, abs=0.01)
    # a chosen bandwidth is used as given
    assert hr.kernel_ud(xy, 250.0).h == 250.0 and hr.kernel_ud(xy, 250.0).method == "specified"


def test_lscv_bandwidth_and_non_convergence():
    rng = np.random.default_rng(1)
    # two tight clusters far apart: the LSCV minimum lies below 0.1 href, at the end of adehabitatHR's search
    # range, which adehabitatHR reports as "did not converge"; econet reports converged = False
    xy = np.vstack([rng.normal(0, 50, (60, 2)), rng.normal(3000, 50, (60, 2))])
    ud = hr.kernel_ud(xy, "LSCV")
    assert ud.method == "LSCV" and ud.h == pytest.approx(0.1 * hr.href(xy)) and not ud.converged
    # one Gaussian cloud: an interior minimum, below href (href oversmooths)
    g = rng.normal(0, 500, (300, 2))
    ud = hr.kernel_ud(g, "LSCV")
    assert ud.converged and 0.1 * hr.href(g) < ud.h <= 1.5 * hr.href(g)
    cv = hr.lscv_score(g, np.array([0.5 * ud.h, ud.h, 1.4 * ud.h]))
    assert cv[1] < cv[0] and cv[1] < cv[2]


def _puechabon(shared):
    d = pd.read_csv(shared / "reference/adehabitat_puechabon/puechabonsp_relocs.csv")
    return d.rename(columns={"Name": "individual", "X": "x", "Y": "y"})


def test_puechabon_mcp_and_kernel_consistency(shared):
    from scipy.spatial import ConvexHull
    d = _puechabon(shared)
    assert len(d) == 119 and d["individual"].nunique() == 4
    m = hr.home_ranges(d, method="mcp", percent=[95, 100], crs=27572).set_index(["individual", "percent"])
    for ind, g in d.groupby("individual"):
        hull = ConvexHull(g[["x", "y"]].to_numpy()).volume / 1e4
        assert m.loc[(ind, 100.0), "area_ha"] == pytest.approx(hull)
        assert m.loc[(ind, 95.0), "area_ha"] <= m.loc[(ind, 100.0), "area_ha"]
    k = hr.home_ranges(d, method="kernel", percent=[50, 95], crs=27572).set_index(["individual", "percent"])
    for ind, g in d.groupby("individual"):
        assert k.loc[(ind, 95.0), "h"] == pytest.approx(hr.href(g[["x", "y"]].to_numpy()))
        # kernel.area (pixel count) and getverticeshr (contour polygon) agree within a few % at grid = 60
        assert k.loc[(ind, 95.0), "area_ha"] == pytest.approx(k.loc[(ind, 95.0), "area_ha_pixels"], rel=0.05)
        assert k.loc[(ind, 50.0), "area_ha"] < k.loc[(ind, 95.0), "area_ha"]


def test_shares_per_country_and_in_protected_areas():
    import geopandas as gpd
    from shapely.geometry import box
    # a square range of fixes straddling a straight border at x = 0 (metres), 3/4 on side A
    xy = np.array([[x, y] for x in np.linspace(-1000, 3000, 9) for y in np.linspace(0, 4000, 9)])
    fixes = pd.DataFrame({"individual": "T1", "x": xy[:, 0], "y": xy[:, 1]})
    zones = gpd.GeoDataFrame({"iso": ["B", "A"]}, geometry=[box(-1e5, -1e5, 0, 1e5), box(0, -1e5, 1e5, 1e5)],
                             crs=3857)
    pas = gpd.GeoDataFrame({"name": ["Reserve"]}, geometry=[box(2000, 0, 5000, 2000)], crs=3857)
    r = hr.home_ranges(fixes, method="mcp", percent=100, crs=3857, zones=zones, zone_field="iso",
                       protected_areas=pas, pa_field="name").iloc[0]
    assert r["area_km2"] == pytest.approx(16.0)
    assert r["share_A"] == pytest.approx(0.75) and r["share_B"] == pytest.approx(0.25)
    assert r["share_in_pa"] == pytest.approx(2.0 / 16.0) and r["pas"] == "Reserve"
