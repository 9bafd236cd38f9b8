"""Overdue-loan analytics: pure Polars/DuckDB code, no Streamlit."""
