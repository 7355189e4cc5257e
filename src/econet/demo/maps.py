"""Map drawing shared by the demo steps (matplotlib, no pyplot state): countries, borders, rivers, lakes, PAs,
a raster layer, legend, scale bar, north arrow, title and data credits, saved as PNG atomically.

All layers must be in the same projected metre CRS (the region's equal-area CRS), so the scale bar is true.
Typical use::

    fig, ax = new_map(region.resistance.bounds)
    draw_countries(ax, region.countries)
    im = draw_raster(ax, raster, cmap="magma", norm=LogNorm(...))
    draw_water(ax, region.rivers, region.lakes); draw_borders(ax, region.borders); draw_pas(ax, region.pas)
    finish_map(fig, ax, title="...", colorbar=(im, "current (A)"), credits=DATA_CREDITS)
    save_png(fig, path)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

SEA = "#dbe9f4"
WATER = "#4f8fc6"
LAKE_FILL = "#a9cbe8"
COUNTRY_FILLS = {"CHN": "#f3eee2", "RUS": "#e9efe4", "PRK": "#efe6ea", "KOR": "#efe6ea"}
BORDER = "#b3001b"
PA_EDGE = "#00a6a6"

DATA_CREDITS = ("Data: land cover MODIS MCD12C1 v006 2019 (NASA LP DAAC, doi:10.5067/MODIS/MCD12C1.006); "
                "elevation ETOPO1 (NOAA NGDC) via Fatiando a Terra/ICGEM, CC-BY 4.0; borders, rivers, lakes "
                "Natural Earth (public domain); protected-area facts from public pages (see pa_facts.csv). "
                "PA footprints are APPROXIMATE: circles of the published area at the published point.")

SHORT_NAMES = (("National Nature Reserve", "NNR"), ("Nature Reserve", "NR"), ("National Park", "NP"),
               ("Strictly Protected Area", "SPA"))


def short_name(name: str) -> str:
    """A map label: designation abbreviated and parenthetical alternatives dropped."""
    name = str(name).split(" (")[0]
    for long, short in SHORT_NAMES:
        name = name.replace(long, short)
    return name


def new_map(bounds: tuple[float, float, float, float], *, width_in: float = 9.0, dpi: int = 150):
    """A figure and axes framed on `bounds` (left, bottom, right, top), equal aspect, sea-coloured background."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    left, bottom, right, top = bounds
    map_w = 0.80 * width_in
    map_h = map_w * (top - bottom) / (right - left)
    head, foot = 0.95, 0.75  # inches for title + subtitle, and for the credits
    height = map_h + head + foot
    fig = Figure(figsize=(width_in, height), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.04, foot / height, 0.80, map_h / height))
    ax.set_facecolor(SEA)
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig, ax


def draw_countries(ax, countries, *, labels: bool = True, zorder: float = 0.5) -> None:
    """Country polygons filled in soft colours (labels on top with `draw_country_labels`)."""
    for _, row in countries.iterrows():
        iso = row.get("iso3")
        _fill(ax, row.geometry, facecolor=COUNTRY_FILLS.get(iso, "#eeeeee"), edgecolor="#8a8a8a", lw=0.4,
              zorder=zorder)
    if labels:
        draw_country_labels(ax, countries)


def draw_country_labels(ax, countries, *, zorder: float = 6) -> None:
    """Country names at a representative point of the part inside the frame (skipped if that part is tiny)."""
    from shapely.geometry import box
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    frame = box(xmin, ymin, xmax, ymax)
    for _, row in countries.iterrows():
        inside = row.geometry.intersection(frame)
        if inside.is_empty or inside.area < 0.02 * frame.area:
            continue
        p = inside.representative_point()
        ax.text(p.x, p.y, str(row.get("name", "")).upper(), fontsize=11, color="#555555", alpha=0.85,
                ha="center", va="center", zorder=zorder, fontweight="bold", path_effects=_halo(2.5))


def draw_raster(ax, raster, *, cmap: str = "viridis", norm=None, alpha: float = 1.0, zorder: float = 1,
                interpolation: str = "nearest"):
    """A Raster as an image (NaN transparent); returns the image for a colour bar."""
    left, bottom, right, top = raster.bounds
    data = np.ma.masked_invalid(raster.data)
    return ax.imshow(data, extent=(left, right, bottom, top), origin="upper", cmap=cmap, norm=norm,
                     alpha=alpha, zorder=zorder, interpolation=interpolation)


def draw_water(ax, rivers=None, lakes=None, *, labels: bool = True, zorder: float = 3) -> None:
    """Lakes filled and rivers as lines, labelled with their names."""
    if lakes is not None:
        for _, row in lakes.iterrows():
            _fill(ax, row.geometry, facecolor=LAKE_FILL, edgecolor=WATER, lw=0.6, zorder=zorder)
            if labels and isinstance(row.get("name"), str):
                p = row.geometry.representative_point()
                ax.text(p.x, p.y, row["name"], fontsize=7, style="italic", color="#1f4e79", ha="center",
                        va="center", zorder=zorder + 3, path_effects=_halo())
    if rivers is not None:
        seen: set[str] = set()
        for _, row in rivers.iterrows():
            width = 1.6 if (row.get("scalerank") or 9) <= 6 else 1.0
            for line in _lines(row.geometry):
                x, y = line.xy
                ax.plot(x, y, color=WATER, lw=width, zorder=zorder, solid_capstyle="round")
            name = row.get("name_en") if isinstance(row.get("name_en"), str) else row.get("name")
            if labels and isinstance(name, str) and name not in seen and _in_view(ax, row.geometry):
                seen.add(name)
                p = row.geometry.interpolate(0.5, normalized=True)
                if _in_view(ax, p):
                    ax.text(p.x, p.y, name, fontsize=7, style="italic", color="#1f4e79", zorder=zorder + 3,
                            path_effects=_halo())


def draw_borders(ax, borders, *, highlight: Iterable[str] = ("CHN-RUS",), zorder: float = 4) -> None:
    """International land borders: the highlighted ones (column `countries`, e.g. 'CHN-RUS') bold."""
    highlight = set(highlight)
    for _, row in borders.iterrows():
        main = row.get("countries") in highlight
        for line in _lines(row.geometry):
            x, y = line.xy
            ax.plot(x, y, color=BORDER if main else "#555555", lw=2.2 if main else 1.2,
                    ls=(0, (6, 2)) if main else (0, (3, 2)), zorder=zorder)


def draw_pas(ax, pas, *, label_col: str = "name", number: bool = False, zorder: float = 5) -> None:
    """PA footprints outlined (hatched: approximate) and labelled without overlapping labels."""
    from shapely.geometry import Point
    placed: list[tuple[float, float]] = []
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    step = 0.022 * (ymax - ymin)
    for _, row in pas.sort_values("footprint_km2", ascending=False).iterrows():
        _fill(ax, row.geometry, facecolor="none", edgecolor=PA_EDGE, lw=1.4, zorder=zorder, hatch="///",
              alpha=0.9)
        b = row.geometry.bounds
        mid_y = (b[1] + b[3]) / 2
        gap = 0.01 * (xmax - xmin)
        right = (b[2], b[2] + gap, "left")
        left = (b[0], b[0] - gap, "right")
        # right of the footprint unless that is near the frame edge or on another footprint
        others = [g for g in pas.geometry if g is not row.geometry]
        blocked = any(g.contains(Point(right[1] + 4 * gap, mid_y)) for g in others)
        anchor_x, x, ha = left if (right[1] > xmax - 0.18 * (xmax - xmin) or blocked) else right
        anchor_y = y = mid_y
        while any(abs(y - py) < step and abs(x - px) < 0.25 * (xmax - xmin) for px, py in placed):
            y -= step
        placed.append((x, y))
        text = short_name(row[label_col])
        if number:
            text = f"{row['focal_id']} {text}"
        moved = abs(y - anchor_y) > 0.5 * step
        ax.annotate(text, xy=(anchor_x, anchor_y), xytext=(x, y), fontsize=7.5, color="#004d4d", ha=ha,
                    va="center", zorder=zorder + 2, fontweight="bold", path_effects=_halo(2.2),
                    arrowprops=dict(arrowstyle="-", color="#004d4d", lw=0.7) if moved else None)


def add_scale_bar(ax, length_m: float | None = None, *, segments: int = 4) -> None:
    """Alternating black/white scale bar in the lower left (axes in metres)."""
    from matplotlib.patches import Rectangle
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    if length_m is None:
        raw = (xmax - xmin) / 4
        mag = 10 ** np.floor(np.log10(raw))
        length_m = max(m * mag for m in (1, 2, 5) if m * mag <= raw)
    x0, y0 = xmin + 0.04 * (xmax - xmin), ymin + 0.04 * (ymax - ymin)
    h = 0.012 * (ymax - ymin)
    seg = length_m / segments
    ax.add_patch(Rectangle((x0 - 0.01 * (xmax - xmin), y0 - 2.2 * h), length_m + 0.02 * (xmax - xmin), 5.4 * h,
                           facecolor="white", alpha=0.75, edgecolor="none", zorder=8))
    for i in range(segments):
        ax.add_patch(Rectangle((x0 + i * seg, y0), seg, h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", lw=0.6, zorder=9))
    for v in (0, length_m / 2, length_m):
        ax.text(x0 + v, y0 - 0.4 * h, f"{v / 1000:g}", ha="center", va="top", fontsize=7, zorder=9)
    ax.text(x0 + length_m / 2, y0 + 1.5 * h, "km", ha="center", va="bottom", fontsize=7, zorder=9)


def add_north_arrow(ax) -> None:
    """A north arrow in the upper right (grid north = true north on the central meridian)."""
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, fontweight="bold", zorder=9,
                arrowprops=dict(facecolor="black", width=4, headwidth=11, headlength=10))


def pa_legend_handles(extra: Iterable[Any] = ()) -> list[Any]:
    """Legend entries for the standard layers (border, other borders, rivers, lakes, approximate PAs)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    return [
        Line2D([], [], color=BORDER, lw=2.2, ls=(0, (6, 2)), label="China-Russia border"),
        Line2D([], [], color="#555555", lw=1.2, ls=(0, (3, 2)), label="other international border"),
        Line2D([], [], color=WATER, lw=1.4, label="river"),
        Patch(facecolor=LAKE_FILL, edgecolor=WATER, label="lake"),
        Patch(facecolor="none", edgecolor=PA_EDGE, hatch="///",
              label="protected area (approximate:\ncircle of published area)"),
        *extra,
    ]


def finish_map(fig, ax, *, title: str, subtitle: str | None = None, colorbar: tuple[Any, str] | None = None,
               legend: list[Any] | None = None, credits: str = DATA_CREDITS) -> None:
    """Title, legend, colour bar, scale bar, north arrow and credits."""
    import textwrap
    box = ax.get_position()
    fig_h = fig.get_figheight()
    fig.text(box.x0, 1 - 0.12 / fig_h, title, ha="left", va="top", fontsize=12.5, fontweight="bold")
    if subtitle:
        fig.text(box.x0, 1 - 0.45 / fig_h, "\n".join(textwrap.wrap(subtitle, 120)), ha="left", va="top",
                 fontsize=8.5, color="#333333")
    handles = legend if legend is not None else pa_legend_handles()
    ax.legend(handles=handles, loc="upper left", fontsize=7, framealpha=0.9).set_zorder(10)
    if colorbar is not None:
        im, label = colorbar
        cax = fig.add_axes((box.x1 + 0.03, box.y0 + 0.2 * box.height, 0.025, 0.6 * box.height))
        cb = fig.colorbar(im, cax=cax)
        cb.set_label(label, fontsize=8)
        cb.ax.tick_params(labelsize=7)
    add_scale_bar(ax)
    add_north_arrow(ax)
    fig.text(box.x0, 0.08 / fig_h, "\n".join(textwrap.wrap(credits, 150)), ha="left", va="bottom", fontsize=5.8,
             color="#444444")


def save_png(fig, path: str | Path) -> Path:
    """Write the figure as PNG atomically."""
    from econet.atomic import atomic_path
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    return path


# ------------------------------------------------------------------------------------------- helpers
def _halo(width: float = 2.0):
    from matplotlib import patheffects
    return [patheffects.withStroke(linewidth=width, foreground="white")]


def _polygons(geom):
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    if hasattr(geom, "geoms"):
        return [p for g in geom.geoms for p in _polygons(g)]
    return []


def _lines(geom):
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "LineString":
        return [geom]
    if geom.geom_type == "Polygon":
        return [geom.exterior]
    if hasattr(geom, "geoms"):
        return [line for g in geom.geoms for line in _lines(g)]
    return []


def _fill(ax, geom, **kw) -> None:
    """Add polygon(s) with holes as one patch each."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath
    lw = kw.pop("lw", 0.5)
    for poly in _polygons(geom):
        rings = [np.asarray(poly.exterior.coords)] + [np.asarray(r.coords) for r in poly.interiors]
        verts = np.concatenate(rings)
        codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY]
                                for r in rings])
        ax.add_patch(PathPatch(MplPath(verts, codes), linewidth=lw, **kw))


def _in_view(ax, geom) -> bool:
    from shapely.geometry import box
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    return geom.intersects(box(xmin, ymin, xmax, ymax))
