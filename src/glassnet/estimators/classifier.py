"""The scikit-learn classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from ..model import activations, losses, rules
from ..model.targets import encode_labels
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
        seed did.
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
        return {"multi_output": False, "y_numeric": False}

    def _network_loss(self) -> str:
        loss = self._default_loss() if self.loss is None else self.loss
        # scikit-learn's convention: two classes are told apart by one sigmoid unit
        if loss == "cross_entropy" and len(self.classes_) == 2:
            return "binary_cross_entropy"
        return loss

    def _n_network_outputs(self) -> int:
        return rules.n_outputs_for(self._network_loss(), "classification", len(self.classes_), 1)

    def _output_activation(self) -> str | activations.Activation:
        loss = self._network_loss()
        chosen = rules.output_activation_for(loss, "classification")
        if losses.get(loss).fused_activation is None:
            return self.output_activation or chosen
        if (
            self.output_activation is not None
            and activations.get(self.output_activation).name != chosen
        ):
            raise ValueError(
                f"output_activation={self.output_activation!r} does not go with "
                f"loss='cross_entropy', which uses a {chosen!r} output for "
                f"{len(self.classes_)} classes; leave it None"
            )
        return chosen

    def _prepare_targets(self, y: np.ndarray, classes: object, continuing: bool) -> np.ndarray:
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
        warm = self.warm_start and hasattr(self, "network_") and hasattr(self, "classes_")
        if warm and not np.array_equal(found, self.classes_):
            raise ValueError(
                f"warm_start can only be used where `y` has the same classes as in the previous "
                f"call to fit. Previously got {self.classes_}, `y` has {found}"
            )
        self.classes_ = found
        return indices

    def _fitted_outputs(self) -> dict[str, Any]:
        return {"classes": self.classes_}

    def _restore_outputs(self, network: NeuralNetwork, fitted: dict[str, Any]) -> None:
        self.classes_ = fitted["classes"]
        n_classes = len(self.classes_)
        rules.check_loss_for_task(network.loss, "classification", n_classes)
        if network.n_outputs != rules.n_outputs_for(network.loss, "classification", n_classes, 1):
            raise ValueError("classes do not match the network's outputs")
        if network.task != "classification":
            raise ValueError("a classifier's network must do classification")

    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> NeuralNetworkClassifier:
        """One epoch over ``(X, y)``, continuing from the previous call (optimizer state kept).

        ``classes`` (every label that will ever be seen) is required on the first call.
        Returns ``self``.
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._rollback_on_error(
            self._fit, X, y, sample_weight, incremental=True, classes=classes
        )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, in the order of ``classes_``."""
        X = self._validated_x(X)
        return self.network_.class_probabilities(X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels, shape ``(n_samples,)``."""
        indices = self.predict_proba(X).argmax(axis=1)  # checks fitting before classes_ is read
        return self.classes_[indices]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags
