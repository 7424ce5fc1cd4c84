"""The database: the `Database` seam (`database.py`), its error mapping (`errors.py`), the
ORM models, the schema helpers, migrations and the embedded server."""
