import numpy as np
import pytest

from glassnet import optimizers, schedules

rng = np.random.default_rng(0)


def run(optimizer, steps=5, dtype=np.float64):
    """Apply ``optimizer`` to a random parameter with a fresh random gradient each step."""
    gen = np.random.default_rng(1)
    param = gen.normal(size=(4, 3)).astype(dtype)
    start = param.copy()
    grads = [gen.normal(size=(4, 3)).astype(dtype) for _ in range(steps)]
    for grad in grads:
        optimizer.step([param], [grad])
    return start, grads, param


def test_sgd():
    start, grads, param = run(optimizers.SGD(learning_rate=0.1))
    expected = start.copy()
    for g in grads:
        expected -= 0.1 * g
    np.testing.assert_allclose(param, expected, rtol=1e-14)


def test_sgd_momentum():
    start, grads, param = run(optimizers.SGD(learning_rate=0.1, momentum=0.9))
    p, v = start.copy(), np.zeros_like(start)
    for g in grads:
        v = 0.9 * v - 0.1 * g
        p = p + v
    np.testing.assert_allclose(param, p, rtol=1e-13)


def test_sgd_nesterov():
    start, grads, param = run(optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True))
    p, v = start.copy(), np.zeros_like(start)
    for g in grads:
        v = 0.9 * v - 0.1 * g
        p = p + 0.9 * v - 0.1 * g
    np.testing.assert_allclose(param, p, rtol=1e-13)


def adam_reference(start, grads, lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
    p, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, start=1):
        p = p - lr * weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        # the paper's efficient form: epsilon next to sqrt(v), not sqrt(v_hat)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - b2**t))
    return p, m, v


def test_adam():
    opt = optimizers.Adam(learning_rate=0.01)
    start, grads, param = run(opt)
    p, m, v = adam_reference(start, grads, 0.01)
    np.testing.assert_allclose(param, p, rtol=1e-12)
    state = opt.state_dict()
    np.testing.assert_allclose(state["slots"][0]["m"], m, rtol=1e-12)
    np.testing.assert_allclose(state["slots"][0]["v"], v, rtol=1e-12)
    assert state["iterations"] == 5


def test_adamw_decays_decoupled():
    start, grads, param = run(optimizers.AdamW(learning_rate=0.01, weight_decay=0.1))
    p, _, _ = adam_reference(start, grads, 0.01, weight_decay=0.1)
    np.testing.assert_allclose(param, p, rtol=1e-12)
    # with no gradient signal, AdamW still shrinks the parameters; Adam does not
    zero = [np.zeros((4, 3))]
    w_adamw, w_adam = [np.ones((4, 3))], [np.ones((4, 3))]
    optimizers.AdamW(learning_rate=0.1, weight_decay=0.5).step(w_adamw, zero)
    optimizers.Adam(learning_rate=0.1).step(w_adam, zero)
    np.testing.assert_allclose(w_adamw[0], 0.95)
    np.testing.assert_allclose(w_adam[0], 1.0)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_float32_stays_float32(name):
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    opt = optimizers.get(name, **kwargs)
    _, _, param = run(opt, dtype=np.float32)
    assert param.dtype == np.float32
    for slot in opt.state_dict()["slots"]:
        for array in slot.values():
            assert array.dtype == np.float32


def test_schedule_drives_the_learning_rate():
    schedule = schedules.ExponentialDecay(0.1, decay_rate=0.5, decay_steps=1)
    opt = optimizers.SGD(learning_rate=schedule)
    start, grads, param = run(opt, steps=3)
    expected = start - 0.1 * grads[0] - 0.05 * grads[1] - 0.025 * grads[2]
    np.testing.assert_allclose(param, expected, rtol=1e-14)
    assert opt.current_learning_rate == pytest.approx(0.0125)


def test_state_dict_round_trip_continues_identically():
    a = optimizers.Adam(learning_rate=0.05)
    b = optimizers.Adam(learning_rate=0.05)
    pa, pb = [np.ones(5)], [np.ones(5)]
    for _ in range(3):
        a.step(pa, [np.arange(5.0)])
    b.load_state_dict(a.state_dict())
    pb[0][...] = pa[0]
    for _ in range(2):
        a.step(pa, [np.arange(5.0) - 1])
        b.step(pb, [np.arange(5.0) - 1])
    np.testing.assert_array_equal(pa[0], pb[0])


def test_bad_state_is_rejected():
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="needs slots"):
        opt.load_state_dict({"iterations": 1, "slots": [{"m": np.zeros(2)}]})
    with pytest.raises(ValueError, match="non-negative integer"):
        opt.load_state_dict({"iterations": -1, "slots": []})
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(
            {"iterations": 1, "slots": [{"m": np.zeros(2), "v": np.zeros(2)}]}, params=[np.zeros(3)]
        )


def test_invalid_hyperparameters():
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        optimizers.SGD(learning_rate=0)
    with pytest.raises(ValueError, match="momentum must be <= 1"):
        optimizers.SGD(momentum=1.5)
    assert optimizers.SGD(momentum=1.0).momentum == 1.0  # allowed, as scikit-learn's MLP
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        optimizers.SGD(nesterov=True)
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'.*adam.*sgd"):
        optimizers.get("rmsprop")


def test_config_round_trip():
    opt = optimizers.SGD(learning_rate=0.3, momentum=0.5, nesterov=True)
    assert optimizers.get(opt.get_config()).get_config() == opt.get_config()
    sched = optimizers.Adam(learning_rate=schedules.CosineDecay(0.1, 100))
    assert optimizers.get(sched.get_config()).get_config() == sched.get_config()


# ---------------------------------------------------------------- L-BFGS
def test_lbfgs_config_round_trip_and_no_state():
    lbfgs = optimizers.LBFGS(max_iter=50, max_fun=300, tol=1e-6)
    config = lbfgs.get_config()
    assert config == {"name": "lbfgs", "max_iter": 50, "max_fun": 300, "tol": 1e-6}
    again = optimizers.get(config)
    assert type(again) is optimizers.LBFGS and again.get_config() == config
    assert optimizers.get("lbfgs").get_config()["max_fun"] == 15000
    assert "lbfgs" in optimizers.names()
    assert lbfgs.slot_names == () and lbfgs.state_dict()["slots"] == []
    assert lbfgs != again  # stateful objects, like the others
    assert repr(lbfgs) == "LBFGS(max_iter=50, max_fun=300, tol=1e-06)"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_iter": 0}, "max_iter"),
        ({"max_fun": 0}, "max_fun"),
        ({"max_fun": 1.5}, "max_fun"),
        ({"tol": -1.0}, "tol"),
    ],
)
def test_lbfgs_invalid_settings(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        optimizers.LBFGS(**kwargs)


def test_lbfgs_has_no_per_step_update():
    param, grad = np.zeros(3), np.ones(3)
    with pytest.raises(TypeError, match="whole data at once through train"):
        optimizers.LBFGS().step([param], [grad])
    with pytest.raises(TypeError, match="whole data at once through train"):
        optimizers.LBFGS().stepper([param], [grad])


def test_lbfgs_minimizes_a_quadratic_and_reports():
    target = np.array([1.0, -2.0, 3.0])
    seen = []

    def objective(p):
        return 0.5 * float(np.sum((p - target) ** 2)), p - target

    lbfgs = optimizers.LBFGS(tol=1e-10)
    found, outcome = lbfgs.minimize(objective, np.zeros(3), lambda p, loss: seen.append(loss))
    np.testing.assert_allclose(found, target, atol=1e-8)
    assert outcome.converged and outcome.n_iter == len(seen) == lbfgs.iterations
    assert lbfgs.outcome is outcome


def test_lbfgs_callback_stops_it():
    lbfgs = optimizers.LBFGS()
    _, outcome = lbfgs.minimize(
        lambda p: (float(np.sum(p**4)), 4 * p**3), np.ones(5), lambda p, loss: True
    )
    assert outcome.n_iter == 1 and outcome.status == optimizers.STOPPED
