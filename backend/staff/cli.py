"""``korpu staff``: create staff accounts (the first admin among them)."""

from __future__ import annotations

import asyncio
import secrets

import click
import pyotp

from backend.db import create_engine
from backend.settings import Settings
from backend.staff.service import ROLES, create_staff
from compliance.audit import record_audit
from compliance.privacy import Sealer

__all__ = ["staff"]


@click.group()
def staff() -> None:
    """Staff accounts."""


@staff.command("create")
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option(
    "--password",
    envvar="KORPU_NEW_STAFF_PASSWORD",
    default=None,
    help="At least 12 characters; generated and shown once when omitted.",
)
def create(username: str, roles: tuple[str, ...], password: str | None) -> None:
    """Create a staff account; prints the password (if generated) and the TOTP secret once."""
    settings = Settings.from_env()
    password = password or secrets.token_urlsafe(15)

    async def run() -> tuple[int, str]:
        engine = create_engine(settings.database_url, null_pool=True)
        try:
            async with engine.begin() as conn:
                staff_id, totp_secret = await create_staff(
                    conn, Sealer(settings.secrets.data_keys), username, list(roles), password
                )
                await record_audit(
                    conn,
                    "system:cli",
                    "staff.created",
                    "staff",
                    str(staff_id),
                    details={"roles": sorted(roles)},
                )
                return staff_id, totp_secret
        finally:
            await engine.dispose()

    staff_id, totp_secret = asyncio.run(run())
    click.echo(f"staff #{staff_id} {username} ({', '.join(sorted(roles))}) created")
    click.echo(f"password: {password}")
    click.echo(f"TOTP secret: {totp_secret}")
    click.echo(f"TOTP URI: {pyotp.TOTP(totp_secret).provisioning_uri(name=username, issuer_name='Körpü')}")
