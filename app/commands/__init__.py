"""CLI commands, one module per area; `app/cli.py` assembles them."""
