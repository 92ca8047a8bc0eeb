"""``tandem``: the platform's command line (typer + rich)."""

import typer

app = typer.Typer(help="Tandem: demo organisation, dev tokens, dead letters, platform status.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Tandem's command line."""
