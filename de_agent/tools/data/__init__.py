"""Data-engineering tools: profile data files, run SQL on them, trace lineage, find personal data.

DuckDB work runs in a short-lived worker process (``worker.py``) whose working folder is
the repository and whose DuckDB file access is locked to it; nothing here imports DuckDB
at module level, so importing the package costs nothing at start-up.
"""
