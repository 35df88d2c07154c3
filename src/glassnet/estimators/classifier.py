"""The scikit-learn classifier."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ..model import activations, losses, rules
from ..model.targets import encode_labels, labels_from_output
from ..network import NeuralNetwork
from .base import NeuralNetworkEstimator

__all__ = ["NeuralNetworkClassifier"]


class NeuralNetworkClassifier(ClassifierMixin, NeuralNetworkEstimator):
    """Neural-network classifier.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer (empty for none).
    activation : str, default="relu"
        Hidden-layer activation, one of :func:`glassnet.activations.names`.
    loss : {"cross_entropy", "mse"}, default="cross_entropy"
        Cross-entropy uses one sigmoid unit for two classes and a softmax layer for more;
        ``"mse"`` uses one unit per class with ``output_activation`` (sigmoid by default), as the
        seed did. A 2-D ``y`` of 0s and 1s is a multilabel indicator matrix (as in scikit-learn's
        ``MLPClassifier``): one sigmoid unit per label, with the binary cross-entropy (or
        ``"mse"``); ``predict`` then returns the indicator matrix, ``predict_proba`` each
        label's probability, and ``score`` the subset accuracy.
    output_activation : str, optional
        Only with ``loss="mse"``.
    solver : {"sgd", "adam", "adamw", "lbfgs"}, default="adam"
        ``"lbfgs"`` is SciPy's L-BFGS-B on all the data at once (as scikit-learn's): it ignores
        ``batch_size``, ``shuffle``, ``learning_rate``, ``n_iter_no_change`` and
        ``early_stopping``; ``partial_fit`` runs one minimisation on the batch it is given.
    learning_rate : float, default=0.001
    momentum : float, default=0.9
        For ``solver="sgd"``.
    nesterov : bool, default=True
        Nesterov momentum for ``solver="sgd"`` (when ``momentum > 0``).
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        For Adam and AdamW.
    weight_decay : float, default=0.01
        For ``solver="adamw"``.
    alpha : float, default=1e-4
        L2 penalty: ``½·alpha·Σ‖W‖²`` is added to the mean batch loss.
    batch_size : int, "auto" or None, default="auto"
        ``"auto"`` is ``min(200, n_samples)``; None the full batch.
    max_iter : int, default=200
        Epochs (passes over the data) per ``fit``; L-BFGS iterations for ``solver="lbfgs"``.
    max_fun : int, default=15000
        For ``solver="lbfgs"``: at most this many evaluations of the loss and its gradient.
    shuffle : bool, default=True
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
        Training stops when the training loss (or, with ``early_stopping``, the validation
        accuracy) has not improved by ``tol`` for this many epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop on its accuracy, and keep
        the best epoch's parameters.
    validation_fraction : float, default=0.1
    weight_init : str, default="auto"
        ``"he_uniform"`` for ReLU-like activations, ``"glorot_uniform"`` otherwise, or any name
        of :func:`glassnet.initializers.names`.
    random_state : int, RandomState, Generator or None, default=None
    verbose : int or bool, default=0
        1 shows a progress bar, 2 a line per epoch.
    warm_start : bool, default=False
        Reuse the weights of the previous ``fit`` (with a fresh optimizer).
    dtype : {"float64", "float32"}, default="float64"

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        For a multilabel ``y``, the label indices ``0 … n_labels − 1``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When ``X`` was a DataFrame with string column names.
    network_ : NeuralNetwork
    loss_curve_ : list of float
        Training loss per epoch, over all ``fit``/``partial_fit`` calls.
    validation_scores_ : list of float or None
        Validation accuracy per epoch with ``early_stopping``.
    best_validation_score_ : float or None
    best_loss_ : float
    n_iter_ : int
        Epochs trained; with ``solver="lbfgs"``, the L-BFGS iterations of the last ``fit``
        (each is one entry of ``loss_curve_``).
    """

    # public as glassnet.estimators.NeuralNetworkClassifier (pickles and reprs name that path)
    __module__ = "glassnet.estimators"
    classes_: np.ndarray
    _losses = ("cross_entropy", "mse")
    _task = "classification"

    def _y_validation(self) -> dict:
        # 2-D y is a multilabel indicator matrix (checked in _prepare_targets)
        return {"multi_output": True, "y_numeric": False}

    def _is_multilabel(self) -> bool:
        return bool(getattr(self, "_multilabel", False))

    def _rules_task(self) -> str:
        return "multilabel" if self._is_multilabel() else "classification"

    def _network_loss(self) -> str:
        loss = self._default_loss() if self.loss is None else self.loss
        # scikit-learn's convention: two classes are told apart by one sigmoid unit, and each
        # label of a multilabel target by a sigmoid unit of its own
        if loss == "cross_entropy" and (self._is_multilabel() or len(self.classes_) == 2):
            return "binary_cross_entropy"
        return loss

    def _n_network_outputs(self) -> int:
        return rules.n_outputs_for(self._network_loss(), self._rules_task(), len(self.classes_), 1)

    def _output_activation(self) -> str | activations.Activation:
        loss = self._network_loss()
        chosen = rules.output_activation_for(loss, self._rules_task())
        if losses.get(loss).fused_activation is None:
            return self.output_activation or chosen
        if (
            self.output_activation is not None
            and activations.get(self.output_activation).name != chosen
        ):
            what = "labels" if self._is_multilabel() else "classes"
            raise ValueError(
                f"output_activation={self.output_activation!r} does not go with "
                f"loss='cross_entropy', which uses a {chosen!r} output for "
                f"{len(self.classes_)} {what}; leave it None"
            )
        return chosen

    def _check_multilabel_y(self, y: np.ndarray) -> np.ndarray:
        """A 2-D ``y`` as a 0/1 indicator matrix, or a ``ValueError``."""
        kind = type_of_target(y)
        values = np.unique(y) if y.dtype.kind in "biuf" else None
        if kind != "multilabel-indicator" or values is None or not np.isin(values, (0, 1)).all():
            shown = "" if values is None else f" with values {values[:10].tolist()}"
            raise ValueError(
                f"NeuralNetworkClassifier takes a 2-D y (shape {y.shape}) as a multilabel "
                f"indicator matrix, which must hold only 0 and 1; got a {kind!r} target{shown}"
            )
        return y.astype(np.float64)

    def _prepare_targets(self, y: np.ndarray, classes: object, continuing: bool) -> np.ndarray:
        if sp.issparse(y):  # a sparse indicator matrix
            y = np.asarray(cast(Any, y).toarray())
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        multilabel = y.ndim == 2
        warm = self.warm_start and hasattr(self, "network_") and hasattr(self, "classes_")
        if (continuing or warm) and multilabel != self._is_multilabel():
            before, now = (
                ("multiclass", "multilabel") if multilabel else ("multilabel", "multiclass")
            )
            raise ValueError(
                f"warm_start/partial_fit cannot switch from {before} to {now} targets: the "
                f"previous fit had {before} y, this y is {now}; fit anew (warm_start=False)"
            )
        if multilabel:
            return self._prepare_multilabel(y, classes, continuing or warm)
        check_classification_targets(y)
        if continuing:
            known = self.classes_
            unknown = np.setdiff1d(np.unique(y), known)
            if unknown.size:
                raise ValueError(
                    f"y contains labels {unknown.tolist()} not seen before "
                    f"(classes_ = {known.tolist()})"
                )
            return encode_labels(y, known)[1]
        found = None if classes is None else np.unique(np.asarray(classes))
        try:
            found, indices = encode_labels(y, found)
        except ValueError as error:  # labels outside `classes`
            raise ValueError(f"{error} (classes={found.tolist()})") from None  # type: ignore[union-attr]
        if found.size < 2:
            raise ValueError(
                f"NeuralNetworkClassifier needs samples of at least 2 classes in the data, but "
                f"the data contains only one class: {found[0]!r}"
            )
        if warm and not np.array_equal(found, self.classes_):
            raise ValueError(
                f"warm_start can only be used where `y` has the same classes as in the previous "
                f"call to fit. Previously got {self.classes_}, `y` has {found}"
            )
        self.classes_ = found
        self._multilabel = False
        return indices

    def _prepare_multilabel(self, y: np.ndarray, classes: object, keep: bool) -> np.ndarray:
        """The indicator matrix ``y`` as training targets; ``classes_`` is the label indices,
        as scikit-learn's ``LabelBinarizer`` sets it. ``classes`` (``partial_fit``'s first
        call) must be those indices."""
        targets = self._check_multilabel_y(y)
        found = np.arange(y.shape[1])
        if keep and not np.array_equal(found, self.classes_):
            raise ValueError(
                f"warm_start/partial_fit needs the same labels as before: the previous y had "
                f"{len(self.classes_)} label columns, this y has {len(found)}"
            )
        if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), found):
            raise ValueError(
                f"for a multilabel y, classes must be the label indices 0 … {len(found) - 1} "
                f"(one per column of y), got {np.asarray(classes).tolist()}"
            )
        loss = self._default_loss() if self.loss is None else self.loss
        if self.early_stopping and self.solver != "lbfgs" and loss != "cross_entropy":
            raise ValueError(
                "early_stopping with a multilabel y needs loss='cross_entropy' (its validation "
                "score is the subset accuracy of the sigmoid outputs)"
            )
        self.classes_ = found
        self._multilabel = True
        return targets

    def _stratify(self) -> bool:
        return not self._is_multilabel()  # as scikit-learn, no stratified split for multilabel

    def _fitted_outputs(self) -> dict[str, Any]:
        return {"classes": self.classes_, "multilabel": self._is_multilabel()}

    def _restore_outputs(self, network: NeuralNetwork, fitted: dict[str, Any]) -> None:
        self.classes_ = fitted["classes"]
        self._multilabel = bool(fitted.get("multilabel", False))
        n_classes = len(self.classes_)
        task = self._rules_task()
        if self._is_multilabel() and not np.array_equal(self.classes_, np.arange(n_classes)):
            raise ValueError("a multilabel classifier's classes must be 0 … n_labels - 1")
        rules.check_loss_for_task(network.loss, task, n_classes)
        if network.n_outputs != rules.n_outputs_for(network.loss, task, n_classes, 1):
            raise ValueError("classes do not match the network's outputs")
        if network.task != "classification":
            raise ValueError("a classifier's network must do classification")

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> NeuralNetworkClassifier:
        """One epoch over ``(X, y)``, continuing from the previous call (optimizer state kept).

        ``classes`` (every label that will ever be seen) is required on the first call, as in
        scikit-learn; for a multilabel ``y`` (an indicator matrix) it must be the label indices
        ``0 … n_labels − 1``, which ``classes_`` becomes. Returns ``self``.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._rollback_on_error(
            self._fit, X, y, sample_weight, incremental=True, classes=classes
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, in the order of ``classes_``.

        For a multilabel classifier, each label's probability (the rows need not sum to 1).
        """
        X = self._validated_x(X)
        if self._is_multilabel():
            return np.clip(self.network_.predict_output(X), 0.0, 1.0)
        return self.network_.class_probabilities(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape ``(n_samples,)``; for a multilabel classifier the indicator
        matrix, shape ``(n_samples, n_labels)`` (1 where a label's probability is above 0.5)."""
        probabilities = self.predict_proba(X)  # checks fitting before classes_ is read
        if self._is_multilabel():
            return labels_from_output(probabilities)
        return self.classes_[probabilities.argmax(axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = True
        return tags
