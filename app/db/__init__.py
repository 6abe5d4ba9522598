"""Storage: the typed ORM models, the engine and the migrations that keep them in step."""
