"""Circuitscape's file formats: ASCII grids and GeoTIFFs in, text point/pair/strength lists, network edge
lists; ASCII grid, resistance matrix and network text outputs written as Circuitscape writes them
(Circuitscape.jl src/io.jl and src/out.jl)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from econet.errors import EconetError

NODATA_DEFAULT = -9999.0


@dataclass
class GridMeta:
    ncols: int
    nrows: int
    xllcorner: float
    yllcorner: float
    cellsize: float
    nodata: float
    is_tif: bool = False
    transform: object = None
    crs: object = None
    path: str = ""

    def same_grid(self, other: "GridMeta") -> bool:
        tol = 1e-6 * max(abs(self.cellsize), 1e-12)
        return (self.ncols == other.ncols and self.nrows == other.nrows
                and abs(self.cellsize - other.cellsize) <= tol
                and abs(self.xllcorner - other.xllcorner) <= tol
                and abs(self.yllcorner - other.yllcorner) <= tol)


def _existing(path: Path) -> Path:
    p = Path(path)
    if p.exists():
        return p
    if Path(str(p) + ".gz").exists():
        return Path(str(p) + ".gz")
    raise EconetError("file not found", path=p)


def _open_text(path: Path):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, "r", encoding="utf-8", errors="replace")


def is_tif(path: Path) -> bool:
    name = str(path).lower()
    return name.endswith((".tif", ".tiff", ".tif.gz", ".tiff.gz"))


def read_grid(path: Path) -> tuple[np.ndarray, GridMeta]:
    """Grid values (float64, NaN where nodata or -9999) and header of an ASCII grid or GeoTIFF."""
    path = _existing(Path(path))
    if is_tif(path):
        from econet.geo.raster import read_raster
        r = read_raster(path)
        data = r.data
        data = np.where(data == NODATA_DEFAULT, np.nan, data)
        rows, cols = data.shape
        t = r.transform
        meta = GridMeta(cols, rows, t.c, t.f + rows * t.e, t.a, r.nodata if r.nodata is not None else NODATA_DEFAULT,
                        True, t, r.crs, str(path))
        return data, meta
    try:
        with _open_text(path) as f:
            header = {}
            lines_read = 0
            body_prefix = ""
            while lines_read < 6:
                pos_line = f.readline()
                if not pos_line:
                    break
                parts = pos_line.split()
                if not parts:
                    continue
                key = parts[0].lower()
                if key in ("ncols", "nrows", "xllcorner", "yllcorner", "xllcenter", "yllcenter", "cellsize",
                           "nodata_value"):
                    if len(parts) < 2:
                        raise EconetError(f"header line '{pos_line.strip()}' has no value", path=path,
                                          row=lines_read + 1)
                    header[key] = parts[1]
                    lines_read += 1
                    if lines_read == 5 and "nodata_value" not in header:
                        # a 5-line header is allowed: peek at the next line
                        rest_first = f.readline()
                        if rest_first.split() and rest_first.split()[0].lower() == "nodata_value":
                            header["nodata_value"] = rest_first.split()[1]
                            body_prefix = ""
                        else:
                            body_prefix = rest_first
                        break
                else:
                    body_prefix = pos_line
                    break
            else:
                body_prefix = ""
            body = body_prefix + f.read()
    except EconetError:
        raise
    except (OSError, EOFError) as exc:
        raise EconetError(f"cannot read grid ({exc})", path=path) from None
    for k in ("ncols", "nrows", "cellsize"):
        if k not in header:
            raise EconetError(f"not an ESRI ASCII grid: header lacks '{k}'", path=path)
    try:
        ncols, nrows = int(header["ncols"]), int(header["nrows"])
        cellsize = float(header["cellsize"])
        xll = float(header.get("xllcorner", header.get("xllcenter", 0.0)))
        yll = float(header.get("yllcorner", header.get("yllcenter", 0.0)))
        if "xllcenter" in header:
            xll -= cellsize / 2
        if "yllcenter" in header:
            yll -= cellsize / 2
        nodata = float(header.get("nodata_value", NODATA_DEFAULT))
    except ValueError as exc:
        raise EconetError(f"bad grid header ({exc})", path=path) from None
    try:
        values = np.array(body.split(), dtype=np.float64)
    except ValueError as exc:
        raise EconetError(f"grid holds a value that is not a number ({exc})", path=path) from None
    if values.size != ncols * nrows:
        raise EconetError(f"grid has {values.size} values but its header says {nrows} rows x {ncols} columns",
                          path=path)
    if not np.isfinite(values).all():
        k = int(np.flatnonzero(~np.isfinite(values))[0])
        raise EconetError(f"grid holds a NaN or infinite value at row {k // ncols + 1}, column {k % ncols + 1} "
                          f"(use the NODATA_value {nodata:g} for missing cells)", path=path)
    data = values.reshape(nrows, ncols)
    data[(data == nodata) | (data == NODATA_DEFAULT)] = np.nan
    return data, GridMeta(ncols, nrows, xll, yll, cellsize, nodata, False, None, None, str(path))


def read_matching_grid(path: Path, habitat: GridMeta, what: str) -> np.ndarray:
    """A grid that must share the habitat grid's rows, columns, cell size and corner."""
    data, meta = read_grid(path)
    if (meta.nrows, meta.ncols) != (habitat.nrows, habitat.ncols):
        raise EconetError(f"{what} has {meta.nrows} rows x {meta.ncols} columns but the habitat grid "
                          f"{habitat.path} has {habitat.nrows} x {habitat.ncols}", path=path)
    if not meta.same_grid(habitat):
        raise EconetError(f"{what} extent (corner {meta.xllcorner:g},{meta.yllcorner:g}, cell size "
                          f"{meta.cellsize:g}) differs from the habitat grid's ({habitat.xllcorner:g},"
                          f"{habitat.yllcorner:g}, {habitat.cellsize:g})", path=path)
    return data


def _read_table(path: Path, ncols_min: int, what: str) -> np.ndarray:
    path = _existing(Path(path))
    rows = []
    with _open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            try:
                vals = [float(x) for x in parts]
            except ValueError:
                raise EconetError(f"{what}: expected numbers, got '{line.strip()[:60]}'", path=path,
                                  row=lineno) from None
            if len(vals) < ncols_min:
                raise EconetError(f"{what}: expected {ncols_min} columns", path=path, row=lineno)
            rows.append(vals[:max(ncols_min, 1)])
    if not rows:
        raise EconetError(f"{what} is empty", path=path)
    return np.array(rows, dtype=np.float64)


def is_grid_file(path: Path) -> bool:
    """Circuitscape's file-type guess: GeoTIFF by extension, ASCII grid by its 'ncols' header."""
    path = _existing(Path(path))
    if is_tif(path):
        return True
    with _open_text(path) as f:
        first = f.readline()
    return first.lower().startswith("ncols")


def xy_to_rowcol(x: np.ndarray, y: np.ndarray, meta: GridMeta) -> tuple[np.ndarray, np.ndarray]:
    """0-based row/column of map coordinates, as Circuitscape computes them (ceil of cell offsets)."""
    i = np.ceil(meta.nrows - (y - meta.yllcorner) / meta.cellsize).astype(np.int64)
    j = np.ceil((x - meta.xllcorner) / meta.cellsize).astype(np.int64)
    return i - 1, j - 1


def read_points(path: Path, meta: GridMeta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Focal points/regions as (rows, cols, ids), ids > 0, from a grid file or a text list 'id x y'
    (Circuitscape drops negative ids)."""
    path = _existing(Path(path))
    if is_grid_file(path):
        data = read_matching_grid(path, meta, "focal point grid")
        data = np.where(np.isfinite(data), data, 0).astype(np.int64)
        r, c = np.nonzero(data > 0)
        return r, c, data[r, c]
    tab = _read_table(path, 3, "focal point list")
    r, c = xy_to_rowcol(tab[:, 1], tab[:, 2], meta)
    off = (r < 0) | (r >= meta.nrows) | (c < 0) | (c >= meta.ncols)
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise EconetError(f"focal point {tab[k, 0]:g} at ({tab[k, 1]:g}, {tab[k, 2]:g}) lies outside the "
                          "habitat grid", path=path, row=k + 1)
    keep = tab[:, 0] > 0
    return r[keep], c[keep], tab[keep, 0].astype(np.int64)


def read_value_map(path: Path, meta: GridMeta, what: str) -> np.ndarray:
    """Source or ground values per cell (NaN = none) from a grid or a text list 'value x y'."""
    path = _existing(Path(path))
    if is_grid_file(path):
        return read_matching_grid(path, meta, what)
    tab = _read_table(path, 3, what)
    r, c = xy_to_rowcol(tab[:, 1], tab[:, 2], meta)
    off = (r < 0) | (r >= meta.nrows) | (c < 0) | (c >= meta.ncols)
    if off.any():
        k = int(np.flatnonzero(off)[0])
        raise EconetError(f"{what}: location ({tab[k, 1]:g}, {tab[k, 2]:g}) lies outside the habitat grid",
                          path=path, row=k + 1)
    out = np.full((meta.nrows, meta.ncols), np.nan)
    out[r, c] = tab[:, 0]
    return out


def read_strengths(path: Path) -> dict:
    """Variable source strengths 'id strength'."""
    tab = _read_table(path, 2, "source strength list")
    return {int(i): float(s) for i, s in tab}


def read_included_pairs(path: Path) -> tuple[str, np.ndarray, np.ndarray]:
    """Included/excluded pairs: (mode, point ids, 0/1 matrix) from either Circuitscape format:
    'min/max' header + matrix, or 'mode include|exclude' + 'id id' lines."""
    path = _existing(Path(path))
    with _open_text(path) as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    if not lines:
        raise EconetError("included pairs file is empty", path=path)
    head = lines[0].split()
    try:
        if head[0].lower() == "min":
            minval = float(head[1])
            maxval = float(lines[1].split()[1])
            rows = [[float(x) for x in ln.split()] for ln in lines[2:]]
            ids = np.array([r[0] for r in rows[1:]], dtype=np.int64)
            mat = np.array([r[1:1 + ids.size] for r in rows[1:]])
            mat = np.where(mat > maxval, 0, mat)
            return "include", ids, (mat >= minval).astype(np.int64)
        if head[0].lower() == "mode":
            mode = head[1].lower()
            if mode not in ("include", "exclude"):
                raise EconetError(f"mode must be include or exclude, got '{head[1]}'", path=path, row=1)
            pairs = np.array([[float(x) for x in ln.split()[:2]] for ln in lines[1:]], dtype=np.int64)
            ids = np.unique(pairs)
            ids = ids[ids != 0]
            mat = np.zeros((ids.size, ids.size), dtype=np.int64)
            for a, b in pairs:
                if a in ids and b in ids:
                    ia, ib = np.searchsorted(ids, a), np.searchsorted(ids, b)
                    mat[ia, ib] = mat[ib, ia] = 1
            return mode, ids, mat
    except (ValueError, IndexError):
        raise EconetError("malformed included pairs file", path=path) from None
    raise EconetError("included pairs file must start with 'min' (matrix) or 'mode' (list)", path=path)


def read_network(path: Path, what: str = "graph") -> np.ndarray:
    """Edge list 'node node value' (node ids as in the file)."""
    return _read_table(path, 3, what)


def read_node_values(path: Path, what: str) -> np.ndarray:
    """Node list 'node value'."""
    return _read_table(path, 2, what)


def read_node_list(path: Path) -> np.ndarray:
    """Focal node ids, one per line (first column)."""
    return _read_table(path, 1, "focal node list")[:, 0]


# ---------------------------------------------------------------------------------------------------
# writers
def fmt_number(x: float) -> str:
    """Shortest round-trip text of a number, integers without '.0' (as Circuitscape's files read)."""
    x = float(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def write_asc(path: Path, values: np.ndarray, meta: GridMeta) -> None:
    """ESRI ASCII grid with Circuitscape.jl's header and values rounded to 8 decimals."""
    v = np.round(np.asarray(values, dtype=np.float64), 8)
    with open(path, "w") as f:
        f.write(f"ncols         {meta.ncols}\n")
        f.write(f"nrows         {meta.nrows}\n")
        f.write(f"xllcorner     {meta.xllcorner!r}\n")
        f.write(f"yllcorner     {meta.yllcorner!r}\n")
        f.write(f"cellsize      {meta.cellsize!r}\n")
        f.write(f"NODATA_value  {float(meta.nodata)!r}\n")
        np.savetxt(f, v, fmt="%.10g", delimiter=" ")


def write_grid_file(path: Path, values: np.ndarray, meta: GridMeta) -> None:
    """ASCII grid, or GeoTIFF (float32, like Circuitscape.jl) when the habitat grid was a GeoTIFF."""
    if meta.is_tif:
        from affine import Affine
        from econet.geo.raster import Raster, _driver_for  # noqa: F401
        import rasterio
        data = np.asarray(values, dtype=np.float32)
        profile = dict(driver="GTiff", height=data.shape[0], width=data.shape[1], count=1, dtype="float32",
                       transform=meta.transform or Affine(meta.cellsize, 0, meta.xllcorner, 0, -meta.cellsize,
                                                          meta.yllcorner + meta.nrows * meta.cellsize),
                       nodata=float(meta.nodata))
        if meta.crs is not None:
            profile["crs"] = meta.crs
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data, 1)
    else:
        write_asc(path, values, meta)


def write_rows(path: Path, rows, sep: str = " ") -> None:
    with open(path, "w") as f:
        for r in rows:
            f.write(sep.join(fmt_number(x) for x in r) + "\n")
