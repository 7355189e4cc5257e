"""observations: nearest land border and the distance to it (set at import) for fast border queries

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('observations', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('border_pair', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('border_distance_m', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('border_distance2_m', sa.Float(), nullable=True))
    op.create_index('ix_obs_border', 'observations', ['border_distance_m', 'border_pair'])
    op.create_index('ix_obs_border_second', 'observations', ['border_distance2_m', 'border_pair', 'lon', 'lat'],
                    sqlite_where=sa.text('border_distance2_m IS NOT NULL'),
                    postgresql_where=sa.text('border_distance2_m IS NOT NULL'))
    op.create_index('ix_obs_border_unknown', 'observations', ['id'], sqlite_where=sa.text('border_pair IS NULL'),
                    postgresql_where=sa.text('border_pair IS NULL'))
    _fill(op.get_bind())


def _fill(conn, chunk: int = 50000) -> None:
    """Compute the border columns of the observations already in the hub."""
    import numpy as np
    from econet.hub.spatial import nearest_border
    last = 0
    while True:
        rows = conn.execute(sa.text("SELECT id, x, y FROM observations WHERE id > :last ORDER BY id LIMIT :n"),
                            {"last": last, "n": chunk}).all()
        if not rows:
            return
        last = rows[-1][0]
        x = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float)
        y = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
        pair, dist, dist2 = nearest_border(x, y)
        conn.execute(sa.text("UPDATE observations SET border_pair = :p, border_distance_m = :d, "
                             "border_distance2_m = :d2 WHERE id = :i"),
                     [{"p": p, "d": None if not np.isfinite(d) else float(d),
                       "d2": None if not np.isfinite(d2) else float(d2), "i": r[0]}
                      for r, p, d, d2 in zip(rows, pair, dist, dist2)])


def downgrade() -> None:
    op.drop_index('ix_obs_border_unknown', table_name='observations')
    op.drop_index('ix_obs_border_second', table_name='observations')
    op.drop_index('ix_obs_border', table_name='observations')
    with op.batch_alter_table('observations', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('border_distance2_m')
        batch_op.drop_column('border_distance_m')
        batch_op.drop_column('border_pair')
