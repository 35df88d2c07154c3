"""Weight initialisers: functions ``(n_inputs, n_outputs, rng, dtype) -> (weights, bias)``.

``weights`` has shape ``(n_inputs, n_outputs)`` and ``bias`` shape ``(n_outputs,)``. Every random
draw comes from the generator passed in; nothing here touches NumPy's global random state.

==================  ========================================================  ======================
name                weights                                                   bias
==================  ========================================================  ======================
``seed``            ``normal(0, 1) * sqrt(1 / n_outputs)`` (the blog post's)  ``normal(0, 1) * 0.1``
``glorot_uniform``  ``uniform(-l, l)``,                                       zeros
                    ``l = sqrt(6 / (n_inputs + n_outputs))``
``glorot_normal``   ``normal(0, sqrt(2 / (n_inputs + n_outputs)))``           zeros
``he_uniform``      ``uniform(-l, l)``, ``l = sqrt(6 / n_inputs)``            zeros
``he_normal``       ``normal(0, sqrt(2 / n_inputs))``                         zeros
``zeros``           zeros                                                     zeros
==================  ========================================================  ======================

The ``seed`` initialiser draws the weights first and then the bias, both from the same generator,
as the post did (which used ``np.random.randn``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._registry import Registry

Initializer = Callable[[int, int, np.random.Generator, np.dtype], tuple[np.ndarray, np.ndarray]]

__all__ = ["get", "names", "register"]


def seed(
    n_inputs: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    weights = rng.standard_normal((n_inputs, n_outputs)) * np.sqrt(1.0 / n_outputs)
    bias = rng.standard_normal(n_outputs) * 0.1
    return weights.astype(dtype), bias.astype(dtype)


def glorot_uniform(
    n_inputs: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    limit = np.sqrt(6.0 / (n_inputs + n_outputs))
    return rng.uniform(-limit, limit, (n_inputs, n_outputs)).astype(dtype), np.zeros(
        n_outputs, dtype
    )


def glorot_normal(
    n_inputs: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    std = np.sqrt(2.0 / (n_inputs + n_outputs))
    return (rng.standard_normal((n_inputs, n_outputs)) * std).astype(dtype), np.zeros(
        n_outputs, dtype
    )


def he_uniform(
    n_inputs: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    limit = np.sqrt(6.0 / n_inputs)
    return rng.uniform(-limit, limit, (n_inputs, n_outputs)).astype(dtype), np.zeros(
        n_outputs, dtype
    )


def he_normal(
    n_inputs: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    std = np.sqrt(2.0 / n_inputs)
    return (rng.standard_normal((n_inputs, n_outputs)) * std).astype(dtype), np.zeros(
        n_outputs, dtype
    )


def zeros(
    n_inputs: int, n_outputs: int, rng: np.random.Generator, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((n_inputs, n_outputs), dtype), np.zeros(n_outputs, dtype)


_REGISTRY: Registry[Initializer] = Registry("weight initializer")
_ALIASES = {"glorot_uniform": ("xavier_uniform",), "glorot_normal": ("xavier_normal",)}
for _function in (seed, glorot_uniform, glorot_normal, he_uniform, he_normal, zeros):
    # the registry builds by calling the factory with no arguments; return the function itself
    _REGISTRY.register(
        _function.__name__, (lambda f: lambda: f)(_function), _ALIASES.get(_function.__name__, ())
    )


def get(name: str, argument: str = "weight_init") -> Initializer:
    """Return the initialiser registered under ``name``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.
    """
    return _REGISTRY.create(name, argument)


def canonical(name: str) -> str:
    """The canonical spelling of an initialiser name (for configs)."""
    return _REGISTRY.canonical(name)


def names() -> list[str]:
    """The registered initialiser names."""
    return _REGISTRY.names()


def register(name: str, function: Initializer) -> Initializer:
    """Register a custom initialiser
    ``function(n_inputs, n_outputs, rng, dtype) -> (weights, bias)``."""
    if not callable(function):
        raise TypeError(f"initializer {name!r} must be callable, got {type(function).__name__}")
    _REGISTRY.register(name, lambda: function)
    return function
