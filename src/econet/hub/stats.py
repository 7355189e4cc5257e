"""What the hub holds: record counts per table and per dataset, imports, links and open name reviews."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from econet.hub import models as m

TABLES = (m.Organization, m.Dataset, m.ImportBatch, m.Site, m.Deployment, m.SamplingEvent, m.Media, m.Individual,
          m.Observation, m.GeneticSample, m.Genotype, m.RingEncounter, m.WaterbirdCount, m.Glacier,
          m.GlacierObservation, m.Taxon, m.RecordLink, m.TaxonReview)


def hub_stats(engine: Engine) -> dict:
    with engine.connect() as conn:
        counts = {t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES}
        O, D, G = m.Observation, m.Dataset, m.Organization
        per = []
        q = (select(D.name, G.name.label("org"), G.country, D.license, D.visibility, D.source_format,
                    func.count(O.id).label("observations"), func.count(func.distinct(O.taxon_id)).label("taxa"),
                    func.min(O.time_utc).label("first"), func.max(O.time_utc).label("last"))
             .join(G, G.id == D.organization_id).join(O, O.dataset_id == D.id, isouter=True)
             .group_by(D.id, D.name, G.name, G.country, D.license, D.visibility, D.source_format).order_by(D.name))
        for r in conn.execute(q):
            per.append({"dataset": r.name, "organization": r.org, "country": r.country, "format": r.source_format,
                        "license": r.license, "visibility": r.visibility, "observations": r.observations,
                        "taxa": r.taxa, "first": str(r.first) if r.first else None,
                        "last": str(r.last) if r.last else None})
        by_country = dict(conn.execute(select(O.country_code, func.count()).group_by(O.country_code)
                                       .order_by(func.count().desc())).all())
        open_reviews = conn.execute(select(func.count()).select_from(m.TaxonReview)
                                    .where(m.TaxonReview.status == "open")).scalar_one()
    return {"backend": engine.dialect.name, "tables": counts, "datasets": per,
            "observations_by_country": {(k or "unknown"): v for k, v in by_country.items()},
            "open_taxon_reviews": open_reviews}
