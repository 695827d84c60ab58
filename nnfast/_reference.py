"""The NumPy backend: the readable reference every compiled kernel is tested against.

Sections, in the order ``csrc/`` mirrors them one unit each (``_activations.pxi``,
``_losses.pxi``, ``_dense.pxi``, ``_optimizers.pxi``, ``_random.pxi``, ``_training.pxi``,
``_perceptron.pxi``): activations, losses, dense layer, optimizers and schedules,
randomness, the training loop, the perceptron. Each piece is a few lines of plain NumPy
under the name its compiled twin carries; ``PIECES`` lists those the compiled backend
exposes too (``pieces``), and a test holds the two to the same signatures and values.
``train_epochs`` composes the pieces in an ordinary Python loop over mini-batches, drawing
shuffles and dropout masks from the same NumPy bit generator, in the same order, as the
compiled backend does.

Precision: the reference computes in its data's dtype (X's), float64 or float32 (the
compiled backend has a module for each). Arrays stay in that dtype (a Python float meeting a
float32 array is rounded to float32, as NumPy does); the numbers it reports (a loss summed
over a batch, the penalty, the count of correct predictions, the total sample weight) are
summed in float64, as the compiled kernels sum them in double (``csrc/_kernels.pyx`` states
the rule).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable, NamedTuple

import numpy as np

from ._spec import (
    ADAM,
    ADAM_SKLEARN,
    BINARY_CROSS_ENTROPY,
    CONSTANT,
    CROSS_ENTROPY,
    EXPONENTIAL,
    IDENTITY,
    MSE,
    RELU,
    SGD,
    SGD_SKLEARN,
    SIGMOID,
    SKLEARN,
    SOFTMAX,
    STEP,
    TANH,
    Csr,
    check_evaluate,
    check_forward,
    check_loss_and_gradient,
    check_perceptron_epochs,
    check_train_epochs,
    check_workspace,
    uses_moments,
)

name = "numpy"


# === activations: f(z), and f'(z) written in terms of the value a = f(z) ===================


def identity(z):
    return z


def identity_derivative(a):
    return np.ones_like(a)


def sigmoid(z):
    """1 / (1 + exp(-z)), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(a):
    return a * (1.0 - a)


def tanh(z):
    return np.tanh(z)


def tanh_derivative(a):
    return 1.0 - a * a


def relu(z):
    return z * (z > 0.0)  # as the kernel computes it, branch-free


def relu_derivative(a):
    return (a > 0).astype(a.dtype)


def step(z):
    """The perceptron's step: 1 where z >= 0, else 0."""
    return (z >= 0).astype(z.dtype)


def step_derivative(a):
    return np.zeros_like(a)


# The elementwise activations, one entry each: code -> (f, f' from the value).
ELEMENTWISE = {
    IDENTITY: (identity, identity_derivative),
    SIGMOID: (sigmoid, sigmoid_derivative),
    TANH: (tanh, tanh_derivative),
    RELU: (relu, relu_derivative),
    STEP: (step, step_derivative),
}


def softmax(z):
    """exp(z) / sum(exp(z)) along the last axis, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(p, g):
    """Vector-Jacobian product of softmax: dL/dz from p = softmax(z) and g = dL/dp."""
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


def activate(code, z):
    """f(z) for activation ``code`` (softmax: along the last axis)."""
    if code == SOFTMAX:
        return softmax(z)
    return ELEMENTWISE[code][0](z)


def derivative(code, a):
    """f'(z) from a = f(z), elementwise (softmax's Jacobian is ``softmax_backward``'s)."""
    if code not in ELEMENTWISE:
        raise ValueError(
            f"code must be an elementwise activation {tuple(ELEMENTWISE)}, got "
            f"{code!r} (softmax: use softmax_backward)."
        )
    return ELEMENTWISE[code][1](a)


# === losses: summed loss and its gradient w.r.t. the output layer's pre-activation z =======
#
# Sigmoid + binary cross-entropy and softmax + cross-entropy are fused and evaluated from
# the logits z, which keeps them finite for saturated outputs.


def mse_delta(code, z, y):
    """(sum of (f(z) - y)^2, its gradient w.r.t. z) for the output activation ``code``."""
    a = activate(code, z)
    g = 2.0 * (a - y)
    delta = softmax_backward(a, g) if code == SOFTMAX else g * derivative(code, a)
    return np.sum((a - y) ** 2, dtype=np.float64), delta


def binary_cross_entropy_delta(code, z, y):
    """The output is a sigmoid: sum of -(y ln p + (1 - y) ln(1 - p)) from the logits."""
    total = np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))), dtype=np.float64)
    return total, sigmoid(z) - y


def cross_entropy_delta(code, z, y):
    """The output is a softmax: sum over rows of -sum_k y_k ln p_k, from the logits."""
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    ysum = y.sum(axis=1, keepdims=True)
    total = np.sum(lse * ysum, dtype=np.float64) - np.sum(y * z, dtype=np.float64)
    return total, softmax(z) * ysum - y


def threshold_correct(z, y):
    """Elements whose logit's side of 0 matches the label's side of 0.5."""
    return int(np.sum((z >= 0) == (y >= 0.5)))


def argmax_correct(z, y):
    """Rows whose largest logit is at the label's largest entry."""
    return int(np.sum(z.argmax(axis=1) == y.argmax(axis=1)))


class Loss(NamedTuple):
    delta: Callable  # (code, z, y) -> (summed loss, its gradient w.r.t. z)
    correct: Callable | None  # (z, y) -> correct predictions; None: no accuracy
    per_element: bool  # the mean is over every element, else over rows


# The losses, one entry each.
LOSSES = {
    MSE: Loss(mse_delta, None, True),
    BINARY_CROSS_ENTROPY: Loss(binary_cross_entropy_delta, threshold_correct, True),
    CROSS_ENTROPY: Loss(cross_entropy_delta, argmax_correct, False),
}


def output_delta(loss, code, z, y):
    """(sum of the loss over the batch, dLsum/dz) for the output activation ``code``."""
    return LOSSES[loss].delta(code, z, y)


def count_correct(loss, z, y):
    """Correct predictions in a batch, from the output pre-activation z (0 without an
    accuracy, as for MSE)."""
    correct = LOSSES[loss].correct
    return 0 if correct is None else correct(z, y)


def loss_scale(spec, n_samples):
    """Factor turning a summed loss into the mean the library minimises: a mean over every
    element (MSE, binary cross-entropy) or over samples of a sum over classes (cross-entropy)."""
    if LOSSES[spec.loss].per_element:
        return 1.0 / (n_samples * spec.sizes[-1])
    return 1.0 / n_samples


def accuracy_scale(spec, n_samples):
    """Factor from a count of correct predictions to an accuracy (NaN without one)."""
    return np.nan if LOSSES[spec.loss].correct is None else loss_scale(spec, n_samples)


def output_step(spec, z, Y, w, w_mean):
    """The output layer of a batch: (summed loss, correct predictions, scaled dL/dz).

    With sample weights ``w`` (None: none) row i counts ``w[i] / w_mean`` times, ``w_mean``
    being the mean weight of the whole data set: each batch's gradient is then an unbiased
    estimate of the weighted mean's, and the full batch's is exactly it.
    """
    return _output_step(spec, z, Y, w, w_mean, loss_scale(spec, z.shape[0]))


def sklearn_scales(spec):
    """Hyper.convention SKLEARN: (factor from a row's summed loss to scikit-learn's
    per-sample loss, factor on its gradient). scikit-learn halves the squared error and
    averages it over the outputs, but steps on (output - y), the gradient of the halved sum
    (its _base.py); its log losses are sums over the outputs, as nnfast's."""
    if spec.loss == MSE:
        return 0.5 / spec.sizes[-1], 0.5
    return 1.0, 1.0


def _output_step(spec, z, Y, w, w_mean, scale):
    """``output_step`` with the delta's factor ``scale`` given."""
    if w is None:
        total, delta = output_delta(spec.loss, spec.activations[-1], z, Y)
        return total, count_correct(spec.loss, z, Y), delta * scale
    total = correct = 0.0
    delta = np.empty_like(z)
    for i in range(z.shape[0]):
        row_total, row_delta = output_delta(
            spec.loss, spec.activations[-1], z[i : i + 1], Y[i : i + 1]
        )
        weight = float(w[i])  # in float64, as the compiled kernels weigh rows in double
        total += weight * row_total
        correct += weight * count_correct(spec.loss, z[i : i + 1], Y[i : i + 1])
        delta[i] = row_delta[0] * (scale * weight / w_mean)
    return total, correct, delta


def penalty(spec, params, l1, l2):
    """l1 * sum|W| + l2 / 2 * sum W**2 over the weights (summed in float64)."""
    w = np.asarray(params[: spec.n_weights], dtype=np.float64)
    return l1 * np.abs(w).sum() + 0.5 * l2 * (w @ w)


def penalty_gradient(spec, params, l1, l2):
    """d penalty / dW = l1 * sign(W) + l2 * W (the weights' part of the gradient only)."""
    w = params[: spec.n_weights]
    return l1 * np.sign(w) + l2 * w


# === dense layer ==========================================================================


def dense_forward(a, W, b):
    """z := a @ W + b: the layer's pre-activation for the rows of a."""
    return a @ W + b


def dense_backward(delta, W, d):
    """The previous layer's delta: (delta @ W^T) * f'(its z), f' given as ``d``."""
    return (delta @ W.T) * d


def weight_gradient(a, delta):
    """dL/dW = a^T @ delta, from the layer's input a and its delta."""
    return a.T @ delta


def bias_gradient(delta):
    """dL/db = the column sums of delta."""
    return delta.sum(axis=0)


def sparse_forward(X, W, b):
    """z := X @ W + b for the sparse rows X (a Csr): row i is the sum of its non-zeros x_ij
    times W's row j, in order, then b."""
    return X.scipy() @ W + b


def sparse_weight_gradient(X, delta):
    """dL/dW = X^T @ delta for the sparse rows X: each non-zero x_ij adds x_ij delta_i to
    row j, rows in order."""
    return X.scipy().T @ delta


def first_layer_forward(X, W, b):
    """The first layer's pre-activation, for dense or sparse (Csr) X."""
    return sparse_forward(X, W, b) if isinstance(X, Csr) else dense_forward(X, W, b)


def first_layer_weight_gradient(X, delta):
    return sparse_weight_gradient(X, delta) if isinstance(X, Csr) else weight_gradient(X, delta)


# === optimizers and schedules =============================================================


def learning_rate_at(hyper, t):
    """The learning rate of update step ``t`` (0-based; an array of steps works too)."""
    if hyper.schedule == CONSTANT:
        return hyper.learning_rate
    p = t / hyper.decay_steps
    if hyper.staircase:
        p = np.floor(p)
    if hyper.schedule == EXPONENTIAL:
        return hyper.learning_rate * hyper.decay_rate**p
    return hyper.learning_rate / (1.0 + hyper.decay_rate * p) ** hyper.power  # INVERSE_TIME


def sgd_sklearn_update(hyper, lr, t, params, grad, state):
    """scikit-learn's SGDOptimizer: the velocity carries the rate, v = mu v - lr g; p += v,
    or with Nesterov p += mu v - lr g (v the new velocity)."""
    if hyper.momentum:
        state.m[...] = hyper.momentum * state.m - lr * grad
        if hyper.nesterov:
            params += hyper.momentum * state.m - lr * grad
        else:
            params += state.m
    else:
        params -= lr * grad


def adam_sklearn_update(hyper, lr, t, params, grad, state):
    """scikit-learn's AdamOptimizer: the moments without correction, the rate with it,
    lr_t = lr sqrt(1 - b2^(t+1)) / (1 - b1^(t+1)); p += -lr_t m / (sqrt(v) + eps)."""
    b1, b2 = hyper.beta_1, hyper.beta_2
    state.m[...] = b1 * state.m + (1 - b1) * grad
    state.v[...] = b2 * state.v + (1 - b2) * (grad**2)
    rate = lr * np.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
    params += -rate * state.m / (np.sqrt(state.v) + hyper.epsilon)


def sgd_update(hyper, lr, t, params, grad, state):
    """Plain, momentum or Nesterov SGD, as PyTorch: v = mu v + g; p -= lr (g + mu v if
    nesterov else v)."""
    if hyper.momentum:
        state.m[...] = hyper.momentum * state.m + grad
        step = grad + hyper.momentum * state.m if hyper.nesterov else state.m
        params -= lr * step
    else:
        params -= lr * grad


def adam_update(hyper, lr, t, params, grad, state):
    """Adam (Kingma & Ba, Algorithm 1), with bias correction."""
    b1, b2 = hyper.beta_1, hyper.beta_2
    state.m[...] = b1 * state.m + (1.0 - b1) * grad
    state.v[...] = b2 * state.v + (1.0 - b2) * grad * grad
    m_hat = state.m / (1.0 - b1 ** (t + 1))
    v_hat = state.v / (1.0 - b2 ** (t + 1))
    params -= lr * m_hat / (np.sqrt(v_hat) + hyper.epsilon)


# The optimizers, one entry each: code -> the update of the whole flat buffer.
OPTIMIZERS = {
    SGD: sgd_update,
    ADAM: adam_update,
    SGD_SKLEARN: sgd_sklearn_update,
    ADAM_SKLEARN: adam_sklearn_update,
}


def update(hyper, params, grad, state):
    """One optimizer step on the flat buffer at the schedule's rate; counts the step."""
    t = int(state.step[0])  # a Python int: the rates stay Python floats, NumPy rounds them
    OPTIMIZERS[hyper.optimizer](hyper, learning_rate_at(hyper, t), t, params, grad, state)
    state.step[0] = t + 1


# === randomness: NumPy's bit generator, in the order the compiled loop draws ==============


def shuffle_order(rng, order):
    """Shuffle the sample order in place (``Generator.shuffle``)."""
    rng.shuffle(order)


def dropout_mask(rng, n_rows, n_units, rate):
    """Inverted dropout: keep where u >= rate (u from ``Generator.random``), scale
    1 / (1 - rate)."""
    return (rng.random((n_rows, n_units)) >= rate) / (1.0 - rate)


def dropout_masks(spec, hyper, rng, n_rows, dtype):
    """One mask per hidden layer, drawn in layer order (None where the rate is 0), in the
    parameters' ``dtype`` (1 / (1 - rate) rounded to it)."""
    rates = hyper.dropout or (0.0,) * (spec.n_layers - 1)
    return [
        dropout_mask(rng, n_rows, spec.sizes[l + 1], rate).astype(dtype, copy=False)
        if rate > 0.0
        else None
        for l, rate in enumerate(rates)
    ]


# === the training loop ====================================================================


class Workspace:
    """What persists across ``train_epochs`` calls of one training run: the sample order,
    and the state at the end of the last good epoch (parameters, optimizer state, sample
    order; restored on divergence or Ctrl-C). ``sparse``: for sparse X (a Csr), whose
    batches the compiled loop reads in place."""

    def __init__(self, spec, n_samples, batch_size, dtype=None, *, sparse=False):
        self.dtype = check_workspace(spec, n_samples, batch_size, dtype)
        self.spec, self.batch_size, self.sparse = spec, batch_size, bool(sparse)
        self.order = np.arange(n_samples, dtype=np.intp)
        self.grad = np.zeros(spec.n_params, self.dtype)
        self.last_good = np.zeros(spec.n_params, self.dtype)
        self.last_m = self.last_v = None
        self.last_step = 0
        self.epochs_done = 0
        self.diverged = False
        self.cancelled = False  # set by another thread to stop the run (KeyboardInterrupt)

    def save(self, params, state, hyper):
        self.last_good[:] = params
        self.last_order = self.order.copy()
        if uses_moments(hyper):
            self.last_m, self.last_v = state.m.copy(), state.v.copy()
        self.last_step = state.step[0]

    def restore(self, params, state):
        params[:] = self.last_good
        self.order[:] = self.last_order
        if self.last_m is not None:
            state.m[:], state.v[:] = self.last_m, self.last_v
        state.step[0] = self.last_step


def weight_sum(sample_weight, n):
    """The data set's total weight: n rows, or the sum of their weights (in float64)."""
    return n if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))


def _backprop(spec, params, X, Y, masks, grad, w=None, w_mean=1.0, scale=None):
    """Forward and backward pass over one batch; grad := d(mean loss)/d(params).

    ``masks`` holds one inverted-dropout mask per hidden layer (or None); ``w`` the batch's
    sample weights (see ``output_step``); ``scale`` the output delta's factor (None: the
    batch's ``loss_scale``). Returns the summed (weighted) loss of the batch and its
    (weighted) number of correct predictions; with ``grad=None`` only the forward pass and
    the loss are computed.
    """
    weights, biases = spec.unpack(params)
    inputs, derivs = [X], []
    a = X
    for l, (code, W, b) in enumerate(zip(spec.activations, weights, biases)):
        z = first_layer_forward(a, W, b) if l == 0 else dense_forward(a, W, b)
        if l == spec.n_layers - 1:
            break
        a = activate(code, z)
        d = derivative(code, a)
        if masks is not None and masks[l] is not None:
            a = a * masks[l]
            d = d * masks[l]
        inputs.append(a)
        derivs.append(d)
    if scale is None:
        scale = loss_scale(spec, z.shape[0])
    total, correct, delta = _output_step(spec, z, Y, w, w_mean, scale)
    if grad is None:
        return total, correct
    g_weights, g_biases = spec.unpack(grad)
    for l in reversed(range(spec.n_layers)):
        if l == 0:
            g_weights[l][...] = first_layer_weight_gradient(inputs[l], delta)
        else:
            g_weights[l][...] = weight_gradient(inputs[l], delta)
        g_biases[l][...] = bias_gradient(delta)
        if l > 0:
            delta = dense_backward(delta, weights[l], derivs[l - 1])
    return total, correct


def sklearn_batch(spec, params, X, Y, masks, grad, w, hyper):
    """One batch in scikit-learn's convention (``Hyper.convention`` SKLEARN): grad := the
    gradient of (sum_B w_i l_i + l1 |W| + l2 / 2 ||W||^2) / S_B, S_B the batch's weight sum;
    returns (|B| times that objective before the step, the weighted correct predictions),
    scikit-learn's share of the epoch's loss."""
    rows = X.shape[0]
    s_b = weight_sum(w, rows)
    loss_factor, delta_factor = sklearn_scales(spec)
    total, correct = _backprop(spec, params, X, Y, masks, grad, w, 1.0, delta_factor / s_b)
    grad[: spec.n_weights] += penalty_gradient(spec, params, hyper.l1 / s_b, hyper.l2 / s_b)
    batch_loss = loss_factor * total / s_b + penalty(spec, params, hyper.l1, hyper.l2) / s_b
    return batch_loss * rows, correct


def forward(spec, params, X, out):
    """out := the network's output for the batch X."""
    check_forward(spec, params, X, out)
    weights, biases = spec.unpack(params)
    a = X
    for l, (code, W, b) in enumerate(zip(spec.activations, weights, biases)):
        z = first_layer_forward(a, W, b) if l == 0 else dense_forward(a, W, b)
        a = activate(code, z)
    out[...] = a


def evaluate(spec, params, X, Y, sample_weight=None):
    """(mean loss, accuracy) over (X, Y), without regularisation; accuracy is NaN for MSE.
    With ``sample_weight`` both are weighted means."""
    check_evaluate(spec, params, X, Y, sample_weight)
    n = weight_sum(sample_weight, X.shape[0])
    total, correct = _backprop(spec, params, X, Y, None, None, sample_weight, n / X.shape[0])
    return total * loss_scale(spec, n), correct * accuracy_scale(spec, n)


def loss_and_gradient(spec, params, X, Y, l1, l2, grad, sample_weight=None):
    """Regularised (weighted) mean loss over (X, Y); grad := its gradient, unless None."""
    check_loss_and_gradient(spec, params, X, Y, grad, sample_weight)
    n = weight_sum(sample_weight, X.shape[0])
    total, _ = _backprop(spec, params, X, Y, None, grad, sample_weight, n / X.shape[0])
    if grad is not None:
        grad[: spec.n_weights] += penalty_gradient(spec, params, l1, l2)
    return total * loss_scale(spec, n) + penalty(spec, params, l1, l2)


def train_epochs(
    spec,
    params,
    X,
    Y,
    n_epochs,
    batch_size,
    shuffle,
    state,
    hyper,
    rng,
    workspace,
    history_out,
    sample_weight=None,
):
    """Run ``n_epochs`` passes of mini-batch training, recording each epoch's metrics.

    Each epoch optionally shuffles the sample order in place (``shuffle_order``), then for
    each batch: dropout masks, forward, backward, penalty gradient, optimizer update.
    ``history_out[e] := (mean loss, accuracy)`` of epoch e (weighted means with
    ``sample_weight``, see ``output_step``), both measured on each batch before its update
    (the loss without the penalty; accuracy NaN for MSE). With ``hyper.convention ==
    SKLEARN`` the batches' gradients, penalty and the epoch's loss are scikit-learn's
    (``sklearn_batch``). Returns the number of epochs run;
    an epoch whose loss or resulting parameters are not finite ends the call, with params
    and optimizer state put back to the end of the last finite epoch and
    ``workspace.diverged`` set. On KeyboardInterrupt (or ``workspace.cancelled``) they go
    back to the end of the last complete epoch (``workspace.epochs_done``).
    """
    check_train_epochs(
        spec,
        params,
        X,
        Y,
        n_epochs,
        batch_size,
        state,
        hyper,
        workspace,
        history_out,
        sample_weight,
    )
    n = X.shape[0]
    w_total = weight_sum(sample_weight, n)
    order, grad = workspace.order, workspace.grad
    workspace.epochs_done = 0
    workspace.diverged = False
    workspace.save(params, state, hyper)
    try:
        for e in range(n_epochs):
            if shuffle:
                shuffle_order(rng, order)
            total = correct = 0.0
            for start in range(0, n, batch_size):
                if workspace.cancelled:
                    raise KeyboardInterrupt("training cancelled")
                rows = order[start : start + batch_size]
                masks = dropout_masks(spec, hyper, rng, rows.size, X.dtype)
                w = None if sample_weight is None else sample_weight[rows]
                if hyper.convention == SKLEARN:
                    batch_total, batch_correct = sklearn_batch(
                        spec, params, X[rows], Y[rows], masks, grad, w, hyper
                    )
                else:
                    batch_total, batch_correct = _backprop(
                        spec, params, X[rows], Y[rows], masks, grad, w, w_total / n
                    )
                    grad[: spec.n_weights] += penalty_gradient(spec, params, hyper.l1, hyper.l2)
                total += batch_total
                correct += batch_correct
                update(hyper, params, grad, state)
            history_out[e] = (
                total / n if hyper.convention == SKLEARN else total * loss_scale(spec, w_total),
                correct * accuracy_scale(spec, w_total),
            )
            if not (np.isfinite(history_out[e, 0]) and np.isfinite(params).all()):
                workspace.restore(params, state)
                workspace.epochs_done = e + 1
                workspace.diverged = True
                return e + 1
            workspace.save(params, state, hyper)
            workspace.epochs_done = e + 1
    except KeyboardInterrupt:  # Ctrl-C or cancelled: back to the end of the last epoch
        workspace.restore(params, state)
        raise
    return n_epochs


# === the perceptron =======================================================================


def perceptron_pass(X, y, params, learning_rate, order):
    """One pass of the perceptron algorithm over the rows in ``order``; returns the mistakes.

    ``params = [w_1..w_d, b]``, updated in place: a point x with label y in {0, 1} that the
    step of ``w.x + b`` (1 where >= 0) gets wrong moves the line towards itself,
    (w, b) += lr (x, 1) when y = 1 and (w, b) -= lr (x, 1) when y = 0.
    """
    d = X.shape[1]
    mistakes = 0
    for r in order:
        x = X[r]
        # w.x summed left to right, then b: the compiled loop rounds in the same order.
        z = 0.0
        for j in range(d):
            z = z + params[j] * x[j]
        z = z + params[d]
        if (z >= 0.0) != (y[r] == 1):
            step = learning_rate if y[r] == 1 else -learning_rate
            params[:d] += step * x
            params[d] += step
            mistakes += 1
    return mistakes


def perceptron_epochs(
    X, y, params, learning_rate, max_epochs, shuffle, rng, order, errors_out, boundary_out
):
    """Up to ``max_epochs`` passes of the perceptron algorithm; returns the passes run.

    Each pass first shuffles ``order`` in place when ``shuffle`` (``shuffle_order``), then
    runs ``perceptron_pass``. ``errors_out[e]`` := mistakes in pass e, ``boundary_out[e]``
    := params after pass e. Stops after the first pass without a mistake.
    """
    check_perceptron_epochs(X, y, params, max_epochs, order, errors_out, boundary_out)
    for e in range(max_epochs):
        if shuffle:
            shuffle_order(rng, order)
        errors_out[e] = perceptron_pass(X, y, params, learning_rate, order)
        boundary_out[e] = params
        if errors_out[e] == 0:
            return e + 1
    return max_epochs


# The pieces both backends expose under these names, with the same signatures (the compiled
# backend's are thin entry points into its ``cdef`` twins): section by section.
PIECES = (
    "softmax",
    "softmax_backward",
    "activate",
    "derivative",
    "output_delta",
    "count_correct",
    "loss_scale",
    "accuracy_scale",
    "output_step",
    "penalty",
    "penalty_gradient",
    "dense_forward",
    "dense_backward",
    "weight_gradient",
    "bias_gradient",
    "learning_rate_at",
    "update",
    "shuffle_order",
    "dropout_mask",
    "perceptron_pass",
)
pieces = SimpleNamespace(**{piece: globals()[piece] for piece in PIECES})
