"""Benchmarks: how fast each stage runs on a generated county, next to a baseline measured in the same run.

``python -m benchmarks extract --scale S|M`` times the PostgreSQL extract three ways (the product's extract,
an Arrow-native driver, and DuckDB copying the same tables straight to Parquet); ``python -m benchmarks all``
times every stage of the pipeline. The generated operational database lives in a persistent state directory
(``.state/bench/<scale>`` by default) and is reused while its scale, seed and county count match.
"""
