"""The atlas in headless Debian chromium (Playwright): the map draws its layers (checked on the canvas's
pixels), the current layer adds coloured pixels, the language switcher changes labels, the measurement tool
measures. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from .pixels import canvas, project

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _settle(pg) -> None:
    pg.evaluate("() => window.__atlas.whenIdle()")
    pg.wait_for_timeout(200)


_canvas, _project = canvas, project


def _near(img, x, y, colour, r=3, tol=60.0) -> bool:
    """Any pixel within r of (x, y) within `tol` (RGB distance) of `colour`."""
    win = img[max(y - r, 0):y + r + 1, max(x - r, 0):x + r + 1]
    return bool((np.linalg.norm(win - colour, axis=-1) < tol).any())


def _layers(server):
    import httpx
    return {l["name"]: l for l in httpx.get(f"{server}/api/v1/layers").json()["layers"]}


def test_map_draws_border_and_pas_coloured_by_country(page, server, artifacts):
    import httpx
    overlays = ("current", "hillshade", "observations", "tracks", "corridor_paths", "transboundary_complexes")
    page.evaluate(f"() => {list(overlays)}.forEach((n) => window.__atlas.setVisible(n, false))")
    _settle(page)
    img = _canvas(page, artifacts / "atlas-base.png")
    page.evaluate("() => window.__atlas.setVisible('protected_areas', false)")
    _settle(page)
    under = _canvas(page)   # what lies beneath the PA fills
    page.evaluate(f"() => {list(overlays) + ['protected_areas']}.forEach((n) => window.__atlas.setVisible(n, true))")
    layers = _layers(server)
    # the border: its line colour sits on the projected vertices of the China-Russia boundary
    border = _hex(layers["border"]["style"]["line"])
    fc = httpx.get(f"{server}/api/v1/layers/border").json()
    coords = []
    for f in fc["features"]:
        if f["properties"]["countries"] == "CHN-RUS":
            g = f["geometry"]
            for part in ([g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]):
                coords.extend(part)
    h, w = img.shape[:2]
    checked = hits = 0
    for lon, lat in coords[::max(1, len(coords) // 60)]:
        x, y = _project(page, lon, lat)
        if 5 <= x < w - 5 and 5 <= y < h - 5:
            checked += 1
            hits += _near(img, x, y, border, r=2, tol=50)
    assert checked >= 10 and hits / checked > 0.9, (hits, checked)
    # the border colour is rare away from the border: it is an emphasis, not a fill
    assert (np.linalg.norm(img - border, axis=-1) < 50).mean() < 0.05
    # PAs: at the centre of each footprint the fill is its country's colour over the land colour
    from shapely.geometry import shape
    pas = httpx.get(f"{server}/api/v1/layers/protected_areas").json()["features"]
    colours = layers["protected_areas"]["style"]["colors"]
    opacity = layers["protected_areas"]["style"]["fill_opacity"]
    seen = set()
    shapes = [shape(f["geometry"]) for f in pas]
    for i, f in enumerate(pas):
        iso = f["properties"]["iso3"]
        # a point of this footprint alone (Kedrovaya Pad lies inside Land of the Leopard), away from outlines
        own = shapes[i].difference(shapes[:i] + shapes[i + 1:] and
                                   __import__("shapely").union_all(shapes[:i] + shapes[i + 1:]))
        own = own.buffer(-0.06)
        if own.is_empty:
            continue
        p = own.representative_point()
        x, y = _project(page, p.x, p.y)
        if not (0 <= x < w and 0 <= y < h):
            continue
        expected = opacity * _hex(colours[iso]) + (1 - opacity) * under[y, x]
        other = next(c for k, c in colours.items() if k != iso and k in ("CHN", "RUS"))
        wrong = opacity * _hex(other) + (1 - opacity) * under[y, x]
        px = img[y, x]
        assert np.linalg.norm(px - expected) < 25, (f["properties"]["name"], px, expected)
        assert np.linalg.norm(px - expected) < np.linalg.norm(px - wrong)
        seen.add(iso)
    assert seen >= {"CHN", "RUS"}


def test_current_layer_adds_coloured_pixels(page, artifacts, demo_dir):
    page.evaluate("() => window.__atlas.setVisible('current', false)")
    _settle(page)
    before = _canvas(page)
    page.evaluate("() => window.__atlas.setVisible('current', true)")
    _settle(page)
    after = _canvas(page, artifacts / "atlas-current.png")
    changed = np.linalg.norm(after - before, axis=-1) > 30
    assert changed.mean() > 0.05, changed.mean()
    # where the current is highest (cells of the demo's current.tif) the ramp's orange/yellow end shows:
    # those pixels turn warmer (red minus blue grows)
    import rasterio
    from rasterio.warp import transform as warp_xy
    with rasterio.open(demo_dir / "current.tif") as src:
        cur = src.read(1, masked=True).filled(np.nan)
        rows, cols = np.nonzero(cur >= np.nanpercentile(cur, 99.5))
        xs, ys = rasterio.transform.xy(src.transform, rows, cols)
        lons, lats = warp_xy(src.crs, "EPSG:4326", xs, ys)
    h, w = after.shape[:2]
    warmer = total = 0
    for lon, lat in list(zip(lons, lats))[::max(1, len(lons) // 100)]:
        x, y = _project(page, lon, lat)
        if 0 <= x < w and 0 <= y < h:
            total += 1
            warmer += (after[y, x, 0] - after[y, x, 2]) > (before[y, x, 0] - before[y, x, 2]) + 20
    assert total >= 20 and warmer / total > 0.7, (warmer, total)
    # and most of the wash darkens the light base map (the ramp starts at dark purple)
    assert after[changed].sum(axis=1).mean() < before[changed].sum(axis=1).mean()


def test_layer_switcher_and_legend_follow(page):
    box = page.locator("#layer-switcher input[data-layer='protected_areas']")
    assert box.is_checked()
    assert page.locator("#legend [data-layer='protected_areas']").count() == 1
    box.uncheck()
    assert page.locator("#legend [data-layer='protected_areas']").count() == 0
    box.check()
    assert page.locator("#legend [data-layer='protected_areas']").count() == 1
    assert "approximate" in page.locator("#legend [data-layer='protected_areas']").inner_text()


def test_scale_bar_is_shown(page):
    text = page.locator(".maplibregl-ctrl-scale").inner_text()
    assert "km" in text


def test_measure_tool_gives_great_circle_distance(page):
    page.click("#measure-toggle")
    a, b = (131.0, 44.0), (133.0, 44.0)
    for lon, lat in (a, b):
        p = page.evaluate(f"() => window.__atlas.map.project([{lon}, {lat}])")
        page.locator("#map canvas").click(position={"x": p["x"], "y": p["y"]})
    km = float(page.locator("#measure-result").get_attribute("data-km"))
    lat = math.radians(44.0)
    expected = 2 * 6371.0088 * math.asin(math.cos(lat) * math.sin(math.radians(1.0)))
    assert km == pytest.approx(expected, rel=0.02)
    page.click("#measure-toggle")
    page.click("#measure-clear")


@pytest.mark.parametrize("lang,title,layers", [("ru", "Атлас econet", "Слои"), ("zh", "econet 地图集", "图层"),
                                               ("mn", "econet атлас", "Давхаргууд")])
def test_language_switch_changes_labels(page, artifacts, lang, title, layers):
    page.select_option("#lang-select", lang)
    assert page.locator("#topbar h1").inner_text() == title
    assert page.locator("[data-i18n='ui.layers']").inner_text() == layers
    assert page.evaluate("document.documentElement.lang") == lang
    page.screenshot(path=str(artifacts / f"atlas-{lang}.png"))
    page.select_option("#lang-select", "en")
    assert page.locator("#topbar h1").inner_text() == "econet atlas"


def test_label_files_are_complete():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "web" / "src" / "i18n"
    files = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in root.glob("*.json")}
    assert set(files) == {"en", "ru", "zh", "mn"}
    for lang, labels in files.items():
        assert set(labels) == set(files["en"]), lang
        assert all(v.strip() for v in labels.values()), lang
