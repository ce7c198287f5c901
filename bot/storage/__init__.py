"""Storage: sqlmodel tables, the database engine and Alembic migrations."""
