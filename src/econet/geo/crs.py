"""Coordinate reference systems: geographic input is reprojected to an equal-area CRS chosen for the region."""

from __future__ import annotations

from pyproj import CRS

WGS84 = CRS.from_epsg(4326)


def equal_area_crs(bounds_lonlat: tuple[float, float, float, float]) -> CRS:
    """Lambert azimuthal equal-area CRS centred on a lon/lat bounding box (west, south, east, north).

    Areas are exact everywhere in it and distances are close to true within a few thousand km of the
    centre, which suits country- and ecoregion-sized study areas (Snyder 1987, USGS PP 1395, p. 182).
    """
    west, south, east, north = bounds_lonlat
    if east < west:  # crosses the antimeridian
        east += 360.0
    lon0 = ((west + east) / 2.0 + 180.0) % 360.0 - 180.0
    lat0 = (south + north) / 2.0
    return CRS.from_proj4(f"+proj=laea +lat_0={lat0:.4f} +lon_0={lon0:.4f} +x_0=0 +y_0=0 "
                          f"+ellps=WGS84 +units=m +no_defs")


def is_geographic(crs: CRS | str | int | None) -> bool:
    """True for lon/lat CRSs (degrees), where areas and distances must not be computed directly."""
    if crs is None:
        return False
    return CRS.from_user_input(crs).is_geographic
