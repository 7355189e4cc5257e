"""The layer and tile endpoints through FastAPI's TestClient, on the packaged data and a small constructed
demo folder (a current.tif on the demo's equal-area grid), so these run in seconds without the demo."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from econet.api.tiles import lonlat_to_tile


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    """A demo-like folder: current.tif (a ridge of current across the Tumen border) in the demo's LAEA CRS."""
    from affine import Affine

    from econet.demo.region import DEMO_BOUNDS
    from econet.geo.crs import equal_area_crs
    from econet.geo.raster import Raster, write_raster
    out = tmp_path_factory.mktemp("small-demo")
    crs = equal_area_crs(DEMO_BOUNDS)
    # 100 x 100 cells of 5 km centred on the projection centre (133.35 E, 45.2 N)
    yy, xx = np.mgrid[0:100, 0:100]
    data = np.exp(-((xx - 50) ** 2) / 200.0) * 10 + 0.01
    data[:5, :5] = np.nan
    r = Raster(data=data, transform=Affine(5000, 0, -250000, 0, -5000, 250000), crs=crs, nodata=-9999.0)
    write_raster(out / "current.tif", r, dtype="float32")
    return out


@pytest.fixture(scope="module")
def client(small_demo):
    from econet.api.app import create_app
    with TestClient(create_app(demo_dir=small_demo), raise_server_exceptions=False) as c:
        yield c


def _png(resp):
    from PIL import Image
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/png"
    assert resp.content[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(resp.content))
    img.load()
    return img


def test_health(client):
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["demo_dir"] is True and body["layers"] >= 7


def test_layer_list_names_base_and_demo_layers(client):
    body = client.get("/api/v1/layers").json()
    names = {l["name"]: l for l in body["layers"]}
    for n in ("countries", "border", "rivers", "lakes", "protected_areas", "hillshade", "current"):
        assert n in names, n
    assert names["current"]["kind"] == "raster" and names["current"]["origin"] == "demo"
    assert names["current"]["tiles"] == "/api/v1/tiles/current/{z}/{x}/{y}.png"
    ramp = names["current"]["legend"]
    assert ramp["type"] == "ramp" and ramp["scale"] == "log" and 0 < ramp["min"] < ramp["max"] <= 10.02
    assert names["protected_areas"]["legend"]["colors"]["CHN"] != names["protected_areas"]["legend"]["colors"]["RUS"]
    w, s, e, n = body["region"]["bounds"]
    assert w < e and s < n


@pytest.mark.parametrize("name,geom", [("countries", {"Polygon", "MultiPolygon"}),
                                       ("border", {"LineString", "MultiLineString"}),
                                       ("rivers", {"LineString", "MultiLineString"}),
                                       ("lakes", {"Polygon", "MultiPolygon"}),
                                       ("protected_areas", {"Polygon", "MultiPolygon"})])
def test_vector_layers_are_valid_geojson_in_lonlat(client, name, geom):
    resp = client.get(f"/api/v1/layers/{name}")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/geo+json")
    fc = json.loads(resp.content)
    assert fc["type"] == "FeatureCollection" and fc["features"]
    import shapely.geometry
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] in geom
        g = shapely.geometry.shape(f["geometry"])
        assert not g.is_empty
        x0, y0, x1, y1 = g.bounds
        assert 120 < x0 <= x1 < 145 and 35 < y0 <= y1 < 55  # lon/lat around the demo region


def test_protected_areas_are_marked_approximate_with_countries(client):
    fc = client.get("/api/v1/layers/protected_areas").json()
    props = [f["properties"] for f in fc["features"]]
    assert {p["iso3"] for p in props} >= {"CHN", "RUS"}
    assert all(p["approximate"] is True for p in props)
    assert any(p["name"].startswith("Land of the Leopard") for p in props)


def test_border_holds_the_china_russia_boundary(client):
    fc = client.get("/api/v1/layers/border").json()
    assert "CHN-RUS" in {f["properties"]["countries"] for f in fc["features"]}


def test_raster_layer_answers_tilejson(client):
    body = client.get("/api/v1/layers/current").json()
    assert body["tilejson"] == "3.0.0" and body["tiles"][0].endswith("/api/v1/tiles/current/{z}/{x}/{y}.png")
    w, s, e, n = body["bounds"]
    assert 128 < w < 133.35 < e < 139 and 42 < s < 45.2 < n < 48


def test_tile_over_the_data_is_256_png_with_colour(client):
    x, y = lonlat_to_tile(133.35, 45.2, 6)
    img = _png(client.get(f"/api/v1/tiles/current/6/{x}/{y}.png"))
    assert img.size == (256, 256) and img.mode == "RGBA"
    a = np.asarray(img)
    assert (a[..., 3] > 0).mean() > 0.1          # the raster covers part of the tile
    assert (a[..., 3] == 0).any()                  # and not the rest (transparent outside)
    # the ridge (high current) is brighter than its flanks: inferno goes from dark to light yellow
    opaque = a[a[..., 3] > 200]
    assert opaque.size and opaque[:, :3].sum(axis=1).max() > 400


def test_tile_outside_the_data_is_transparent(client):
    x, y = lonlat_to_tile(-60.0, -30.0, 6)
    a = np.asarray(_png(client.get(f"/api/v1/tiles/current/6/{x}/{y}.png")))
    assert a.shape == (256, 256, 4) and (a[..., 3] == 0).all()


def test_hillshade_tile_draws_relief(client):
    x, y = lonlat_to_tile(134.5, 45.5, 7)  # Sikhote-Alin
    a = np.asarray(_png(client.get(f"/api/v1/tiles/hillshade/7/{x}/{y}.png")))
    assert (a[..., 3] > 0).mean() > 0.3


@pytest.mark.parametrize("path", ["/api/v1/layers/nope", "/api/v1/tiles/nope/1/0/0.png",
                                  "/api/v1/tiles/countries/1/0/0.png"])
def test_unknown_layers_are_404(client, path):
    resp = client.get(path)
    assert resp.status_code == 404
    assert "Traceback" not in resp.text and "detail" in resp.json()


@pytest.mark.parametrize("zxy", ["1/2/0", "1/0/2", "3/-1/0", "23/0/0", "-1/0/0", "2/a/0"])
def test_tiles_off_the_pyramid_are_4xx(client, zxy):
    resp = client.get(f"/api/v1/tiles/current/{zxy}.png")
    assert 400 <= resp.status_code < 500
    assert "Traceback" not in resp.text and 'File "' not in resp.text


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/layers/{name}" in spec["paths"] and "/api/v1/tiles/{name}/{z}/{x}/{y}.png" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_page_without_built_assets_says_how_to_build(client, monkeypatch):
    import econet.web as web
    monkeypatch.setattr(web, "BUILD_DIR", web.STATIC_DIR / "no-such-build")
    resp = client.get("/")
    assert resp.status_code == 503 and "make web" in resp.text and "not built" in resp.text


def test_missing_demo_dir_is_a_clear_error(tmp_path):
    from econet.api.app import create_app
    from econet.errors import EconetError
    with pytest.raises(EconetError, match="demo output folder not found"):
        create_app(demo_dir=tmp_path / "absent")


def test_app_without_demo_dir_serves_packaged_layers():
    from econet.api.app import create_app
    with TestClient(create_app()) as c:
        names = {l["name"] for l in c.get("/api/v1/layers").json()["layers"]}
        assert {"countries", "border", "protected_areas", "hillshade"} <= names and "current" not in names
        fc = c.get("/api/v1/layers/protected_areas").json()
        assert len(fc["features"]) >= 5
