"""Every query is written once, in DuckDB's SQL, and compiled for the engine by SQLGlot.

One function is not portable in any SQL dialect: reading hex digits as an integer (the hash). It is
written ``netexp_hash52(text)`` in the queries and rewritten per engine here, on SQLGlot's syntax
tree. Floating-point literals are written ``CAST('...' AS DOUBLE)`` so that no engine reads them as
decimals (Spark does for ``0.5``).
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

__all__ = ["compile_sql", "double", "DIALECTS"]

#: netexp engine name -> SQLGlot dialect
DIALECTS = {"duckdb": "duckdb", "spark": "spark"}


def _hash52(dialect: str, arg: exp.Expression) -> exp.Expression:
    md5_13 = f"SUBSTRING(MD5({arg.sql(dialect=dialect)}), 1, 13)"
    if dialect == "duckdb":
        text = f"CAST(('0x' || {md5_13}) AS BIGINT)"
    elif dialect == "spark":
        text = f"CAST(CONV({md5_13}, 16, 10) AS BIGINT)"
    else:  # pragma: no cover - DIALECTS lists what is supported
        raise ValueError(dialect)
    return sqlglot.parse_one(text, read=dialect)


@lru_cache(maxsize=512)
def compile_sql(sql: str, engine: str) -> str:
    """DuckDB-dialect ``sql`` (with ``netexp_hash52``) compiled for ``engine``."""
    dialect = DIALECTS[engine]
    tree = sqlglot.parse_one(sql, read="duckdb")

    def rewrite(node):
        if isinstance(node, exp.Anonymous) and node.name.lower() == "netexp_hash52":
            return _hash52(dialect, node.expressions[0])
        return node

    return tree.transform(rewrite).sql(dialect=dialect)


def double(x: float) -> str:
    """A float64 as an exact, dialect-proof SQL literal."""
    return f"CAST('{float(x)!r}' AS DOUBLE)"
