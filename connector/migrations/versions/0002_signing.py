"""signing: seal identity, signing url, reminders, consent

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 07:36:50.546149
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_reminders", sa.Integer(), server_default="5", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_envelopes_next_reminder_at"), ["next_reminder_at"], unique=False
        )

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal_identity", sa.LargeBinary(), nullable=True))

    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_url_jti", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("locale", sa.String(length=8), server_default="en", nullable=False)
        )
        batch_op.add_column(
            sa.Column("reminders_sent", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("consent_withdrawn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("disclosure_version", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("return_url", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recipients", schema=None) as batch_op:
        batch_op.drop_column("return_url")
        batch_op.drop_column("disclosure_version")
        batch_op.drop_column("consent_withdrawn_at")
        batch_op.drop_column("reminders_sent")
        batch_op.drop_column("locale")
        batch_op.drop_column("signing_url_jti")

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_column("seal_identity")

    with op.batch_alter_table("envelopes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_envelopes_next_reminder_at"))
        batch_op.drop_column("max_reminders")
