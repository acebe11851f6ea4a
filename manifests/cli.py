"""`flask manifests build zendesk|salesforce`: the marketplace packages for this deployment.

Prints the paths written; errors are one line on stderr with a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from manifests.build import build_salesforce, build_zendesk

manifests_cli = AppGroup(
    "manifests", help="Marketplace packages: the Zendesk app, the Salesforce package."
)


def _configured_base_url() -> str:
    settings = current_app.extensions.get("countersign.settings")
    base_url = getattr(settings, "base_url", None)
    if not isinstance(base_url, str) or not base_url:
        raise click.ClickException("--base-url is required (this app has no BASE_URL configured)")
    return base_url


@manifests_cli.command("build")
@click.argument("target", type=click.Choice(["zendesk", "salesforce"]))
@click.option(
    "--base-url",
    default=None,
    help="The server's public origin, such as https://sign.example.com [default: BASE_URL].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="The folder to write into.",
)
@click.option(
    "--contact-email",
    default=None,
    help="Where admins send questions (manifest author, connected app) [default: support@HOST].",
)
def build(target: str, base_url: str | None, out: Path, contact_email: str | None) -> None:
    """Build the Zendesk app zip or the Salesforce sfdx project (and its zip)."""
    base_url = base_url if base_url is not None else _configured_base_url()
    try:
        if target == "zendesk":
            written = [build_zendesk(base_url, out, contact_email=contact_email)]
        else:
            project = build_salesforce(base_url, out, contact_email=contact_email)
            written = [project, project.with_name(f"{project.name}.zip")]
    except (ValueError, OSError) as error:
        raise click.ClickException(" ".join(str(error).split())) from None
    for path in written:
        click.echo(str(path))
