"""What the data tools are built from: the DuckDB worker process and its client, data sources,
SQL execution, tabular formatting, the dbt project reader and the PII detectors."""
