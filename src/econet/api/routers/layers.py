"""Map layers: the list (GET /api/v1/layers), GeoJSON of a vector layer or TileJSON of a raster layer
(GET /api/v1/layers/{name}), and PNG tiles of raster layers (GET /api/v1/tiles/{name}/{z}/{x}/{y}.png)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from econet.errors import EconetError

router = APIRouter(prefix="/api/v1", tags=["layers"])


def _layer(request: Request, name: str):
    catalog = request.app.state.catalog
    try:
        return catalog.get(name)
    except KeyError:
        raise HTTPException(404, f"no layer '{name}' (layers: {', '.join(catalog.layers)})") from None


@router.get("/layers")
def list_layers(request: Request) -> dict:
    """Every map layer with its title, group, legend, style and data URL, and the demo region's bounds."""
    catalog = request.app.state.catalog
    from econet.demo.region import COUNTRY_NAMES
    return {"region": {"name": "Ussuri / Lake Khanka / Tumen border region", "bounds": list(catalog.region_bounds),
                       "countries": COUNTRY_NAMES},
            "layers": catalog.describe()}


@router.get("/layers/{name}", responses={200: {"content": {"application/geo+json": {}}}})
def get_layer(name: str, request: Request):
    """A vector layer as a GeoJSON FeatureCollection (WGS84); a raster layer as a TileJSON 3.0 document."""
    spec = _layer(request, name)
    catalog = request.app.state.catalog
    if spec.kind == "raster":
        r = catalog.renderer(name)
        base = str(request.base_url).rstrip("/")
        return {"tilejson": "3.0.0", "name": spec.name, "description": spec.description,
                "attribution": spec.attribution, "tiles": [f"{base}/api/v1/tiles/{name}/{{z}}/{{x}}/{{y}}.png"],
                "minzoom": 0, "maxzoom": 22, "bounds": list(r.source.lonlat_bounds()), "legend": spec.legend}
    body = catalog.geojson(name)
    return Response(body, media_type="application/geo+json", headers={"Cache-Control": "public, max-age=300"})


@router.get("/tiles/{name}/{z}/{x}/{y}.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
async def get_tile(name: str, z: int, x: int, y: int, request: Request) -> Response:
    """A 256 x 256 RGBA PNG tile (XYZ, Web Mercator) of a raster layer; transparent outside its data."""
    from econet.api.tiles import check_tile
    spec = _layer(request, name)
    if spec.kind != "raster":
        raise HTTPException(404, f"layer '{name}' is a vector layer; its GeoJSON is at /api/v1/layers/{name}")
    try:
        check_tile(z, x, y)
    except EconetError as exc:
        raise HTTPException(400, exc.message) from None
    renderer = request.app.state.catalog.renderer(name)
    png = await run_in_threadpool(renderer.tile, z, x, y)
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=300"})
