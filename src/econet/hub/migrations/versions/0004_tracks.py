"""tracking: animals' tag deployments and GPS fixes (issue 7)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _record_columns() -> list:
    return [sa.Column('source_row', sa.Integer(), nullable=True),
            sa.Column('row_hash', sa.String(length=32), nullable=False),
            sa.Column('attributes', sa.JSON(), nullable=True),
            sa.Column('dataset_id', sa.Integer(), nullable=False),
            sa.Column('batch_id', sa.Integer(), nullable=True),
            sa.ForeignKeyConstraint(['batch_id'], ['import_batches.id'], ),
            sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], )]


def _geom() -> sa.Column:
    """As the other record tables (0001): WKB on SQLite, a PostGIS point generated from lon/lat."""
    if _pg():
        from geoalchemy2 import Geometry
        return sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False),
                         sa.Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True), nullable=True)
    return sa.Column("geom", sa.LargeBinary(), nullable=True)


def upgrade() -> None:
    op.create_table('tag_deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('individual_id', sa.Integer(), nullable=True),
    sa.Column('tag_key', sa.String(length=200), nullable=True),
    sa.Column('sensor', sa.String(length=50), nullable=True),
    sa.Column('deploy_on', sa.DateTime(), nullable=True),
    sa.Column('deploy_off', sa.DateTime(), nullable=True),
    *_record_columns(),
    sa.ForeignKeyConstraint(['individual_id'], ['individuals.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    op.create_index('ix_tag_deployments_individual_id', 'tag_deployments', ['individual_id'])
    op.create_index('ix_tag_deployments_dataset_id', 'tag_deployments', ['dataset_id'])
    op.create_index('ix_tag_deployments_batch_id', 'tag_deployments', ['batch_id'])

    op.create_table('fixes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('individual_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('taxon_id', sa.Integer(), nullable=True),
    sa.Column('time_utc', sa.DateTime(), nullable=True),
    sa.Column('tag_key', sa.String(length=200), nullable=True),
    sa.Column('sensor', sa.String(length=50), nullable=True),
    sa.Column('event_key', sa.String(length=100), nullable=True),
    sa.Column('flag', sa.String(length=20), nullable=True),
    *_record_columns(),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('x', sa.Float(), nullable=True),
    sa.Column('y', sa.Float(), nullable=True),
    _geom(),
    sa.Column('coordinate_uncertainty_m', sa.Float(), nullable=True),
    sa.Column('country_code', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['individual_id'], ['individuals.id'], ),
    sa.ForeignKeyConstraint(['deployment_id'], ['tag_deployments.id'], ),
    sa.ForeignKeyConstraint(['taxon_id'], ['taxa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dataset_id', 'row_hash')
    )
    op.create_index('ix_fixes_individual_time', 'fixes', ['individual_id', 'time_utc'])
    op.create_index('ix_fixes_taxon_time', 'fixes', ['taxon_id', 'time_utc'])
    op.create_index('ix_fixes_dataset_id', 'fixes', ['dataset_id'])
    op.create_index('ix_fixes_batch_id', 'fixes', ['batch_id'])
    op.create_index('ix_fixes_country_code', 'fixes', ['country_code'])
    if _pg():
        op.execute("CREATE INDEX ix_fixes_geom ON fixes USING gist (geom)")
        return
    # SQLite: an R*Tree kept in step as for the other record tables (imports index their rows in bulk)
    op.execute("CREATE VIRTUAL TABLE fixes_rtree USING rtree(id, minx, maxx, miny, maxy)")
    op.execute("CREATE TRIGGER fixes_rtree_ins AFTER INSERT ON fixes WHEN new.lon IS NOT NULL AND new.lat IS NOT NULL "
               "AND new.batch_id IS NULL "
               "BEGIN INSERT INTO fixes_rtree VALUES (new.id, new.lon, new.lon, new.lat, new.lat); END")
    op.execute("CREATE TRIGGER fixes_rtree_del AFTER DELETE ON fixes BEGIN DELETE FROM fixes_rtree WHERE id = old.id; END")
    op.execute("CREATE TRIGGER fixes_rtree_upd AFTER UPDATE OF lon, lat ON fixes BEGIN "
               "DELETE FROM fixes_rtree WHERE id = old.id; "
               "INSERT INTO fixes_rtree SELECT new.id, new.lon, new.lon, new.lat, new.lat "
               "WHERE new.lon IS NOT NULL AND new.lat IS NOT NULL; END")


def downgrade() -> None:
    if not _pg():
        op.execute("DROP TABLE IF EXISTS fixes_rtree")
    op.drop_table('fixes')
    op.drop_table('tag_deployments')
