"""Portable export and import of a collection, embeddings included, as Apache Parquet
(format: docs/export-format.md). Streamed both ways; import makes no embedding calls."""
