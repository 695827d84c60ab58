"""The kernels' ``layer_outputs``: every layer's outputs (or the values its activation is
applied to) from the forward pass, on both backends and in both precisions, against the
layers computed by hand from the formulas and against ``forward``.
"""

import numpy as np
import pytest

from nnfast import _reference
from nnfast._spec import (
    CROSS_ENTROPY,
    ELU,
    GELU,
    IDENTITY,
    LEAKY_RELU,
    MSE,
    RELU,
    SIGMOID,
    SOFTMAX,
    TANH,
    Spec,
)


@pytest.fixture(params=["cython", "numpy"])
def kernels(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels")
    return _reference


def by_hand(spec, params, X):
    """(outputs, pre-activations) of every layer, from the formulas."""
    weights, biases = spec.unpack(params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    outputs, pre = [], []
    a = X
    for l, (code, alpha, W, b) in enumerate(
        zip(spec.activations, spec.layer_alphas(), weights, biases)
    ):
        z = a @ W + b
        if spec.batch_norm and l < spec.n_layers - 1:
            z = gammas[l] * (z - means[l]) / np.sqrt(variances[l] + 1e-5) + betas[l]
        a = _reference.activate(code, z, alpha)
        pre.append(z)
        outputs.append(a)
    return outputs, pre


SPECS = [
    Spec((3, 5, 2), (TANH, SIGMOID), MSE),
    Spec((4, 6, 5, 3), (RELU, GELU, SOFTMAX), CROSS_ENTROPY, (0.0, 0.0, 0.0)),
    Spec((4, 6, 5, 3), (LEAKY_RELU, ELU, SOFTMAX), CROSS_ENTROPY, (0.2, 0.5, 0.0), batch_norm=True),
    Spec((2, 1), (IDENTITY,), MSE),
]


@pytest.mark.parametrize("spec", SPECS, ids=["tanh", "relu-gelu", "batch-norm", "linear"])
@pytest.mark.parametrize("pre_activations", [False, True])
def test_layer_outputs_are_the_layers(kernels, spec, pre_activations):
    rng = np.random.default_rng(0)
    params = rng.normal(size=spec.n_params)
    for v in spec.unpack_norm(params)[3]:
        v[:] = np.abs(v) + 0.5
    X = rng.normal(size=(300, spec.sizes[0]))  # more rows than a chunk of forward's
    outs = [np.full((300, n), np.nan) for n in spec.sizes[1:]]
    kernels.layer_outputs(spec, params, X, outs, pre_activations)
    outputs, pre = by_hand(spec, params, X)
    for got, want in zip(outs, pre if pre_activations else outputs):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    last = np.zeros((300, spec.sizes[-1]))
    kernels.forward(spec, params, X, last)
    if not pre_activations:
        np.testing.assert_array_equal(outs[-1], last)


@pytest.mark.parametrize("pre_activations", [False, True])
def test_float32_layer_outputs_agree_between_backends(cython_kernels, pre_activations):
    import nnfast._kernels32 as k32

    spec = SPECS[2]
    rng = np.random.default_rng(1)
    params = rng.normal(size=spec.n_params).astype(np.float32)
    for v in spec.unpack_norm(params)[3]:
        v[:] = np.abs(v) + 0.5
    X = rng.normal(size=(20, 4)).astype(np.float32)
    results = []
    for module in (k32, _reference):
        outs = [np.zeros((20, n), np.float32) for n in spec.sizes[1:]]
        module.layer_outputs(spec, params, X, outs, pre_activations)
        results.append(outs)
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=2e-6)


def bad_outs(spec, X):
    n = X.shape[0]
    good = [np.zeros((n, k)) for k in spec.sizes[1:]]
    readonly = [a.copy() for a in good]
    readonly[1].setflags(write=False)
    return {
        "not a list": (None, "outs must be a list of 2 arrays"),
        "one short": (good[:1], "outs must be a list of 2 arrays"),
        "wrong shape": ([good[0], np.zeros((n, 3))], r"outs\[1\] must have shape \(4, 2\)"),
        "wrong dtype": ([good[0], good[1].astype(np.float32)], r"outs\[1\] must be a C-contig"),
        "read-only": (readonly, r"outs\[1\] must be writeable"),
        "a None": ([good[0], None], r"outs\[1\] must be a NumPy array"),
    }


@pytest.mark.parametrize("case", list(bad_outs(SPECS[0], np.zeros((4, 3)))))
def test_bad_outs_are_refused_alike(kernels, case):
    spec, X = SPECS[0], np.zeros((4, 3))
    outs, message = bad_outs(spec, X)[case]
    with pytest.raises((ValueError, TypeError), match=message):
        kernels.layer_outputs(spec, np.zeros(spec.n_params), X, outs)
