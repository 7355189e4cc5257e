"""registry and watch lists: agreements, projects, activities, alerts (issue 9)

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('registry_records',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('key', sa.String(120), nullable=False, unique=True),
                    sa.Column('kind', sa.String(20), nullable=False),
                    sa.Column('title', sa.Text(), nullable=False),
                    sa.Column('status', sa.String(30), nullable=False),
                    sa.Column('start_date', sa.String(10)),
                    sa.Column('end_date', sa.String(10)),
                    sa.Column('renewed', sa.JSON()),
                    sa.Column('scope', sa.Text()),
                    sa.Column('fields', sa.JSON()),
                    sa.Column('details', sa.JSON()),
                    sa.Column('sources', sa.JSON()),
                    sa.Column('visibility', sa.String(20), nullable=False),
                    sa.Column('organization_id', sa.Integer(), sa.ForeignKey('organizations.id')),
                    sa.Column('parent_id', sa.Integer(), sa.ForeignKey('registry_records.id')),
                    sa.Column('created_by', sa.String(200)),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('updated_at', sa.DateTime(), nullable=False))
    op.create_index('ix_registry_records_parent_id', 'registry_records', ['parent_id'])
    op.create_table('registry_parties',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('record_id', sa.Integer(), sa.ForeignKey('registry_records.id'), nullable=False),
                    sa.Column('name', sa.String(300), nullable=False),
                    sa.Column('organization_id', sa.Integer(), sa.ForeignKey('organizations.id')),
                    sa.Column('country', sa.String(2)),
                    sa.Column('role', sa.String(30), nullable=False),
                    sa.Column('recognized_on', sa.String(10)),
                    sa.Column('recognition_note', sa.Text()),
                    sa.UniqueConstraint('record_id', 'name'))
    op.create_index('ix_registry_parties_record_id', 'registry_parties', ['record_id'])
    op.create_index('ix_registry_parties_organization_id', 'registry_parties', ['organization_id'])
    op.create_table('registry_links',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('record_id', sa.Integer(), sa.ForeignKey('registry_records.id'), nullable=False),
                    sa.Column('target_kind', sa.String(20), nullable=False),
                    sa.Column('target', sa.String(300), nullable=False),
                    sa.Column('note', sa.Text()),
                    sa.UniqueConstraint('record_id', 'target_kind', 'target'))
    op.create_index('ix_registry_links_record_id', 'registry_links', ['record_id'])
    op.create_index('ix_registry_links_target', 'registry_links', ['target_kind', 'target'])
    op.create_table('pa_cooperation',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('pa_a', sa.String(300), nullable=False),
                    sa.Column('pa_b', sa.String(300), nullable=False),
                    sa.Column('field', sa.String(200), nullable=False),
                    sa.Column('status', sa.String(30), nullable=False),
                    sa.Column('record_id', sa.Integer(), sa.ForeignKey('registry_records.id')),
                    sa.Column('source', sa.Text()),
                    sa.Column('note', sa.Text()),
                    sa.UniqueConstraint('pa_a', 'pa_b', 'field'))
    op.create_index('ix_pa_cooperation_record_id', 'pa_cooperation', ['record_id'])
    op.create_table('watch_items',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('organization_id', sa.Integer(), sa.ForeignKey('organizations.id'), nullable=False),
                    sa.Column('kind', sa.String(20), nullable=False),
                    sa.Column('name', sa.String(300), nullable=False),
                    sa.Column('taxon_id', sa.Integer(), sa.ForeignKey('taxa.id')),
                    sa.Column('risk_category', sa.String(50)),
                    sa.Column('distance_m', sa.Float()),
                    sa.Column('area_kind', sa.String(20)),
                    sa.Column('border', sa.String(5)),
                    sa.Column('width_m', sa.Float()),
                    sa.Column('wkt', sa.Text()),
                    sa.Column('note', sa.Text()),
                    sa.Column('created_by', sa.String(200)),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('organization_id', 'kind', 'name'))
    op.create_index('ix_watch_items_organization_id', 'watch_items', ['organization_id'])
    op.create_table('alerts',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('organization_id', sa.Integer(), sa.ForeignKey('organizations.id'), nullable=False),
                    sa.Column('rule', sa.String(30), nullable=False),
                    sa.Column('key', sa.String(200), nullable=False),
                    sa.Column('observation_id', _BIGID),
                    sa.Column('other_observation_id', _BIGID),
                    sa.Column('batch_id', sa.Integer()),
                    sa.Column('title', sa.Text(), nullable=False),
                    sa.Column('details', sa.JSON()),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('rule', 'key', 'organization_id'))
    op.create_index('ix_alerts_organization_id', 'alerts', ['organization_id'])
    op.create_index('ix_alerts_created_at', 'alerts', ['created_at'])
    op.create_table('alert_reads',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('alert_id', sa.Integer(), sa.ForeignKey('alerts.id'), nullable=False),
                    sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
                    sa.Column('read_at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('alert_id', 'user_id'))
    op.create_index('ix_alert_reads_alert_id', 'alert_reads', ['alert_id'])
    op.create_table('alert_deliveries',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('alert_id', sa.Integer(), sa.ForeignKey('alerts.id'), nullable=False),
                    sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
                    sa.Column('channel', sa.String(20), nullable=False),
                    sa.Column('status', sa.String(20), nullable=False),
                    sa.Column('error', sa.Text()),
                    sa.Column('at', sa.DateTime(), nullable=False),
                    sa.UniqueConstraint('alert_id', 'user_id', 'channel'))
    op.create_index('ix_alert_deliveries_alert_id', 'alert_deliveries', ['alert_id'])


def downgrade() -> None:
    for t in ('alert_deliveries', 'alert_reads', 'alerts', 'watch_items', 'pa_cooperation', 'registry_links',
              'registry_parties', 'registry_records'):
        op.drop_table(t)
