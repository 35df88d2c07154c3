"""The scikit-learn classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import column_or_1d

from ..model import activations, losses, rules
from ..model.targets import encode_labels, labels_from_output
from ..network import NeuralNetwork
from .base import NeuralNetworkEstimator

__all__ = ["NeuralNetworkClassifier"]


class NeuralNetworkClassifier(ClassifierMixin, NeuralNetworkEstimator):
    """Neural-network classifier: a drop-in replacement for scikit-learn's ``MLPClassifier``.

    The parameters up to ``max_fun`` are ``MLPClassifier``'s (scikit-learn 1.9), with the same
    names, defaults and meanings; the last five are glassnet's own.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer (empty for none).
    activation : str, default="relu"
        Hidden-layer activation: ``"identity"``, ``"logistic"``, ``"tanh"``, ``"relu"``, or
        any other name of :func:`glassnet.activations.names` (or an activation object).
    solver : {"adam", "sgd", "lbfgs", "adamw"}, default="adam"
        ``"lbfgs"`` is SciPy's L-BFGS-B on all the data at once: it ignores ``batch_size``,
        ``shuffle``, the learning rates, ``n_iter_no_change`` and ``early_stopping``, and there
        is no ``partial_fit``. ``"adamw"`` (glassnet's) is Adam with decoupled weight decay.
    alpha : float, default=1e-4
        L2 penalty, as scikit-learn's: ``alpha/2·Σ‖W‖²`` is added to each batch's summed loss,
        so the mean loss carries ``alpha/(2·batch size)·Σ‖W‖²`` (the sum of the batch's sample
        weights instead of its size when they are given).
    batch_size : int, "auto" or None, default="auto"
        ``"auto"`` is ``min(200, n_samples)``; None (glassnet's) the full batch.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        The schedule of ``solver="sgd"``: ``"invscaling"`` sets the rate to
        ``learning_rate_init / (t_ + 1) ** power_t`` after each epoch (``t_`` counts samples);
        ``"adaptive"`` divides it by 5 whenever the monitored quantity has not improved by
        ``tol`` for more than ``n_iter_no_change`` epochs, and stops once it is at most 1e-6.
    learning_rate_init : float, default=0.001
        The step size of ``"sgd"``, ``"adam"`` and ``"adamw"``.
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs per ``fit``; L-BFGS iterations for ``solver="lbfgs"``.
    shuffle : bool, default=True
    random_state : int, RandomState, Generator or None, default=None
    tol : float, default=1e-4
    verbose : bool or int, default=False
        Prints scikit-learn's lines (``Iteration 1, loss = ...``) to standard output, after
        one line of glassnet's saying which code trains (``Training path: numba-batch
        (backend='auto')``; see ``NeuralNetwork.training_path``).
    warm_start : bool, default=False
        Start from the previous ``fit``'s weights (with a fresh optimizer); the counters
        (``t_``, ``loss_curve_``, the best scores) go on, ``n_iter_`` starts over.
    momentum : float, default=0.9
        For ``solver="sgd"``, in ``[0, 1]``.
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified for two classes, as
        scikit-learn; for more classes when every class has two samples), stop when its
        accuracy has not improved by ``tol`` for more than ``n_iter_no_change`` epochs, and keep
        the best epoch's parameters.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        For Adam and AdamW.
    n_iter_no_change : int or np.inf, default=10
    max_fun : int, default=15000
        For ``solver="lbfgs"``: at most this many evaluations of the loss and its gradient.
    loss : {"cross_entropy", "mse"}, default="cross_entropy"
        glassnet's. Cross-entropy uses one sigmoid unit for two classes and a softmax layer
        for more, as scikit-learn; ``"mse"`` uses one unit per class with
        ``output_activation`` (sigmoid by default), as the seed did. A 2-D ``y`` of 0s and 1s
        is a multilabel indicator matrix: one sigmoid unit per label; ``predict`` then returns
        the indicator matrix, ``predict_proba`` each label's probability, and ``score`` the
        subset accuracy.
    output_activation : str, optional
        glassnet's; only with ``loss="mse"``.
    weight_init : str, default="auto"
        glassnet's: ``"he_uniform"`` for ReLU-like activations, ``"glorot_uniform"`` otherwise,
        or any name of :func:`glassnet.initializers.names`.
    weight_decay : float, default=0.01
        glassnet's, for ``solver="adamw"``.
    dtype : {"float32", "float64"} or None, default=None
        glassnet's: the dtype the network computes in. None follows ``X`` as scikit-learn
        does: float32 input trains a float32 network, anything else float64.
    backend : {"auto", "numpy", "numba"}, default="auto"
        glassnet's: what trains with ``batch_size=1`` (see :class:`glassnet.NeuralNetwork`):
        the compiled per-sample kernel where numba is installed and the configuration is
        covered, else NumPy; the same parameters either way (to rounding). ``"numba"`` refuses
        what no compiled code trains (``solver="lbfgs"``, for one).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        For a multilabel ``y``, the label indices ``0 … n_labels − 1``.
    loss_ : float
        The last epoch's loss (L-BFGS: where the minimisation ended).
    best_loss_ : float or None
        The lowest training loss; None with ``early_stopping`` and with ``solver="lbfgs"``.
    loss_curve_ : list of float
        Training loss per epoch (per L-BFGS iteration), over warm starts and ``partial_fit``.
    validation_scores_ : list of float or None
        Validation accuracy per epoch with ``early_stopping`` (NaN for an epoch whose loss was
        not finite, where training stopped keeping the best epoch).
    best_validation_score_ : float or None
    t_ : int
        Training samples seen by the stochastic solvers.
    coefs_, intercepts_ : list of ndarray
        Each layer's weights and biases (views into ``network_``).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        When ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Epochs (L-BFGS iterations) of the last ``fit``; 1 after ``partial_fit``.
    n_layers_ : int
    n_outputs_ : int
        Output units: 1 for two classes, one per class or per label otherwise.
    out_activation_ : str
        ``"logistic"``, ``"softmax"`` (or the ``output_activation`` of ``loss="mse"``).
    network_ : NeuralNetwork
        The trained network, with every value glassnet shows.
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str | activations.Activation = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str | None = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        loss: str = "cross_entropy",
        output_activation: str | activations.Activation | None = None,
        weight_init: str = "sklearn",
        weight_decay: float = 0.01,
        dtype: str | None = None,
        backend: str = "auto",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.loss = loss
        self.output_activation = output_activation
        self.weight_init = weight_init
        self.weight_decay = weight_decay
        self.dtype = dtype
        self.backend = backend

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
        if loss == "cross_entropy" and (self._is_multilabel() or len(self.classes_) <= 2):
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

    def _prepare_targets(
        self, y: np.ndarray, classes: object, continuing: bool, incremental: bool
    ) -> np.ndarray:
        """Class indices (or the indicator matrix) to train on; sets ``classes_``.

        As scikit-learn: a first ``partial_fit`` takes its classes from ``classes``, a later
        one must not change them and may only hold labels among them; a warm-started ``fit``
        needs exactly the previous classes."""
        if sp.issparse(y):  # a sparse indicator matrix
            y = np.asarray(cast(Any, y).toarray())
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        multilabel = y.ndim == 2
        if continuing and multilabel != self._is_multilabel():
            before, now = (
                ("multiclass", "multilabel") if multilabel else ("multilabel", "multiclass")
            )
            raise ValueError(
                f"warm_start/partial_fit cannot switch from {before} to {now} targets: the "
                f"previous fit had {before} y, this y is {now}; fit anew (warm_start=False)"
            )
        if continuing and incremental and classes is not None:
            if not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to partial_fit, "
                    f"was: {self.classes_!r}"
                )
        if multilabel:
            return self._prepare_multilabel(y, classes, continuing, incremental)
        check_classification_targets(y)
        if continuing:
            found = np.unique(y)
            if incremental:
                if np.setdiff1d(found, self.classes_).size:
                    raise ValueError(
                        f"`y` has classes not in `self.classes_`. `self.classes_` has "
                        f"{self.classes_}. 'y' has {found}."
                    )
            elif not np.array_equal(found, self.classes_):
                raise ValueError(
                    f"warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {found}"
                )
            return encode_labels(y, self.classes_)[1]
        given = None if classes is None else np.unique(np.asarray(classes))
        try:
            found, indices = encode_labels(y, given)
        except ValueError as error:  # labels outside `classes` (only when they are given)
            raise ValueError(f"{error} (classes={np.asarray(given).tolist()})") from None
        self.classes_ = found  # a single class trains as scikit-learn's: predict returns it
        self._multilabel = False
        return indices

    def _prepare_multilabel(
        self, y: np.ndarray, classes: object, continuing: bool, incremental: bool
    ) -> np.ndarray:
        """The indicator matrix ``y`` as training targets; ``classes_`` is the label indices,
        as scikit-learn's ``LabelBinarizer`` sets it. ``classes`` (``partial_fit``'s first
        call) must be those indices. A label column that never changes cannot be learned:
        ``fit`` refuses it (``partial_fit``'s batches may hold one)."""
        targets = self._check_multilabel_y(y)
        found = np.arange(y.shape[1])
        if continuing and not np.array_equal(found, self.classes_):
            raise ValueError(
                f"warm_start/partial_fit needs the same labels as before: the previous y had "
                f"{len(self.classes_)} label columns, this y has {len(found)}"
            )
        if classes is not None and not np.array_equal(np.unique(np.asarray(classes)), found):
            raise ValueError(
                f"for a multilabel y, classes must be the label indices 0 … {len(found) - 1} "
                f"(one per column of y), got {np.asarray(classes).tolist()}"
            )
        if not incremental and y.shape[0] > 1:
            constant = np.flatnonzero((targets == targets[0]).all(axis=0))
            if constant.size:
                column = int(constant[0])
                raise ValueError(
                    f"y is a multilabel indicator matrix whose label column {column} is "
                    f"constant (all {int(targets[0, column])}): a label that never changes "
                    "cannot be learned; drop that column"
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

    def _stratify(self, targets: np.ndarray) -> np.ndarray | None:
        """Two classes: stratified on the labels as scikit-learn (which raises when a class has
        a single sample); more: stratified when every class has two samples and both parts
        have room for every class (scikit-learn does not stratify them); multilabel: not."""
        if self._is_multilabel():
            return None
        if len(self.classes_) <= 2:
            return (targets == 1).reshape(-1, 1)  # scikit-learn's binarised y: "True"/"False"
        counts = np.bincount(targets, minlength=len(self.classes_))
        n_held_out = int(np.ceil(self.validation_fraction * len(targets)))
        room = min(n_held_out, len(targets) - n_held_out)
        return targets if counts.min() >= 2 and len(counts) <= room else None

    def _validation_score(self, x: Any, targets: np.ndarray, weights: np.ndarray | None) -> float:
        return self._classifier_score(x, targets, weights, self._is_multilabel())

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

    @available_if(NeuralNetworkEstimator._check_solver)
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
        if len(self.classes_) == 1:  # fitted on a single class: it is certain
            return np.ones((X.shape[0], 1))
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
