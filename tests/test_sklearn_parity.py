"""glassnet's estimators against scikit-learn's MLP on the same data and settings.

With the same ``random_state`` both start from the same weights (glassnet's default
``weight_init="sklearn"`` draws them as scikit-learn does), and with ``shuffle=False`` (or
L-BFGS) both see the same batches, so every step must agree to rounding: this checks the
meaning of every training parameter (alpha's scaling, momentum, Nesterov, the schedules, Adam,
sample weights, the losses and output units), not only its name.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from glassnet.estimators import NeuralNetworkClassifier, NeuralNetworkRegressor

X_C, Y_C = make_classification(120, 6, n_informative=4, n_classes=3, random_state=0)
X_R, Y_R = make_regression(120, 6, random_state=0)
Y_R = Y_R / Y_R.std()
WEIGHTS = np.random.default_rng(0).uniform(0.5, 2.0, 120)

STOCHASTIC = [
    {"solver": "sgd", "momentum": 0.0},
    {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True},
    {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": False},
    {"solver": "sgd", "learning_rate": "invscaling", "power_t": 0.3},
    {"solver": "sgd", "learning_rate": "adaptive", "momentum": 0.5, "n_iter_no_change": 2},
    {"solver": "adam"},
]


def _fit_both(ours, theirs, x, y, **fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(x, y, **fit)
        theirs.fit(x, y, **fit)
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_


@pytest.mark.parametrize("settings", STOCHASTIC, ids=lambda s: "-".join(map(str, s.values())))
@pytest.mark.parametrize("weighted", [False, True])
def test_stochastic_solvers_train_as_scikit_learn_step_for_step(settings, weighted):
    params = {
        "hidden_layer_sizes": (7, 5),
        "activation": "tanh",
        "shuffle": False,
        "batch_size": 32,  # the last batch of each epoch is smaller
        "max_iter": 25,
        "random_state": 3,
        "alpha": 0.01,
        "learning_rate_init": 0.05,
        "tol": 1e-3,
        **settings,
    }
    fit = {"sample_weight": WEIGHTS} if weighted else {}
    for ours, theirs, x, y in (
        (NeuralNetworkClassifier(**params), MLPClassifier(**params), X_C, Y_C),
        (NeuralNetworkRegressor(**params), MLPRegressor(**params), X_R, Y_R),
    ):
        _fit_both(ours, theirs, x, y, **fit)
        if not weighted:  # (weighted, scikit-learn averages batch means by batch size)
            np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        if params["solver"] == "sgd":  # the schedules' current learning rate
            assert ours._optimizer.learning_rate == pytest.approx(
                theirs._optimizer.learning_rate, rel=1e-12
            )


@pytest.mark.parametrize(
    ("make", "loss"),
    [
        ("multiclass", None),
        ("binary", None),
        ("multilabel", None),
        ("regression", "squared_error"),
        ("poisson", "poisson"),
    ],
)
def test_lbfgs_reaches_scikit_learn_s_weights(make, loss):
    params = {
        "hidden_layer_sizes": (7,),
        "solver": "lbfgs",
        "max_iter": 50,
        "random_state": 3,
        "alpha": 0.01,
        "activation": "logistic",
    }
    x = X_C
    if make == "multiclass":
        y = Y_C
    elif make == "binary":
        y = Y_C == 1
    elif make == "multilabel":
        x, y = make_multilabel_classification(100, 6, n_classes=3, random_state=0)
    elif make == "regression":
        x, y = X_R, Y_R
    else:
        x, y = X_R, np.random.default_rng(0).poisson(np.exp(0.3 * X_R[:, 0]))
    if loss is None:
        ours, theirs = NeuralNetworkClassifier(**params), MLPClassifier(**params)
    else:
        ours, theirs = NeuralNetworkRegressor(loss, **params), MLPRegressor(loss, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(x, y, sample_weight=WEIGHTS[: len(x)])
        theirs.fit(x, y, sample_weight=WEIGHTS[: len(x)])
    # 50 L-BFGS iterations amplify rounding differences; the two still agree closely
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(mine, reference, rtol=1e-6, atol=1e-7)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)  # (its log loss clips p)


@pytest.mark.parametrize("to_sparse", [sp.csr_matrix, sp.csc_matrix, sp.csr_array])
def test_sparse_x_fits_and_predicts_as_its_dense_copy(to_sparse):
    rng = np.random.default_rng(0)
    x = np.where(rng.random((80, 30)) < 0.9, 0.0, rng.normal(size=(80, 30)))
    y = (x.sum(axis=1) > 0).astype(int)
    params = {"hidden_layer_sizes": (6,), "max_iter": 10, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = NeuralNetworkClassifier(**params).fit(x, y)
        sparse = NeuralNetworkClassifier(**params).fit(to_sparse(x), y)
        sparse.partial_fit(to_sparse(x[:10]), y[:10])
        dense.partial_fit(x[:10], y[:10])
    np.testing.assert_allclose(sparse.network_.parameters, dense.network_.parameters, rtol=1e-12)
    np.testing.assert_allclose(sparse.predict_proba(to_sparse(x)), dense.predict_proba(x))
    lbfgs = NeuralNetworkRegressor(solver="lbfgs", max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lbfgs.fit(to_sparse(x), x[:, 0])
        reference = MLPRegressor(solver="lbfgs", max_iter=20, random_state=0).fit(x, x[:, 0])
    np.testing.assert_allclose(lbfgs.predict(x), reference.predict(x), rtol=1e-6, atol=1e-8)


def test_sparse_x_with_nan_is_refused_and_changes_nothing():
    x = sp.csr_matrix(np.array([[0.0, 1.0], [np.nan, 0.0], [0.0, 2.0]]))
    estimator = NeuralNetworkClassifier(max_iter=2, random_state=0)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        estimator.fit(x, [0, 1, 0])
    assert not hasattr(estimator, "network_")


# ------------------------------------------------ code written for scikit-learn's MLP, unchanged
def _docstring_examples(classifier_class, regressor_class):
    """The examples of MLPClassifier's and MLPRegressor's docstrings and a user's model
    selection script, written against whichever classes are passed in."""
    from sklearn.model_selection import cross_val_score, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(n_samples=100, random_state=1)
    x_train, x_test, y_train, y_test = train_test_split(x, y, stratify=y, random_state=1)
    clf = classifier_class(random_state=1, max_iter=300).fit(x_train, y_train)
    assert clf.predict_proba(x_test[:1]).shape == (1, 2)
    assert clf.predict(x_test[:5, :]).shape == (5,)
    scores = {"classifier": clf.score(x_test, y_test)}
    x, y = make_regression(n_samples=200, n_features=20, random_state=1)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=1)
    regr = regressor_class(random_state=1, max_iter=2000, tol=0.1)
    regr.fit(x_train, y_train)
    assert regr.predict(x_test[:2]).shape == (2,)
    scores["regressor"] = regr.score(x_test, y_test)
    x, y = make_classification(
        n_samples=300, n_features=10, n_classes=3, n_informative=6, random_state=0
    )
    model = make_pipeline(
        StandardScaler(),
        classifier_class(
            hidden_layer_sizes=(20,), solver="lbfgs", alpha=1e-3, max_iter=500, random_state=0
        ),
    )
    scores["lbfgs pipeline"] = cross_val_score(model, x, y, cv=3).mean()
    return scores


def test_scikit_learn_s_examples_run_unchanged_and_score_alike():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = _docstring_examples(NeuralNetworkClassifier, NeuralNetworkRegressor)
        theirs = _docstring_examples(MLPClassifier, MLPRegressor)
    print("scores, glassnet vs scikit-learn:", ours, theirs)
    for name, score in theirs.items():
        assert ours[name] == pytest.approx(score, abs=0.05), name
