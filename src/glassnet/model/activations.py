"""Activation functions, each with its derivative written beside it.

An activation maps a layer's pre-activation ``z`` (shape ``(n_samples, n_units)``) to its output
``a = f(z)``. Its derivative is computed either from the output ``a`` or from ``z``; the class
attribute ``derivative_uses`` says which, and the argument is named for what it is, so the mistake
of handing ``z`` to a formula written for ``a`` (``1 - x**2`` for tanh, say) cannot happen silently.

Each derivative is written once, as ``derivative(a_or_z, out)``; ``backward(grad_output, a_or_z,
out)`` multiplies the gradient with respect to ``a`` by it and writes the result into ``out``, a
buffer that overlaps neither input: the network passes one it owns, so training allocates nothing
per step. Softmax, whose derivative is a Jacobian per sample, is the one activation with a
``backward`` of its own.

Every function here is finite and silent (no overflow warning) for inputs up to ±1e4 and beyond.

Custom activations subclass :class:`Activation` and call :func:`register`; check their derivative
with :func:`glassnet.gradcheck`.
"""

from __future__ import annotations

import inspect
from typing import ClassVar

import numpy as np

# the ufuncs of the formulas by their own names: in code that runs thousands of times a second on
# a few dozen numbers, `np.multiply` costs a second dictionary lookup per call
from numpy import add, greater, maximum, multiply, subtract, tanh

from .._registry import Configurable, Registry
from .._validation import check_float

__all__ = [
    "Activation",
    "Exponential",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "get",
    "names",
    "register",
]


class _PerDtype(dict[np.dtype, np.ndarray]):
    """Read-only 0-d arrays of one value, one per dtype, made on first use.

    In a ufunc a 0-d array costs less than a Python float, and it never turns a float32
    computation into a float64 one; a dict keyed by the dtype finds it in a few nanoseconds.
    """

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        array = self[dtype] = np.array(self.value, dtype)
        array.flags.writeable = False
        return array


_ZERO, _HALF, _ONE = _PerDtype(0.0), _PerDtype(0.5), _PerDtype(1.0)
_CONSTANTS: dict[float, _PerDtype] = {0.0: _ZERO, 0.5: _HALF, 1.0: _ONE}


def constant(value: float, dtype: np.dtype) -> np.ndarray:
    """A read-only 0-d array holding ``value`` in ``dtype`` (see :class:`_PerDtype`)."""
    per_dtype = _CONSTANTS.get(value)
    if per_dtype is None:
        per_dtype = _CONSTANTS[value] = _PerDtype(value)
    return per_dtype[np.dtype(dtype)]


class _ExpFloors(dict[np.dtype, np.ndarray]):
    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        floor = self[dtype] = constant(float(np.log(np.finfo(dtype).tiny)) + 20.0, np.dtype(dtype))
        return floor


_EXP_FLOORS = _ExpFloors()


def exp_floor(dtype: np.dtype) -> np.ndarray:
    """The smallest argument glassnet passes to ``exp`` for ``dtype``.

    ``exp`` of anything below ``log(tiny)`` underflows (a floating-point error under
    ``np.errstate(all="raise")``); the margin of 20 keeps results normal even after dividing by
    a sum of up to ``e**20`` terms. Where it applies, the exact value is below ``1e-29``.
    """
    return _EXP_FLOORS[dtype]


class _ExpCeilings(dict[np.dtype, np.ndarray]):
    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        ceiling = float(np.log(np.finfo(dtype).max)) - 20.0
        bound = self[dtype] = constant(ceiling, np.dtype(dtype))
        return bound


_EXP_CEILINGS = _ExpCeilings()


def exp_ceiling(dtype: np.dtype) -> np.ndarray:
    """The largest argument glassnet passes to ``exp`` for ``dtype``: ``log(max) − 20``.

    About 689.8 for float64 (``exp`` of it is about ``3.7e299``) and 68.7 for float32 (about
    ``7.0e29``). ``exp`` of anything above ``log(max)`` overflows; the margin of 20 leaves room
    to sum up to ``e**20`` (about ``4.8e8``) such values, as a loss averaged over a batch does.
    """
    return _EXP_CEILINGS[dtype]


class Activation(Configurable):
    """Base class: an element-wise (or row-wise, for softmax) function and its derivative.

    Subclasses set ``name`` and ``derivative_uses`` (``"a"`` or ``"z"``) and implement
    ``forward(z, out=None)`` and ``derivative(v, out=None)``; :meth:`backward` multiplies by the
    derivative. A ``derivative(v)`` without ``out`` (written before glassnet 0.2) still works.
    """

    name: ClassVar[str] = ""
    #: what ``derivative`` and ``backward`` take: the output ``"a"`` or the pre-activation ``"z"``
    derivative_uses: ClassVar[str] = "a"
    #: whether ``f'`` is element-wise (softmax's is a Jacobian per sample)
    elementwise: ClassVar[bool] = True
    #: values of ``z`` where ``f`` has no derivative (the derivative taken there is a choice)
    kinks: ClassVar[tuple[float, ...]] = ()
    #: whether ``derivative`` accepts ``out=`` (found from its signature)
    derivative_writes_out: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.derivative_writes_out = "out" in inspect.signature(cls.derivative).parameters

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``f(z)``, written into ``out`` when given (``out`` may be ``z``)."""
        raise NotImplementedError

    def derivative(self, v: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``f'`` element-wise, from ``a`` or ``z`` as ``derivative_uses`` says."""
        raise NotImplementedError

    def backward(
        self, grad_output: np.ndarray, v: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Return ``grad_output * f'(v)``: the gradient with respect to ``z``.

        Parameters
        ----------
        grad_output : ndarray of shape (n_samples, n_units)
            Gradient of the loss with respect to the output ``a``.
        v : ndarray of shape (n_samples, n_units)
            ``a`` or ``z``, as ``derivative_uses`` says.
        out : ndarray, optional
            Where to write the result; must not overlap ``grad_output`` or ``v``.

        Returns
        -------
        ndarray of shape (n_samples, n_units)
            ``out`` (or, for the identity, possibly ``grad_output`` itself: do not write to it).
        """
        if not self.derivative_writes_out:
            return multiply(self.derivative(v), grad_output, out)
        derivative = self.derivative(v, out)
        return multiply(derivative, grad_output, derivative)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(np.asarray(z))

    def get_config(self) -> dict:
        """Plain data that :func:`get` turns back into an equal activation."""
        return {"name": self.name}


def _output_like(v: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    return np.empty_like(v) if out is None else out


class Identity(Activation):
    """``f(z) = z``; ``f'(z) = 1``. The output layer of a regression network."""

    name = "identity"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return z.copy()
        if out is not z:
            np.copyto(out, z)
        return out

    def derivative(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = _output_like(a, out)
        out.fill(1)
        return out

    def backward(
        self, grad_output: np.ndarray, a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        return grad_output  # f' = 1: nothing to compute, nothing to copy


class ReLU(Activation):
    """``f(z) = max(0, z)`` element-wise (``np.maximum``, not the reduction ``np.max``).

    ``f'`` is 1 where ``z > 0`` and 0 elsewhere. At ``z = 0`` the function has no derivative; we
    take 0 there, as PyTorch and scikit-learn do. The derivative is read from ``z``, which the
    network keeps in a contiguous buffer of its own: a mask written straight into a float array
    (``np.greater`` with ``out=``) is the cheapest form at every size.

    With NumPy 2.4, ``np.maximum`` of two arrays is faster than ``np.maximum`` of an array and
    the scalar 0, so ``forward`` takes the maximum with an array of zeros of ``z``'s shape, kept
    for the few shapes a training run uses (arrays of up to ``2**18`` numbers; bigger ones use the
    scalar, where the matrix product before them costs hundreds of times more anyway);
    ``benchmarks/kernels.py`` measures the difference.
    """

    name = "relu"
    derivative_uses = "z"
    kinks = (0.0,)
    _MAX_ZEROS = 2**18

    def __init__(self) -> None:
        self._zeros: dict[tuple[tuple[int, ...], np.dtype], np.ndarray] = {}

    def _zeros_like(self, z: np.ndarray) -> np.ndarray:
        zeros = self._zeros.get((z.shape, z.dtype))
        if zeros is None:
            if z.size > self._MAX_ZEROS:
                return _ZERO[z.dtype]
            if len(self._zeros) >= 4:  # a training batch, a last batch, and a little more
                self._zeros.clear()
            zeros = self._zeros[(z.shape, z.dtype)] = np.zeros(z.shape, z.dtype)
            zeros.flags.writeable = False
        return zeros

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_zeros": {}}  # scratch: copies and clones start without it

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return maximum(z, self._zeros_like(z), out=out)

    def derivative(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return greater(z, _ZERO[z.dtype], _output_like(z, out), casting="unsafe")


class LeakyReLU(Activation):
    """``f(z) = z`` for ``z > 0`` and ``alpha * z`` otherwise; ``f'`` is 1 or ``alpha``.

    Parameters
    ----------
    alpha : float, default=0.01
        Slope for negative inputs, in ``[0, 1)`` so that ``a > 0`` if and only if ``z > 0``.
    """

    name = "leaky_relu"
    kinks = (0.0,)

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0, include_maximum=False)

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # for 0 <= alpha < 1, max(z, alpha * z) is z when z > 0 and alpha * z otherwise
        scaled = multiply(z, self.alpha)
        return maximum(z, scaled, out=out)

    def derivative(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        slopes = np.where(a > 0, 1.0, self.alpha).astype(a.dtype)
        if out is None:
            return slopes
        np.copyto(out, slopes)
        return out

    def get_config(self) -> dict:
        return {"name": self.name, "alpha": self.alpha}


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``; ``f'(z) = a * (1 - a)`` with ``a = f(z)``.

    Computed as ``0.5 * tanh(z / 2) + 0.5``, the same function: ``exp(-z)`` overflows (with a
    warning) for ``z`` below about -709, while ``tanh`` is bounded for every input.
    """

    name = "sigmoid"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        half = _HALF[z.dtype]
        out = multiply(z, half, out)
        tanh(out, out)
        multiply(out, half, out)
        return add(out, half, out)

    def derivative(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = subtract(_ONE[a.dtype], a, out)
        return multiply(out, a, out)


_SIGMOID = Sigmoid()


class Tanh(Activation):
    """``f(z) = tanh(z)``; ``f'(z) = 1 - a**2`` with ``a = tanh(z)`` (the output, not ``z``)."""

    name = "tanh"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return tanh(z, out)

    def derivative(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = multiply(a, a, out)
        return subtract(_ONE[a.dtype], out, out)


class Softplus(Activation):
    """``f(z) = log(1 + exp(z))``; ``f'(z) = sigmoid(z)``.

    Computed as ``max(z, 0) + log(1 + exp(−|z|))``, which never overflows. Its derivative
    needs ``z``.
    """

    name = "softplus"
    derivative_uses = "z"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        tail = np.abs(z)
        np.negative(tail, tail)
        maximum(tail, exp_floor(z.dtype), out=tail)
        np.exp(tail, tail)
        np.log1p(tail, tail)
        out = maximum(z, _ZERO[z.dtype], out=out)
        out += tail
        return out

    def derivative(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return _SIGMOID.forward(z, out)


class Exponential(Activation):
    """``f(z) = exp(z)``; ``f'(z) = exp(z) = a``: the output of a Poisson regression (log link).

    ``z`` is clipped to ``[exp_floor, exp_ceiling]`` first (:func:`exp_floor`,
    :func:`exp_ceiling`: about ``[−688.4, 689.8]`` in float64, ``[−67.3, 68.7]`` in float32), so
    the output is finite, normal and silent for inputs of any size: at most about ``3.7e299``
    (float64) or ``7.0e29`` (float32), at least about ``1.1e-299`` (``5.7e-30``). Beyond the bounds
    the clipped function is constant, but the derivative is still taken as ``a``, the slope of
    ``exp`` at the bound: a unit pushed that far keeps a gradient that can bring it back.
    """

    name = "exp"

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.clip(z, exp_floor(z.dtype), exp_ceiling(z.dtype), out=out)
        return np.exp(out, out)

    def derivative(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is None:
            return a.copy()
        np.copyto(out, a)
        return out

    def backward(
        self, grad_output: np.ndarray, a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        return multiply(grad_output, a, out)  # f' = a: no copy of it first


class Softmax(Activation):
    """Row-wise ``f(z)_j = exp(z_j) / sum_k exp(z_k)``, for output layers.

    Computed from ``z - max(z)`` so ``exp`` never overflows. Its derivative is a Jacobian per
    sample, ``diag(a) - a a^T``; ``backward`` applies it without forming it:
    ``a * (g - sum(g * a))``. With cross-entropy the network skips both and uses the fused
    gradient ``a - y`` (see :mod:`glassnet.model.losses`).
    """

    name = "softmax"
    elementwise = False

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # two classes: element-wise operations on the columns beat row reductions
        if z.shape[1] == 2:
            shifted = subtract(z, maximum(z[:, :1], z[:, 1:]), out)
        else:  # the ufunc's reduce directly: ndarray.max adds a Python layer per call
            shifted = subtract(z, np.maximum.reduce(z, axis=1, keepdims=True), out)
        maximum(shifted, exp_floor(z.dtype), out=shifted)
        np.exp(shifted, shifted)
        if z.shape[1] == 2:
            shifted /= add(shifted[:, :1], shifted[:, 1:])
        else:
            shifted /= np.add.reduce(shifted, axis=1, keepdims=True)
        return shifted

    def derivative(self, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The Jacobian ``da_i/dz_j`` of each row, shape ``(n_samples, n_units, n_units)``."""
        jacobian = a[:, :, None] * (np.eye(a.shape[1], dtype=a.dtype) - a[:, None, :])
        if out is None:
            return jacobian
        np.copyto(out, jacobian)
        return out

    def backward(
        self, grad_output: np.ndarray, a: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        # the Jacobian applied without forming it: a * (g - sum(g * a))
        inner = np.einsum("ij,ij->i", grad_output, a)[:, None]
        out = subtract(grad_output, inner, out)
        out *= a
        return out


_REGISTRY: Registry[Activation] = Registry("activation")
_REGISTRY.register("identity", Identity, aliases=("linear", "none"))
_REGISTRY.register("relu", ReLU)
_REGISTRY.register("leaky_relu", LeakyReLU)
_REGISTRY.register("sigmoid", Sigmoid, aliases=("logistic",))
_REGISTRY.register("tanh", Tanh)
_REGISTRY.register("softplus", Softplus)
_REGISTRY.register("softmax", Softmax)
_REGISTRY.register("exp", Exponential, aliases=("exponential",))


def get(activation: str | dict | Activation, argument: str = "activation") -> Activation:
    """Return an :class:`Activation` from a name, a config dict or an instance.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.
    """
    return _REGISTRY.resolve(activation, argument, Activation)


def names() -> list[str]:
    """The registered activation names."""
    return _REGISTRY.names()


def register(cls: type[Activation], aliases: tuple[str, ...] = ()) -> type[Activation]:
    """Register a custom :class:`Activation` subclass under its ``name`` (usable as a decorator)."""
    if getattr(cls, "derivative_uses", "a") not in ("a", "z"):
        raise ValueError(
            f"{cls.__name__}.derivative_uses must be 'a' or 'z', got {cls.derivative_uses!r}"
        )
    return _REGISTRY.register_class(cls, Activation, aliases)
