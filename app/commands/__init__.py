"""CLI commands, one module per area; each registers itself on `app.cli.app`."""
