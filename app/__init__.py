"""pgask: retrieval-augmented question answering on PostgreSQL + pgvector."""

__version__ = "0.1.0"
