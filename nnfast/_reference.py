"""The NumPy backend: the readable reference every compiled kernel is tested against.

Each function is a few lines of plain NumPy. ``train_epochs`` composes them in an ordinary
Python loop over mini-batches, drawing shuffles and dropout masks from the same NumPy
bit generator, in the same order, as the Cython backend does.
"""
from __future__ import annotations

import numpy as np

from ._spec import (
    ADAM, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, IDENTITY, RELU, SIGMOID, SOFTMAX, STEP,
    TANH, learning_rate_at,
)

name = "numpy"


# --- activations: value, and derivative written in terms of the value ---------------------

def sigmoid(z):
    """1 / (1 + exp(-z)), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softmax(z):
    """exp(z) / sum(exp(z)) along the last axis, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def activate(code, z):
    if code == IDENTITY:
        return z
    if code == SIGMOID:
        return sigmoid(z)
    if code == TANH:
        return np.tanh(z)
    if code == RELU:
        return z * (z > 0.0)  # as the kernel computes it, branch-free
    if code == STEP:
        return (z >= 0).astype(np.float64)
    return softmax(z)


def derivative(code, a):
    """f'(z) from a = f(z) (elementwise; softmax's Jacobian is handled by ``softmax_backward``)."""
    if code == IDENTITY:
        return np.ones_like(a)
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return (a > 0).astype(np.float64)
    return np.zeros_like(a)  # step


def softmax_backward(p, g):
    """Vector-Jacobian product of softmax: dL/dz from p = softmax(z) and g = dL/dp."""
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


# --- losses: summed loss and its gradient w.r.t. the output layer's pre-activation z -------

def output_delta(loss, code, z, y):
    """(sum of the loss over the batch, dLsum/dz) for the output activation ``code``.

    Sigmoid + binary cross-entropy and softmax + cross-entropy are fused and evaluated from
    the logits z, which keeps them finite for saturated outputs.
    """
    if loss == BINARY_CROSS_ENTROPY:  # output is sigmoid
        total = np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))
        return total, sigmoid(z) - y
    if loss == CROSS_ENTROPY:  # output is softmax
        m = z.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        ysum = y.sum(axis=1, keepdims=True)
        total = np.sum(lse * ysum) - np.sum(y * z)
        return total, softmax(z) * ysum - y
    a = activate(code, z)  # MSE
    g = 2.0 * (a - y)
    delta = softmax_backward(a, g) if code == SOFTMAX else g * derivative(code, a)
    return np.sum((a - y) ** 2), delta


def count_correct(loss, z, y):
    """Correct predictions in a batch, from the output pre-activation z.

    Cross-entropy: argmax z == argmax y per row; binary cross-entropy: (z >= 0) == (y >= 0.5)
    per element; MSE: not a classification, 0.
    """
    if loss == CROSS_ENTROPY:
        return int(np.sum(z.argmax(axis=1) == y.argmax(axis=1)))
    if loss == BINARY_CROSS_ENTROPY:
        return int(np.sum((z >= 0) == (y >= 0.5)))
    return 0


# --- the kernels ---------------------------------------------------------------------------

def forward(spec, params, X, out):
    """out := the network's output for the batch X."""
    weights, biases = spec.unpack(params)
    a = X
    for code, W, b in zip(spec.activations, weights, biases):
        a = activate(code, a @ W + b)
    out[...] = a


def output_step(spec, z, Y, w, w_mean):
    """The output layer of a batch: (summed loss, correct predictions, scaled dL/dz).

    With sample weights ``w`` (None: none) row i counts ``w[i] / w_mean`` times, ``w_mean``
    being the mean weight of the whole data set: each batch's gradient is then an unbiased
    estimate of the weighted mean's, and the full batch's is exactly it.
    """
    scale = spec.loss_scale(z.shape[0])
    if w is None:
        total, delta = output_delta(spec.loss, spec.activations[-1], z, Y)
        return total, count_correct(spec.loss, z, Y), delta * scale
    total = correct = 0.0
    delta = np.empty_like(z)
    for i in range(z.shape[0]):
        row_total, row_delta = output_delta(spec.loss, spec.activations[-1], z[i:i + 1],
                                            Y[i:i + 1])
        total += w[i] * row_total
        correct += w[i] * count_correct(spec.loss, z[i:i + 1], Y[i:i + 1])
        delta[i] = row_delta[0] * (scale * w[i] / w_mean)
    return total, correct, delta


def _backprop(spec, params, X, Y, masks, grad, w=None, w_mean=1.0):
    """Forward and backward pass over one batch; grad := d(mean loss)/d(params).

    ``masks`` holds one inverted-dropout mask per hidden layer (or None); ``w`` the batch's
    sample weights (see ``output_step``). Returns the summed (weighted) loss of the batch and
    its (weighted) number of correct predictions; with ``grad=None`` only the forward pass
    and the loss are computed.
    """
    weights, biases = spec.unpack(params)
    inputs, derivs = [X], []
    a = X
    for l, (code, W, b) in enumerate(zip(spec.activations, weights, biases)):
        z = a @ W + b
        if l == spec.n_layers - 1:
            break
        a = activate(code, z)
        d = derivative(code, a)
        if masks is not None and masks[l] is not None:
            a = a * masks[l]
            d = d * masks[l]
        inputs.append(a)
        derivs.append(d)
    total, correct, delta = output_step(spec, z, Y, w, w_mean)
    if grad is None:
        return total, correct
    g_weights, g_biases = spec.unpack(grad)
    for l in reversed(range(spec.n_layers)):
        g_weights[l][...] = inputs[l].T @ delta
        g_biases[l][...] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ weights[l].T) * derivs[l - 1]
    return total, correct


def penalty(spec, params, l1, l2):
    """l1 * sum|W| + l2 / 2 * sum W**2 over the weights."""
    w = params[:spec.n_weights]
    return l1 * np.abs(w).sum() + 0.5 * l2 * (w @ w)


def add_penalty_gradient(spec, params, grad, l1, l2):
    """grad[weights] += l1 * sign(W) + l2 * W."""
    w = params[:spec.n_weights]
    grad[:spec.n_weights] += l1 * np.sign(w) + l2 * w


def _weight_sum(sample_weight, n):
    return n if sample_weight is None else float(np.sum(sample_weight))


def loss_and_gradient(spec, params, X, Y, l1, l2, grad, sample_weight=None):
    """Regularised (weighted) mean loss over (X, Y); grad := its gradient, unless None."""
    n = _weight_sum(sample_weight, X.shape[0])
    total, _ = _backprop(spec, params, X, Y, None, grad, sample_weight, n / X.shape[0])
    if grad is not None:
        add_penalty_gradient(spec, params, grad, l1, l2)
    return total * spec.loss_scale(n) + penalty(spec, params, l1, l2)


def update(hyper, params, grad, state):
    """One optimizer step on the flat buffer (SGD with optional momentum/Nesterov, or Adam).

    Momentum follows PyTorch: v = mu v + g; p -= lr (g + mu v if nesterov else v).
    Adam is Kingma & Ba, Algorithm 1, with bias correction.
    """
    t = state.step[0]
    lr = learning_rate_at(hyper, t)
    if hyper.optimizer == ADAM:
        b1, b2 = hyper.beta_1, hyper.beta_2
        state.m[...] = b1 * state.m + (1.0 - b1) * grad
        state.v[...] = b2 * state.v + (1.0 - b2) * grad * grad
        m_hat = state.m / (1.0 - b1 ** (t + 1))
        v_hat = state.v / (1.0 - b2 ** (t + 1))
        params -= lr * m_hat / (np.sqrt(v_hat) + hyper.epsilon)
    elif hyper.momentum:
        state.m[...] = hyper.momentum * state.m + grad
        step = grad + hyper.momentum * state.m if hyper.nesterov else state.m
        params -= lr * step
    else:
        params -= lr * grad
    state.step[0] = t + 1


def dropout_masks(spec, hyper, rng, n_rows):
    """One inverted-dropout mask per hidden layer, drawn in layer order (None where rate 0)."""
    masks = []
    for l in range(spec.n_layers - 1):
        rate = hyper.dropout[l] if hyper.dropout else 0.0
        if rate > 0.0:
            keep = rng.random((n_rows, spec.sizes[l + 1])) >= rate
            masks.append(keep / (1.0 - rate))
        else:
            masks.append(None)
    return masks


class Workspace:
    """What persists across ``train_epochs`` calls of one training run: the sample order,
    and the state at the end of the last good epoch (parameters, optimizer state, sample
    order; restored on divergence or Ctrl-C)."""

    def __init__(self, spec, n_samples, batch_size):
        self.order = np.arange(n_samples, dtype=np.intp)
        self.grad = np.zeros(spec.n_params)
        self.last_good = np.zeros(spec.n_params)
        self.last_m = self.last_v = None
        self.last_step = 0
        self.epochs_done = 0
        self.diverged = False
        self.cancelled = False  # set by another thread to stop the run (KeyboardInterrupt)

    def save(self, params, state, hyper):
        self.last_good[:] = params
        self.last_order = self.order.copy()
        if hyper.optimizer == ADAM or hyper.momentum:
            self.last_m, self.last_v = state.m.copy(), state.v.copy()
        self.last_step = state.step[0]

    def restore(self, params, state):
        params[:] = self.last_good
        self.order[:] = self.last_order
        if self.last_m is not None:
            state.m[:], state.v[:] = self.last_m, self.last_v
        state.step[0] = self.last_step


def accuracy_scale(spec, n_samples):
    """Factor from a count of correct predictions to an accuracy (NaN for MSE)."""
    if spec.loss == CROSS_ENTROPY:
        return 1.0 / n_samples
    if spec.loss == BINARY_CROSS_ENTROPY:
        return 1.0 / (n_samples * spec.sizes[-1])
    return np.nan


def evaluate(spec, params, X, Y, sample_weight=None):
    """(mean loss, accuracy) over (X, Y), without regularisation; accuracy is NaN for MSE.
    With ``sample_weight`` both are weighted means."""
    n = _weight_sum(sample_weight, X.shape[0])
    total, correct = _backprop(spec, params, X, Y, None, None, sample_weight, n / X.shape[0])
    return total * spec.loss_scale(n), correct * accuracy_scale(spec, n)


def train_epochs(spec, params, X, Y, n_epochs, batch_size, shuffle, state, hyper, rng,
                 workspace, history_out, sample_weight=None):
    """Run ``n_epochs`` passes of mini-batch training, recording each epoch's metrics.

    Each epoch optionally shuffles the sample order in place (``rng.shuffle``), then for each
    batch: dropout masks, forward, backward, penalty gradient, optimizer update.
    ``history_out[e] := (mean loss, accuracy)`` of epoch e (weighted means with
    ``sample_weight``, see ``output_step``), both measured on each batch before its update (the loss without the penalty; accuracy NaN for MSE). Returns the
    number of epochs run; an epoch whose loss or resulting parameters are not finite ends
    the call, with params and optimizer state put back to the end of the last finite epoch
    and ``workspace.diverged`` set. On KeyboardInterrupt (or ``workspace.cancelled``) they
    go back to the end of the last complete epoch (``workspace.epochs_done``).
    """
    n = X.shape[0]
    w_total = _weight_sum(sample_weight, n)
    order, grad = workspace.order, workspace.grad
    workspace.epochs_done = 0
    workspace.diverged = False
    workspace.save(params, state, hyper)
    try:
        for e in range(n_epochs):
            if shuffle:
                rng.shuffle(order)
            total = correct = 0.0
            for start in range(0, n, batch_size):
                if workspace.cancelled:
                    raise KeyboardInterrupt("training cancelled")
                rows = order[start:start + batch_size]
                masks = dropout_masks(spec, hyper, rng, rows.size)
                w = None if sample_weight is None else sample_weight[rows]
                batch_total, batch_correct = _backprop(spec, params, X[rows], Y[rows], masks,
                                                       grad, w, w_total / n)
                total += batch_total
                correct += batch_correct
                add_penalty_gradient(spec, params, grad, hyper.l1, hyper.l2)
                update(hyper, params, grad, state)
            history_out[e] = (total * spec.loss_scale(w_total),
                              correct * accuracy_scale(spec, w_total))
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


# --- the perceptron algorithm --------------------------------------------------------------

def perceptron_epochs(X, y, params, learning_rate, max_epochs, shuffle, rng, order,
                      errors_out, boundary_out):
    """Up to ``max_epochs`` passes of the perceptron algorithm; returns the passes run.

    ``params = [w_1..w_d, b]`` is updated in place. Each pass first shuffles ``order`` in
    place when ``shuffle`` (``rng.shuffle``), then visits the points in that order: a point
    x with label y in {0, 1} that the step of ``w.x + b`` (1 where >= 0) gets wrong moves the
    line towards itself, (w, b) += lr (x, 1) when y = 1 and (w, b) -= lr (x, 1) when y = 0.
    ``errors_out[e]`` := mistakes in pass e, ``boundary_out[e]`` := params after pass e.
    Stops after the first pass without a mistake.
    """
    d = X.shape[1]
    for e in range(max_epochs):
        if shuffle:
            rng.shuffle(order)
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
        errors_out[e] = mistakes
        boundary_out[e] = params
        if mistakes == 0:
            return e + 1
    return max_epochs
