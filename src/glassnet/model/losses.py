"""Loss functions: a value averaged over the batch, and its gradient with respect to the output.

Convention for every loss: ``value`` is the per-sample loss (summed over output units) averaged over
the samples, optionally weighted; ``gradient`` is the derivative of that average with respect to
the network's output ``a`` (shape ``(n_samples, n_outputs)``), so it already carries the ``1/n``.

``"mse"`` is the seed's loss: per sample ``½·Σ(a − y)²``, whose gradient per sample is ``a − y``.

The cross-entropies are computed from the logits ``z`` of the output layer with log-sum-exp, never
from probabilities, so they stay finite for logits of any size. Each is paired with the output
activation it is the natural loss for (``fused_activation``): for those pairs the gradient with
respect to ``z`` is simply ``a − y`` (softmax with categorical cross-entropy, sigmoid with binary
cross-entropy), and the network uses it instead of multiplying by the activation's derivative.
The Poisson loss is fused the same way with the exponential output (a log link): its gradient
with respect to ``z`` is ``exp(z) − y``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy import subtract  # one dictionary lookup per call instead of two (see activations)

from .._registry import Configurable, Registry
from .._validation import check_float
from .activations import Exponential, Sigmoid, Softmax, exp_floor

__all__ = [
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Huber",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "PoissonLoss",
    "get",
    "names",
    "register",
]


def _weighted_mean(per_sample: np.ndarray, sample_weight: np.ndarray | None) -> float:
    if sample_weight is None:
        return float(per_sample.mean())
    return float(np.dot(per_sample, sample_weight) / sample_weight.sum())


def _scale_rows(out: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray:
    """Turn per-sample gradients into gradients of the (weighted) mean over the batch."""
    if sample_weight is None:
        if out.shape[0] != 1:
            out *= 1.0 / out.shape[0]
    else:
        out *= (sample_weight / sample_weight.sum())[:, None]
    return out


class Loss(Configurable):
    """Base class for losses.

    Subclasses implement ``per_sample(output, target)`` and ``gradient``; losses computed from
    logits set ``fused_activation`` and implement the ``*_from_logits`` methods instead.
    """

    name: ClassVar[str] = ""
    #: the output activation this loss is fused with (computed from its logits), or None
    fused_activation: ClassVar[str | None] = None
    #: whether the loss is meant for class labels (cross-entropies) rather than real targets
    for_classification: ClassVar[bool | None] = None

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The loss of each sample, shape ``(n_samples,)``."""
        raise NotImplementedError

    def value(
        self, output: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """The mean (or weighted mean) loss over the batch."""
        return _weighted_mean(self.per_sample(output, target), sample_weight)

    def gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The gradient of :meth:`value` with respect to ``output``, shape
        ``(n_samples, n_outputs)``."""
        raise NotImplementedError

    def value_and_gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> float:
        """Write the gradient into ``out`` and return the value (one pass where possible)."""
        value = self.value(output, target, sample_weight)
        self.gradient(output, target, sample_weight, out)
        return value

    # losses computed from the output layer's logits (``fused_activation`` set) implement these
    def per_sample_from_logits(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The loss of each sample from the logits ``z``, shape ``(n_samples,)``."""
        raise NotImplementedError

    def value_from_logits(
        self, logits: np.ndarray, target: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """The mean (or weighted mean) loss over the batch, from the logits."""
        return _weighted_mean(self.per_sample_from_logits(logits, target), sample_weight)

    def gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The gradient with respect to the logits, written into ``out`` and returned."""
        raise NotImplementedError

    def value_and_gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> float:
        """Write the gradient with respect to the logits into ``out``; return the value."""
        value = self.value_from_logits(logits, target, sample_weight)
        self.gradient_from_logits(logits, target, sample_weight, out)
        return value

    def get_config(self) -> dict:
        return {"name": self.name}


class MeanSquaredError(Loss):
    """Per sample ``½·Σ_j (a_j − y_j)²``, averaged over the batch: the seed's loss.

    Gradient per sample: ``a − y`` (the ½ cancels the 2), divided by the batch size.
    """

    name = "mse"

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        residual = output - target
        return 0.5 * np.einsum("ij,ij->i", residual, residual)

    def gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        out = subtract(output, target, out)
        return _scale_rows(out, sample_weight)

    def value_and_gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> float:
        residual = subtract(output, target, out)
        if sample_weight is None:
            value = 0.5 * float(np.vdot(residual, residual)) / residual.shape[0]
        else:
            value = _weighted_mean(0.5 * np.einsum("ij,ij->i", residual, residual), sample_weight)
        _scale_rows(residual, sample_weight)
        return value


class MeanAbsoluteError(Loss):
    """Per sample ``Σ_j |a_j − y_j|``, averaged over the batch. Gradient ``sign(a − y)``.

    At ``a = y`` the absolute value has no derivative; we take 0 there (``np.sign``).
    """

    name = "mae"
    for_classification = False

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.abs(output - target).sum(axis=1)

    def gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        out = subtract(output, target, out)
        np.sign(out, out)
        return _scale_rows(out, sample_weight)


class Huber(Loss):
    """Per element ``½d²`` for ``|d| ≤ delta`` and ``delta·(|d| − ½delta)`` beyond, with
    ``d = a − y``;
    summed over outputs, averaged over the batch. Gradient ``clip(d, −delta, delta)``.

    Parameters
    ----------
    delta : float, default=1.0
        Where the loss turns from quadratic to linear.
    """

    name = "huber"
    for_classification = False

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = check_float(delta, "delta", minimum=0.0, include_minimum=False)

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        d = np.abs(output - target)
        quadratic = np.minimum(d, self.delta)
        return (0.5 * quadratic * quadratic + self.delta * (d - quadratic)).sum(axis=1)

    def gradient(
        self,
        output: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        out = subtract(output, target, out)
        np.clip(out, -self.delta, self.delta, out=out)
        return _scale_rows(out, sample_weight)

    def get_config(self) -> dict:
        return {"name": self.name, "delta": self.delta}


def _two_class_cross_entropy(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``CrossEntropy.per_sample_from_logits`` of two classes, in half the time of the general
    formula's row reductions (an epoch's losses are computed between epochs). With
    ``d = z_1 − z_0``: ``logsumexp(z) = max(z) + log(1 + e^−|d|)``, ``max(z) − z_0 = max(d, 0)``
    and ``max(z) − z_1 = max(−d, 0)``, so the loss ``Σ_j y_j·(logsumexp(z) − z_j)`` is
    ``(y_0 + y_1)·log(1 + e^−|d|) + y_0·max(d, 0) + y_1·max(−d, 0)``, every term ≥ 0 and free
    of the cancellation that ``logsumexp(z) − y·z`` suffers for large logits."""
    d = logits[:, 1] - logits[:, 0]
    loss = np.abs(d)
    np.negative(loss, out=loss)
    np.maximum(loss, exp_floor(loss.dtype), out=loss)
    np.exp(loss, out=loss)
    np.log1p(loss, out=loss)
    loss *= target[:, 0] + target[:, 1]
    ahead = np.maximum(d, 0, out=np.empty_like(d))
    ahead *= target[:, 0]
    loss += ahead
    np.negative(d, out=d)
    np.maximum(d, 0, out=d)
    d *= target[:, 1]
    loss += d
    return loss


class CrossEntropy(Loss):
    """Categorical cross-entropy of a softmax output, from its logits.

    Per sample ``−Σ_j y_j·log softmax(z)_j = logsumexp(z) − Σ_j y_j z_j`` (for targets that sum to
    1), averaged over the batch. The gradient with respect to ``z`` is ``softmax(z) − y``.
    """

    name = "cross_entropy"
    fused_activation = "softmax"
    for_classification = True

    def per_sample_from_logits(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        if logits.shape[1] == 2:
            return _two_class_cross_entropy(logits, target)
        shifted = logits - logits.max(axis=1, keepdims=True)
        norm = np.exp(np.maximum(shifted, exp_floor(shifted.dtype))).sum(axis=1)
        target_sum = target.sum(axis=1)
        # −Σ y·(shifted − log_norm), written so no 0·(−inf) can appear
        return np.log(norm) * target_sum - np.einsum("ij,ij->i", target, shifted)

    def value_and_gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> float:
        """Return the loss and write ``d loss / d logits`` into ``out``.

        Targets are rows that sum to 1 (one-hot or class probabilities; the network checks), so
        the loss is ``mean(logsumexp(z)) − Σ y·z / n`` and the gradient ``(softmax(z) − y) / n``.
        """
        if logits.shape[1] == 2:  # two classes: an element-wise maximum beats a row reduction
            row_max = np.maximum(logits[:, :1], logits[:, 1:])
        else:  # the ufunc's reduce directly: ndarray.max adds a Python layer per call
            row_max = np.maximum.reduce(logits, axis=1, keepdims=True)
        shifted = subtract(logits, row_max, out)
        if sample_weight is None:
            target_term = float(np.vdot(target, shifted))
        else:
            target_term = np.einsum("ij,ij->i", target, shifted)
        np.maximum(shifted, exp_floor(shifted.dtype), out=shifted)
        np.exp(shifted, shifted)
        norm = np.add.reduce(shifted, axis=1, keepdims=True)
        log_norm = np.log(norm)
        shifted /= norm
        gradient = subtract(shifted, target, shifted)
        _scale_rows(gradient, sample_weight)
        if sample_weight is None:
            return (float(np.add.reduce(log_norm, axis=None)) - target_term) / logits.shape[0]
        return _weighted_mean(log_norm[:, 0] - target_term, sample_weight)

    def gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write ``d loss / d logits``, ``(softmax(z) − y) / n``, into ``out`` and return it."""
        gradient = _SOFTMAX.forward(logits, out)
        gradient -= target
        return _scale_rows(gradient, sample_weight)

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        # from probabilities, for reporting only: clipped so an exact 0 gives a large finite loss
        tiny = np.finfo(output.dtype).tiny
        return -np.einsum("ij,ij->i", target, np.log(np.clip(output, tiny, None)))


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy of sigmoid outputs, from their logits, summed over output units.

    Per element ``−y·log σ(z) − (1 − y)·log(1 − σ(z)) = max(z, 0) − z·y + log(1 + exp(−|z|))``.
    The gradient with respect to ``z`` is ``σ(z) − y``.
    """

    name = "binary_cross_entropy"
    fused_activation = "sigmoid"
    for_classification = True

    def per_sample_from_logits(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        tail = np.log1p(np.exp(np.maximum(-np.abs(logits), exp_floor(logits.dtype))))
        elementwise = np.maximum(logits, 0) - logits * target + tail
        return elementwise.sum(axis=1)

    def gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write ``d loss / d logits``, ``(σ(z) − y) / n``, into ``out`` and return it."""
        gradient = _SIGMOID.forward(logits, out)
        gradient -= target
        return _scale_rows(gradient, sample_weight)

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        eps = np.finfo(output.dtype).eps
        p = np.clip(output, eps, 1 - eps)
        return -(target * np.log(p) + (1 - target) * np.log1p(-p)).sum(axis=1)


def _target_term(target: np.ndarray) -> np.ndarray:
    """``Σ_j (y_j·log y_j − y_j)`` per sample, with ``0·log 0 = 0``: the constant that turns
    ``Σ_j (exp(z_j) − y_j·z_j)`` into the half Poisson deviance."""
    log_target = np.log(np.where(target > 0, target, 1))
    log_target -= 1
    return np.einsum("ij,ij->i", target, log_target)


class PoissonLoss(Loss):
    """Half the Poisson deviance of an exponential output (log link), from its logits.

    With the mean ``μ = exp(z)``, per sample
    ``Σ_j (y_j·log(y_j/μ_j) − y_j + μ_j) = Σ_j (exp(z_j) − y_j·z_j) + Σ_j (y_j·log y_j − y_j)``
    (``0·log 0 = 0``), averaged (or weighted) over the batch: scikit-learn's ``poisson_loss``
    of ``MLPRegressor(loss="poisson")``, half the deviance of
    ``sklearn.metrics.mean_poisson_deviance``. The second sum does not depend on the network;
    it makes the loss 0 for a perfect fit and never negative. The gradient with respect to ``z``
    is ``exp(z) − y``. Targets must be non-negative (counts or rates).

    ``exp`` is that of :class:`~glassnet.model.activations.Exponential`, whose argument is
    clipped to stay finite for logits of any size (:func:`~glassnet.model.activations.exp_ceiling`).
    """

    name = "poisson"
    fused_activation = "exp"
    for_classification = False

    def per_sample_from_logits(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        mean = _EXP.forward(logits)
        return (
            np.add.reduce(mean, axis=1)
            - np.einsum("ij,ij->i", target, logits)
            + _target_term(target)
        )

    def value_and_gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> float:
        """Return the loss and write ``d loss / d logits``, ``(exp(z) − y) / n``, into ``out``."""
        linear = np.einsum("ij,ij->i", target, logits)  # before ``out`` (maybe ``logits``) changes
        mean = _EXP.forward(logits, out)
        per_sample = np.add.reduce(mean, axis=1) - linear + _target_term(target)
        gradient = subtract(mean, target, mean)
        _scale_rows(gradient, sample_weight)
        return _weighted_mean(per_sample, sample_weight)

    def gradient_from_logits(
        self,
        logits: np.ndarray,
        target: np.ndarray,
        sample_weight: np.ndarray | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Write ``d loss / d logits``, ``(exp(z) − y) / n``, into ``out`` and return it."""
        gradient = _EXP.forward(logits, out)
        gradient -= target
        return _scale_rows(gradient, sample_weight)

    def per_sample(self, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        # from the means exp(z), for reporting only: clipped so an exact 0 gives a large finite loss
        mean = np.clip(output, np.finfo(output.dtype).tiny, None)
        return (
            np.add.reduce(mean, axis=1)
            - np.einsum("ij,ij->i", target, np.log(mean))
            + _target_term(target)
        )


_EXP = Exponential()
_SIGMOID = Sigmoid()
_SOFTMAX = Softmax()

_REGISTRY: Registry[Loss] = Registry("loss")
_REGISTRY.register("mse", MeanSquaredError, aliases=("squared_error", "mean_squared_error"))
_REGISTRY.register("mae", MeanAbsoluteError, aliases=("absolute_error", "mean_absolute_error"))
_REGISTRY.register("huber", Huber)
_REGISTRY.register(
    "cross_entropy",
    CrossEntropy,
    aliases=(
        "categorical_cross_entropy",
        "categorical_crossentropy",
        "softmax_cross_entropy",
        "log_loss",
    ),
)
_REGISTRY.register(
    "binary_cross_entropy", BinaryCrossEntropy, aliases=("binary_crossentropy", "bce")
)
_REGISTRY.register("poisson", PoissonLoss)


def get(loss: str | dict | Loss, argument: str = "loss") -> Loss:
    """Return a :class:`Loss` from a name, a config dict or an instance.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.
    """
    return _REGISTRY.resolve(loss, argument, Loss)


def names() -> list[str]:
    """The registered loss names."""
    return _REGISTRY.names()


def register(cls: type[Loss], aliases: tuple[str, ...] = ()) -> type[Loss]:
    """Register a custom :class:`Loss` subclass under its ``name`` (usable as a decorator)."""
    return _REGISTRY.register_class(cls, Loss, aliases)
