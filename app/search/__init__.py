"""Similarity search: vector (HNSW), full text, hybrid, metadata filters (issue #5)."""
