"""The report's maps (matplotlib, no pyplot state): the area with its PAs coloured by country, the border and
the records the view may see; circuit current and corridors where the results hold them."""

from __future__ import annotations

from econet.demo import maps

#: fill colour of PAs per country (ISO3); others get the next colour of COLOURS
PA_COLOURS = {"CHN": "#d7301f", "RUS": "#2b8cbe", "MNG": "#31a354", "KAZ": "#756bb1", "PRK": "#e6550d",
              "KOR": "#636363", "JPN": "#dd3497"}
COLOURS = ("#8c510a", "#01665e", "#c51b7d", "#4d9221")
CREDITS = ("Base map: Natural Earth (public domain). PA footprints are APPROXIMATE (circles of the published "
           "area at the published point; sources in the report). Records as the report's view sees them.")


def _colour(iso3: str, seen: dict) -> str:
    if iso3 in PA_COLOURS:
        return PA_COLOURS[iso3]
    return seen.setdefault(iso3, COLOURS[len(seen) % len(COLOURS)])


def _base(rep, title: str, subtitle: str):
    from matplotlib.patches import Patch
    L = rep.layers
    fig, ax = maps.new_map(L["frame"].bounds, width_in=8.0, dpi=110)
    maps.draw_countries(ax, L["countries"], labels=False)
    maps.draw_water(ax, L["rivers"], L["lakes"], labels=False)
    maps.draw_borders(ax, L["borders"])
    seen: dict = {}
    handles = []
    for iso3, group in L["pas"].groupby("iso3") if len(L["pas"]) else []:
        c = _colour(iso3, seen)
        for g in group.geometry:
            maps._fill(ax, g, facecolor=c, edgecolor=c, alpha=0.45, lw=1.0, zorder=5)
        handles.append(Patch(facecolor=c, edgecolor=c, alpha=0.6, label=f"protected area, {iso3}"))
    area = L["area"].geometry.iloc[0]
    maps._fill(ax, area, facecolor="none", edgecolor="black", lw=1.6, ls="--", zorder=6)
    maps.draw_country_labels(ax, L["countries"])
    return fig, ax, handles, title, subtitle


def overview_map(rep):
    """The area: PAs by country, borders, rivers, lakes and the records of the view."""
    from matplotlib.lines import Line2D
    fig, ax, handles, title, sub = _base(rep, "Protected areas and records", f"{rep.title}. View: {rep.view_text}")
    if len(rep.layers["pas"]):
        maps.draw_pas(ax, rep.layers["pas"].assign(
            footprint_km2=rep.layers["pas"].geometry.area / 1e6), zorder=7)
    exact = [(x, y) for x, y, g in rep.points if not g]
    gen = [(x, y) for x, y, g in rep.points if g]
    if exact:
        ax.scatter(*zip(*exact), s=6, c="#222222", alpha=0.6, zorder=8, linewidths=0)
        handles.append(Line2D([], [], marker="o", ls="", color="#222222", ms=4, label="record (exact)"))
    if gen:
        ax.scatter(*zip(*gen), s=40, facecolors="none", edgecolors="#b3001b", zorder=8, linewidths=1.0)
        handles.append(Line2D([], [], marker="o", ls="", mfc="none", mec="#b3001b", ms=7,
                              label="record (generalized location)"))
    handles.append(Line2D([], [], color="black", ls="--", lw=1.6, label="report area"))
    maps.finish_map(fig, ax, title=title, subtitle=sub, legend=maps.pa_legend_handles(handles)[:2] + handles,
                    credits=CREDITS)
    return fig


def connectivity_map(rep):
    """Circuit current (log scale) and least-cost corridors over the PAs, or None when neither is available."""
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    import numpy as np
    if rep.current is None and rep.corridors is None:
        return None
    fig, ax, handles, title, sub = _base(rep, "Connectivity: circuit current and corridors",
                                          f"{rep.title}. Cumulative current between PA pairs (circuit theory) and "
                                          "least-cost paths, from the results folder")
    cbar = None
    if rep.current is not None:
        d = rep.current.data
        pos = d[np.isfinite(d) & (d > 0)]
        if pos.size:
            im = maps.draw_raster(ax, rep.current, cmap="magma", norm=LogNorm(np.percentile(pos, 2), pos.max()),
                                  alpha=0.85, zorder=2)
            cbar = (im, "current (A, log scale)")
    if rep.corridors is not None and len(rep.corridors):
        for g in rep.corridors.geometry:
            for line in maps._lines(g) if g.geom_type.endswith("LineString") else []:
                ax.plot(*line.xy, color="#00e5ff", lw=1.6, zorder=7)
        handles.append(Line2D([], [], color="#00e5ff", lw=1.6, label="least-cost corridor"))
    maps.finish_map(fig, ax, title=title, subtitle=sub, legend=handles, colorbar=cbar, credits=CREDITS)
    return fig


def png_bytes(fig) -> bytes:
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
