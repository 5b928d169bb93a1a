"""Cassandra serving tables: schema and writers."""
