"""Engines for the scale tests: one embedded DuckDB per module, one local Spark session per test run."""

from __future__ import annotations

import shutil

import pytest


def spark_session_or_skip():
    """A shared local[2] SparkSession, or a skip that says what is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed (pip install 'netexp-interference[scale]')")
    if shutil.which("java") is None:
        pytest.skip("Java is absent (apt-get install openjdk-17-jre-headless); Spark needs it")
    from pyspark.sql import SparkSession

    return (SparkSession.builder.master("local[2]").appName("netexp-tests")
            .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.memory", "2g").getOrCreate())


@pytest.fixture(scope="session")
def spark():
    s = spark_session_or_skip()
    yield s
    s.stop()
