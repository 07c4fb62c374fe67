"""The two engines netexp drives: embedded DuckDB (the default) and PySpark.

An engine here only registers inputs, runs compiled SQL, materializes a result as a table and
fetches small results; every query itself lives in ``_session.py``, written once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import InputError, NetexpError
from ._sql import compile_sql

__all__ = ["EngineError", "DuckDBEngine", "SparkEngine", "make_engine"]


class EngineError(NetexpError, RuntimeError):
    """The engine cannot be reached or refused a query."""


_INT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
        "INT", "TINYINT", "LONG", "SHORT", "BYTE")
_STR = ("VARCHAR", "STRING", "TEXT")
_FLOAT = ("DOUBLE", "FLOAT", "REAL")


def type_kind(t: str) -> str:
    """'int', 'string', 'float', 'bool' or 'other' for an engine's column type name."""
    t = t.upper()
    if t in _INT:
        return "int"
    if t in _STR or t.startswith("VARCHAR") or t.startswith("CHAR"):
        return "string"
    if t in _FLOAT or t.startswith("DECIMAL"):
        return "float"
    if t in ("BOOLEAN", "BOOL"):
        return "bool"
    return "other"


def _is_path(src: Any) -> bool:
    if isinstance(src, Path):
        return True
    return isinstance(src, str) and (src.endswith((".parquet", ".csv", ".csv.gz", "/")) or "*" in src
                                     or os.sep in src or os.path.exists(src))


def _check_files(src) -> str:
    import glob

    s = str(src)
    if not glob.glob(s) and not os.path.exists(s):
        raise InputError(f"no file matches {s!r}; give the path (or glob) of a Parquet or CSV table.")
    return s


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, con):
        self.con = con

    @classmethod
    def open(cls, database: str = ":memory:", **config):
        import duckdb

        try:
            con = duckdb.connect(database, config={k: str(v) for k, v in config.items()})
            con.execute("SELECT 1").fetchall()
        except Exception as exc:  # duckdb raises its own IOException / CatalogException tree
            raise EngineError(f"cannot open DuckDB database {database!r}: {exc}. Give ':memory:' (the default) or "
                              "a writable file path.") from exc
        return cls(con)

    def ping(self):
        try:
            self.con.execute("SELECT 1").fetchall()
        except Exception as exc:
            raise EngineError(f"the DuckDB connection is not usable ({exc}); open a new one with "
                              "netexp.scale.connect().") from exc

    def register(self, name: str, src: Any) -> None:
        if isinstance(src, pd.DataFrame):
            self.con.register(name + "_df", src)
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_df")
        elif _is_path(src):
            s = _check_files(src)
            fn = "read_csv_auto" if s.endswith((".csv", ".csv.gz")) else "read_parquet"
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {fn}('{s.replace(chr(39), chr(39) * 2)}')")
        elif isinstance(src, str):
            try:
                self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {src}")
            except Exception as exc:
                raise InputError(f"{src!r} is neither a file nor a table of this DuckDB connection ({exc}).") from exc
        elif hasattr(src, "create_view") or type(src).__name__ == "DuckDBPyRelation":
            src.create_view(name, replace=True)
        else:
            raise InputError(f"a table must be a Parquet/CSV path, a pandas DataFrame, a DuckDB relation or a table "
                             f"name; got {type(src).__name__}.")

    def columns(self, name: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {name}").fetchall()
        return {r[0]: r[1] for r in rows}

    def run(self, sql: str) -> None:
        self._exec(sql)

    def _exec(self, sql: str):
        try:
            return self.con.execute(compile_sql(sql, "duckdb"))
        except Exception as exc:
            raise EngineError(f"DuckDB refused a query: {exc}") from exc

    def create(self, name: str, select_sql: str) -> None:
        self._exec(f"CREATE OR REPLACE TEMP TABLE {name} AS {select_sql}")

    def create_view(self, name: str, select_sql: str) -> None:
        self._exec(f"CREATE OR REPLACE TEMP VIEW {name} AS {select_sql}")

    def fetch(self, select_sql: str) -> pd.DataFrame:
        return self._exec(select_sql).df()

    def close(self) -> None:
        self.con.close()

    def drop(self, name: str) -> None:
        for kind in ("VIEW", "TABLE"):
            try:
                self.con.execute(f"DROP {kind} IF EXISTS {name}")
            except Exception:
                pass
        try:
            self.con.unregister(name + "_df")
        except Exception:
            pass


class SparkEngine:
    name = "spark"

    def __init__(self, spark):
        self.spark = spark

    def ping(self):
        try:
            self.spark.sql("SELECT 1").collect()
        except Exception as exc:
            raise EngineError(f"the Spark session is not reachable ({type(exc).__name__}: {exc}); start one with "
                              "SparkSession.builder.master('local[2]').getOrCreate() and pass it to "
                              "netexp.scale.connect().") from exc

    def register(self, name: str, src: Any) -> None:
        if isinstance(src, pd.DataFrame):
            self.spark.createDataFrame(src).createOrReplaceTempView(name)
        elif _is_path(src):
            s = _check_files(src)
            if s.endswith((".csv", ".csv.gz")):
                df = self.spark.read.csv(s, header=True, inferSchema=True)
            else:
                df = self.spark.read.parquet(s)
            df.createOrReplaceTempView(name)
        elif isinstance(src, str):
            try:
                self.spark.table(src).createOrReplaceTempView(name)
            except Exception as exc:
                raise InputError(f"{src!r} is neither a file nor a table of this Spark session ({exc}).") from exc
        elif hasattr(src, "createOrReplaceTempView"):
            src.createOrReplaceTempView(name)
        else:
            raise InputError(f"a table must be a Parquet/CSV path, a pandas DataFrame, a Spark DataFrame or a table "
                             f"name; got {type(src).__name__}.")

    def columns(self, name: str) -> dict[str, str]:
        return dict(self.spark.table(name).dtypes)

    def _df(self, sql: str):
        try:
            return self.spark.sql(compile_sql(sql, "spark"))
        except Exception as exc:
            raise EngineError(f"Spark refused a query: {exc}") from exc

    def run(self, sql: str) -> None:
        self._df(sql).collect()

    def create(self, name: str, select_sql: str) -> None:
        try:
            df = self._df(select_sql).localCheckpoint(eager=True)
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"Spark failed while computing {name}: {exc}") from exc
        df.createOrReplaceTempView(name)

    def create_view(self, name: str, select_sql: str) -> None:
        self._df(select_sql).createOrReplaceTempView(name)

    def fetch(self, select_sql: str) -> pd.DataFrame:
        try:
            return self._df(select_sql).toPandas()
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(f"Spark failed: {exc}") from exc

    def close(self) -> None:
        self.spark.stop()

    def drop(self, name: str) -> None:
        try:
            self.spark.catalog.dropTempView(name)
        except Exception:
            pass


def make_engine(target: Any = None, **config):
    """An engine from ``None`` / ``"duckdb"`` / a DuckDB path or connection / a SparkSession."""
    if target is None or (isinstance(target, str) and target in ("duckdb", ":memory:")):
        return DuckDBEngine.open(":memory:", **config)
    if isinstance(target, str) and target.startswith("duckdb:"):
        return DuckDBEngine.open(target[len("duckdb:"):] or ":memory:", **config)
    if isinstance(target, str) and target == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise EngineError("engine='spark' needs pyspark (pip install 'netexp-interference[scale]') and Java 17."
                              ) from exc
        try:
            spark = (SparkSession.builder.master(config.pop("master", "local[2]")).appName("netexp")
                     .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
        except Exception as exc:
            raise EngineError(f"cannot start a local Spark session ({exc}); is Java 17 installed "
                              "(apt-get install openjdk-17-jre-headless)?") from exc
        eng = SparkEngine(spark)
        eng.ping()
        return eng
    mod = type(target).__module__ or ""
    if mod.startswith(("duckdb", "_duckdb")):
        eng = DuckDBEngine(target)
        eng.ping()
        return eng
    if mod.startswith("pyspark"):
        eng = SparkEngine(target)
        eng.ping()
        return eng
    raise InputError(f"connect: engine must be None (embedded DuckDB), 'duckdb', 'duckdb:PATH', 'spark', a DuckDB "
                     f"connection or a SparkSession; got {type(target).__name__}.")
