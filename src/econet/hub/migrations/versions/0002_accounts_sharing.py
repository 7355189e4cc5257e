"""accounts and sharing: users, memberships, API tokens (hashed), access grants

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('username', sa.String(100), nullable=False, unique=True),
                    sa.Column('email', sa.String(200)),
                    sa.Column('password_hash', sa.String(200)),
                    sa.Column('is_admin', sa.Boolean(), nullable=False),
                    sa.Column('active', sa.Boolean(), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False))
    op.create_table('memberships',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
                    sa.Column('organization_id', sa.Integer(), sa.ForeignKey('organizations.id'), nullable=False),
                    sa.Column('role', sa.String(20), nullable=False),
                    sa.UniqueConstraint('user_id', 'organization_id'))
    op.create_index('ix_memberships_user_id', 'memberships', ['user_id'])
    op.create_index('ix_memberships_organization_id', 'memberships', ['organization_id'])
    op.create_table('api_tokens',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=False),
                    sa.Column('name', sa.String(200)),
                    sa.Column('token_hash', sa.String(64), nullable=False, unique=True),
                    sa.Column('prefix', sa.String(16), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('expires_at', sa.DateTime()),
                    sa.Column('revoked_at', sa.DateTime()),
                    sa.Column('last_used_at', sa.DateTime()))
    op.create_index('ix_api_tokens_user_id', 'api_tokens', ['user_id'])
    op.create_table('access_grants',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('owner_organization_id', sa.Integer(), sa.ForeignKey('organizations.id'), nullable=False),
                    sa.Column('grantee_organization_id', sa.Integer(), sa.ForeignKey('organizations.id'),
                              nullable=False),
                    sa.Column('dataset_id', sa.Integer(), sa.ForeignKey('datasets.id')),
                    sa.Column('taxon_id', sa.Integer(), sa.ForeignKey('taxa.id')),
                    sa.Column('note', sa.Text()),
                    sa.Column('created_by', sa.String(200)),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('revoked_at', sa.DateTime()))
    op.create_index('ix_access_grants_owner_organization_id', 'access_grants', ['owner_organization_id'])
    op.create_index('ix_access_grants_grantee_organization_id', 'access_grants', ['grantee_organization_id'])
    op.create_table('jobs',
                    sa.Column('id', sa.Integer(), primary_key=True),
                    sa.Column('kind', sa.String(20), nullable=False),
                    sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id')),
                    sa.Column('status', sa.String(20), nullable=False),
                    sa.Column('done', sa.Integer(), nullable=False),
                    sa.Column('total', sa.Integer()),
                    sa.Column('params', sa.JSON()),
                    sa.Column('view', sa.JSON()),
                    sa.Column('result', sa.JSON()),
                    sa.Column('error', sa.Text()),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.Column('finished_at', sa.DateTime()))
    op.create_index('ix_jobs_user_id', 'jobs', ['user_id'])


def downgrade() -> None:
    op.drop_table('jobs')
    op.drop_table('access_grants')
    op.drop_table('api_tokens')
    op.drop_table('memberships')
    op.drop_table('users')
