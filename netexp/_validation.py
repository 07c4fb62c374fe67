"""Input checks shared by every layer; each message names the parameter, the requirement,
the value received and, where one exists, the fix."""

from __future__ import annotations

import numbers
from typing import Any, Iterable

import numpy as np

from ._errors import InputError

def check_rng(rng: Any) -> np.random.Generator:
    """Normalize ``rng`` (None, int, SeedSequence or Generator) to a Generator.

    A Generator is returned as is (draws advance it); anything else seeds a new one.
    ``np.random.RandomState`` and the legacy global state are refused: they are not
    reproducible across the library.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, numbers.Integral) and int(rng) < 0:
            raise InputError(f"rng must be a non-negative integer seed; got {rng}.")
        return np.random.default_rng(rng)
    raise InputError(
        f"rng must be None, an int seed, a numpy SeedSequence or a numpy Generator; "
        f"got {type(rng).__name__}. Use rng=np.random.default_rng(seed)."
    )


def seed_for_third_party(rng: np.random.Generator) -> int:
    """Draw a 31-bit int seed from ``rng`` for libraries that take an int seed."""
    return int(rng.integers(0, 2**31 - 1))


def check_option(name: str, value: Any, options: Iterable[str]) -> str:
    """``value`` if it is one of ``options``, else a clear error listing them.

    One spelling across Python and the command line: ``-`` and ``_`` are interchangeable
    (``"mean-difference"`` and ``"mean_difference"`` name the same option); the option is returned
    as spelled in ``options``, so callers must use the returned value.
    """
    options = tuple(options)
    if value in options:
        return value
    if isinstance(value, str):
        key = value.replace("_", "-")
        for o in options:
            if isinstance(o, str) and o.replace("_", "-") == key:
                return o
    valid = ", ".join(repr(o) for o in options)
    raise InputError(f"{name} must be one of {valid}; got {value!r}.")


def check_probability(name: str, value: Any, *, open_interval: bool = True) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number in (0, 1); got {value!r}.") from None
    ok = (0.0 < p < 1.0) if open_interval else (0.0 <= p <= 1.0)
    if not ok or not np.isfinite(p):
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise InputError(f"{name} must be in {interval}; got {value!r}.")
    return p


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InputError(f"{name} must be an integer; got {value!r}.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise InputError(f"{name} must be in [{lo}, {hi}]; got {value}.")
    return value


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a positive number; got {value!r}.") from None
    if not np.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        req = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name} must be a finite {req} number; got {value!r}.")
    return x


def check_confidence_level(value: Any) -> float:
    return check_probability("confidence_level", value)


def check_binary_matrix(name: str, z: Any, n_units: int) -> np.ndarray:
    """Return ``z`` as a 2-D bool array of shape (n_draws, n_units); a 1-D vector becomes one row."""
    arr = np.asarray(z)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_units:
        raise InputError(
            f"{name} must have shape (n_units,) or (n_draws, n_units) with n_units={n_units}; "
            f"got shape {np.shape(z)}."
        )
    if arr.dtype != np.bool_:
        if arr.dtype.kind not in "biuf" or arr.size and not np.isin(arr, (0, 1)).all():
            raise InputError(f"{name} must contain only 0/1 (or True/False) values.")
        arr = arr.astype(np.bool_)
    return arr


def check_finite_vector(name: str, y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y, dtype=float)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InputError(f"{name} must be a vector of length {n}; got shape {np.shape(y)}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.flatnonzero(bad)[:5].tolist()
        raise InputError(
            f"{name} has {int(bad.sum())} missing or non-finite values (first positions {first}); "
            "drop or impute them before estimating."
        )
    if arr.size and np.abs(arr).max() > 1e150:
        raise InputError(f"{name} has values up to {np.abs(arr).max():.3g}: sums and squares of such values overflow "
                         "double precision; rescale them (e.g. to thousands or millions) before estimating.")
    return arr


def readonly(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def dense_codes(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(sorted distinct values, code of every entry in 0..k-1)`` for a 1-D array of labels.

    Hash-based (pandas.factorize) rather than np.unique's sort, which is several times slower on
    10^6-10^7 labels with numpy 2.x.
    """
    import pandas as pd

    arr = np.asarray(values)
    codes, uniques = pd.factorize(arr, sort=True)
    return np.asarray(uniques), codes.astype(np.int64)
