"""Raster layers as 256 x 256 PNG map tiles in Web Mercator (XYZ scheme), warped on request with rasterio.warp.

No tile server and no pre-rendered pyramid: each tile is one `rasterio.warp.reproject` of the source grid into
the tile's Mercator window, coloured with a ramp (`ColorRamp`) and encoded as RGBA PNG; NaN/nodata cells and
everything outside the raster are transparent. Sources are files (opened per request, so the memory used stays
flat whatever the raster size) or small in-memory grids (the hillshade computed from the elevation grid).
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from econet.errors import EconetError

TILE_SIZE = 256
MAX_ZOOM = 22
#: Half the width of the Web Mercator world (m), EPSG:3857.
ORIGIN = 20037508.342789244
WEB_MERCATOR = "EPSG:3857"
#: Web Mercator is cut at this latitude (degrees).
MAX_LAT = 85.0511287798066


def check_tile(z: int, x: int, y: int) -> None:
    """Raise EconetError unless (z, x, y) names a tile of the XYZ pyramid (0 <= x, y < 2**z, 0 <= z <= MAX_ZOOM)."""
    if not 0 <= z <= MAX_ZOOM:
        raise EconetError(f"zoom {z} out of range 0-{MAX_ZOOM}", field="z")
    n = 1 << z
    if not 0 <= x < n:
        raise EconetError(f"tile column {x} out of range 0-{n - 1} at zoom {z}", field="x")
    if not 0 <= y < n:
        raise EconetError(f"tile row {y} out of range 0-{n - 1} at zoom {z}", field="y")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of tile z/x/y in Web Mercator metres (row 0 at the top, as XYZ/OSM)."""
    size = 2 * ORIGIN / (1 << z)
    left = -ORIGIN + x * size
    top = ORIGIN - y * size
    return left, top - size, left + size, top


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile holding a lon/lat point at zoom z."""
    n = 1 << z
    lat = max(min(lat, MAX_LAT), -MAX_LAT)
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


# --------------------------------------------------------------------------------------------- colour
@dataclass
class ColorRamp:
    """Values -> RGBA: a matplotlib colormap over [vmin, vmax] (linear or log), with a constant opacity.

    `alpha_from_value` makes low values transparent (alpha grows with the normalized value), which suits
    a current map drawn over the base map; `shade` draws a hillshade (dark = black, light = white, each with
    an alpha that grows away from mid-grey), so it darkens and lightens what lies beneath.
    """

    cmap: str = "viridis"
    vmin: float = 0.0
    vmax: float = 1.0
    scale: str = "linear"            # "linear" | "log"
    opacity: float = 1.0
    alpha_from_value: bool = False
    shade: bool = False

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """Values mapped to 0..1 (clipped); NaN stays NaN."""
        v = np.asarray(values, dtype=np.float64)
        if self.scale == "log":
            lo = math.log10(max(self.vmin, 1e-300))
            hi = math.log10(max(self.vmax, self.vmin * 10, 1e-300))
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (np.log10(np.where(v > 0, v, np.nan)) - lo) / (hi - lo)
            t = np.where(np.isfinite(v) & (v <= 0), 0.0, t)
        else:
            span = (self.vmax - self.vmin) or 1.0
            t = (v - self.vmin) / span
        return np.clip(t, 0.0, 1.0)

    def rgba(self, values: np.ndarray) -> np.ndarray:
        """uint8 RGBA array (rows, cols, 4); transparent where values are NaN."""
        t = self.normalize(values)
        valid = np.isfinite(t)
        out = np.zeros(t.shape + (4,), dtype=np.uint8)
        if self.shade:
            tt = np.where(valid, t, 0.5)
            grey = np.where(tt < 0.5, 0, 255).astype(np.uint8)
            out[..., 0] = out[..., 1] = out[..., 2] = grey
            a = np.abs(tt - 0.5) * 2.0 * self.opacity * 255
            out[..., 3] = np.where(valid, a, 0).astype(np.uint8)
            return out
        import matplotlib
        cmap = matplotlib.colormaps[self.cmap]
        colours = cmap(np.where(valid, t, 0.0), bytes=True)
        out[...] = colours
        alpha = np.full(t.shape, self.opacity)
        if self.alpha_from_value:
            alpha = alpha * np.clip(np.where(valid, t, 0.0), 0.0, 1.0) ** 0.7
        out[..., 3] = np.where(valid, alpha * 255, 0).astype(np.uint8)
        return out

    def stops(self, n: int = 7) -> list[dict[str, Any]]:
        """Legend stops: n values across the range with their colour (hex), in the ramp's own scale."""
        if self.scale == "log":
            values = np.logspace(math.log10(self.vmin), math.log10(self.vmax), n)
        else:
            values = np.linspace(self.vmin, self.vmax, n)
        rgba = self.rgba(values)
        if self.shade:
            return [{"value": float(v), "color": "#%02x%02x%02x" % ((int(t * 255),) * 3)}
                    for v, t in zip(values, self.normalize(values))]
        return [{"value": float(v), "color": "#%02x%02x%02x" % tuple(int(c) for c in px[:3])}
                for v, px in zip(values, rgba)]

    def legend(self) -> dict[str, Any]:
        return {"type": "ramp", "scale": self.scale, "min": float(self.vmin), "max": float(self.vmax),
                "stops": self.stops()}


def encode_png(rgba: np.ndarray) -> bytes:
    """RGBA uint8 array -> PNG bytes."""
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


_EMPTY: bytes | None = None


def empty_tile() -> bytes:
    """A fully transparent 256 x 256 PNG (tiles outside a raster)."""
    global _EMPTY
    if _EMPTY is None:
        _EMPTY = encode_png(np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8))
    return _EMPTY


# --------------------------------------------------------------------------------------------- sources
@dataclass
class GridSource:
    """A single-band raster to tile: a file path, or an in-memory array with its transform and CRS."""

    path: Path | None = None
    data: np.ndarray | None = None
    transform: Any = None
    crs: Any = None
    nodata: float | None = None
    resampling: str = "bilinear"
    _bounds: tuple[float, float, float, float] | None = field(default=None, repr=False)

    def mercator_bounds(self) -> tuple[float, float, float, float]:
        """The source's footprint in Web Mercator metres (to skip tiles that cannot touch it)."""
        if self._bounds is None:
            from rasterio.warp import transform_bounds
            if self.path is not None:
                import rasterio
                with rasterio.open(self.path) as src:
                    b, crs = src.bounds, src.crs
            else:
                rows, cols = self.data.shape
                t = self.transform
                b = (t.c, t.f + rows * t.e, t.c + cols * t.a, t.f)
                crs = self.crs
            self._bounds = transform_bounds(crs, WEB_MERCATOR, *b, densify_pts=21)
        return self._bounds

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        from rasterio.warp import transform_bounds
        return tuple(float(v) for v in transform_bounds(WEB_MERCATOR, "EPSG:4326", *self.mercator_bounds()))

    def sample(self, max_cells: int = 1_000_000) -> np.ndarray:
        """The valid values, read at reduced resolution for big rasters (for ramp limits)."""
        if self.path is not None:
            import rasterio
            with rasterio.open(self.path) as src:
                k = max(1, int(math.ceil(math.sqrt(src.width * src.height / max_cells))))
                arr = src.read(1, out_shape=(max(1, src.height // k), max(1, src.width // k)),
                               masked=True).astype(np.float64)
                data = arr.filled(np.nan)
        else:
            data = np.asarray(self.data, dtype=np.float64)
        return data[np.isfinite(data)]

    def warp_tile(self, z: int, x: int, y: int) -> np.ndarray:
        """The source warped into tile z/x/y: float64 (256, 256), NaN where there is no data."""
        from affine import Affine
        from rasterio.enums import Resampling
        from rasterio.warp import reproject

        left, bottom, right, top = tile_bounds(z, x, y)
        res = (right - left) / TILE_SIZE
        dst_transform = Affine(res, 0.0, left, 0.0, -res, top)
        dst = np.full((TILE_SIZE, TILE_SIZE), np.nan, dtype=np.float64)
        method = getattr(Resampling, self.resampling)
        import warnings
        warnings.filterwarnings("ignore", category=rasterio_warning())
        if self.path is not None:
            import rasterio
            with rasterio.open(self.path) as src:
                nodata = src.nodata if src.nodata is not None else self.nodata
                reproject(rasterio.band(src, 1), dst, src_nodata=nodata, dst_transform=dst_transform,
                          dst_crs=WEB_MERCATOR, dst_nodata=np.nan, resampling=method)
        else:
            src = np.asarray(self.data, dtype=np.float64)
            reproject(src, dst, src_transform=self.transform, src_crs=self.crs, src_nodata=np.nan,
                      dst_transform=dst_transform, dst_crs=WEB_MERCATOR, dst_nodata=np.nan, resampling=method)
        return dst


def rasterio_warning():
    from rasterio.errors import NotGeoreferencedWarning
    return NotGeoreferencedWarning


def intersects(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class TileRenderer:
    """Renders (and keeps the most recent) PNG tiles of one raster source with one colour ramp."""

    def __init__(self, source: GridSource, ramp: ColorRamp, cache_size: int = 256):
        self.source = source
        self.ramp = ramp
        self._cache: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_size = cache_size

    def tile(self, z: int, x: int, y: int) -> bytes:
        """PNG bytes of tile z/x/y (transparent outside the raster); EconetError for coordinates off the pyramid."""
        check_tile(z, x, y)
        key = (z, x, y)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        if not intersects(tile_bounds(z, x, y), self.source.mercator_bounds()):
            png = empty_tile()
        else:
            values = self.source.warp_tile(z, x, y)
            png = empty_tile() if not np.isfinite(values).any() else encode_png(self.ramp.rgba(values))
        with self._lock:
            self._cache[key] = png
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return png


# --------------------------------------------------------------------------------------------- relief
def hillshade(elevation: np.ndarray, dx: np.ndarray | float, dy: float, *, azimuth: float = 315.0,
              altitude: float = 45.0, z_factor: float = 1.0) -> np.ndarray:
    """Lambertian hillshade 0..1 of an elevation grid (flat ground = sin(altitude)).

    `dx` (per row, for geographic grids whose cells narrow towards the poles) and `dy` are cell sizes in
    metres. Standard formula (Burrough & McDonnell 1998), sun from the north-west by default.
    """
    z = np.asarray(elevation, dtype=np.float64) * z_factor
    dzdy, dzdx = np.gradient(z)
    dx = np.asarray(dx, dtype=np.float64)
    if dx.ndim == 1:
        dx = dx[:, None]
    dzdx = dzdx / dx
    dzdy = -dzdy / dy            # rows run north to south
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(-dzdx, -dzdy)   # direction the slope faces, clockwise from north
    az = math.radians(azimuth)
    alt = math.radians(altitude)
    shade = math.sin(alt) * np.cos(slope) + math.cos(alt) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(shade, 0.0, 1.0)


def hillshade_source(path: Path, *, upsample: int = 4, exaggeration: float = 8.0) -> GridSource:
    """A hillshade grid (0..1, flat ground = sin(45 deg)) from a geographic elevation GeoTIFF, sea masked.

    The grid is first resampled `upsample` times finer (cubic) so the relief reads smoothly on the map;
    `exaggeration` multiplies heights, since a coarse grid flattens slopes.
    """
    import rasterio
    from rasterio.enums import Resampling

    if not Path(path).exists():
        raise EconetError("elevation grid not found", path=path)
    with rasterio.open(path) as src:
        z = src.read(1, out_shape=(src.height * upsample, src.width * upsample),
                     resampling=Resampling.cubic, masked=True).astype(np.float64).filled(np.nan)
        transform = src.transform @ src.transform.scale(src.width / z.shape[1], src.height / z.shape[0])
        crs = src.crs
    if crs is None or not crs.is_geographic:
        raise EconetError("the hillshade source must be a lon/lat grid", path=path)
    rows = np.arange(z.shape[0])
    lat = transform.f + (rows + 0.5) * transform.e
    metres_per_deg = 111_320.0
    dx = abs(transform.a) * metres_per_deg * np.cos(np.radians(lat))
    dy = abs(transform.e) * metres_per_deg
    shade = hillshade(np.nan_to_num(z, nan=0.0), dx, dy, z_factor=exaggeration)
    shade[~(z > 30)] = np.nan   # sea, coast and low plains: no relief drawn (coarse cells would bleed into the sea)
    return GridSource(data=shade, transform=transform, crs=crs, resampling="bilinear")
