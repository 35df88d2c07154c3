"""scikit-learn's own tests of its MLP, run on glassnet's estimators.

The test file is the installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py``,
imported (not copied) while ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` name
glassnet's :class:`NeuralNetworkClassifier` and :class:`NeuralNetworkRegressor`: the two class
names are the only change, so every ``make test`` measures how far glassnet is a drop-in
replacement. The tests that build or read scikit-learn's private state (listed in
``PRIVATE_ONLY`` and in the README) are left out, and a test below checks that each of them
really does. So is one test whose assertion holds for some random seeds and not others, on
scikit-learn's MLP as on glassnet's (``SEED_SENSITIVE``): below, a test shows scikit-learn's own
MLP failing it for some seed, and the property it checks is tested over 40 seeds instead.
"""

from __future__ import annotations

import importlib.util
import inspect
import types

import numpy as np
import pytest
import sklearn.neural_network
import sklearn.neural_network.tests.test_mlp as installed

from glassnet.estimators import NeuralNetworkClassifier, NeuralNetworkRegressor

#: tests that need scikit-learn's private attributes, with what they use
PRIVATE_ONLY = {
    "test_fit": "sets coefs_ and private attributes (_coef_grads, _coef_velocity, ...) by hand",
    "test_gradient": "calls the private _loss_grad_lbfgs with scikit-learn's packed layout",
}

#: tests whose assertion depends on the random seed for scikit-learn's MLP too, with why
SEED_SENSITIVE = {
    "test_mlp_regressor_dtypes_casting": (
        "float32 and float64 predictions of one seed's run within rtol 5e-4 and no atol: a "
        "ReLU input that passes within float32's rounding of zero sends the two runs to "
        "different sides of the kink, and a prediction near zero then differs by more than "
        "5e-4 of itself (glassnet with random_state=1 on an Intel Xeon, as in CI's last run: an "
        "input 3.5e-6 from zero at epoch 71, predictions 0.00304 and 0.00306; on the Xeon "
        "scikit-learn's MLP fails seeds 5, 14 and 30 of 0-39, glassnet's 1, 4, 22, 23 and 38)"
    ),
}


def _import_with_glassnet() -> types.ModuleType:
    """Execute the installed test file while scikit-learn's two MLP names are glassnet's
    classes (its parametrisations are evaluated at import), then put them back."""
    spec = importlib.util.spec_from_file_location("glassnet_sklearn_test_mlp", installed.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    package = sklearn.neural_network
    saved = package.MLPClassifier, package.MLPRegressor
    package.MLPClassifier, package.MLPRegressor = NeuralNetworkClassifier, NeuralNetworkRegressor
    try:
        spec.loader.exec_module(module)
    finally:
        package.MLPClassifier, package.MLPRegressor = saved
    return module


_SUITE = _import_with_glassnet()
_TESTS = {name: obj for name, obj in vars(_SUITE).items() if name.startswith("test_")}

# pytest collects the imported test functions from this module's namespace
for _name, _test in _TESTS.items():
    if _name not in PRIVATE_ONLY and _name not in SEED_SENSITIVE:
        globals()[_name] = _test


@pytest.fixture
def global_random_seed() -> int:
    """scikit-learn's fixture, with its default seed."""
    return 42


def test_the_suite_runs_on_glassnet_classes():
    assert _SUITE.MLPClassifier is NeuralNetworkClassifier
    assert _SUITE.MLPRegressor is NeuralNetworkRegressor
    assert sklearn.neural_network.MLPClassifier is not NeuralNetworkClassifier  # put back
    assert len(_TESTS) >= 40  # the whole file was found, not a stub


@pytest.mark.parametrize("name", sorted(PRIVATE_ONLY))
def test_only_tests_of_private_state_are_left_out(name):
    source = inspect.getsource(_TESTS[name])
    assert "mlp._" in source  # it reads or sets a private attribute of the estimator


def _float32_against_float64(estimator, seed):
    """Predictions of the dtype-casting test's regressor trained on float64 and on float32
    input (its data, sizes and settings), for one random seed."""
    x, y = _SUITE.X_digits, _SUITE.y_digits
    params = dict(alpha=1e-5, hidden_layer_sizes=(5, 3), max_iter=150, tol=1e-3)
    params["random_state"] = seed
    wide = estimator(**params).fit(x[:300], y[:300]).predict(x[300:])
    narrow = estimator(**params).fit(x[:300].astype(np.float32), y[:300])
    return wide, narrow.predict(x[300:].astype(np.float32))


def test_seed_sensitive_tests_fail_for_scikit_learn_too():
    """scikit-learn's own MLPRegressor fails the element-wise assertion for some seed: it is a
    property of one run, not of an MLP in float32 (seeds are tried until one fails)."""
    assert set(SEED_SENSITIVE) <= set(_TESTS)
    assert "rtol=5e-04)" in inspect.getsource(_TESTS["test_mlp_regressor_dtypes_casting"])
    for seed in range(200):
        wide, narrow = _float32_against_float64(sklearn.neural_network.MLPRegressor, seed)
        if not np.allclose(narrow, wide, rtol=5e-4, atol=0):
            break
    else:
        pytest.fail("scikit-learn's MLPRegressor passed on 200 seeds: put the test back")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_float32_training_follows_float64_on_every_seed():
    """The dtype-casting test's property on 40 seeds: glassnet's float32 run predicts what its
    float64 run does within 5e-4 of the predictions' scale (the test's rtol, measured against
    the largest prediction rather than each one, so a prediction near zero does not make it a
    test of luck). Measured on an Intel Xeon: at most 5.6e-5 for glassnet, 2.6e-4 for
    scikit-learn."""
    for seed in range(40):
        wide, narrow = _float32_against_float64(NeuralNetworkRegressor, seed)
        assert narrow.dtype == np.float32
        scale = np.abs(wide).max()
        np.testing.assert_allclose(narrow, wide, rtol=0, atol=5e-4 * scale, err_msg=f"seed {seed}")
