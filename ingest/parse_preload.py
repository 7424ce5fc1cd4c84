"""Imported only by the parse workers' forkserver (`ingest.parsing`), before it forks any
worker: the tokenizer and the parsers are loaded there once, and every worker forked from
it starts with them (a forkserver ignores a preload module that fails to import; each
worker's initializer then loads them itself)."""

from ingest.parse_worker import warm

warm()
