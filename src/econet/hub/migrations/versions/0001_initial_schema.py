"""initial schema: partners, datasets, records with provenance, taxonomy, links, audit log; spatial indexes

Revision ID: 0001
Revises: 
Create Date: 2026-11-21 23:55:10.726200
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

SPATIAL_TABLES = ("observations", "sites", "deployments", "sampling_events", "genetic_samples", "ring_encounters")


def _dialect() -> str:
    return op.get_bind().dialect.name


def _geom() -> sa.Column:
    """WKB on SQLite (written by the hub); on PostGIS a point generated from lon/lat."""
    if _dialect() == "postgresql":
        from geoalchemy2 import Geometry
        return sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False),
                         sa.Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True), nullable=True)
    return sa.Column("geom", sa.LargeBinary(), nullable=True)


def _spatial_indexes() -> None:
    """SQLite: an R*Tree per spatial table kept in step by triggers; PostgreSQL: GiST on geom."""
    for t in SPATIAL_TABLES:
        if _dialect() == "postgresql":
            op.execute(f"CREATE INDEX ix_{t}_geom ON {t} USING gist (geom)")
            continue
        op.execute(f"CREATE VIRTUAL TABLE {t}_rtree USING rtree(id, minx, maxx, miny, maxy)")
        # rows written by an import (batch_id set) are indexed in bulk by the importer, which is several
        # times faster than a per-row trigger; every other insert is indexed here
        op.execute(f"CREATE TRIGGER {t}_rtree_ins AFTER INSERT ON {t} WHEN new.lon IS NOT NULL AND new.lat IS NOT NULL "
                   f"AND new.batch_id IS NULL "
                   f"BEGIN INSERT INTO {t}_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat); END")
        op.execute(f"CREATE TRIGGER {t}_rtree_del AFTER DELETE ON {t} "
                   f"BEGIN DELETE FROM {t}_rtree WHERE id = old.id; END")
        op.execute(f"CREATE TRIGGER {t}_rtree_upd AFTER UPDATE OF lon, lat ON {t} BEGIN "
                   f"DELETE FROM {t}_rtree WHERE id = old.id; "
                   f"INSERT INTO {t}_rtree SELECT new.id, new.lon, new.lon, new.lat, new.lat "
                   f"WHERE new.lon IS NOT NULL AND new.lat IS NOT NULL; END")


def upgrade() -> None:
    op.create_table('glaciers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wgms_id', sa.Integer(), nullable=True),
    sa.Column('glims_id', sa.String(length=20), nullable=True),
    sa.Column('rgi_id', sa.String(length=20), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wgms_id')
    )
    with op.batch_alter_table('glaciers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_glaciers_rgi_id'), ['rgi_id'], unique=False)

    op.create_table('hub_settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('alliance_member', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('record_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_a', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_b', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('seconds_apart', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('table_name', 'record_a', 'record_b', 'kind')
    )
    with op.batch_alter_table('record_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_links_record_a'), ['record_a'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_links_record_b'), ['record_b'], unique=False)

    op.create_table('taxa',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scientific_name', sa.String(length=300), nullable=False),
    sa.Column('authorship', sa.String(length=300), nullable=True),
    sa.Column('rank', sa.String(length=30), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('accepted_id', sa.Integer(), nullable=True),
    sa.Column('kingdom', sa.String(length=100), nullable=True),
    sa.Column('phylum', sa.String(length=100), nullable=True),
    sa.Column('class', sa.String(length=100), nullable=True),
    sa.Column('order', sa.String(length=100), nullable=True),
    sa.Column('family', sa.String(length=100), nullable=True),
    sa.Column('genus', sa.String(length=100), nullable=True),
    sa.Column('iucn_category', sa.String(length=2), nullable=True),
    sa.Column('euring_code', sa.String(length=5), nullable=True),
    sa.Column('gbif_key', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['accepted_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scientific_name', 'status')
    )
    with op.batch_alter_table('taxa', schema=None) as batch_op:
        batch_op.create_index('ix_taxa_lower', ['scientific_name'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('target', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('datasets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('license', sa.String(length=200), nullable=True),
    sa.Column('media_license', sa.String(length=200), nullable=True),
    sa.Column('citation', sa.Text(), nullable=True),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('shared_with', sa.JSON(), nullable=True),
    sa.Column('embargo_until', sa.Date(), nullable=True),
    sa.Column('coordinate_precision', sa.Float(), nullable=True),
    sa.Column('source_format', sa.String(length=30), nullable=True),
    sa.Column('source_metadata', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('orcid', sa.String(length=100), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'organization_id')
    )
    op.create_table('sensitive_taxa',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taxon_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sa.String(length=2), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('review_date', sa.Date(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('taxon_id', 'country_code')
    )
    op.create_table('vernacular_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('taxon_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('taxon_id', 'language', 'name')
    )
    with op.batch_alter_table('vernacular_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vernacular_names_taxon_id'), ['taxon_id'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('format', sa.String(length=30), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=True),
    sa.Column('mapping', sa.JSON(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_added', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('glacier_observations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('glacier_id', sa.Integer(), nullable=False),
    sa.Column('variable', sa.String(length=60), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.String(length=10), nullable=True),
    sa.Column('period_end', sa.String(length=10), nullable=True),
    sa.Column('lower_bound_m', sa.Float(), nullable=True),
    sa.Column('upper_bound_m', sa.Float(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('uncertainty', sa.Float(), nullable=True),
    sa.Column('method', sa.String(length=50), nullable=True),
    sa.Column('investigator', sa.Text(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['glacier_id'], ['glaciers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('glacier_observations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_glacier_observations_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_glacier_observations_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_glacier_observations_glacier_id'), ['glacier_id'], unique=False)
        batch_op.create_index('ix_glacier_var_year', ['glacier_id', 'variable', 'year'], unique=False)

    op.create_table('individuals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('individual_key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('taxon_id', sa.Integer(), nullable=True),
    sa.Column('sex', sa.String(length=20), nullable=True),
    sa.Column('identity_id', sa.Integer(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['identity_id'], ['individuals.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'individual_key')
    )
    with op.batch_alter_table('individuals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_individuals_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_individuals_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash'),
    sa.UniqueConstraint('dataset_id', 'site_key')
    )
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sites_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sites_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_sites_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('taxon_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('verbatim_name', sa.String(length=300), nullable=False),
    sa.Column('proposed_taxon_id', sa.Integer(), nullable=True),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['proposed_taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'verbatim_name')
    )
    with op.batch_alter_table('taxon_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_taxon_reviews_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_key', sa.String(length=200), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('start_utc', sa.DateTime(), nullable=True),
    sa.Column('start_offset_min', sa.Integer(), nullable=True),
    sa.Column('end_utc', sa.DateTime(), nullable=True),
    sa.Column('end_offset_min', sa.Integer(), nullable=True),
    sa.Column('camera_id', sa.String(length=200), nullable=True),
    sa.Column('camera_model', sa.String(length=200), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'deployment_key'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployments_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('genetic_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_key', sa.String(length=200), nullable=False),
    sa.Column('population', sa.String(length=200), nullable=True),
    sa.Column('individual_id', sa.Integer(), nullable=True),
    sa.Column('taxon_id', sa.Integer(), nullable=True),
    sa.Column('sample_type', sa.String(length=50), nullable=True),
    sa.Column('time_utc', sa.DateTime(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['individual_id'], ['individuals.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'sample_key')
    )
    with op.batch_alter_table('genetic_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_genetic_samples_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_genetic_samples_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_genetic_samples_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('ring_encounters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('euring_format', sa.String(length=20), nullable=False),
    sa.Column('scheme', sa.String(length=3), nullable=False),
    sa.Column('ring', sa.String(length=20), nullable=False),
    sa.Column('species_code', sa.String(length=5), nullable=True),
    sa.Column('taxon_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=True),
    sa.Column('time_utc', sa.DateTime(), nullable=True),
    sa.Column('place_code', sa.String(length=4), nullable=True),
    sa.Column('condition', sa.String(length=1), nullable=True),
    sa.Column('circumstances', sa.String(length=2), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('age', sa.String(length=1), nullable=True),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('individual_id', sa.Integer(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['individual_id'], ['individuals.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('ring_encounters', schema=None) as batch_op:
        batch_op.create_index('ix_ring', ['scheme', 'ring'], unique=False)
        batch_op.create_index(batch_op.f('ix_ring_encounters_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ring_encounters_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_ring_encounters_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('waterbird_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('taxon_id', sa.Integer(), nullable=True),
    sa.Column('scientific_name', sa.String(length=300), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('method', sa.String(length=50), nullable=True),
    sa.Column('coverage', sa.String(length=50), nullable=True),
    sa.Column('observers', sa.Text(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('waterbird_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waterbird_counts_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waterbird_counts_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waterbird_counts_site_id'), ['site_id'], unique=False)

    op.create_table('genotypes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('locus', sa.String(length=100), nullable=False),
    sa.Column('allele1', sa.String(length=50), nullable=True),
    sa.Column('allele2', sa.String(length=50), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['sample_id'], ['genetic_samples.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sample_id', 'locus')
    )
    with op.batch_alter_table('genotypes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_genotypes_sample_id'), ['sample_id'], unique=False)

    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('media_key', sa.String(length=200), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('capture_method', sa.String(length=30), nullable=True),
    sa.Column('time_utc', sa.DateTime(), nullable=True),
    sa.Column('time_offset_min', sa.Integer(), nullable=True),
    sa.Column('file_path', sa.Text(), nullable=True),
    sa.Column('file_public', sa.Boolean(), nullable=True),
    sa.Column('file_name', sa.Text(), nullable=True),
    sa.Column('media_type', sa.String(length=100), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index('ix_media_key', ['dataset_id', 'media_key'], unique=False)

    op.create_table('sampling_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('parent_event_key', sa.String(length=200), nullable=True),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('protocol', sa.Text(), nullable=True),
    sa.Column('start_utc', sa.DateTime(), nullable=True),
    sa.Column('end_utc', sa.DateTime(), nullable=True),
    sa.Column('offset_min', sa.Integer(), nullable=True),
    sa.Column('effort', sa.Text(), nullable=True),
    sa.Column('sample_size_value', sa.Float(), nullable=True),
    sa.Column('sample_size_unit', sa.String(length=100), nullable=True),
    sa.Column('locality', sa.Text(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], ),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'event_key'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('sampling_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sampling_events_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sampling_events_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_sampling_events_dataset_id'), ['dataset_id'], unique=False)

    op.create_table('observations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record_type', sa.String(length=20), nullable=False),
    sa.Column('occurrence_key', sa.String(length=200), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('media_key', sa.String(length=200), nullable=True),
    sa.Column('observation_type', sa.String(length=20), nullable=True),
    sa.Column('basis_of_record', sa.String(length=40), nullable=True),
    sa.Column('taxon_id', sa.Integer(), nullable=True),
    sa.Column('scientific_name', sa.String(length=300), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('time_utc', sa.DateTime(), nullable=True),
    sa.Column('time_end_utc', sa.DateTime(), nullable=True),
    sa.Column('time_offset_min', sa.Integer(), nullable=True),
    sa.Column('individual_id', sa.Integer(), nullable=True),
    sa.Column('individual_key', sa.String(length=200), nullable=True),
    sa.Column('sex', sa.String(length=20), nullable=True),
    sa.Column('life_stage', sa.String(length=30), nullable=True),
    sa.Column('behaviour', sa.Text(), nullable=True),
    sa.Column('locality', sa.Text(), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('attributes', sa.JSON(), nullable=True),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], ),
    sa.ForeignKeyConstraint(['event_id'], ['sampling_events.id'], ),
    sa.ForeignKeyConstraint(['individual_id'], ['individuals.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_obs_country_taxon_time', ['country_code', 'taxon_id', 'time_utc'], unique=False)
        batch_op.create_index('ix_obs_individual', ['individual_id'], unique=False)
        batch_op.create_index('ix_obs_taxon_time', ['taxon_id', 'time_utc'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_batch_id'), ['batch_id'], unique=False)


    _spatial_indexes()


def downgrade() -> None:
    if _dialect() == "sqlite":
        for t in SPATIAL_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {t}_rtree")
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observations_batch_id'))
        batch_op.drop_index('ix_obs_taxon_time')
        batch_op.drop_index('ix_obs_individual')
        batch_op.drop_index('ix_obs_country_taxon_time')

    op.drop_table('observations')
    with op.batch_alter_table('sampling_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sampling_events_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_sampling_events_country_code'))
        batch_op.drop_index(batch_op.f('ix_sampling_events_batch_id'))

    op.drop_table('sampling_events')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index('ix_media_key')
        batch_op.drop_index(batch_op.f('ix_media_deployment_id'))
        batch_op.drop_index(batch_op.f('ix_media_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_media_batch_id'))

    op.drop_table('media')
    with op.batch_alter_table('genotypes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_genotypes_sample_id'))

    op.drop_table('genotypes')
    with op.batch_alter_table('waterbird_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waterbird_counts_site_id'))
        batch_op.drop_index(batch_op.f('ix_waterbird_counts_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_waterbird_counts_batch_id'))

    op.drop_table('waterbird_counts')
    with op.batch_alter_table('ring_encounters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ring_encounters_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_ring_encounters_country_code'))
        batch_op.drop_index(batch_op.f('ix_ring_encounters_batch_id'))
        batch_op.drop_index('ix_ring')

    op.drop_table('ring_encounters')
    with op.batch_alter_table('genetic_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_genetic_samples_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_genetic_samples_country_code'))
        batch_op.drop_index(batch_op.f('ix_genetic_samples_batch_id'))

    op.drop_table('genetic_samples')
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployments_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_deployments_country_code'))
        batch_op.drop_index(batch_op.f('ix_deployments_batch_id'))

    op.drop_table('deployments')
    with op.batch_alter_table('taxon_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_taxon_reviews_dataset_id'))

    op.drop_table('taxon_reviews')
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sites_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_sites_country_code'))
        batch_op.drop_index(batch_op.f('ix_sites_batch_id'))

    op.drop_table('sites')
    with op.batch_alter_table('individuals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_individuals_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_individuals_batch_id'))

    op.drop_table('individuals')
    with op.batch_alter_table('glacier_observations', schema=None) as batch_op:
        batch_op.drop_index('ix_glacier_var_year')
        batch_op.drop_index(batch_op.f('ix_glacier_observations_glacier_id'))
        batch_op.drop_index(batch_op.f('ix_glacier_observations_dataset_id'))
        batch_op.drop_index(batch_op.f('ix_glacier_observations_batch_id'))

    op.drop_table('glacier_observations')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_dataset_id'))

    op.drop_table('import_batches')
    with op.batch_alter_table('vernacular_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vernacular_names_taxon_id'))

    op.drop_table('vernacular_names')
    op.drop_table('sensitive_taxa')
    op.drop_table('people')
    op.drop_table('datasets')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('taxa', schema=None) as batch_op:
        batch_op.drop_index('ix_taxa_lower')

    op.drop_table('taxa')
    with op.batch_alter_table('record_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_links_record_b'))
        batch_op.drop_index(batch_op.f('ix_record_links_record_a'))

    op.drop_table('record_links')
    op.drop_table('organizations')
    op.drop_table('hub_settings')
    with op.batch_alter_table('glaciers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_glaciers_rgi_id'))

    op.drop_table('glaciers')
