"""Gradient clipping, train(clip_norm=..., clip_value=...), against its definition: the
formulas of torch.nn.utils.clip_grad_norm_ and clip_grad_value_ re-derived in NumPy here and
those functions themselves (opt-in: ``@pytest.mark.torch``), through both backends'
``clip_gradient`` piece and whole runs inside ``train_epochs``, per batch and per sample.
"""

import numpy as np
import pytest

import nnfast
from nnfast import _reference
from nnfast._spec import Hyper


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def by_formula(g, clip_norm=None, clip_value=None):
    g = np.asarray(g, dtype=float).copy()
    if clip_value:
        g = np.minimum(np.maximum(g, -clip_value), clip_value)
    if clip_norm:
        coefficient = clip_norm / (np.sqrt((g**2).sum()) + 1e-6)
        g = g * min(coefficient, 1.0)
    return g


CASES = [
    dict(clip_norm=1.0),
    dict(clip_norm=100.0),
    dict(clip_value=0.5),
    dict(clip_norm=0.7, clip_value=0.3),
]


@pytest.mark.parametrize("clip", CASES)
def test_clip_gradient_by_formula(pieces, clip):
    g = np.random.default_rng(0).normal(scale=2.0, size=50)
    hyper = Hyper(0.1, **clip)
    got = pieces.clip_gradient(hyper, g.copy())
    np.testing.assert_allclose(got, by_formula(g, **clip), rtol=1e-14)
    if "clip_norm" in clip:
        assert np.linalg.norm(got) <= clip["clip_norm"]
    if "clip_value" in clip:
        assert np.abs(got).max() <= clip["clip_value"]


@pytest.mark.torch
@pytest.mark.parametrize("clip", CASES)
def test_clip_gradient_matches_torch(pieces, clip):
    """torch clips parameters' gradients: three tensors' worth, as one flat buffer here."""
    import torch

    g = np.random.default_rng(1).normal(scale=2.0, size=60)
    tensors = [torch.zeros(n, dtype=torch.float64, requires_grad=True) for n in (10, 30, 20)]
    for t, part in zip(tensors, np.split(g, [10, 40])):
        t.grad = torch.tensor(part)
    if "clip_value" in clip:
        torch.nn.utils.clip_grad_value_(tensors, clip["clip_value"])
    if "clip_norm" in clip:
        torch.nn.utils.clip_grad_norm_(tensors, clip["clip_norm"])
    want = np.concatenate([t.grad.numpy() for t in tensors])
    np.testing.assert_allclose(pieces.clip_gradient(Hyper(0.1, **clip), g), want, rtol=1e-13)


def problem():
    net = nnfast.Network([3, 5, 2], activation="tanh", output_activation="identity", seed=4)
    rng = np.random.default_rng(4)
    X, Y = rng.normal(size=(12, 3)), 3 * rng.normal(size=(12, 2))
    return net, X, Y


def flat(grads):
    return np.concatenate([g.ravel() for g in grads[0] + grads[1]])


@pytest.mark.parametrize("batch_size", [None, 1, 5])
@pytest.mark.parametrize("clip", CASES[:1] + CASES[2:])
def test_each_step_clips_its_gradient(batch_size, clip, backend):
    """SGD in order (no shuffling) with clipping, per batch: the kernel's parameters equal
    the recursion p -= lr clip(gradient of the batch at p), the gradients from
    Network.gradients; per sample (batch 1) too, where clipping leaves the fused rule."""
    net, X, Y = problem()
    run, manual = net.copy(), net.copy()
    run.train(X, Y, epochs=3, learning_rate=0.05, batch_size=batch_size, shuffle=False, **clip)
    size = batch_size or len(X)
    p = manual.parameters.copy()
    for _ in range(3):
        for start in range(0, len(X), size):
            manual.parameters = p
            g = flat(manual.gradients(X[start : start + size], Y[start : start + size]))
            p = p - 0.05 * by_formula(g, **clip)
    np.testing.assert_allclose(run.parameters, p, rtol=1e-12, atol=1e-14)
    unclipped = net.copy()
    unclipped.train(X, Y, epochs=3, learning_rate=0.05, batch_size=batch_size, shuffle=False)
    assert np.abs(unclipped.parameters - p).max() > 1e-3  # the clipping mattered


@pytest.mark.torch
def test_training_with_clipping_matches_torch(backend):
    """Mini-batch SGD with momentum and clip_grad_norm_ after every backward, in torch and in
    Network.train, from the same weights over the same batches."""
    import torch

    net, X, Y = problem()
    layers = [
        torch.tensor(a, requires_grad=True)
        for a in (net.weights[0], net.biases[0], net.weights[1], net.biases[1])
    ]
    opt = torch.optim.SGD(layers, lr=0.05, momentum=0.9)
    for _ in range(4):
        for start in range(0, 12, 4):
            opt.zero_grad()
            W1, b1, W2, b2 = layers
            xb, yb = torch.tensor(X[start : start + 4]), torch.tensor(Y[start : start + 4])
            loss = torch.mean((torch.tanh(xb @ W1 + b1) @ W2 + b2 - yb) ** 2)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(layers, 0.5)
            opt.step()
    net.train(
        X,
        Y,
        epochs=4,
        learning_rate=0.05,
        batch_size=4,
        shuffle=False,
        optimizer=nnfast.SGD(momentum=0.9),
        clip_norm=0.5,
    )
    want = np.concatenate([t.detach().numpy().ravel() for t in layers[::2] + layers[1::2]])
    np.testing.assert_allclose(net.parameters, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name, value",
    [("clip_norm", 0.0), ("clip_norm", -1.0), ("clip_value", 0.0), ("clip_value", np.inf)],
)
def test_clipping_arguments_are_checked(name, value):
    net, X, Y = problem()
    with pytest.raises(ValueError, match=name):
        net.train(X, Y, epochs=1, **{name: value})
    with pytest.raises(TypeError, match=name):
        net.train(X, Y, epochs=1, **{name: "1.0"})
