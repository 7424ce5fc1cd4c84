"""API request/response schemas (pydantic), kept apart from the ORM models."""
