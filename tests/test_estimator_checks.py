"""scikit-learn's own estimator checks, with no expected failures.

The default estimators are checked, plus configurations that exercise the other solvers, losses,
activations and float32. Two configurations are left out on purpose, because fitting with integer
weights cannot equal fitting on repeated samples there: ``early_stopping=True`` (the held-out
validation samples differ) and float32 (sums in another order round differently, by ~1e-7,
which is the check's rtol). Both are tested in test_estimators.py instead.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from glassnet import NeuralNetworkClassifier, NeuralNetworkRegressor


@parametrize_with_checks(
    [
        NeuralNetworkClassifier(),
        NeuralNetworkRegressor(),
        NeuralNetworkClassifier(
            hidden_layer_sizes=(16, 8),
            solver="sgd",
            learning_rate_init=0.1,
            loss="mse",
            activation="tanh",
            random_state=0,
        ),
        NeuralNetworkClassifier(solver="adamw", activation="leaky_relu", random_state=0),
        NeuralNetworkRegressor(
            hidden_layer_sizes=(),
            loss="huber",
            solver="sgd",
            learning_rate_init=0.01,
            random_state=0,
        ),
        NeuralNetworkClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0),
        NeuralNetworkRegressor(hidden_layer_sizes=(8,), solver="lbfgs", tol=1e-2, random_state=0),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
