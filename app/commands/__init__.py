"""CLI commands by area; each module registers on `app.cli.app`."""
