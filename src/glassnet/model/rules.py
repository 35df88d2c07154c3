"""Modelling rules that every front end (the builder, the estimators, the command line) shares.

Each rule lives here once: which initialisation suits an activation, which output activation a
loss and task need, how many output units a classifier gets, and which losses suit which task.

``task`` is ``"classification"``, ``"regression"`` or, for these rules only, ``"multilabel"``:
classification where each sample may have any number of ``n_classes`` labels (an indicator
matrix), one sigmoid output per label. The network of a multilabel model does classification.
"""

from __future__ import annotations

from . import activations, losses

__all__ = [
    "check_loss_for_task",
    "default_loss",
    "default_weight_init",
    "n_outputs_for",
    "output_activation_for",
]

#: activations that are zero (or nearly) for half their inputs: He initialisation keeps the
#: variance of their outputs from shrinking layer after layer
_RELU_LIKE = ("relu", "leaky_relu")


def default_weight_init(activation: str | dict | activations.Activation) -> str:
    """``"he_uniform"`` for ReLU-like activations, ``"glorot_uniform"`` for the others."""
    if isinstance(activation, str):
        name = activation.lower()
    else:
        name = activations.get(activation).name
    return "he_uniform" if name in _RELU_LIKE else "glorot_uniform"


def default_loss(task: str) -> str:
    """Cross-entropy for classification (multilabel too), the squared error for regression."""
    return "cross_entropy" if task in ("classification", "multilabel") else "mse"


def output_activation_for(loss: str | losses.Loss, task: str) -> str:
    """The output layer's activation: the one a loss computed from logits is fused with (softmax
    or sigmoid for the cross-entropies, ``exp`` for ``poisson``), else a sigmoid per class for
    classification (the seed's choice with the squared error) and per label for multilabel,
    else the identity."""
    fused = losses.get(loss).fused_activation
    if fused is not None:
        return fused
    return "sigmoid" if task in ("classification", "multilabel") else "identity"


def n_outputs_for(loss: str | losses.Loss, task: str, n_classes: int | None, n_targets: int) -> int:
    """Output units: one per class (one in all for a binary cross-entropy), one per label for
    multilabel (``n_classes`` labels), else one per target."""
    if task == "multilabel":
        return int(n_classes or 2)
    if task != "classification":
        return n_targets
    return 1 if losses.get(loss).name == "binary_cross_entropy" else int(n_classes or 2)


def check_loss_for_task(
    loss: str | losses.Loss, task: str, n_classes: int | None = None, label: str | None = None
) -> None:
    """Raise a ``ValueError`` if ``loss`` does not suit ``task`` (or the number of classes).

    ``label`` is how messages name the loss (default: ``loss 'name'``). For ``"multilabel"``,
    ``n_classes`` is the number of labels; each needs its own sigmoid output, so the softmax
    cross-entropy does not suit it.
    """
    resolved = losses.get(loss)
    label = label or f"loss {resolved.name!r}"
    if task == "multilabel":
        if resolved.for_classification is False:
            raise ValueError(f"{label} is for regression, but the task is multilabel")
        if resolved.fused_activation == "softmax":
            raise ValueError(
                f"{label} uses a softmax over the classes; multilabel classification needs a "
                "sigmoid output per label (binary_cross_entropy or mse)"
            )
        return
    if task == "regression" and resolved.for_classification:
        raise ValueError(f"{label} is for classification, but the task is regression")
    if task == "classification" and resolved.for_classification is False:
        raise ValueError(f"{label} is for regression, but the task is classification")
    if (
        resolved.name == "binary_cross_entropy"
        and task == "classification"
        and n_classes not in (1, 2)
    ):  # (one class: a scikit-learn classifier fitted on a single label)
        raise ValueError(f"{label} needs 2 classes; the target has {n_classes}")
