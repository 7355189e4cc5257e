"""The report as one self-contained HTML file (maps inlined as PNG data URIs, no script, no CDN) and as a PDF
written with matplotlib's PdfPages (pure Python, no browser): the same sections, maps and tables."""

from __future__ import annotations

import base64
import datetime as dt
import html
import textwrap
from pathlib import Path

from econet.reports.content import Report

#: (section title, Report attribute, columns) of the tables, in report order
TABLES = [
    ("Protected areas", "pas", ["name", "country", "designation", "iucn_cat", "year", "area_km2", "in_area_km2"]),
    ("PA pairs and proposed fields of cooperation", "pairs",
     ["pa_a", "pa_b", "countries", "gap_km", "effective_resistance", "fields"]),
    ("Protected-area coverage (land of each country inside the area)", "coverage",
     ["country", "land_km2", "protected_km2", "protected_pct", "n_pas"]),
    ("ProtConn (% of each country's land in the area; edge distances, p = 0.5 at the distance)", "protconn",
     ["region", "distance", "Prot", "ProtConn", "ProtConn_Within", "ProtConn_Contig", "ProtConn_Trans",
      "ProtConn_Unprot"]),
    ("Population estimates (SCR density, with intervals)", "population", None),
    ("Bird sites: largest share of a flyway population", "bird_sites",
     ["site", "country", "criteria", "largest_share_pct", "population", "season", "waterbirds_mean_max"]),
    ("Glacier mass-balance trends", "glaciers",
     ["glacier", "country", "years", "cumulative_mwe", "trend_mwe_per_yr", "trend_ci"]),
    ("Records in the area by taxon and country (as the view sees them)", "by_taxon",
     ["taxon", "country", "records", "individuals", "generalized"]),
    ("Latest records (locations as the view sees them)", "records",
     ["time_utc", "taxon", "dataset", "lon", "lat", "uncertainty_m", "generalization"]),
    ("Sources and licenses", "sources", ["dataset", "owner", "license", "citation"]),
]


def _rows(rep: Report, attr: str) -> list[dict]:
    if attr == "by_taxon":
        return rep.observations.get("by_taxon", [])
    return getattr(rep, attr)


EXACT = {"lon", "lat"}  # shown as stored: the view already decided how precise they may be


def _cell(v, col: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and col not in EXACT:
        return f"{v:.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _columns(rows: list[dict], cols) -> list[str]:
    return cols or (list(rows[0]) if rows else [])


def _intro(rep: Report) -> list[str]:
    a = rep.area
    obs = rep.observations
    lines = [f"Area: {a.name} ({a.kind}; {a.source}); bounds {', '.join(f'{v:.3f}' for v in a.bounds)} (WGS84).",
             f"View: {rep.view_text}.",
             f"Computed {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC by econet for view "
             f"{rep.view.get('kind')}{' ' + rep.view['user'] if rep.view.get('user') else ''}."]
    if obs:
        lines.append(f"Records in the area this view may see: {obs['records']} "
                     f"({obs['generalized']} with generalized locations).")
    return lines


# --------------------------------------------------------------------------- HTML

CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f0f0f0}img{max-width:100%}.note{color:#555;font-size:.9em}
.view{background:#fff6e0;border:1px solid #e0c070;padding:.5em 1em}"""


def html_report(rep: Report, figures: dict[str, bytes]) -> str:
    esc = html.escape
    out = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(rep.title)}</title>",
           f"<style>{CSS}</style></head><body>", f"<h1>{esc(rep.title)}</h1>"]
    out.append('<div class="view">' + "".join(f"<p>{esc(s)}</p>" for s in _intro(rep)) + "</div>")
    for name, png in figures.items():
        b64 = base64.b64encode(png).decode()
        out.append(f'<h2>{esc(name)}</h2><img alt="{esc(name)}" src="data:image/png;base64,{b64}">')
    for title, attr, cols in TABLES:
        rows = _rows(rep, attr)
        out.append(f"<h2>{esc(title)}</h2>")
        if attr == "population" and rep.population_source:
            out.append(f'<p class="note">From {esc(rep.population_source)}.</p>')
        if not rows:
            out.append('<p class="note">None in this area (or not available to this view).</p>')
            continue
        cols = _columns(rows, cols)
        out.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>")
        for r in rows:
            out.append("<tr>" + "".join(f"<td>{esc(_cell(r.get(c), c))}</td>" for c in cols) + "</tr>")
        out.append("</table>")
    if rep.notes:
        out.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in rep.notes) + "</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


# --------------------------------------------------------------------------- PDF

PAGE = (8.27, 11.69)  # A4, inches
LINES_PER_PAGE = 58


def _text_pages(title: str, lines: list[str]):
    """Figures of monospace text (A4), as many as the lines need."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, max(len(lines), 1), LINES_PER_PAGE)]
    for k, chunk in enumerate(chunks):
        fig = Figure(figsize=PAGE)
        FigureCanvasAgg(fig)
        fig.text(0.06, 0.96, title + (f" (continued {k + 1})" if k else ""), fontsize=12, fontweight="bold",
                 va="top")
        fig.text(0.06, 0.93, "\n".join(chunk), fontsize=6.4, family="monospace", va="top")
        yield fig


def _table_lines(rows: list[dict], cols: list[str], width: int = 150) -> list[str]:
    widths = {c: min(max(len(c), *(len(_cell(r.get(c), c)) for r in rows)), 48) for c in cols}
    while sum(widths.values()) + 2 * len(cols) > width and max(widths.values()) > 10:
        c = max(widths, key=widths.get)
        widths[c] -= 1
    def fmt(values):
        cells = [textwrap.shorten(v, widths[c], placeholder="…") if len(v) > widths[c] else v
                 for c, v in zip(cols, values)]
        return "  ".join(v.ljust(widths[c]) for c, v in zip(cols, cells))
    return [fmt(cols), fmt(["-" * widths[c] for c in cols])] + [fmt([_cell(r.get(c), c) for c in cols]) for r in rows]


def _image_page(png: bytes):
    """An A4 page holding a map image (the PNG the HTML shows: one rendering for both)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import imread
    img = imread(io.BytesIO(png), format="png")
    fig = Figure(figsize=PAGE)
    FigureCanvasAgg(fig)
    h, w = img.shape[:2]
    width = 0.9
    height = width * h / w * PAGE[0] / PAGE[1]
    ax = fig.add_axes((0.05, 0.95 - height, width, height))
    ax.imshow(img, interpolation="lanczos")
    ax.set_axis_off()
    return fig


def pdf_report(rep: Report, pngs: dict[str, bytes], out: Path) -> None:
    """Title page, the maps, then every table (matplotlib PdfPages)."""
    from matplotlib.backends.backend_pdf import PdfPages
    lines: list[str] = []
    for s in _intro(rep):
        lines += textwrap.wrap(s, 120) + [""]
    with PdfPages(out, metadata={"Title": rep.title, "Creator": "econet"}) as pdf:
        for fig in _text_pages(rep.title, lines):
            pdf.savefig(fig)
        for png in pngs.values():
            pdf.savefig(_image_page(png))
        body: list[str] = []
        for title, attr, cols in TABLES:
            rows = _rows(rep, attr)
            body += [title.upper(), ""]
            if attr == "sources":  # in full: every license and citation, wrapped
                body += [w for r in rows for w in textwrap.wrap(
                    f"- {r['dataset']} ({r['owner']}). License: {r['license']}. Citation: {r['citation']}", 150,
                    subsequent_indent="  ")]
            else:
                body += _table_lines(rows, _columns(rows, cols)) if rows else [
                    "none in this area (or not available to this view)"]
            body.append("")
        if rep.notes:
            body += ["NOTES", ""] + [w for n in rep.notes for w in textwrap.wrap("- " + n, 140)]
        for fig in _text_pages("Tables", body):
            pdf.savefig(fig)
