"""AdamW, RMSprop and Adagrad against their definitions: each update re-derived in NumPy here
(scikit-learn's habit for its optimizers), and torch.optim itself (opt-in:
``@pytest.mark.torch``), through both backends' ``update`` piece, a whole training run
inside ``train_epochs``, and the run's snapshot on divergence.
"""

import numpy as np
import pytest

import nnfast
from nnfast import _backend, _reference
from nnfast._spec import ADAGRAD, ADAM, ADAMW, RMSPROP, Hyper, OptimizerState

F32_EPS = float(np.finfo(np.float32).eps)

HYPERS = {
    "adamw": Hyper(0.01, optimizer=ADAMW, weight_decay=0.1),
    "adamw_custom": Hyper(
        0.003, optimizer=ADAMW, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.5
    ),
    "rmsprop": Hyper(0.01, optimizer=RMSPROP),
    "rmsprop_centered": Hyper(0.01, optimizer=RMSPROP, rho=0.9, centered=True),
    "rmsprop_momentum": Hyper(0.01, optimizer=RMSPROP, rho=0.95, momentum=0.7),
    "rmsprop_centered_momentum": Hyper(0.005, optimizer=RMSPROP, momentum=0.9, centered=True),
    "adagrad": Hyper(0.1, optimizer=ADAGRAD),
    "adagrad_initial": Hyper(0.1, optimizer=ADAGRAD, epsilon=1e-6, initial_accumulator_value=0.5),
}


def by_formula(hyper, params, grads):
    """The parameters after one step per gradient, written from the papers' formulas."""
    p = params.copy()
    m, v, g_avg = np.zeros_like(p), np.full_like(p, hyper.initial_accumulator_value), 0 * p
    if hyper.optimizer != ADAGRAD:
        v[:] = 0.0
    for t, g in enumerate(grads, start=1):
        if hyper.optimizer == ADAMW:
            p = p - hyper.learning_rate * hyper.weight_decay * p
            m = hyper.beta_1 * m + (1 - hyper.beta_1) * g
            v = hyper.beta_2 * v + (1 - hyper.beta_2) * g**2
            m_hat, v_hat = m / (1 - hyper.beta_1**t), v / (1 - hyper.beta_2**t)
            p = p - hyper.learning_rate * m_hat / (np.sqrt(v_hat) + hyper.epsilon)
        elif hyper.optimizer == RMSPROP:
            v = hyper.rho * v + (1 - hyper.rho) * g**2
            if hyper.centered:
                g_avg = hyper.rho * g_avg + (1 - hyper.rho) * g
                scale = np.sqrt(v - g_avg**2) + hyper.epsilon
            else:
                scale = np.sqrt(v) + hyper.epsilon
            if hyper.momentum:
                m = hyper.momentum * m + g / scale
                p = p - hyper.learning_rate * m
            else:
                p = p - hyper.learning_rate * g / scale
        else:
            v = v + g**2
            p = p - hyper.learning_rate * g / (np.sqrt(v) + hyper.epsilon)
    return p


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def steps(pieces, hyper, params, grads, dtype=np.float64):
    p = params.astype(dtype)
    state = OptimizerState(p.size, hyper, dtype)
    for g in grads:
        pieces.update(hyper, p, g.astype(dtype), state)
    return p, state


def problem(n=30, n_steps=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), rng.normal(size=(n_steps, n)) * rng.uniform(0.01, 3.0, n)


@pytest.mark.parametrize("name", HYPERS)
def test_update_by_formula(pieces, name):
    hyper = HYPERS[name]
    params, grads = problem()
    got, state = steps(pieces, hyper, params, grads)
    np.testing.assert_allclose(got, by_formula(hyper, params, grads), rtol=1e-12, atol=1e-14)
    assert state.step[0] == len(grads)


@pytest.mark.parametrize("name", HYPERS)
def test_float32_update_against_the_float32_reference(name, cython_kernels):
    hyper = HYPERS[name]
    params, grads = problem()
    k32 = _backend.kernels("cython", "float32").pieces
    (p_c, s_c), (p_r, s_r) = (
        steps(m, hyper, params, grads, np.float32) for m in (k32, _reference.pieces)
    )
    assert p_c.dtype == np.float32 and s_c.v.dtype == np.float32
    np.testing.assert_allclose(p_c, p_r, rtol=0, atol=8 * F32_EPS * len(grads) * 4)
    np.testing.assert_allclose(
        p_c, by_formula(hyper, params, grads), rtol=0, atol=8 * F32_EPS * len(grads) * 4
    )


def test_adamw_without_decay_is_adam_bit_for_bit(pieces):
    params, grads = problem()
    adam, _ = steps(pieces, Hyper(0.01, optimizer=ADAM), params, grads)
    adamw, _ = steps(pieces, Hyper(0.01, optimizer=ADAMW, weight_decay=0.0), params, grads)
    np.testing.assert_array_equal(adamw, adam)


def test_optimizer_objects_and_their_checks():
    assert nnfast.optimizers.get("adamw").hyper() == dict(
        optimizer=ADAMW, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.01
    )
    assert nnfast.optimizers.get("rmsprop").hyper() == dict(
        optimizer=RMSPROP, rho=0.99, epsilon=1e-8, momentum=0.0, centered=False
    )
    assert nnfast.optimizers.get("adagrad").hyper() == dict(
        optimizer=ADAGRAD, epsilon=1e-10, initial_accumulator_value=0.0
    )
    assert repr(nnfast.RMSprop(centered=True)) == (
        "RMSprop(rho=0.99, epsilon=1e-08, momentum=0.0, centered=True)"
    )
    for bad, message in (
        (lambda: nnfast.AdamW(weight_decay=-1), "weight_decay"),
        (lambda: nnfast.RMSprop(rho=1.0), "rho"),
        (lambda: nnfast.RMSprop(momentum=1.5), "momentum"),
        (lambda: nnfast.Adagrad(epsilon=0), "epsilon"),
        (lambda: nnfast.Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
        (lambda: nnfast.optimizers.get("lamb"), "adagrad"),
    ):
        with pytest.raises(ValueError, match=message):
            bad()
    with pytest.raises(TypeError, match="centered must be True or False"):
        nnfast.RMSprop(centered="yes")


@pytest.mark.torch
@pytest.mark.parametrize("name", HYPERS)
def test_update_matches_torch_optim(pieces, name):
    """The parameters after 40 steps equal torch.optim's: 1e-10, the Adam family 1e-8."""
    import torch

    hyper = HYPERS[name]
    params, grads = problem(n_steps=40, seed=1)
    tensor = torch.tensor(params, requires_grad=True)
    if hyper.optimizer == ADAMW:
        opt = torch.optim.AdamW(
            [tensor],
            lr=hyper.learning_rate,
            betas=(hyper.beta_1, hyper.beta_2),
            eps=hyper.epsilon,
            weight_decay=hyper.weight_decay,
        )
    elif hyper.optimizer == RMSPROP:
        opt = torch.optim.RMSprop(
            [tensor],
            lr=hyper.learning_rate,
            alpha=hyper.rho,
            eps=hyper.epsilon,
            momentum=hyper.momentum,
            centered=hyper.centered,
        )
    else:
        opt = torch.optim.Adagrad(
            [tensor],
            lr=hyper.learning_rate,
            eps=hyper.epsilon,
            initial_accumulator_value=hyper.initial_accumulator_value,
        )
    for g in grads:
        tensor.grad = torch.tensor(g)
        opt.step()
    got, _ = steps(pieces, hyper, params, grads)
    tol = 1e-8 if hyper.optimizer == ADAMW else 1e-10
    np.testing.assert_allclose(got, tensor.detach().numpy(), rtol=tol, atol=tol)


def network_and_data(seed=2):
    net = nnfast.Network([4, 6, 3], activation="tanh", output_activation="identity", seed=seed)
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(32, 4)), rng.normal(size=(32, 3))
    return net, X, Y


OPTIMIZER_OBJECTS = {
    "adamw": nnfast.AdamW(weight_decay=0.05),
    "rmsprop_centered_momentum": nnfast.RMSprop(rho=0.9, momentum=0.5, centered=True),
    "adagrad": nnfast.Adagrad(initial_accumulator_value=0.1),
}


@pytest.mark.torch
@pytest.mark.parametrize("name", OPTIMIZER_OBJECTS)
def test_training_inside_the_kernel_matches_torch(name, backend):
    """Net.train, whole epochs inside train_epochs (full batch, in order), against the same
    network trained by torch.optim."""
    import torch

    net, X, Y = network_and_data()
    layers = [
        torch.tensor(a, requires_grad=True)
        for a in (net.weights[0], net.biases[0], net.weights[1], net.biases[1])
    ]
    optimizer = OPTIMIZER_OBJECTS[name]
    lr = 0.01
    if name == "adamw":
        opt = torch.optim.AdamW(layers, lr=lr, weight_decay=optimizer.weight_decay)
    elif name.startswith("rmsprop"):
        opt = torch.optim.RMSprop(layers, lr=lr, alpha=optimizer.rho, momentum=0.5, centered=True)
    else:
        opt = torch.optim.Adagrad(layers, lr=lr, initial_accumulator_value=0.1)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(25):
        opt.zero_grad()
        W1, b1, W2, b2 = layers
        loss = torch.mean((torch.tanh(Xt @ W1 + b1) @ W2 + b2 - Yt) ** 2)
        loss.backward()
        opt.step()
    net.train(
        X, Y, epochs=25, learning_rate=lr, batch_size=None, shuffle=False, optimizer=optimizer
    )
    want = np.concatenate([t.detach().numpy().ravel() for t in layers[::2] + layers[1::2]])
    np.testing.assert_allclose(net.parameters, want, rtol=1e-8, atol=1e-10)


@pytest.mark.filterwarnings("ignore:(overflow|invalid value):RuntimeWarning")
@pytest.mark.parametrize("name", OPTIMIZER_OBJECTS)
def test_divergence_restores_every_moment(name, backend):
    """A run whose second epoch diverges ends at the first epoch's parameters and moments
    (RMSprop's third buffer, g_avg, too), as if it had run one epoch."""
    kernels = _backend.kernels()
    net, X, Y = network_and_data()
    hyper = Hyper(0.01, **OPTIMIZER_OBJECTS[name].hyper())
    results = []
    for epochs, explode in ((1, False), (3, True)):
        params = net.parameters.copy()
        state = OptimizerState(net.spec.n_params, hyper)
        workspace = kernels.Workspace(net.spec, 32, 8)
        Yrun = Y.copy()
        history = np.zeros((epochs, 2))
        rng = np.random.default_rng(0)
        if explode:  # the second epoch meets targets that overflow the loss
            kernels.train_epochs(
                net.spec, params, X, Yrun, 1, 8, True, state, hyper, rng, workspace, history
            )
            Yrun[:] = 1e300
            done = kernels.train_epochs(
                net.spec, params, X, Yrun, 2, 8, True, state, hyper, rng, workspace, history
            )
            assert workspace.diverged and done == 1
        else:
            kernels.train_epochs(
                net.spec, params, X, Yrun, 1, 8, True, state, hyper, rng, workspace, history
            )
        results.append((params, state))
    (p1, s1), (p3, s3) = results
    np.testing.assert_array_equal(p3, p1)
    for moment in ("m", "v", "g_avg"):
        np.testing.assert_array_equal(getattr(s3, moment), getattr(s1, moment))
    assert s3.step[0] == s1.step[0] == 4
    used = nnfast._spec.state_buffers(hyper)
    assert all(np.abs(getattr(s1, moment)).max() > 0 for moment in used)
