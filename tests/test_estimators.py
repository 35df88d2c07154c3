import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.datasets import load_digits, make_moons, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import glassnet as gn
from conftest import run_in_threads
from glassnet import NeuralNetworkClassifier, NeuralNetworkRegressor


def estimator_state(estimator):
    state = {k: v for k, v in vars(estimator).items() if k != "network_"}
    params = estimator.network_.parameters.copy() if hasattr(estimator, "network_") else None
    return repr(sorted(state.items(), key=lambda kv: kv[0])), params, estimator.get_params()


def assert_estimator_unchanged(estimator, before):
    after = estimator_state(estimator)
    assert after[0] == before[0]
    assert after[2] == before[2]
    if before[1] is None:
        assert after[1] is None
    else:
        np.testing.assert_array_equal(after[1], before[1])


@pytest.fixture(scope="module")
def moons():
    return make_moons(n_samples=400, noise=0.2, random_state=0)


def test_grid_search_over_a_pipeline_on_digits():
    x, y = load_digits(return_X_y=True)
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("net", NeuralNetworkClassifier(max_iter=40, learning_rate_init=0.01, random_state=0)),
        ]
    )
    search = GridSearchCV(
        pipeline,
        {"net__hidden_layer_sizes": [(32,), (64,)], "net__alpha": [1e-4, 1e-2]},
        cv=3,
        n_jobs=2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(x, y)
    print("digits grid search:", search.best_params_, round(search.best_score_, 4))
    assert search.best_score_ > 0.93
    assert search.predict(x[:5]).shape == (5,)


def test_cross_val_score_and_clone(moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=300, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(estimator, x, y, cv=3)
    assert scores.mean() > 0.9
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert not hasattr(copy, "network_")


def test_attributes_after_fit(moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(
        hidden_layer_sizes=(8, 4), max_iter=30, random_state=0, n_iter_no_change=100
    )
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(30\) reached"):
        assert estimator.fit(x, y) is estimator
    np.testing.assert_array_equal(estimator.classes_, [0, 1])
    assert estimator.n_features_in_ == 2
    assert isinstance(estimator.network_, gn.NeuralNetwork)
    assert len(estimator.loss_curve_) == estimator.n_iter_ == 30
    assert estimator.validation_scores_ is None
    assert [w.shape for w in estimator.coefs_] == [
        (2, 8),
        (8, 4),
        (4, 1),
    ]  # one sigmoid unit for 2 classes
    assert estimator.out_activation_ == "logistic"  # scikit-learn's name of the sigmoid
    assert estimator.n_outputs_ == 1 and estimator.n_layers_ == 4
    assert estimator.t_ == 30 * 400 and estimator.loss_ == estimator.loss_curve_[-1]
    assert estimator.best_loss_ == min(estimator.loss_curve_)
    assert estimator.hidden_activations(x).shape == (400, 4)
    assert estimator.hidden_activations(x, layer=0).shape == (400, 8)
    with pytest.raises(ValueError, match=r"layer must be an integer in \[-2, 1\]"):
        estimator.hidden_activations(x, layer=2)


def test_string_labels_and_many_classes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    names = np.array(["cat", "dog", "emu", "fox"])
    y = names[np.argmax(x @ rng.normal(size=(3, 4)), axis=1)]
    estimator = NeuralNetworkClassifier(
        hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=150, random_state=0
    ).fit(x, y)
    np.testing.assert_array_equal(estimator.classes_, names)
    assert set(estimator.predict(x)) <= set(names)
    assert estimator.score(x, y) > 0.9
    assert estimator.predict_proba(x).shape == (300, 4)


def test_a_single_class_fits_and_is_predicted_like_scikit_learn():
    estimator = NeuralNetworkClassifier(max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(np.arange(10.0).reshape(5, 2), ["a"] * 5)
    np.testing.assert_array_equal(estimator.classes_, ["a"])
    np.testing.assert_array_equal(estimator.predict(np.zeros((3, 2))), ["a", "a", "a"])
    np.testing.assert_array_equal(estimator.predict_proba(np.zeros((3, 2))), np.ones((3, 1)))


def test_partial_fit_n_times_equals_fit_with_max_iter_n(moons):
    x, y = moons
    params = {
        "hidden_layer_sizes": (8,),
        "batch_size": 32,
        "random_state": 3,
        "n_iter_no_change": 1000,
    }
    fitted = NeuralNetworkClassifier(max_iter=7, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(x, y)
    incremental = NeuralNetworkClassifier(**params)
    for _ in range(7):
        incremental.partial_fit(x, y, classes=[0, 1])
    np.testing.assert_array_equal(incremental.network_.parameters, fitted.network_.parameters)
    assert incremental.loss_curve_ == fitted.loss_curve_
    assert incremental.t_ == fitted.t_ == 7 * len(x)
    assert incremental.n_iter_ == 1 and fitted.n_iter_ == 7  # as scikit-learn: this call's epochs
    assert incremental.network_.optimizer.iterations == fitted.network_.optimizer.iterations


def test_partial_fit_needs_classes_first():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        NeuralNetworkClassifier().partial_fit(np.ones((3, 2)), [0, 1, 0])
    estimator = NeuralNetworkClassifier(random_state=0).partial_fit(
        np.ones((3, 2)), [0, 1, 0], classes=[0, 1, 2]
    )
    assert estimator.predict_proba(np.ones((1, 2))).shape == (1, 3)
    before = estimator_state(estimator)
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        estimator.partial_fit(np.ones((2, 2)), [0, 5])
    with pytest.raises(ValueError, match=r"is not the same as on last call to partial_fit"):
        estimator.partial_fit(np.ones((2, 2)), [0, 1], classes=[0, 1, 2, 3])
    assert_estimator_unchanged(estimator, before)


def test_regressor_single_and_multi_output():
    x, y = make_regression(n_samples=300, n_features=4, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    estimator = NeuralNetworkRegressor(
        hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=300, random_state=0
    )
    estimator.fit(x, y)
    assert estimator.predict(x).shape == (300, 2)
    assert estimator.score(x, y) > 0.95
    single = clone(estimator).fit(x, y[:, 0])
    assert single.predict(x).shape == (300,)
    assert single.out_activation_ == "identity"


def test_early_stopping_keeps_the_best_validation_score(moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(
        hidden_layer_sizes=(16,),
        learning_rate_init=0.01,
        max_iter=500,
        early_stopping=True,
        n_iter_no_change=5,
        random_state=0,
    )
    estimator.fit(x, y)
    assert estimator.n_iter_ < 500
    assert len(estimator.validation_scores_) == estimator.n_iter_
    assert estimator.best_validation_score_ == max(estimator.validation_scores_)
    regressor = NeuralNetworkRegressor(
        early_stopping=True, n_iter_no_change=3, random_state=0, max_iter=500
    )
    regressor.fit(x, y.astype(float))
    assert regressor.validation_scores_ is not None and regressor.n_iter_ < 500


def test_warm_start_continues_from_the_previous_weights(moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(
        hidden_layer_sizes=(8,), max_iter=5, warm_start=True, random_state=0, n_iter_no_change=100
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x, y)
        network = estimator.network_
        first_loss = estimator.loss_curve_[-1]
        estimator.fit(x, y)
    assert estimator.network_ is network
    # as scikit-learn: n_iter_ counts this fit's epochs; t_ and loss_curve_ go on
    assert estimator.n_iter_ == 5 and estimator.t_ == 10 * len(x)
    assert len(estimator.loss_curve_) == 10 and estimator.loss_curve_[-1] < first_loss
    with pytest.raises(
        ValueError, match="warm_start can only be used where `y` has the same classes"
    ):
        estimator.fit(x, y + 1)


def test_sample_weight_changes_the_fit(moons):
    x, y = moons
    weights = np.where(y == 1, 10.0, 0.1)
    params = {"hidden_layer_sizes": (4,), "max_iter": 20, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = NeuralNetworkClassifier(learning_rate_init=0.01, **params).fit(x, y)
        weighted = NeuralNetworkClassifier(learning_rate_init=0.01, **params).fit(
            x, y, sample_weight=weights
        )
    assert weighted.predict(x).mean() > plain.predict(x).mean()


def test_float32_estimator_stays_float32(moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(
        hidden_layer_sizes=(8,), dtype="float32", max_iter=5, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x, y)
    assert estimator.network_.parameters.dtype == np.float32
    assert estimator.predict_proba(x).dtype == np.float32


def test_dataframes_and_feature_names(moons):
    x, y = moons
    frame = pd.DataFrame(x, columns=["width", "height"])
    estimator = NeuralNetworkClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(frame, pd.Series(y))
    np.testing.assert_array_equal(estimator.feature_names_in_, ["width", "height"])
    with pytest.raises(ValueError, match="feature names should match"):
        estimator.predict(frame.rename(columns={"width": "w"}))
    estimator.predict(frame)


def test_pickle_round_trip(moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x, y)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict_proba(x), estimator.predict_proba(x))


# ------------------------------------------------------------------ validation
@pytest.fixture(scope="module")
def fitted(moons):
    x, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NeuralNetworkClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(
            x, y
        )


@pytest.mark.parametrize(
    ("x", "y", "error", "match"),
    [
        (np.array([[np.nan, 1.0]] * 4), [0, 1, 0, 1], ValueError, "Input X contains NaN"),
        (np.array([[np.inf, 1.0]] * 4), [0, 1, 0, 1], ValueError, "Input X contains infinity"),
        (np.ones((4, 2)), [0, 1, np.nan, 1], ValueError, "Input y contains NaN"),
        (np.ones((4, 2)) + 1j, [0, 1, 0, 1], ValueError, "Complex data not supported"),
        (np.empty((0, 2)), [], ValueError, "0 sample"),
        (np.ones(4), [0, 1, 0, 1], ValueError, "Expected 2D array"),
        (np.ones((4, 2, 2)), [0, 1, 0, 1], ValueError, "dim 3"),
        (np.array([["a", "b"]] * 4), [0, 1, 0, 1], ValueError, "could not convert|dtype='numeric'"),
        (np.ones((4, 2)), [0, 1, 0], ValueError, "inconsistent numbers of samples"),
        (np.ones((4, 2)), [0.5, 1.5, 0.5, 1.5], ValueError, "Unknown label type"),
    ],
)
def test_fit_rejects_bad_data_and_leaves_the_estimator_unchanged(fitted, x, y, error, match):
    before = estimator_state(fitted)
    with pytest.raises(error, match=match):
        fitted.fit(x, y)
    assert_estimator_unchanged(fitted, before)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"hidden_layer_sizes": (4, 0)}, ValueError, "each of hidden_layer_sizes must be >= 1"),
        ({"hidden_layer_sizes": "wide"}, TypeError, "must be an integer"),
        ({"solver": "newton"}, ValueError, "solver must be one of 'adam', 'sgd', 'lbfgs', 'adamw'"),
        ({"loss": "mae"}, ValueError, "loss for NeuralNetworkClassifier must be one of"),
        ({"activation": "swish"}, ValueError, "unknown activation 'swish'"),
        ({"learning_rate_init": -1}, ValueError, "learning_rate_init must be > 0"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction must be < 1"),
        ({"momentum": 1.5}, ValueError, "momentum must be <= 1"),
        ({"learning_rate": 0.01}, ValueError, "learning_rate must be one of 'constant'"),
        ({"learning_rate": "fast"}, ValueError, "got 'fast'"),
        ({"power_t": -1}, ValueError, "power_t must be >= 0"),
        ({"nesterovs_momentum": "yes"}, TypeError, "nesterovs_momentum must be"),
        ({"beta_1": 1.0}, ValueError, "beta_1 must be < 1"),
        ({"epsilon": 0.0}, ValueError, "epsilon must be > 0"),
        ({"n_iter_no_change": 0}, ValueError, r"n_iter_no_change \(or np.inf\) must be >= 1"),
        ({"n_iter_no_change": 2.5}, TypeError, "n_iter_no_change"),
        ({"max_fun": 0}, ValueError, "max_fun must be >= 1"),
        ({"dtype": "int32"}, ValueError, "dtype must be 'float32' or 'float64'"),
        ({"random_state": "x"}, TypeError, "random_state must be None"),
        ({"output_activation": "relu"}, ValueError, "does not go with loss='cross_entropy'"),
    ],
)
def test_bad_hyperparameters_are_reported_in_fit(fitted, moons, params, error, match):
    x, y = moons
    estimator = clone(fitted).set_params(**params)  # __init__ accepted them
    with pytest.raises(error, match=match):
        estimator.fit(x, y)
    assert not hasattr(estimator, "network_")


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.ones((2, 3)), "X has 3 features, but NeuralNetworkClassifier is expecting 2 features"),
        (np.array([[np.nan, 0.0]]), "Input X contains NaN"),
        (np.ones(2), "Expected 2D array"),
    ],
)
def test_predict_rejects_bad_input(fitted, x, match):
    with pytest.raises(ValueError, match=match):
        fitted.predict(x)


def test_unfitted_estimator_raises_not_fitted():
    with pytest.raises(NotFittedError):
        NeuralNetworkRegressor().predict(np.ones((1, 2)))


def test_inputs_are_not_modified(moons):
    x, y = moons
    x = np.asfortranarray(x.copy())
    y = y.copy()
    x.setflags(write=False)
    y.setflags(write=False)
    x_before, y_before = x.copy(), y.copy()
    weights = np.ones(len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        NeuralNetworkClassifier(
            hidden_layer_sizes=(4,), max_iter=2, random_state=0, dtype="float32"
        ).fit(x, y, sample_weight=weights)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(weights, 1.0)


# ------------------------------------------------------------------ properties
@pytest.fixture(scope="module")
def fitted_models(moons):
    x, y = moons
    y3 = (x[:, 0] > 0).astype(int) + y
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for labels, params in [
            (y, {}),
            (y3, {}),
            (y3, {"loss": "mse"}),
            (y3, {"loss": "mse", "output_activation": "identity"}),
        ]:
            models.append(
                NeuralNetworkClassifier(
                    hidden_layer_sizes=(8, 8), max_iter=10, random_state=0, **params
                ).fit(x, labels)
            )
    return models


@settings(max_examples=150, deadline=None)
@given(
    data=arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.just(2)),
        elements=st.floats(
            min_value=-1e308, max_value=1e308, allow_nan=False, allow_infinity=False
        ),
    ),
    model=st.integers(0, 3),
)
def test_predict_proba_rows_are_distributions_for_any_finite_input(fitted_models, data, model):
    estimator = fitted_models[model]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning either
        proba = estimator.predict_proba(data)
    assert proba.shape == (data.shape[0], len(estimator.classes_))
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(estimator.predict(data), estimator.classes_[proba.argmax(axis=1)])


@settings(max_examples=50, deadline=None)
@given(
    data=arrays(
        np.float32,
        st.tuples(st.integers(1, 6), st.just(2)),
        elements=st.floats(
            min_value=-3.3999999521443642e38,
            max_value=3.3999999521443642e38,
            allow_nan=False,
            allow_infinity=False,
            width=32,
        ),
    )
)
def test_float32_predict_proba_rows_are_distributions(moons, data):
    x, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = NeuralNetworkClassifier(
            hidden_layer_sizes=(8,), activation="tanh", dtype="float32", max_iter=5, random_state=0
        ).fit(x, y)
    proba = estimator.predict_proba(data)
    assert np.all(proba >= 0) and np.all(proba <= 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_float64_values_beyond_float32_are_an_error_for_a_float32_model(moons):
    x, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = NeuralNetworkClassifier(
            hidden_layer_sizes=(4,), dtype="float32", max_iter=2, random_state=0
        ).fit(x, y)
    with pytest.raises(ValueError, match="too large for dtype\\('float32'\\)"):
        estimator.predict([[1e300, 0.0]])


def test_regression_overflow_warns(moons):
    x, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator = NeuralNetworkRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
            x, y.astype(float)
        )
    estimator.network_.parameters[...] = 10.0
    with pytest.warns(RuntimeWarning, match="overflowed .* for 1 sample"):
        estimator.predict([[1e308, -1e308], [0.0, 0.0]])


def test_a_first_fit_that_diverges_leaves_the_estimator_unfitted():
    from sklearn.exceptions import NotFittedError

    x = np.random.default_rng(0).normal(size=(40, 2)) * 1e3
    y = np.random.default_rng(1).normal(size=40) * 1e3
    model = NeuralNetworkRegressor(
        hidden_layer_sizes=(8,),
        activation="identity",
        solver="sgd",
        learning_rate_init=10.0,
        momentum=0.0,
        max_iter=5,
        random_state=0,
    )
    with pytest.raises(gn.NonFiniteLossError), np.errstate(all="ignore"):
        model.fit(x, y)
    assert not hasattr(model, "network_")
    with pytest.raises(NotFittedError):
        model.predict(x)


def test_large_regression_targets_get_advice():
    x = np.random.default_rng(0).normal(size=(30, 2))
    y = 1e6 + 1e5 * x[:, 0]
    with pytest.warns(
        UserWarning, match=r"targets are of order 9.88e\+05.*TransformedTargetRegressor"
    ) as caught:
        NeuralNetworkRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(x, y)
    advice = [w for w in caught if "targets are of order" in str(w.message)]
    assert advice[0].filename.endswith("test_estimators.py")  # pointing at the caller's line
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="the regression targets")
        warnings.simplefilter("ignore", ConvergenceWarning)
        NeuralNetworkRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(x, x[:, 0])


def test_estimator_predictions_from_eight_threads_equal_serial_ones():

    x = np.random.default_rng(0).normal(size=(200, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    model = NeuralNetworkClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0).fit(x, y)
    parts = [x[i * 25 : (i + 1) * 25] for i in range(8)]
    expected = [(model.predict(p), model.predict_proba(p)) for p in parts]
    wrong = []

    def work(index):
        for _ in range(40):
            labels, probabilities = model.predict(parts[index]), model.predict_proba(parts[index])
            if not (
                np.array_equal(labels, expected[index][0])
                and np.array_equal(probabilities, expected[index][1])
            ):
                wrong.append(index)

    run_in_threads(work, 8)
    assert wrong == []


def test_estimators_refuse_masked_values():
    x = np.ma.masked_array(np.random.default_rng(0).normal(size=(20, 2)))
    y = np.arange(20) % 2
    x[3, 1] = np.ma.masked
    with pytest.raises(ValueError, match="X is a masked array with 1 masked value"):
        NeuralNetworkClassifier(max_iter=2).fit(x, y)
    model = NeuralNetworkClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(x.filled(0.0), y)
    with pytest.raises(ValueError, match="X is a masked array"):
        model.predict(x)


def test_poisson_regression_on_counts_is_close_to_scikit_learns():
    from sklearn.metrics import mean_poisson_deviance
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = rng.poisson(np.exp(X @ np.array([0.5, -0.3, 0.2]) + 0.5))
    settings = {"hidden_layer_sizes": (8,), "max_iter": 300, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # sklearn initialises every layer Glorot-like; "auto" gives ReLU layers He (see report)
        ours = NeuralNetworkRegressor(loss="poisson", weight_init="glorot_uniform", **settings).fit(
            X, y
        )
        theirs = MLPRegressor(loss="poisson", **settings).fit(X, y)
    assert ours.network_.layers[-1].activation.name == "exp"
    predicted = ours.predict(X)
    assert (predicted > 0).all()
    deviance = mean_poisson_deviance(y, predicted)
    assert deviance < 0.8 * mean_poisson_deviance(y, np.full(len(y), y.mean()))
    assert deviance < 1.3 * mean_poisson_deviance(y, theirs.predict(X))
    with pytest.raises(ValueError, match="y for 'poisson' must be non-negative"):
        NeuralNetworkRegressor(loss="poisson", max_iter=1).fit(X, -y)


# ---------------------------------------------------------------- solver="lbfgs"
def test_lbfgs_classifier_matches_scikit_learn_on_moons():
    from sklearn.neural_network import MLPClassifier

    X, y = make_moons(400, noise=0.2, random_state=0)
    ours = NeuralNetworkClassifier((16,), "tanh", solver="lbfgs", max_iter=500, random_state=0)
    ours.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier((16,), "tanh", solver="lbfgs", max_iter=500, random_state=0)
        theirs.fit(X, y)
    assert ours.score(X, y) >= 0.95 and ours.score(X, y) >= theirs.score(X, y) - 0.04
    assert ours.n_iter_ == len(ours.loss_curve_) == ours.network_.optimizer.outcome.n_iter
    assert ours.network_.optimizer.get_config() == {
        "name": "lbfgs",
        "max_iter": 500,
        "max_fun": 15000,
        "tol": 1e-4,
    }


def test_lbfgs_warns_when_it_stops_at_max_iter_or_max_fun():
    X, y = make_moons(200, noise=0.2, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"lbfgs failed to converge after 5 iteration"):
        clf = NeuralNetworkClassifier(solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
    assert clf.n_iter_ == 5
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        NeuralNetworkRegressor(solver="lbfgs", max_fun=5, random_state=0).fit(X, y * 1.0)


def test_lbfgs_ignores_early_stopping_and_batch_size_like_scikit_learn():
    X, y = make_moons(150, noise=0.2, random_state=0)
    kwargs = {"solver": "lbfgs", "max_iter": 20, "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = NeuralNetworkClassifier(early_stopping=True, batch_size=7, **kwargs).fit(X, y)
        b = NeuralNetworkClassifier(**kwargs).fit(X, y)
    np.testing.assert_array_equal(a.network_.parameters, b.network_.parameters)
    assert a.validation_scores_ is None


def test_lbfgs_max_fun_is_validated():
    X, y = make_moons(50, random_state=0)
    for bad in (0, 2.5, "many"):
        with pytest.raises((ValueError, TypeError), match="max_fun"):
            NeuralNetworkClassifier(solver="lbfgs", max_fun=bad).fit(X, y)
    with pytest.raises(ValueError, match="solver must be one of 'adam', 'sgd', 'lbfgs', 'adamw'"):
        NeuralNetworkClassifier(solver="newton").fit(X, y)


def test_lbfgs_estimator_saves_and_loads(tmp_path):
    X, y = make_moons(100, noise=0.2, random_state=0)
    clf = NeuralNetworkClassifier((8,), solver="lbfgs", max_fun=4000, random_state=0).fit(X, y)
    gn.save(clf, tmp_path / "c.safetensors")
    loaded = gn.load(tmp_path / "c.safetensors")
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


# ---------------------------------------------------------------- multilabel (indicator y)
@pytest.fixture(scope="module")
def multilabel():
    from sklearn.datasets import make_multilabel_classification
    from sklearn.model_selection import train_test_split

    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    return train_test_split(X, Y, random_state=0)


def test_multilabel_scores_like_mlpclassifier(multilabel):
    from sklearn.metrics import hamming_loss
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, Y_train, Y_test = multilabel
    ours, theirs = [], []
    for seed in range(3):  # averaged: one seed's subset accuracy varies by several points
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = NeuralNetworkClassifier((50,), max_iter=300, random_state=seed)
            mlp = MLPClassifier((50,), max_iter=300, random_state=seed)
            clf.fit(X_train, Y_train)
            mlp.fit(X_train, Y_train)
        for model, scores in ((clf, ours), (mlp, theirs)):
            scores.append(
                (model.score(X_test, Y_test), hamming_loss(Y_test, model.predict(X_test)))
            )
    (subset, hamming), (their_subset, their_hamming) = np.mean(ours, 0), np.mean(theirs, 0)
    assert subset > 0.4 and hamming < 0.25
    assert abs(subset - their_subset) < 0.08
    assert abs(hamming - their_hamming) < 0.04
    np.testing.assert_array_equal(clf.classes_, mlp.classes_)
    assert clf.out_activation_ == "logistic"
    assert clf.network_.loss.name == "binary_cross_entropy"


def test_multilabel_shapes_and_dtypes(multilabel):
    X_train, X_test, Y_train, _ = multilabel
    for loss in ("cross_entropy", "mse"):
        clf = NeuralNetworkClassifier((8,), loss=loss, max_iter=20, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X_train, Y_train)
        np.testing.assert_array_equal(clf.classes_, np.arange(4))
        predicted, proba = clf.predict(X_test), clf.predict_proba(X_test)
        assert predicted.shape == proba.shape == (len(X_test), 4)
        assert predicted.dtype == np.int64 and set(np.unique(predicted)) <= {0, 1}
        assert proba.dtype == np.float64 and ((proba >= 0) & (proba <= 1)).all()
        np.testing.assert_array_equal(predicted, (proba > 0.5).astype(int))
        assert clf.network_.n_outputs == 4 and clf.out_activation_ == "logistic"
        assert clf.predict_log_proba(X_test).shape == (len(X_test), 4)


@pytest.mark.parametrize(
    "bad",
    [
        lambda Y: Y * 2,  # 0/2
        lambda Y: Y + 1,  # 1/2
        lambda Y: Y * 0.5,  # 0/0.5
        lambda Y: np.where(Y == 1, 3, Y) + np.eye(len(Y), 4, dtype=int),  # 0/1/3
    ],
)
def test_multilabel_refuses_values_other_than_0_and_1(multilabel, moons, bad):
    X_train, _, Y_train, _ = multilabel
    clf = NeuralNetworkClassifier((4,), max_iter=5, random_state=0)
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        clf.fit(X_train, bad(Y_train))
    assert not hasattr(clf, "network_") and not hasattr(clf, "classes_")
    fitted = NeuralNetworkClassifier((4,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X_train, Y_train)
    before = estimator_state(fitted)
    with pytest.raises(ValueError, match="must hold only 0 and 1"):
        fitted.fit(X_train, bad(Y_train))
    assert_estimator_unchanged(fitted, before)


def test_multilabel_saves_and_loads(multilabel, tmp_path):
    X_train, X_test, Y_train, _ = multilabel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NeuralNetworkClassifier((8,), max_iter=30, random_state=0).fit(X_train, Y_train)
    path = tmp_path / "multilabel.safetensors"
    gn.save(clf, path)
    loaded = gn.load(path)
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    np.testing.assert_array_equal(loaded.predict(X_test), clf.predict(X_test))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    assert loaded.predict(X_test).shape == (len(X_test), 4)
    pickled = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(pickled.predict(X_test), clf.predict(X_test))


def test_multilabel_file_says_so_and_is_validated(multilabel, tmp_path):
    from glassnet import io
    from glassnet.files import container

    X_train, _, Y_train, _ = multilabel
    y_multiclass = Y_train.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NeuralNetworkClassifier((8,), max_iter=5, random_state=0).fit(X_train, Y_train)
        plain = NeuralNetworkClassifier((8,), max_iter=5, random_state=0).fit(X_train, y_multiclass)
    path, plain_path = tmp_path / "multilabel.safetensors", tmp_path / "plain.safetensors"
    gn.save(clf, path)
    gn.save(plain, plain_path)
    document, tensors = io.read_file(path)
    assert document["estimator"]["multilabel"] is True
    assert document["estimator"]["classes"]["values"] == [0, 1, 2, 3]
    assert "multilabel" not in io.read_file(plain_path)[0]["estimator"]  # as older files
    edits = {
        "not a bool": ("multilabel", "yes", "multilabel must be true or false"),
        "flag dropped": ("multilabel", None, "classes do not match|needs 2 classes"),
        "labels not indices": ("classes", {"dtype": "int64", "values": [1, 2, 3, 4]}, "0 … n"),
    }
    for key, value, match in edits.values():
        changed = json.loads(json.dumps(document))
        if value is None:
            del changed["estimator"][key]
        else:
            changed["estimator"][key] = value
        doctored = tmp_path / "doctored.safetensors"
        doctored.write_bytes(container.serialise(changed, tensors))
        with pytest.raises(gn.ModelFileError, match=match):
            gn.load(doctored)


def test_multilabel_warm_start_and_partial_fit_switching_refused(multilabel):
    X_train, _, Y_train, _ = multilabel
    y_multiclass = Y_train.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = NeuralNetworkClassifier((4,), max_iter=5, warm_start=True, random_state=0)
        clf.fit(X_train, Y_train)
        before = estimator_state(clf)
        with pytest.raises(ValueError, match="cannot switch from multilabel to multiclass"):
            clf.fit(X_train, y_multiclass)
        assert_estimator_unchanged(clf, before)
        with pytest.raises(ValueError, match="same labels as before"):
            clf.fit(X_train, Y_train[:, :3])
        assert_estimator_unchanged(clf, before)
        other = NeuralNetworkClassifier((4,), max_iter=5, warm_start=True, random_state=0)
        other.fit(X_train, y_multiclass)
        before = estimator_state(other)
        with pytest.raises(ValueError, match="cannot switch from multiclass to multilabel"):
            other.fit(X_train, Y_train)
        assert_estimator_unchanged(other, before)
        # without warm_start a new fit may change kind
        NeuralNetworkClassifier((4,), max_iter=5, random_state=0).fit(X_train, Y_train).fit(
            X_train, y_multiclass
        )


def test_multilabel_partial_fit(multilabel):
    X_train, X_test, Y_train, _ = multilabel
    clf = NeuralNetworkClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X_train, Y_train)
    with pytest.raises(ValueError, match="label indices"):
        clf.partial_fit(X_train, Y_train, classes=[0, 1])
    assert not hasattr(clf, "network_")
    clf.partial_fit(X_train, Y_train, classes=np.arange(4))
    clf.partial_fit(X_train[:50], Y_train[:50])
    assert clf.predict(X_test).shape == (len(X_test), 4)
    with pytest.raises(ValueError, match="cannot switch from multilabel to multiclass"):
        clf.partial_fit(X_train, Y_train.argmax(axis=1))


def test_multilabel_early_stopping(multilabel):
    X_train, _, Y_train, _ = multilabel
    clf = NeuralNetworkClassifier((8,), early_stopping=True, max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, Y_train)
    held_out = clf.validation_scores_
    assert held_out and all(0 <= s <= 1 for s in held_out)
    with pytest.raises(ValueError, match="early_stopping with a multilabel y"):
        NeuralNetworkClassifier((8,), loss="mse", early_stopping=True).fit(X_train, Y_train)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.array([[0, 1], [1, 1], [0, 1], [1, 1]]), "label column 1 is constant"),
        (np.array([[0, 2], [1, 0], [0, 1], [1, 0]]), "must hold only 0 and 1"),
    ],
)
def test_bad_multilabel_targets_are_refused_and_change_nothing(fitted, y, match):
    x = np.arange(8.0).reshape(4, 2)
    before = estimator_state(fitted)
    with pytest.raises(ValueError, match=match):
        fitted.fit(x, y)
    assert_estimator_unchanged(fitted, before)


def test_partial_fit_is_only_for_the_stochastic_solvers_and_not_with_early_stopping(moons):
    x, y = moons
    assert not hasattr(NeuralNetworkClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(NeuralNetworkRegressor(solver="lbfgs"), "partial_fit")
    estimator = NeuralNetworkClassifier(early_stopping=True, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x, y)
    before = estimator_state(estimator)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        estimator.partial_fit(x, y)
    assert_estimator_unchanged(estimator, before)
    assert estimator.best_loss_ is None and len(estimator.validation_scores_) == 3


def test_verbose_prints_scikit_learn_s_lines(capsys, moons):
    x, y = moons
    estimator = NeuralNetworkClassifier(max_iter=2, verbose=True, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(x, y)
    out, err = capsys.readouterr()
    # glassnet's one line first (which code trains), then scikit-learn's lines as it words them
    path = estimator.network_.training_path
    assert out.splitlines()[:3] == [
        f"Training path: {path} (backend='auto')",
        f"Iteration 1, loss = {estimator.loss_curve_[0]:.8f}",
        f"Validation score: {estimator.validation_scores_[0]:f}",
    ]
    assert err == ""
