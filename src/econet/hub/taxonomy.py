"""Taxonomy: accepted names, synonyms, vernacular names (en/ru/zh/mn), IUCN category; matching source names.

Matching ignores case, extra spaces and author strings ("Panthera tigris altaica Temminck, 1844" matches
"Panthera tigris altaica"); a synonym resolves to its accepted taxon. A name that is only *close* to a
known one (a likely misspelling) is never changed: the record keeps its verbatim name without a taxon and
the close match is queued in `taxon_reviews`. Names unknown and not close to anything become `provisional`
taxa so nothing is lost.
"""

from __future__ import annotations

import csv
import difflib
import re
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from econet.hub.models import Taxon, TaxonReview, VernacularName

SEED = Path(__file__).with_name("data") / "taxa.csv"
LANGUAGES = ("en", "ru", "zh", "mn")
CLOSE_MATCH = 0.88
_RANK_MARKERS = {"subsp.", "ssp.", "var.", "f.", "subvar.", "cf.", "aff."}
_EPITHET = re.compile(r"^[a-zà-ÿ][a-zà-ÿ\-]+$")


def canonical(name: str | None) -> str | None:
    """The canonical form of a scientific name: genus capitalised, epithets lower case, no authors or markers.

    >>> canonical("  panthera  TIGRIS altaica (Temminck, 1844) ")
    'Panthera tigris altaica'
    """
    if name is None:
        return None
    tokens = name.replace("\u00a0", " ").split()
    if not tokens:
        return None
    if all(t.isupper() for t in tokens[:2] if t.isalpha()):
        tokens = [t.lower() for t in tokens]  # a name written all in capitals
    genus = tokens[0].strip("()")
    if not genus[:1].isalpha():
        return " ".join(tokens)
    out = [genus[:1].upper() + genus[1:].lower()]
    for tok in tokens[1:]:
        low = tok.lower()
        if low in _RANK_MARKERS:
            continue
        # an epithet is a Latin word not written as a capitalised name; authors are, or start with '(' or digits
        if len(out) < 4 and _EPITHET.match(low) and not (tok[:1].isupper() and tok[1:].islower()) and low not in ("and", "et", "ex", "in", "von", "de"):
            out.append(low)
        else:
            break
    return " ".join(out)


def seed(conn: Connection, path: Path = SEED) -> int:
    """Load the seed taxonomy if the taxa table is empty; return the number of taxa added."""
    if conn.execute(select(func.count()).select_from(Taxon)).scalar_one():
        return 0
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids: dict[str, int] = {}
    for status in ("accepted", "synonym"):
        for r in rows:
            if r["status"] != status:
                continue
            values = dict(scientific_name=r["scientific_name"], authorship=r["authorship"] or None,
                          rank=r["rank"] or None, status=status, kingdom="Animalia",
                          class_=r["class"] or None, order=r["order"] or None, family=r["family"] or None,
                          genus=r["scientific_name"].split()[0], iucn_category=r["iucn_category"] or None,
                          euring_code=r["euring_code"] or None,
                          phylum="Chordata",
                          accepted_id=ids.get(r["accepted_name"]) if status == "synonym" else None)
            tid = conn.execute(insert(Taxon).values(**values).returning(Taxon.id)).scalar_one()
            ids.setdefault(r["scientific_name"], tid)
            for lang in LANGUAGES:
                if r.get(lang):
                    conn.execute(insert(VernacularName).values(taxon_id=tid, language=lang, name=r[lang]))
    return len(rows)


class TaxonMatcher:
    """Resolve source names to taxon ids within one import (cached), queueing close misspellings for review."""

    def __init__(self, conn: Connection, dataset_id: int, batch_id: int | None = None):
        self.conn, self.dataset_id, self.batch_id = conn, dataset_id, batch_id
        self._cache: dict[str, int | None] = {}
        self._known: dict[str, int] = {}
        self._review_rows: dict[str, int] = {}
        for tid, name, status, acc in conn.execute(
                select(Taxon.id, Taxon.scientific_name, Taxon.status, Taxon.accepted_id)):
            key = name.lower()
            target = acc if status == "synonym" and acc else tid
            if status != "synonym" or key not in self._known:
                self._known[key] = target
        self._names = list(self._known)

    def match(self, verbatim: str | None) -> int | None:
        if verbatim is None or not verbatim.strip():
            return None
        hit = self._cache.get(verbatim, -1)
        if hit != -1:
            if hit is None and verbatim in self._review_rows:
                self._review_rows[verbatim] += 1
            return hit
        result = self._resolve(verbatim)
        self._cache[verbatim] = result
        return result

    def _resolve(self, verbatim: str) -> int | None:
        name = canonical(verbatim)
        if not name:
            return None
        tid = self._known.get(name.lower())
        if tid is not None:
            return tid
        close = difflib.get_close_matches(name.lower(), self._names, n=1, cutoff=CLOSE_MATCH)
        if close:
            score = difflib.SequenceMatcher(None, name.lower(), close[0]).ratio()
            self._queue_review(verbatim, self._known[close[0]], score)
            return None
        rank = {1: "genus", 2: "species", 3: "subspecies"}.get(len(name.split()))
        tid = self.conn.execute(insert(Taxon).values(
            scientific_name=name, status="provisional", rank=rank, genus=name.split()[0],
            authorship=verbatim[len(name):].strip() or None if verbatim.lower().startswith(name.lower()) else None,
        ).returning(Taxon.id)).scalar_one()
        self._known[name.lower()] = tid
        self._names.append(name.lower())
        return tid

    def _queue_review(self, verbatim: str, proposed: int, score: float) -> None:
        existing = self.conn.execute(select(TaxonReview.id).where(
            TaxonReview.dataset_id == self.dataset_id, TaxonReview.verbatim_name == verbatim)).scalar()
        if existing is None:
            self.conn.execute(insert(TaxonReview).values(
                dataset_id=self.dataset_id, batch_id=self.batch_id, verbatim_name=verbatim,
                proposed_taxon_id=proposed, score=round(score, 3), rows=0, status="open"))
        self._review_rows[verbatim] = 1

    def flush(self) -> list[dict]:
        """Write row counts of queued reviews; return them (verbatim, proposed name, rows)."""
        out = []
        for verbatim, n in self._review_rows.items():
            self.conn.execute(update(TaxonReview).where(
                TaxonReview.dataset_id == self.dataset_id, TaxonReview.verbatim_name == verbatim)
                .values(rows=TaxonReview.rows + n))
            proposed = self.conn.execute(select(Taxon.scientific_name).join(
                TaxonReview, TaxonReview.proposed_taxon_id == Taxon.id).where(
                TaxonReview.dataset_id == self.dataset_id, TaxonReview.verbatim_name == verbatim)).scalar()
            out.append({"name": verbatim, "proposed": proposed, "rows": n})
        self._review_rows.clear()
        return out


def accept_review(conn: Connection, review_id: int) -> int:
    """Apply a reviewed match: set the proposed taxon on the records with that verbatim name; return count."""
    from econet.hub.models import Observation
    r = conn.execute(select(TaxonReview).where(TaxonReview.id == review_id)).one()
    n = conn.execute(update(Observation).where(
        Observation.dataset_id == r.dataset_id, Observation.scientific_name == r.verbatim_name,
        Observation.taxon_id.is_(None)).values(taxon_id=r.proposed_taxon_id)).rowcount
    conn.execute(update(TaxonReview).where(TaxonReview.id == review_id).values(status="accepted"))
    return n


def vernacular_names(conn: Connection, taxon_id: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for lang, name in conn.execute(select(VernacularName.language, VernacularName.name)
                                   .where(VernacularName.taxon_id == taxon_id)):
        out.setdefault(lang, []).append(name)
    return out
