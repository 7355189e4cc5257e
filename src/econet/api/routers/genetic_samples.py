"""/api/v1/genetic-samples: genetic samples (scat, hair, tissue) as the caller may see them.

Samples pass through the same sharing rules as observations (`apply_rules`): hidden datasets are left out,
samples of sensitive taxa are generalized (or withheld) for callers without exact access. Genotypes stay
server-side: they feed the `genetics` analysis (POST /api/v1/analyses), never a bulk download here.
"""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, HTTPException, Query, Request

from econet.api.auth import get_view, rule
from econet.api.auth import router as make_router
from econet.api.routers._common import MAX_LIMIT, PREFIX, clean_text, engine
from econet.errors import EconetError
from econet.hub import population, sharing
from econet.hub.sharing import View

router = make_router(prefix=PREFIX, tags=["genetic samples"])


@router.get("/genetic-samples", dependencies=[rule("public")],
            summary="Genetic samples the caller may see (sharing rules applied)")
def list_samples(request: Request, view: View = Depends(get_view),
                 dataset: Optional[str] = Query(None, max_length=200),
                 taxon: Optional[str] = Query(None, max_length=300),
                 population_: Optional[str] = Query(None, alias="population", max_length=200),
                 country: Optional[str] = Query(None, pattern=r"^[A-Za-z]{2}$"),
                 limit: int = Query(1000, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0)):
    for k, v in (("dataset", dataset), ("taxon", taxon), ("population", population_)):
        clean_text(v, k, ident=True)
    with engine(request).connect() as conn:
        rules = sharing.load_rules(conn, view)
        try:
            rows = population.genetic_sample_rows(conn, view, dataset=dataset, taxon=taxon, population=population_,
                                                  country=country, limit=limit, offset=offset, rules=rules)
        except EconetError as exc:
            raise HTTPException(404 if exc.field == "dataset" else 422, str(exc)) from None
    with engine(request).begin() as conn:
        sharing.audit(conn, view, "read", "genetic-samples", {"records": len(rows)}, rules=rules,
                      rows=[{"dataset": r["dataset"]} for r in rows])
    return {"count": len(rows), "offset": offset, "view": view.describe(), "samples": rows}
