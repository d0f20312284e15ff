"""Data engines: per-distinct-time sufficient statistics from in-memory columns, DuckDB or Spark (see base)."""
