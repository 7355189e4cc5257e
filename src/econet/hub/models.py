"""The hub's tables (SQLAlchemy 2): partners, datasets, monitoring records, taxonomy, links and provenance.

Every record table carries its provenance (dataset, import batch, original row number) and a content hash
of the source row, unique per dataset, which makes re-imports add nothing. Places are WGS84 lon/lat plus a
copy in the hub's equal-area CRS (x/y, metres). Geometries: WKB + R*Tree on SQLite, PostGIS on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, FetchedValue, Float, ForeignKey, Index,
                        Integer, LargeBinary, String, Text, UniqueConstraint)
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

#: The hub's equal-area CRS (Lambert azimuthal equal-area centred on the alliances' region, metres).
EQUAL_AREA_PROJ = "+proj=laea +lat_0=45 +lon_0=100 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
EQUAL_AREA_NAME = "econet LAEA Asia (lat0 45, lon0 100)"


class Geometry(TypeDecorator):
    """A WGS84 geometry: WKB bytes on SQLite, PostGIS geometry(SRID 4326) on PostgreSQL.

    Python side: shapely geometry or WKB bytes in, WKB bytes out (shapely.from_wkb reads them).
    """

    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from geoalchemy2 import Geometry as PGGeometry
            return dialect.type_descriptor(PGGeometry(geometry_type="GEOMETRY", srid=4326, spatial_index=False))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, (bytes, bytearray, memoryview)):
            import shapely
            value = shapely.to_wkb(value)
        if dialect.name == "postgresql":
            return "SRID=4326;" + _wkb_to_wkt(bytes(value))
        return bytes(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            data = getattr(value, "data", value)
            if isinstance(data, str):
                return bytes.fromhex(data)
            return bytes(data)
        return bytes(value)


def _wkb_to_wkt(wkb: bytes) -> str:
    import shapely
    return shapely.to_wkt(shapely.from_wkb(wkb), rounding_precision=-1)


_POINT = struct.Struct("<BIdd")


def point_wkb(lon: float, lat: float) -> bytes:
    """WKB of a 2-D point, built without shapely (fast path for bulk imports)."""
    return _POINT.pack(1, 1, lon, lat)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --------------------------------------------------------------------------- partners and datasets

class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[Optional[str]] = mapped_column(String(2), doc="ISO 3166-1 alpha-2")
    kind: Mapped[Optional[str]] = mapped_column(String(50), doc="e.g. protected area, NGO, institute")
    url: Mapped[Optional[str]] = mapped_column(String(500))
    alliance_member: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[Optional[str]] = mapped_column(String(200))
    orcid: Mapped[Optional[str]] = mapped_column(String(100))
    organization_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"))
    __table_args__ = (UniqueConstraint("name", "organization_id"),)


class Dataset(Base):
    """A partner's dataset with the sharing terms its owner sets (enforced by hub.sharing, issue 4)."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[Optional[str]] = mapped_column(Text)
    description: Mapped[Optional[str]] = mapped_column(Text)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), doc="owner")
    license: Mapped[Optional[str]] = mapped_column(String(200), doc="data license (SPDX id or URL)")
    media_license: Mapped[Optional[str]] = mapped_column(String(200))
    citation: Mapped[Optional[str]] = mapped_column(Text)
    # sharing terms (issue 4): public | alliance | partners | owner
    visibility: Mapped[str] = mapped_column(String(20), default="owner")
    shared_with: Mapped[Optional[list[Any]]] = mapped_column(JSON, doc="organization ids for 'partners'")
    embargo_until: Mapped[Optional[dt.date]] = mapped_column(Date)
    coordinate_precision: Mapped[Optional[float]] = mapped_column(Float)
    source_format: Mapped[Optional[str]] = mapped_column(String(30))
    source_metadata: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, doc="package metadata, kept verbatim")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ImportBatch(Base):
    """One import of one file: written in the same transaction as its rows, so it exists only when complete."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(30))
    content_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    mapping: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_added: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)


class _Record:
    """Provenance every record keeps: dataset, batch, original row (1-based data row), content hash."""

    @declared_attr
    def dataset_id(cls) -> Mapped[int]:
        # observations: the unique (dataset_id, row_hash) index already serves dataset lookups
        return mapped_column(ForeignKey("datasets.id"), index=cls.__name__ != "Observation")

    @declared_attr
    def batch_id(cls) -> Mapped[Optional[int]]:
        return mapped_column(ForeignKey("import_batches.id"), index=True)

    source_row: Mapped[Optional[int]] = mapped_column(Integer)
    row_hash: Mapped[str] = mapped_column(String(32))
    attributes: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, doc="source fields kept verbatim")


class _Place:
    lon: Mapped[Optional[float]] = mapped_column(Float)
    lat: Mapped[Optional[float]] = mapped_column(Float)
    x: Mapped[Optional[float]] = mapped_column(Float, doc="equal-area easting, m")
    y: Mapped[Optional[float]] = mapped_column(Float, doc="equal-area northing, m")
    # SQLite: WKB written by the hub; PostgreSQL: generated from lon/lat by the server (hence FetchedValue)
    geom = mapped_column(Geometry, nullable=True, server_default=FetchedValue())
    coordinate_uncertainty_m: Mapped[Optional[float]] = mapped_column(Float)

    @declared_attr
    def country_code(cls) -> Mapped[Optional[str]]:
        # observations: served by ix_obs_country_taxon_time
        return mapped_column(String(2), index=cls.__name__ != "Observation")


# --------------------------------------------------------------------------- sites, deployments, events

class Site(_Record, _Place, Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_key: Mapped[str] = mapped_column(String(200), doc="locationID / site code in the source")
    name: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("dataset_id", "site_key"), UniqueConstraint("dataset_id", "row_hash"))


class Deployment(_Record, _Place, Base):
    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_key: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sites.id"))
    start_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    start_offset_min: Mapped[Optional[int]] = mapped_column(Integer)
    end_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    end_offset_min: Mapped[Optional[int]] = mapped_column(Integer)
    camera_id: Mapped[Optional[str]] = mapped_column(String(200))
    camera_model: Mapped[Optional[str]] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("dataset_id", "deployment_key"), UniqueConstraint("dataset_id", "row_hash"))


class SamplingEvent(_Record, _Place, Base):
    """A survey, patrol, transect or camera deployment period, with its effort."""

    __tablename__ = "sampling_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))
    parent_event_key: Mapped[Optional[str]] = mapped_column(String(200))
    deployment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deployments.id"))
    site_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sites.id"))
    protocol: Mapped[Optional[str]] = mapped_column(Text)
    start_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    end_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    offset_min: Mapped[Optional[int]] = mapped_column(Integer)
    effort: Mapped[Optional[str]] = mapped_column(Text, doc="dwc:samplingEffort text")
    sample_size_value: Mapped[Optional[float]] = mapped_column(Float)
    sample_size_unit: Mapped[Optional[str]] = mapped_column(String(100))
    locality: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("dataset_id", "event_key"), UniqueConstraint("dataset_id", "row_hash"))


# --------------------------------------------------------------------------- taxonomy

class Taxon(Base):
    __tablename__ = "taxa"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scientific_name: Mapped[str] = mapped_column(String(300), doc="canonical name, no author")
    authorship: Mapped[Optional[str]] = mapped_column(String(300))
    rank: Mapped[Optional[str]] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="accepted", doc="accepted | synonym")
    accepted_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    kingdom: Mapped[Optional[str]] = mapped_column(String(100))
    phylum: Mapped[Optional[str]] = mapped_column(String(100))
    class_: Mapped[Optional[str]] = mapped_column("class", String(100))
    order: Mapped[Optional[str]] = mapped_column(String(100))
    family: Mapped[Optional[str]] = mapped_column(String(100))
    genus: Mapped[Optional[str]] = mapped_column(String(100))
    iucn_category: Mapped[Optional[str]] = mapped_column(String(2))
    euring_code: Mapped[Optional[str]] = mapped_column(String(5))
    gbif_key: Mapped[Optional[int]] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("scientific_name", "status"), Index("ix_taxa_lower", "scientific_name"))


class VernacularName(Base):
    __tablename__ = "vernacular_names"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxon_id: Mapped[int] = mapped_column(ForeignKey("taxa.id"), index=True)
    language: Mapped[str] = mapped_column(String(3), doc="ISO 639-1: en, ru, zh, mn")
    name: Mapped[str] = mapped_column(String(300))
    __table_args__ = (UniqueConstraint("taxon_id", "language", "name"),)


class TaxonReview(Base):
    """A name that did not match exactly: the close match is proposed, never applied without review."""

    __tablename__ = "taxon_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batches.id"))
    verbatim_name: Mapped[str] = mapped_column(String(300))
    proposed_taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    score: Mapped[Optional[float]] = mapped_column(Float)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="open", doc="open | accepted | rejected")
    __table_args__ = (UniqueConstraint("dataset_id", "verbatim_name"),)


class SensitiveTaxon(Base):
    """Per-country sensitive taxa (Chapman 2020 categories 1-4); used by the sharing rules (issue 4)."""

    __tablename__ = "sensitive_taxa"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    taxon_id: Mapped[int] = mapped_column(ForeignKey("taxa.id"))
    country_code: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(20), doc="withheld | 0.1 | 0.01 | 0.001")
    reason: Mapped[Optional[str]] = mapped_column(Text)
    review_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    organization_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"))
    __table_args__ = (UniqueConstraint("taxon_id", "country_code"),)


# --------------------------------------------------------------------------- individuals and records

class Individual(_Record, Base):
    """An animal known by a partner; `identity_id` points to the individual it is the same animal as."""

    __tablename__ = "individuals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    individual_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[Optional[str]] = mapped_column(String(200))
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    sex: Mapped[Optional[str]] = mapped_column(String(20))
    identity_id: Mapped[Optional[int]] = mapped_column(ForeignKey("individuals.id"))
    __table_args__ = (UniqueConstraint("dataset_id", "individual_key"),)


class Media(_Record, Base):
    __tablename__ = "media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_key: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deployments.id"), index=True)
    capture_method: Mapped[Optional[str]] = mapped_column(String(30))
    time_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    time_offset_min: Mapped[Optional[int]] = mapped_column(Integer)
    file_path: Mapped[Optional[str]] = mapped_column(Text)
    file_public: Mapped[Optional[bool]] = mapped_column(Boolean)
    file_name: Mapped[Optional[str]] = mapped_column(Text)
    media_type: Mapped[Optional[str]] = mapped_column(String(100))
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"), Index("ix_media_key", "dataset_id", "media_key"))


class Observation(_Record, _Place, Base):
    """One record of an organism (or a blank/human/vehicle camera event): what, how many, when, where."""

    __tablename__ = "observations"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    record_type: Mapped[str] = mapped_column(String(20), doc="camera | occurrence | ring | count | csv")
    occurrence_key: Mapped[Optional[str]] = mapped_column(String(200), doc="observationID / occurrenceID")
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sampling_events.id"))
    deployment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("deployments.id"))
    media_key: Mapped[Optional[str]] = mapped_column(String(200))
    observation_type: Mapped[Optional[str]] = mapped_column(String(20), doc="animal, blank, human, ...")
    basis_of_record: Mapped[Optional[str]] = mapped_column(String(40))
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    scientific_name: Mapped[Optional[str]] = mapped_column(String(300), doc="as written in the source")
    count: Mapped[Optional[int]] = mapped_column(Integer)
    time_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    time_end_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    time_offset_min: Mapped[Optional[int]] = mapped_column(Integer, doc="source UTC offset, minutes")
    individual_id: Mapped[Optional[int]] = mapped_column(ForeignKey("individuals.id"))
    individual_key: Mapped[Optional[str]] = mapped_column(String(200))
    sex: Mapped[Optional[str]] = mapped_column(String(20))
    life_stage: Mapped[Optional[str]] = mapped_column(String(30))
    behaviour: Mapped[Optional[str]] = mapped_column(Text)
    locality: Mapped[Optional[str]] = mapped_column(Text)
    # set at import (hub.spatial.nearest_border): border queries become an index range
    border_pair: Mapped[Optional[str]] = mapped_column(
        String(5), doc="nearest land border within 50 km ('CN-RU'); '' none or no place; NULL not computed")
    border_distance_m: Mapped[Optional[float]] = mapped_column(Float, doc="equal-area distance to it, m")
    border_distance2_m: Mapped[Optional[float]] = mapped_column(Float, doc="to the second-nearest border, m")
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"),
                      Index("ix_obs_taxon_time", "taxon_id", "time_utc"),
                      # keyset pages (id order) per filter: migration 0007
                      Index("ix_obs_dataset_id", "dataset_id", "id"),
                      Index("ix_obs_country_id", "country_code", "id"),
                      Index("ix_obs_taxon_id", "taxon_id", "id"),
                      Index("ix_obs_individual_key", "individual_key", "id"),
                      Index("ix_obs_time_id", "time_utc", "id"),
                      Index("ix_obs_country_taxon_time", "country_code", "taxon_id", "time_utc"),
                      Index("ix_obs_individual", "individual_id"),
                      Index("ix_obs_border", "border_distance_m", "border_pair"),
                      Index("ix_obs_border_second", "border_distance2_m", "border_pair", "lon", "lat",
                            sqlite_where=text("border_distance2_m IS NOT NULL"),
                            postgresql_where=text("border_distance2_m IS NOT NULL")),
                      Index("ix_obs_border_unknown", "id", sqlite_where=text("border_pair IS NULL"),
                            postgresql_where=text("border_pair IS NULL")))


class GeneticSample(_Record, _Place, Base):
    __tablename__ = "genetic_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_key: Mapped[str] = mapped_column(String(200))
    population: Mapped[Optional[str]] = mapped_column(String(200))
    individual_id: Mapped[Optional[int]] = mapped_column(ForeignKey("individuals.id"))
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    sample_type: Mapped[Optional[str]] = mapped_column(String(50), doc="scat, hair, tissue, ...")
    time_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("dataset_id", "sample_key"),)


class Genotype(Base):
    """One locus of a multilocus genotype; alleles as written (size or code), missing as NULL."""

    __tablename__ = "genotypes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("genetic_samples.id"), index=True)
    locus: Mapped[str] = mapped_column(String(100))
    allele1: Mapped[Optional[str]] = mapped_column(String(50))
    allele2: Mapped[Optional[str]] = mapped_column(String(50))
    batch_id: Mapped[Optional[int]] = mapped_column(ForeignKey("import_batches.id"))
    __table_args__ = (UniqueConstraint("sample_id", "locus"),)


class RingEncounter(_Record, _Place, Base):
    """A EURING ringing or recovery record; decoded fields kept in `attributes`, the raw code in `raw`."""

    __tablename__ = "ring_encounters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    euring_format: Mapped[str] = mapped_column(String(20))
    scheme: Mapped[str] = mapped_column(String(3))
    ring: Mapped[str] = mapped_column(String(20), doc="identification number")
    species_code: Mapped[Optional[str]] = mapped_column(String(5))
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    date: Mapped[Optional[dt.date]] = mapped_column(Date)
    time_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    place_code: Mapped[Optional[str]] = mapped_column(String(4))
    condition: Mapped[Optional[str]] = mapped_column(String(1))
    circumstances: Mapped[Optional[str]] = mapped_column(String(2))
    sex: Mapped[Optional[str]] = mapped_column(String(1))
    age: Mapped[Optional[str]] = mapped_column(String(1))
    raw: Mapped[str] = mapped_column(Text)
    individual_id: Mapped[Optional[int]] = mapped_column(ForeignKey("individuals.id"))
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"), Index("ix_ring", "scheme", "ring"))


class WaterbirdCount(_Record, Base):
    """A site x date x species count (International Waterbird Census style), zero counts included."""

    __tablename__ = "waterbird_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sites.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    scientific_name: Mapped[Optional[str]] = mapped_column(String(300))
    count: Mapped[Optional[int]] = mapped_column(Integer)
    method: Mapped[Optional[str]] = mapped_column(String(50), doc="ground | boat | aerial | ...")
    coverage: Mapped[Optional[str]] = mapped_column(String(50), doc="complete | partial | percent")
    observers: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"),)


class Glacier(Base):
    __tablename__ = "glaciers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wgms_id: Mapped[Optional[int]] = mapped_column(Integer, unique=True)
    glims_id: Mapped[Optional[str]] = mapped_column(String(20))
    rgi_id: Mapped[Optional[str]] = mapped_column(String(20), index=True)
    name: Mapped[Optional[str]] = mapped_column(String(200))
    country_code: Mapped[Optional[str]] = mapped_column(String(2))
    lon: Mapped[Optional[float]] = mapped_column(Float)
    lat: Mapped[Optional[float]] = mapped_column(Float)


class GlacierObservation(_Record, Base):
    """A glacier variable over a period (mass balance, front variation, area, thickness change, ...)."""

    __tablename__ = "glacier_observations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    glacier_id: Mapped[int] = mapped_column(ForeignKey("glaciers.id"), index=True)
    variable: Mapped[str] = mapped_column(String(60))
    year: Mapped[Optional[int]] = mapped_column(Integer)
    period_start: Mapped[Optional[str]] = mapped_column(String(10), doc="WGMS YYYYMMDD, 99 = unknown")
    period_end: Mapped[Optional[str]] = mapped_column(String(10))
    lower_bound_m: Mapped[Optional[float]] = mapped_column(Float, doc="elevation band, m a.s.l.")
    upper_bound_m: Mapped[Optional[float]] = mapped_column(Float)
    value: Mapped[Optional[float]] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(30))
    uncertainty: Mapped[Optional[float]] = mapped_column(Float)
    method: Mapped[Optional[str]] = mapped_column(String(50))
    investigator: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"),
                      Index("ix_glacier_var_year", "glacier_id", "variable", "year"))


# --------------------------------------------------------------------------- links, audit, settings

class RecordLink(Base):
    """Two records that report the same animal or event (kept both; linked with the reason)."""

    __tablename__ = "record_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), default="observations")
    record_a: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    record_b: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    kind: Mapped[str] = mapped_column(String(30), default="duplicate")
    reason: Mapped[str] = mapped_column(Text)
    distance_m: Mapped[Optional[float]] = mapped_column(Float)
    seconds_apart: Mapped[Optional[float]] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("table_name", "record_a", "record_b", "kind"),)


class AuditEntry(Base):
    """Append-only log of who read or exported what (filled by the sharing layer, issue 4)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[Optional[str]] = mapped_column(String(200))
    organization_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[Optional[str]] = mapped_column(Text)
    details: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)


# --------------------------------------------------------------------------- accounts and grants (issue 4)

class User(Base):
    """A person who signs in: argon2 password hash (never the password), hub-wide admin flag."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[Optional[str]] = mapped_column(String(200))
    password_hash: Mapped[Optional[str]] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Membership(Base):
    """A user's role in an organization: viewer | contributor | data_manager | admin."""

    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; revocable, with an expiry."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[Optional[str]] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), doc="first characters, to tell tokens apart in lists")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    last_used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class AccessGrant(Base):
    """An owner's grant of exact access to a partner organization, for a dataset or a taxon (or both)."""

    __tablename__ = "access_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    grantee_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    dataset_id: Mapped[Optional[int]] = mapped_column(ForeignKey("datasets.id"))
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    note: Mapped[Optional[str]] = mapped_column(Text)
    created_by: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class Job(Base):
    """An API job (import, analysis run): who started it, under which view, its progress and result."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), doc="import | analysis")
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", doc="queued | running | done | failed")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[Optional[int]] = mapped_column(Integer)
    params: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    view: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, doc="the sharing view the job ran under")
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class HubSetting(Base):
    __tablename__ = "hub_settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Optional[str]] = mapped_column(Text)


# --------------------------------------------------------------------------- tracking (issue 7)

class TagDeployment(_Record, Base):
    """A tag (collar, logger) on an animal for a time window: Movebank's reference data (deploy-on/off)."""

    __tablename__ = "tag_deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    individual_id: Mapped[Optional[int]] = mapped_column(ForeignKey("individuals.id"), index=True)
    tag_key: Mapped[Optional[str]] = mapped_column(String(200), doc="tag-local-identifier / tag-id")
    sensor: Mapped[Optional[str]] = mapped_column(String(50))
    deploy_on: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, doc="UTC")
    deploy_off: Mapped[Optional[dt.datetime]] = mapped_column(DateTime, doc="UTC")
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"),)


class Fix(_Record, _Place, Base):
    """One GPS fix of a tracked animal. Every fix is kept: `flag` names why a fix is not used ('' = good,
    NULL = not yet cleaned; no_location, marked_outlier, outside_deployment, duplicate, speed)."""

    __tablename__ = "fixes"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    individual_id: Mapped[int] = mapped_column(ForeignKey("individuals.id"))
    deployment_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tag_deployments.id"))
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    time_utc: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    tag_key: Mapped[Optional[str]] = mapped_column(String(200))
    sensor: Mapped[Optional[str]] = mapped_column(String(50))
    event_key: Mapped[Optional[str]] = mapped_column(String(100), doc="Movebank event-id")
    flag: Mapped[Optional[str]] = mapped_column(String(20))
    __table_args__ = (UniqueConstraint("dataset_id", "row_hash"),
                      Index("ix_fixes_individual_time", "individual_id", "time_utc"),
                      Index("ix_fixes_taxon_time", "taxon_id", "time_utc"))



# --------------------------------------------------------------------------- registry and alerts (issue 9)

class RegistryRecord(Base):
    """An agreement, joint project or activity of the cooperation registry (kind says which).

    Dates are text (YYYY, YYYY-MM or YYYY-MM-DD) so a partly known date is kept as known, never padded;
    `details` holds the kind's own fields (funding, indicators, outputs, where, activity type, ...).
    """

    __tablename__ = "registry_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True, doc="short stable id, e.g. dipa-1994")
    kind: Mapped[str] = mapped_column(String(20), doc="agreement | project | activity")
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30), default="unknown")
    start_date: Mapped[Optional[str]] = mapped_column(String(10), doc="signed / project start / activity start")
    end_date: Mapped[Optional[str]] = mapped_column(String(10))
    renewed: Mapped[Optional[list[Any]]] = mapped_column(JSON, doc="dates the agreement was renewed")
    scope: Mapped[Optional[str]] = mapped_column(Text, doc="scope (agreement) or objectives (project, activity)")
    fields: Mapped[Optional[list[Any]]] = mapped_column(JSON, doc="fields of cooperation")
    details: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    sources: Mapped[Optional[list[Any]]] = mapped_column(JSON, doc="[{title, url}] the facts come from")
    visibility: Mapped[str] = mapped_column(String(20), default="public", doc="public | alliance | parties")
    organization_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), doc="keeper")
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("registry_records.id"), index=True,
                                                     doc="the agreement or project it was done under")
    created_by: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RegistryParty(Base):
    """A party of an agreement or a partner of a project (a hub organization or a named body), with the
    partner's mutual recognition of a project (date and note)."""

    __tablename__ = "registry_parties"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("registry_records.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    organization_id: Mapped[Optional[int]] = mapped_column(ForeignKey("organizations.id"), index=True)
    country: Mapped[Optional[str]] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(30), default="party", doc="party | partner | lead | funder | participant")
    recognized_on: Mapped[Optional[str]] = mapped_column(String(10))
    recognition_note: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("record_id", "name"),)


class RegistryLink(Base):
    """A registry record linked to a protected area, a dataset, an analysis job or another record."""

    __tablename__ = "registry_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("registry_records.id"), index=True)
    target_kind: Mapped[str] = mapped_column(String(20), doc="pa | dataset | job | record")
    target: Mapped[str] = mapped_column(String(300))
    note: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("record_id", "target_kind", "target"),
                      Index("ix_registry_links_target", "target_kind", "target"))


class PaCooperation(Base):
    """A field of cooperation between two protected areas (names sorted), proposed or under way."""

    __tablename__ = "pa_cooperation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pa_a: Mapped[str] = mapped_column(String(300))
    pa_b: Mapped[str] = mapped_column(String(300))
    field: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default="proposed")
    record_id: Mapped[Optional[int]] = mapped_column(ForeignKey("registry_records.id"), index=True)
    source: Mapped[Optional[str]] = mapped_column(Text)
    note: Mapped[Optional[str]] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("pa_a", "pa_b", "field"),)


class WatchItem(Base):
    """One entry of an organization's watch list: an invasive or sensitive taxon, or an area."""

    __tablename__ = "watch_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), doc="invasive | sensitive | area")
    name: Mapped[str] = mapped_column(String(300), doc="scientific name or area name")
    taxon_id: Mapped[Optional[int]] = mapped_column(ForeignKey("taxa.id"))
    risk_category: Mapped[Optional[str]] = mapped_column(String(50))
    distance_m: Mapped[Optional[float]] = mapped_column(Float, doc="invasive: alert within this distance of an area")
    area_kind: Mapped[Optional[str]] = mapped_column(String(20), doc="pa | corridor | border")
    border: Mapped[Optional[str]] = mapped_column(String(5), doc="border strip: two countries, e.g. CN-RU")
    width_m: Mapped[Optional[float]] = mapped_column(Float, doc="border strip width on each side, m")
    wkt: Mapped[Optional[str]] = mapped_column(Text, doc="area geometry, WGS84 WKT")
    note: Mapped[Optional[str]] = mapped_column(Text)
    created_by: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("organization_id", "kind", "name"),)


class Alert(Base):
    """An alert to an organization's members; `key` makes each rule x record x organization alert once.

    Locations are not stored here: they are read from the record through the reader's sharing view."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    rule: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(200))
    observation_id: Mapped[Optional[int]] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    other_observation_id: Mapped[Optional[int]] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    batch_id: Mapped[Optional[int]] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    __table_args__ = (UniqueConstraint("rule", "key", "organization_id"),)


class AlertRead(Base):
    __tablename__ = "alert_reads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    read_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("alert_id", "user_id"),)


class AlertDelivery(Base):
    """One e-mail of an alert to one member (sent or failed), so no member is mailed twice."""

    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    status: Mapped[str] = mapped_column(String(20), doc="sent | failed")
    error: Mapped[Optional[str]] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("alert_id", "user_id", "channel"),)



#: Record tables that carry lon/lat and are spatially indexed.
SPATIAL_TABLES = ("observations", "sites", "deployments", "sampling_events", "genetic_samples", "ring_encounters",
                  "fixes")
