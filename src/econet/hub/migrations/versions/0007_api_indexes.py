"""query speed: indexes for the API's typical queries (issue 4)

Pages are read in id order (keyset paging: `id > after ORDER BY id LIMIT n`), so every index for a filter the
API takes on its own ends with the id: an equality on the first column then yields rows already in id order
and a page stops after n rows instead of sorting every row of a country, dataset or taxon. (SQLite appends
the rowid to every index anyway; PostgreSQL needs it spelled out.) Same indexes on both back ends.

Revision ID: 0007
Revises: 0006
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

#: name -> columns (observations)
INDEXES = {
    "ix_obs_dataset_id": ["dataset_id", "id"],
    "ix_obs_country_id": ["country_code", "id"],
    "ix_obs_taxon_id": ["taxon_id", "id"],
    "ix_obs_individual_key": ["individual_key", "id"],
    "ix_obs_time_id": ["time_utc", "id"],
}


def upgrade() -> None:
    for name, cols in INDEXES.items():
        op.create_index(name, "observations", cols, unique=False, if_not_exists=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE observations")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="observations", if_exists=True)
