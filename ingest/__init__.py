"""The ingestion pipeline: load -> chunk -> hash/dedupe -> embed -> binary COPY."""
