"""The web page: one static page (no build step) that uses the public HTTP API."""
