"""Demo step 99 (last): the demo region's atlas report (HTML + PDF), as the Chinese partner sees it.

Built on the view of the partner's analyst of step 35 ("hunchun-analyst"): the Russian park's SIMULATED camera
records appear, the Amur leopard's and its sites' locations generalized; the region's PAs, their pairs,
coverage and ProtConn computed for the area; circuit current, corridors, bird sites and glacier trends from
the earlier steps' outputs. Files: report/report.html, report/report.pdf, report/report.json.
"""

from __future__ import annotations

ORDER = 99
TITLE = "Report: the demo region's atlas (HTML + PDF) on a partner's view"

VIEWER = "hunchun-analyst"


def run(ctx) -> dict:
    import shutil
    import tempfile
    from pathlib import Path

    from econet.reports import FILES, RESULT_FILES, build_report

    staged = getattr(ctx.outputs, "_staged", {}) if ctx.outputs is not None else {}
    results = {final.name: tmp for final, tmp in staged.items() if tmp.is_file() and final.name in RESULT_FILES}
    results.update({f"{final.name}/estimates.csv": tmp / "estimates.csv" for final, tmp in staged.items()
                    if "scr" in final.name and (tmp / "estimates.csv").is_file()})
    region = ctx.results.get("region")
    pas = region.pas if region is not None else None
    user = VIEWER if "sharing" in ctx.results else None
    with tempfile.TemporaryDirectory(prefix="econet-report-") as tmp:
        res = build_report("demo-region", Path(tmp) / "report", db=ctx.db_url, user=user, results=results, pas=pas,
                           title="Atlas of the Ussuri / Lake Khanka / Tumen border region (econet demo)")
        what = {"report.html": "the demo region's atlas (self-contained HTML)", "report.pdf": "the same atlas as PDF",
                "report.json": "the report's numbers"}
        for name in FILES:
            shutil.copyfile(Path(tmp) / "report" / name, ctx.output(f"report/{name}", what[name]))
    if not ctx.quiet:
        print(f"report: {res['protected_areas']} PAs, {res['pa_pairs']} PA pairs, {res['records']} records "
              f"on the view of {user or 'anonymous'}")
    return {"view": user or "anonymous", "protected_areas": res["protected_areas"], "pa_pairs": res["pa_pairs"],
            "records": res["records"], "files": [f"report/{n}" for n in FILES]}
