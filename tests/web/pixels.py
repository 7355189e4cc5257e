"""Pixel helpers the browser tests share: the map canvas as an RGB array, and lon/lat to canvas pixels."""

from __future__ import annotations

import io

import numpy as np


def canvas(pg, path=None) -> np.ndarray:
    """The map canvas as a float RGB array (saved to `path` too when given)."""
    from PIL import Image
    png = pg.locator("#map canvas").screenshot(path=str(path) if path else None)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(float)


def project(pg, lon, lat) -> tuple[int, int]:
    """Canvas pixel (device pixels) of a lon/lat."""
    p = pg.evaluate(f"() => window.__atlas.map.project([{lon}, {lat}])")
    ratio = pg.evaluate("window.devicePixelRatio")
    return int(round(p["x"] * ratio)), int(round(p["y"] * ratio))
