"""Input checks shared by the network, the estimators and the command line.

Every check raises before anything is changed, with a message that names the argument, says what
was expected and quotes what was received. Inputs are never modified: a converted array is a new
array whenever the conversion had to change anything.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any, Literal, overload

import numpy as np
from numpy import count_nonzero, isfinite


def quote(value: object) -> str:
    """``repr(value)`` for messages, with NumPy scalars shown as the Python numbers they hold
    (``1.0``, not ``np.float64(1.0)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_dtype(dtype: object, name: str = "dtype") -> np.dtype:
    """Resolve ``dtype`` to ``float32`` or ``float64`` (the dtypes glassnet computes in)."""
    try:
        resolved = None if dtype is None else np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        resolved = None
    if resolved is None or resolved not in FLOAT_DTYPES:  # (np.dtype("float64") == None is True)
        raise ValueError(f"{name} must be 'float32' or 'float64', got {quote(dtype)}")
    return resolved


@overload
def check_int(
    value: object, name: str, minimum: int | None = None, allow_none: Literal[False] = False
) -> int: ...


@overload
def check_int(
    value: object, name: str, minimum: int | None = None, *, allow_none: bool
) -> int | None: ...


def check_int(
    value: object, name: str, minimum: int | None = None, allow_none: bool = False
) -> int | None:
    """Check that ``value`` is an integer (not a bool) no smaller than ``minimum``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} {quote(value)}")
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_float(
    value: object,
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """Check that ``value`` is a finite real number inside the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {quote(value)}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond any float
        raise ValueError(f"{name} must be finite, got {quote(value)}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (value == minimum and not include_minimum)):
        bound = ">=" if include_minimum else ">"
        raise ValueError(f"{name} must be {bound} {minimum}, got {value}")
    if maximum is not None and (value > maximum or (value == maximum and not include_maximum)):
        bound = "<=" if include_maximum else "<"
        raise ValueError(f"{name} must be {bound} {maximum}, got {value}")
    return value


def check_bool(value: object, name: str) -> bool:
    """Check that ``value`` is a bool (NumPy bools included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {quote(value)}")
    return bool(value)


def check_not_masked(data: object, name: str) -> None:
    """Refuse a masked array with masked values: converting it would silently use them."""
    if isinstance(data, np.ma.MaskedArray):
        masked = int(np.ma.getmaskarray(data).sum())
        if masked:
            raise ValueError(
                f"{name} is a masked array with {masked} masked value(s), which glassnet would "
                f"not see: fill them ({name}.filled(value)) or drop those rows"
            )


def as_numeric_array(data: object, name: str) -> np.ndarray:
    """Convert ``data`` to a NumPy array of real numbers without choosing a float dtype yet.

    Raises
    ------
    TypeError
        For strings, bytes, dates or objects that are not numbers.
    ValueError
        For complex numbers and ragged nested sequences.
    """
    if data is None:
        raise TypeError(f"{name} must be array-like of numbers, got None")
    if isinstance(data, (str, bytes)):
        raise TypeError(
            f"{name} must be array-like of numbers, got a {type(data).__name__}: {data!r:.60}"
        )
    if type(data).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"{name} is a sparse matrix; glassnet needs a dense array: pass {name}.toarray()"
        )
    if isinstance(data, (dict, set)):
        raise TypeError(f"{name} must be array-like of numbers, got a {type(data).__name__}")
    if isinstance(data, np.ma.MaskedArray):
        check_not_masked(data, name)
        data = np.asarray(data.data)
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"{name} must be a rectangular array-like of numbers; it could not be converted "
            f"to an array ({error})"
        ) from None
    kind = array.dtype.kind
    if kind in "biuf":
        return array
    if kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}")
    if kind == "O":
        if any(isinstance(item, (complex, np.complexfloating)) for item in array.flat):
            raise ValueError(f"Complex data not supported: {name} contains complex numbers")
        if any(item is None for item in array.flat):
            raise TypeError(
                f"{name} must contain only numbers, but it contains None (a missing value?)"
            )
        try:
            return array.astype(np.float64)
        except (ValueError, TypeError):
            bad = next(item for item in array.flat if not _is_number(item))
            raise TypeError(
                f"{name} must contain only numbers, but it contains "
                f"{type(bad).__name__} {bad!r:.60}"
            ) from None
    if kind in "US":
        raise TypeError(
            f"{name} must contain numbers, got an array of strings (dtype {array.dtype}); "
            "convert or encode the strings first"
        )
    raise TypeError(f"{name} must contain numbers, got an array of dtype {array.dtype}")


def _is_number(item: object) -> bool:
    try:
        float(item)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return not isinstance(item, (str, bytes))


#: up to these many values, :func:`all_finite` asks Python of each value, or counts NumPy's
#: flags, instead of summing them
_TINY, _SMALL = 16, 4096


def all_finite(array: np.ndarray) -> bool:
    """Whether every value of ``array`` is finite."""
    size = array.size
    if size <= _TINY:  # a row of a few numbers: cheaper than any NumPy call's set-up
        return all(map(math.isfinite, array.ravel().tolist()))
    if size <= _SMALL:
        # a few rows: a reduction's set-up (and an error state for its overflows) costs more
        # than the work, and counting the flags needs neither
        return bool(count_nonzero(isfinite(array)) == size)
    # One reduction answers the common case; only a non-finite total needs the slower look.
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(array, axis=None)
    return bool(isfinite(total)) or bool(isfinite(array).all())


def check_finite(array: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` if ``array`` holds NaN or infinity."""
    if all_finite(array):
        return
    if np.isnan(array).any():
        raise ValueError(f"Input {name} contains NaN.")
    if np.isinf(array).any():
        raise ValueError(
            f"Input {name} contains infinity or a value too large for dtype('{array.dtype}')."
        )


def is_sparse(x: object) -> bool:
    """Whether ``x`` is a SciPy sparse matrix or array (told without importing SciPy)."""
    return type(x).__module__.startswith("scipy.sparse") and hasattr(x, "tocsr")


def _check_sparse_x(x: Any, dtype: np.dtype, name: str, n_features: int | None) -> Any:
    """A SciPy sparse ``x`` as a CSR matrix of ``dtype`` (the same object when it already is
    one; other formats converted, as scikit-learn does), its stored values finite; the zeros
    are never written out."""
    if len(x.shape) != 2:
        raise ValueError(f"Expected a 2D sparse matrix for {name}, got shape {x.shape} instead.")
    _check_shape(x.shape, name, n_features)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain numbers, got a sparse matrix of dtype {x.dtype}")
    with np.errstate(over="ignore"):
        converted = x.tocsr().astype(dtype, copy=False)
    check_finite(converted.data, name)
    return converted


def _check_shape(shape: tuple[int, ...], name: str, n_features: int | None) -> None:
    n_samples, n_columns = shape
    if n_samples == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is "
            f"required: {name} is empty."
        )
    if n_columns == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is "
            f"required: {name} has no features."
        )
    if n_features is not None and n_columns != n_features:
        raise ValueError(
            f"{name} has {n_columns} features, but the network expects {n_features} "
            f"(its first layer has n_inputs={n_features})"
        )


def check_x(
    x: object,
    dtype: np.dtype,
    name: str = "x",
    n_features: int | None = None,
) -> np.ndarray:
    """Validate a feature matrix and return it as a C-ordered array of ``dtype``.

    A SciPy sparse matrix (CSR or CSC) stays sparse: it is returned as a CSR matrix of
    ``dtype``, which every product of the first layer takes as it is.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
    dtype : numpy.dtype
        float32 or float64; the result has exactly this dtype.
    name : str
        The argument's name in messages.
    n_features : int, optional
        The number of columns the caller expects.

    Returns
    -------
    numpy.ndarray of shape (n_samples, n_features)
        ``x`` itself when it already had the right dtype and order, otherwise a converted copy.
    """
    if type(x) is np.ndarray and x.dtype == dtype and x.ndim == 2 and x.flags.c_contiguous:
        # already what the checks below return (the common case, one row at a time when
        # predicting): the same checks, without the conversions that would give back ``x``
        _check_shape(x.shape, name, n_features)
        check_finite(x, name)
        return x
    if is_sparse(x):
        # typed as an array: the code that reads it does so through `@`, slicing and `.T`
        return _check_sparse_x(x, dtype, name, n_features)
    array = as_numeric_array(x, name)
    if array.ndim != 2:
        hint = ""
        if array.ndim == 1:
            hint = (
                f" Reshape your data either using {name}.reshape(-1, 1) if it has a single feature"
                f" or {name}.reshape(1, -1) if it contains a single sample."
            )
        shape = array.shape if array.ndim else "a scalar"
        raise ValueError(
            f"Expected a 2D array for {name} (n_samples, n_features), got {array.ndim}D array "
            f"of shape {shape} instead.{hint}"
        )
    _check_shape(array.shape, name, n_features)
    with np.errstate(over="ignore"):
        converted = np.asarray(array, dtype=dtype, order="C")
    check_finite(converted, name)
    return converted


def check_sample_weight(
    sample_weight: object, n_samples: int, dtype: np.dtype
) -> np.ndarray | None:
    """Validate per-sample weights: finite, non-negative, not all zero, one per sample."""
    if sample_weight is None:
        return None
    weights = as_numeric_array(sample_weight, "sample_weight")
    if weights.ndim == 0:
        weights = np.full(n_samples, weights, dtype=dtype)
    if weights.ndim != 1:
        raise ValueError(
            f"sample_weight must be 1D array of shape ({n_samples},), got shape {weights.shape}"
        )
    if weights.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight.shape == {weights.shape}, expected ({n_samples},): "
            "one weight per sample"
        )
    weights = np.asarray(weights, dtype=dtype)
    check_finite(weights, "sample_weight")
    if (weights < 0).any():
        raise ValueError("Negative values in data passed to sample_weight: weights must be >= 0")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def draw_seed(rng: np.random.Generator) -> int:
    """A seed in ``[0, 2**31 - 1)`` drawn from ``rng``, for a library that wants an int."""
    return int(rng.integers(2**31 - 1))


def check_random_state(random_state: object, name: str = "random_state") -> np.random.Generator:
    """Turn what users pass as ``random_state`` into a :class:`numpy.random.Generator`.

    A Generator is used as it is (shared, not copied); None draws fresh entropy from the OS; an
    int seeds a new generator; a legacy ``numpy.random.RandomState`` (as scikit-learn users pass)
    seeds one from a draw of its own. Nothing here touches NumPy's global random state.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    integer = isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    if random_state is None or integer:
        if random_state is not None and random_state < 0:  # type: ignore[operator]
            raise ValueError(f"{name} must be a non-negative integer, got {random_state}")
        return np.random.default_rng(random_state)  # type: ignore[arg-type]
    raise TypeError(
        f"{name} must be None, a non-negative int, a numpy.random.Generator or RandomState, "
        f"got {type(random_state).__name__} {quote(random_state)}"
    )
