"""The atlas's map layers: what exists, how each is drawn, and its data (GeoJSON for vectors, tiles for rasters).

Layers come from the data packaged with econet (countries, border, rivers, lakes and relief of the demo region,
and the approximate PA footprints built from the PA facts) and, when the app is given a demo output folder, from
the files the demo wrote there (its PA footprints, current.tif, resistance.tif, elevation.tif and any other
GeoTIFF or GeoPackage). To add a layer: add a `LayerSpec` in `LayerCatalog._discover` (or drop a GeoTIFF /
GeoPackage into the folder); the API lists it and the atlas shows it in the layer switcher and legend.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from econet.errors import EconetError

#: Fill colour of protected areas per country (ISO3), shared by the atlas's style and legend.
COUNTRY_COLORS = {"CHN": "#d7301f", "RUS": "#2166ac", "PRK": "#7b3294", "KOR": "#1b9e77", "MNG": "#e6ab02",
                  "JPN": "#66a61e", "KAZ": "#a6761d"}
OTHER_COLOR = "#636363"
#: Base-map colours (same family as the demo's PNG maps).
SEA = "#dbe9f4"
LAND = {"CHN": "#f3eee2", "RUS": "#e9efe4", "PRK": "#efe6ea", "KOR": "#efe6ea"}
LAND_OTHER = "#eeeeee"
BORDER = "#b3001b"
WATER = "#4f8fc6"
LAKE_FILL = "#a9cbe8"

NE_CREDIT = "Natural Earth (public domain)"
ETOPO_CREDIT = "ETOPO1 (NOAA NGDC), CC-BY 4.0 packaging by Fatiando a Terra"
PA_CREDIT = "PA facts from public pages (see pa_facts.csv); footprints approximate"
DEMO_CREDIT = "econet demo (MODIS MCD12C1 land cover, ETOPO1 elevation)"
#: Coordinates in the GeoJSON are rounded to this many decimals (about 1 m).
DECIMALS = 5


#: The demo folder's rasters the atlas serves (an allow-list: any other file in the folder is never served).
DEMO_RASTERS: dict[str, dict[str, Any]] = {
    "current.tif": dict(name="current", title="Circuit current (cumulative)", visible=True,
                        description="Cumulative current between every pair of protected areas (circuit theory, "
                                    "Circuitscape semantics): where movement concentrates.",
                        legend={"unit": "A", "label": "cumulative current (A, log scale)"},
                        ramp=dict(cmap="inferno", scale="log", opacity=0.85, alpha_from_value=True, low_pct=25.0)),
    "pinch_points": dict(name="pinch_points", file="current.tif", title="Pinch points (current inside corridors)",
                         visible=False,
                         description="Cumulative current inside the least-cost corridors (Linkage Mapper's "
                                     "Pinchpoint Mapper idea): narrow places where movement is funnelled.",
                         legend={"unit": "A", "label": "current inside corridors (log scale)"}, mask="corridors.tif",
                         ramp=dict(cmap="magma", scale="log", opacity=0.9, low_pct=50.0)),
    "corridors.tif": dict(name="corridors", title="Least-cost corridors", visible=False,
                          description="Normalized least-cost corridors between protected areas (truncated).",
                          legend={"unit": "", "label": "cost-weighted distance above the least-cost path"},
                          ramp=dict(cmap="YlGn_r", scale="linear", opacity=0.7, low_pct=0.0)),
    "resistance.tif": dict(name="resistance", title="Resistance surface", visible=False,
                           description="Resistance to movement per cell (land cover x slope).",
                           legend={"unit": "", "label": "resistance (log scale)"},
                           ramp=dict(cmap="YlOrBr", scale="log", opacity=0.75, low_pct=0.0)),
    "elevation.tif": dict(name="elevation", title="Elevation", visible=False,
                          description="ETOPO1 elevation on the analysis grid (m).",
                          legend={"unit": "m", "label": "elevation (m)"},
                          ramp=dict(cmap="terrain", scale="linear", opacity=0.7, low_pct=0.0)),
    "carbon_density.tif": dict(name="carbon_density", title="Carbon density", visible=False,
                               description="Carbon stored per cell (InVEST-style carbon model, demo).",
                               legend={"unit": "Mg C/ha", "label": "carbon density"},
                               ramp=dict(cmap="Greens", scale="linear", opacity=0.7, low_pct=0.0)),
}

#: The demo folder's public vector layers (an allow-list). Nothing here holds hub records.
DEMO_VECTORS: dict[str, dict[str, Any]] = {
    "transboundary_complexes": dict(
        file="coverage.gpkg", layer="transboundary_complexes", title="Transboundary PA complexes", visible=True,
        group="protected", geometry="polygon",
        description="Groups of protected areas on both sides of a border within 50 km of each other.",
        legend={"type": "outline", "color": "#1a9850"}, style={"line": "#1a9850"}),
    "corridor_paths": dict(
        file="corridors.gpkg", layer="paths", title="Least-cost paths", visible=True, geometry="line",
        description="Least-cost paths between protected areas; red where a path crosses the border.",
        legend={"type": "line", "color": "#006d2c", "cross": "#e31a1c"},
        style={"line": "#006d2c", "cross": "#e31a1c"}),
    "bird_sites": dict(
        file="waterbird_sites_ranked.csv", title="Critical waterbird sites", visible=False, geometry="point",
        description="Sites holding at least 1% of a flyway population (Ramsar criterion 6) or 20,000 waterbirds "
                    "(criterion 5); cranes in the dashboard.",
        legend={"type": "point", "color": "#6a3d9a"}, style={"fill": "#6a3d9a"},
        columns=["rank", "site_id", "site_name", "country", "criteria", "n_populations_1pct", "populations_1pct",
                 "max_share_pct", "max_share_population", "waterbirds_mean_max", "critical"]),
    "glaciers": dict(
        file="glacier_trends.csv", title="Glaciers (mass balance trend)", visible=False, geometry="point",
        attribution="WGMS Fluctuations of Glaciers database", description="Monitored glaciers (WGMS) with their "
        "cumulative mass balance and its trend.",
        legend={"type": "point", "color": "#00bcd4"}, style={"fill": "#00bcd4"},
        columns=["wgms_id", "name", "country", "first_year", "last_year", "n_years", "cumulative_mwe",
                 "mean_annual_mwe", "ts_slope_mwe_per_yr", "mk_p", "area_km2_last"]),
}


@dataclass
class LayerSpec:
    """One map layer: metadata for the atlas plus how to produce its data."""

    name: str
    kind: str                       # "vector" | "raster"
    title: str
    group: str                      # "base" | "protected" | "analysis"
    origin: str                     # "packaged" | "demo"
    description: str = ""
    visible: bool = True
    attribution: str = ""
    geometry: str | None = None     # vector: "polygon" | "line" | "point"
    legend: dict[str, Any] = field(default_factory=dict)
    style: dict[str, Any] = field(default_factory=dict)
    load: Callable[[], Any] | None = None        # vector: -> GeoDataFrame (any CRS)
    renderer_factory: Callable[[], Any] | None = None   # raster: -> TileRenderer

    def describe(self, bounds: tuple[float, float, float, float] | None = None) -> dict[str, Any]:
        """The JSON the API lists for this layer (URLs relative to the server root)."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "title": self.title, "group": self.group,
                               "origin": self.origin, "description": self.description, "visible": self.visible,
                               "attribution": self.attribution, "legend": self.legend, "style": self.style,
                               "url": f"/api/v1/layers/{self.name}"}
        if self.kind == "vector":
            out["geometry"] = self.geometry
        else:
            out["tiles"] = f"/api/v1/tiles/{self.name}/{{z}}/{{x}}/{{y}}.png"
            out["tile_size"] = 256
            if bounds is not None:
                out["bounds"] = [round(float(v), 6) for v in bounds]
        return out


def _round_coords(gdf):
    """Coordinates rounded to DECIMALS (smaller GeoJSON; about 1 m at these latitudes)."""
    import shapely
    geoms = shapely.transform(gdf.geometry.values, lambda c: np.round(c, DECIMALS))
    return gdf.set_geometry(geoms, crs=gdf.crs)


def to_geojson(gdf) -> bytes:
    """A GeoDataFrame as an RFC 7946 FeatureCollection in WGS84 lon/lat, empty geometries dropped."""
    if gdf.crs is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs(4326)
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    gdf = _round_coords(gdf)
    # Non-JSON values (numpy scalars, NaN, timestamps) become plain JSON: NaN -> null.
    props = gdf.drop(columns=gdf.geometry.name)
    import shapely
    features = []
    for geom, (_, row) in zip(gdf.geometry.values, props.iterrows()):
        properties = {str(k): _plain(v) for k, v in row.items()}
        features.append({"type": "Feature", "properties": properties,
                         "geometry": json.loads(shapely.to_geojson(geom))})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, (str, int)):
        return value
    try:
        import pandas as pd
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


class LayerCatalog:
    """All layers the app can serve, discovered once at start-up; GeoJSON and tile renderers made lazily."""

    def __init__(self, demo_dir: str | Path | None = None):
        from econet.demo.region import DEMO_BOUNDS
        self.demo_dir = Path(demo_dir) if demo_dir is not None else None
        if self.demo_dir is not None and not self.demo_dir.is_dir():
            raise EconetError("demo output folder not found", path=self.demo_dir)
        self.region_bounds = tuple(DEMO_BOUNDS)
        self._lock = threading.Lock()
        self._geojson: dict[str, bytes] = {}
        self._renderers: dict[str, Any] = {}
        self.layers: dict[str, LayerSpec] = {}
        for spec in self._discover():
            self.layers[spec.name] = spec

    # ------------------------------------------------------------------------------------------ access
    def get(self, name: str) -> LayerSpec:
        spec = self.layers.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for spec in self.layers.values():
            bounds = self.renderer(spec.name).source.lonlat_bounds() if spec.kind == "raster" else None
            out.append(spec.describe(bounds))
        return out

    def geojson(self, name: str) -> bytes:
        """The layer's FeatureCollection (made once, then kept)."""
        spec = self.get(name)
        if spec.kind != "vector":
            raise EconetError(f"layer '{name}' is a raster layer; its tiles are at /api/v1/tiles/{name}/{{z}}/{{x}}/{{y}}.png")
        with self._lock:
            cached = self._geojson.get(name)
        if cached is None:
            cached = to_geojson(spec.load())
            with self._lock:
                self._geojson[name] = cached
        return cached

    def renderer(self, name: str):
        """The layer's TileRenderer (made once: ramp limits come from the data)."""
        spec = self.get(name)
        if spec.kind != "raster":
            raise EconetError(f"layer '{name}' is a vector layer; its GeoJSON is at /api/v1/layers/{name}")
        with self._lock:
            r = self._renderers.get(name)
        if r is None:
            r = spec.renderer_factory()
            spec.legend = {**r.ramp.legend(), **spec.legend}
            with self._lock:
                self._renderers[name] = r
        return r

    # ------------------------------------------------------------------------------------------ discovery
    def _discover(self) -> list[LayerSpec]:
        from econet.demo.region import ELEVATION_TIF, NE_GPKG, data_dir

        ne = data_dir() / NE_GPKG
        specs = [
            LayerSpec("hillshade", "raster", "Relief (hillshade)", "base", "packaged",
                      "Shaded relief from the ETOPO1 elevation grid (10 arc-minutes, smoothed).",
                      attribution=ETOPO_CREDIT, legend={"type": "shade"},
                      renderer_factory=lambda: _hillshade_renderer(data_dir() / ELEVATION_TIF)),
            LayerSpec("countries", "vector", "Countries", "base", "packaged",
                      "Land of each country, Natural Earth 1:10m.", attribution=NE_CREDIT, geometry="polygon",
                      legend={"type": "fill", "colors": LAND, "other": LAND_OTHER, "sea": SEA},
                      style={"fill": LAND, "other": LAND_OTHER, "sea": SEA, "outline": "#8a8a8a"},
                      load=lambda: _countries(ne, self.region_bounds)),
            LayerSpec("lakes", "vector", "Lakes", "base", "packaged", "Natural Earth 1:10m lakes.",
                      attribution=NE_CREDIT, geometry="polygon",
                      legend={"type": "fill", "color": LAKE_FILL}, style={"fill": LAKE_FILL, "outline": WATER},
                      load=lambda: _read(ne, "lakes")),
            LayerSpec("rivers", "vector", "Rivers", "base", "packaged",
                      "Natural Earth 1:10m rivers and lake centre lines.", attribution=NE_CREDIT, geometry="line",
                      legend={"type": "line", "color": WATER}, style={"line": WATER},
                      load=lambda: _read(ne, "rivers")),
            LayerSpec("border", "vector", "International border", "base", "packaged",
                      "International land boundaries (Natural Earth 1:10m), emphasized.", attribution=NE_CREDIT,
                      geometry="line", legend={"type": "line", "color": BORDER, "width": 3},
                      style={"line": BORDER, "casing": "#ffffff"},
                      load=lambda: _read(ne, "boundary_lines")),
        ]
        demo = self.demo_dir
        pa_file = demo / "protected_areas.gpkg" if demo is not None else None
        has_demo_pas = pa_file is not None and pa_file.exists()
        specs.append(LayerSpec(
            "protected_areas", "vector", "Protected areas", "protected", "demo" if has_demo_pas else "packaged",
            "Protected areas coloured by country; footprints are APPROXIMATE circles of the published area at the "
            "published point (dashed outline).", attribution=PA_CREDIT, geometry="polygon",
            legend={"type": "categories", "by": "iso3", "colors": COUNTRY_COLORS, "other": OTHER_COLOR,
                    "approximate": "dashed outline"},
            style={"by": "iso3", "colors": COUNTRY_COLORS, "other": OTHER_COLOR, "fill_opacity": 0.45},
            load=(lambda: _pas_from_file(pa_file)) if has_demo_pas else _pas_from_facts))
        if demo is not None:
            specs.extend(self._demo_rasters(demo))
            specs.extend(self._demo_vectors(demo))
        return specs

    def _demo_rasters(self, demo: Path) -> list[LayerSpec]:
        """The demo's analysis rasters, from an allow-list: a file the catalog does not know is never served."""
        specs = []
        for key, conf in DEMO_RASTERS.items():
            path = demo / conf.get("file", key)
            if not path.is_file():
                continue
            factory = (lambda p=path, rc=conf["ramp"]: _file_renderer(p, **rc))
            if conf.get("mask"):
                mask = demo / conf["mask"]
                if not mask.is_file():
                    continue
                factory = (lambda p=path, m=mask, rc=conf["ramp"]: _file_renderer(p, mask=m, **rc))
            specs.append(LayerSpec(conf["name"], "raster", conf["title"], "analysis", "demo", conf["description"],
                                   visible=conf["visible"], attribution=DEMO_CREDIT, legend=dict(conf["legend"]),
                                   renderer_factory=factory))
        return specs

    def _demo_vectors(self, demo: Path) -> list[LayerSpec]:
        """The demo's public vector layers, from an allow-list (files holding hub records are never listed:
        observations, tracks and crossings reach the map only through the caller's view, see routers/atlas.py)."""
        specs = []
        for name, conf in DEMO_VECTORS.items():
            path = demo / conf["file"]
            if not path.is_file():
                continue
            specs.append(LayerSpec(name, "vector", conf["title"], conf.get("group", "analysis"), "demo",
                                   conf["description"], visible=conf.get("visible", False),
                                   attribution=conf.get("attribution", DEMO_CREDIT), geometry=conf["geometry"],
                                   legend=dict(conf["legend"]), style=dict(conf["style"]),
                                   load=(lambda p=path, c=conf: _load_demo_vector(p, c))))
        return specs

# --------------------------------------------------------------------------------------------- loaders
def _read(path: Path, layer: str):
    from econet.geo.vector import read_vector
    return read_vector(path, layer)


def _countries(path: Path, bounds):
    """Countries with a label point (lon/lat of a representative point of the part inside the region)."""
    from shapely.geometry import box
    gdf = _read(path, "countries").to_crs(4326)
    frame = box(*bounds)
    inside = gdf.geometry.intersection(frame)
    pts = inside.representative_point()
    gdf = gdf.copy()
    gdf["label_lon"] = [round(p.x, 4) if not g.is_empty else None for p, g in zip(pts, inside)]
    gdf["label_lat"] = [round(p.y, 4) if not g.is_empty else None for p, g in zip(pts, inside)]
    return gdf


def _with_pa_fields(pas):
    pas = pas.copy()
    if "footprint" in pas.columns:
        pas["approximate"] = pas["footprint"].astype(str).str.contains("approximate", case=False, na=False)
    else:
        pas["approximate"] = False
    keep = [c for c in ("focal_id", "name", "name_native", "iso3", "country", "designation", "iucn_cat", "year",
                        "area_km2", "footprint_km2", "footprint", "approximate", "transboundary_partner",
                        "source_url") if c in pas.columns]
    return pas[keep + [pas.geometry.name]]


def _load_demo_vector(path: Path, conf: dict):
    """One allow-listed demo layer: a GeoPackage layer, or a CSV table of points (lon/lat columns)."""
    if path.suffix == ".csv":
        import geopandas as gpd
        import pandas as pd
        df = pd.read_csv(path)
        df = df[df["lon"].notna() & df["lat"].notna()]
        return gpd.GeoDataFrame(df[conf["columns"]], geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
    return _read(path, conf["layer"])


def _pas_from_file(path: Path):
    from econet.geo.vector import list_layers
    layers = list_layers(path)
    layer = "protected_areas" if "protected_areas" in layers else layers[0]
    return _with_pa_fields(_read(path, layer))


def _pas_from_facts():
    """The demo's approximate PA footprints built straight from the packaged facts (no demo run needed)."""
    from econet.demo.region import DEMO_BOUNDS, NE_GPKG, data_dir, pa_footprints, read_pa_facts
    from econet.geo.crs import equal_area_crs
    from econet.geo.vector import read_vector
    crs = equal_area_crs(DEMO_BOUNDS)
    countries = read_vector(data_dir() / NE_GPKG, "countries", to_crs=crs)
    pas, _ = pa_footprints(read_pa_facts(), DEMO_BOUNDS, crs, countries)
    return _with_pa_fields(pas)


def _file_renderer(path: Path, *, cmap: str, scale: str, opacity: float, low_pct: float,
                   alpha_from_value: bool = False, mask: Path | None = None):
    """A tile renderer of a GeoTIFF; with `mask`, only cells where the mask raster holds data (in memory)."""
    from econet.api.tiles import ColorRamp, GridSource, TileRenderer
    if mask is None:
        src = GridSource(path=path)
    else:
        from econet.geo.raster import read_raster
        r, m = read_raster(path), read_raster(mask)
        data = np.where(np.isfinite(np.asarray(m.data, dtype=float)), np.asarray(r.data, dtype=float), np.nan)
        src = GridSource(data=data, transform=r.transform, crs=r.crs)
    values = src.sample()
    if scale == "log":
        values = values[values > 0]
    if values.size == 0:
        vmin, vmax = (1e-6, 1.0) if scale == "log" else (0.0, 1.0)
    else:
        vmin = float(np.percentile(values, low_pct)) if low_pct > 0 else float(values.min())
        vmax = float(values.max())
        if scale == "log":
            vmin = max(vmin, vmax * 1e-6)
        if vmax <= vmin:
            vmax = vmin * 10 if scale == "log" else vmin + 1.0
    ramp = ColorRamp(cmap=cmap, vmin=vmin, vmax=vmax, scale=scale, opacity=opacity,
                     alpha_from_value=alpha_from_value)
    return TileRenderer(src, ramp)


def _hillshade_renderer(path: Path):
    import math

    from econet.api.tiles import ColorRamp, TileRenderer, hillshade_source
    flat = math.sin(math.radians(45.0))
    # Flat ground maps to the middle of the ramp, i.e. fully transparent: only slopes shade or light the map.
    ramp = ColorRamp(vmin=2 * flat - 1.0, vmax=1.0, scale="linear", opacity=0.55, shade=True)
    return TileRenderer(hillshade_source(path), ramp)
