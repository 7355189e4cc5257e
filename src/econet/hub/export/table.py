"""CSV and GeoPackage export of any observation query (streamed, written atomically)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.engine import Connection

from econet.atomic import atomic_path
from econet.hub.query import COLUMNS, ObservationFilter, observation_rows

CHUNK = 20000


def export_csv(conn: Connection, f: ObservationFilter, out: str | Path, *, progress=None) -> int:
    """Write the selected observations to a CSV file (UTF-8, header, one row per record); return the count."""
    n = 0
    with atomic_path(out) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            w.writeheader()
            for row in observation_rows(conn, f):
                w.writerow(row)
                n += 1
                if progress and n % CHUNK == 0:
                    progress(n, None, "exporting")
    return n


def export_gpkg(conn: Connection, f: ObservationFilter, out: str | Path, *, layer: str = "observations",
                progress=None) -> int:
    """Write the selected observations as a point layer (EPSG:4326) of a GeoPackage; return the count."""
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    n = 0
    with atomic_path(out) as tmp:  # the temporary name keeps the .gpkg suffix GDAL needs
        buf: list[dict] = []

        def flush(first: bool) -> None:
            df = pd.DataFrame(buf, columns=COLUMNS)
            geom = shapely.points(df["lon"].astype(float).to_numpy(), df["lat"].astype(float).to_numpy())
            gdf = gpd.GeoDataFrame(df, geometry=geom, crs="EPSG:4326")
            pyogrio.write_dataframe(gdf, tmp, layer=layer, driver="GPKG", append=not first)

        first = True
        for row in observation_rows(conn, f):
            buf.append(row)
            n += 1
            if len(buf) >= CHUNK:
                flush(first)
                first = False
                buf = []
                if progress:
                    progress(n, None, "exporting")
        if buf or first:
            flush(first)
    return n
