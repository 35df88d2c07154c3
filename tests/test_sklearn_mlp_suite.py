"""scikit-learn's own tests of its MLP, run on glassnet's estimators.

The test file is the installed scikit-learn's ``sklearn/neural_network/tests/test_mlp.py``,
imported (not copied) while ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` name
glassnet's :class:`NeuralNetworkClassifier` and :class:`NeuralNetworkRegressor`: the two class
names are the only change, so every ``make test`` measures how far glassnet is a drop-in
replacement. The tests that build or read scikit-learn's private state (listed in
``PRIVATE_ONLY`` and in the README) are the only ones left out, and a test below checks that
each of them really does.
"""

from __future__ import annotations

import importlib.util
import inspect
import types

import pytest
import sklearn.neural_network
import sklearn.neural_network.tests.test_mlp as installed

from glassnet.estimators import NeuralNetworkClassifier, NeuralNetworkRegressor

#: tests that need scikit-learn's private attributes, with what they use
PRIVATE_ONLY = {
    "test_fit": "sets coefs_ and private attributes (_coef_grads, _coef_velocity, ...) by hand",
    "test_gradient": "calls the private _loss_grad_lbfgs with scikit-learn's packed layout",
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
    if _name not in PRIVATE_ONLY:
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
