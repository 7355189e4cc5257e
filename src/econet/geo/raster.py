"""Raster IO through rasterio: GeoTIFF and ESRI ASCII grids (.asc, .asc.gz), keeping CRS, transform, nodata."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from econet.atomic import atomic_path
from econet.errors import EconetError

ASCII_SUFFIXES = (".asc", ".asc.gz", ".txt", ".grd")


@dataclass
class Raster:
    """A single-band grid: `data` is float64 with NaN where the source had nodata."""

    data: np.ndarray
    transform: Affine
    crs: CRS | None = None
    nodata: float | None = -9999.0
    path: str | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    @property
    def cellsize(self) -> float:
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top)."""
        rows, cols = self.shape
        left, top = self.transform.c, self.transform.f
        return left, top + rows * self.transform.e, left + cols * self.transform.a, top

    def valid(self) -> np.ndarray:
        """Boolean mask of cells holding data."""
        return ~np.isnan(self.data)

    def with_data(self, data: np.ndarray) -> "Raster":
        """The same grid carrying other values."""
        return replace(self, data=np.asarray(data, dtype=np.float64), path=None)

    def same_grid(self, other: "Raster", tol: float = 1e-6) -> bool:
        """True when both rasters share shape, cell size and origin (within `tol` of a cell)."""
        if self.shape != other.shape:
            return False
        tol_abs = tol * max(abs(self.cellsize), 1e-12)
        return all(abs(a - b) <= tol_abs for a, b in zip(self.transform[:6], other.transform[:6]))

    def xy_to_rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of map coordinates (floor of the inverse transform)."""
        inv = ~self.transform
        col, row = inv @ (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)

    def rowcol_to_xy(self, row: np.ndarray, col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates of cell centres."""
        x, y = self.transform @ (np.asarray(col, dtype=float) + 0.5, np.asarray(row, dtype=float) + 0.5)
        return x, y


def _gdal_name(path: Path) -> str:
    name = str(path)
    if name.endswith(".gz") and not name.startswith("/vsigzip/"):
        return "/vsigzip/" + name
    return name


def resolve_existing(path: str | Path) -> Path:
    """The path itself or, as Circuitscape does, its .gz sibling when only that exists."""
    p = Path(path)
    if p.exists():
        return p
    gz = Path(str(p) + ".gz")
    if gz.exists():
        return gz
    raise EconetError("file not found", path=p)


def read_raster(path: str | Path, band: int = 1) -> Raster:
    """Read one band as float64 with nodata turned into NaN; clear errors for missing or unreadable files."""
    p = resolve_existing(path)
    try:
        with rasterio.open(_gdal_name(p)) as src:
            arr = src.read(band, masked=True).astype(np.float64)
            data = np.ma.filled(arr, np.nan)
            nodata = src.nodata
            return Raster(data=data, transform=src.transform, crs=src.crs, nodata=nodata, path=str(p))
    except rasterio.errors.RasterioIOError as exc:
        raise EconetError(f"cannot read raster ({exc})", path=p) from None
    except IndexError:
        raise EconetError(f"raster has no band {band}", path=p) from None


def _driver_for(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".tif", ".tiff")):
        return "GTiff"
    if name.endswith((".asc", ".asc.gz")):
        return "AAIGrid"
    raise EconetError("unsupported raster extension (use .tif or .asc)", path=path)


def write_raster(path: str | Path, raster: Raster, *, dtype: str = "float64",
                 significant_digits: int = 12) -> Path:
    """Write `raster` as GeoTIFF or ESRI ASCII grid (by extension), atomically; NaN becomes nodata."""
    path = Path(path)
    driver = _driver_for(path)
    nodata = raster.nodata if raster.nodata is not None else -9999.0
    data = np.where(np.isnan(raster.data), nodata, raster.data).astype(dtype)
    profile = dict(driver=driver, height=data.shape[0], width=data.shape[1], count=1, dtype=dtype,
                   transform=raster.transform, nodata=nodata)
    if raster.crs is not None:
        profile["crs"] = raster.crs
    if driver == "GTiff":
        profile.update(compress="deflate", tiled=data.shape[0] >= 256 and data.shape[1] >= 256)
        if profile["tiled"]:
            profile.update(blockxsize=256, blockysize=256)
    else:
        profile["SIGNIFICANT_DIGITS"] = significant_digits
        profile["FORCE_CELLSIZE"] = "YES"
    gz = path.name.lower().endswith(".gz")
    with atomic_path(path) as tmp:
        tmp_target = tmp.with_name(tmp.name + (".asc" if driver == "AAIGrid" else ".tif"))
        prj = tmp_target.with_suffix(".prj")
        try:
            with rasterio.open(tmp_target, "w", **profile) as dst:
                dst.write(data, 1)
            if gz:
                import gzip
                import shutil
                with open(tmp_target, "rb") as fin, gzip.open(tmp, "wb") as fout:
                    shutil.copyfileobj(fin, fout)
            else:
                tmp_target.replace(tmp)
            if prj.exists() and not gz:
                prj.replace(path.with_suffix(".prj"))
        finally:
            for extra in (tmp_target, prj, Path(str(tmp_target) + ".aux.xml")):
                extra.unlink(missing_ok=True)
    return path
