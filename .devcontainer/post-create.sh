#!/usr/bin/env bash
# Runs once, when the Dev Container is created (devcontainer.json: postCreateCommand).
# The README's install and test steps, then the schema on the compose `db` (DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."

# The .venv volume is created by Docker as root; the container's user needs to own it.
sudo chown "$(id -u):$(id -g)" .venv

# README: Install (the dev extra has the test tools)
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'

# README: Test. The web page tests drive Debian's chromium through Playwright.
sudo apt-get update -qq
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# The schema (collections, documents, chunks, their indexes) on the compose database, so the
# SQL tools' explorer shows it from the first connection.
.venv/bin/pgask db upgrade
