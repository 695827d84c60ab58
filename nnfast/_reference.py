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
    ADAGRAD,
    ADAM,
    ADAM_SKLEARN,
    ADAMW,
    BINARY_CROSS_ENTROPY,
    BN_EPSILON,
    BN_MOMENTUM,
    CONSTANT,
    COSINE,
    CROSS_ENTROPY,
    ELU,
    EXP,
    EXPONENTIAL,
    GELU,
    HUBER,
    IDENTITY,
    LEAKY_RELU,
    MAE,
    MSE,
    ONE_CYCLE,
    POISSON,
    RELU,
    RMSPROP,
    SGD,
    SGD_SKLEARN,
    SIGMOID,
    SILU,
    SKLEARN,
    SOFTMAX,
    SOFTPLUS,
    STEP,
    TANH,
    Csr,
    check_evaluate,
    check_forward,
    check_layer_outputs,
    check_loss_and_gradient,
    check_perceptron_epochs,
    check_train_epochs,
    check_workspace,
    default_alpha,
    state_buffers,
)

name = "numpy"


# === activations: f(z, alpha), and f'(z, a, alpha) from z or the value a = f(z) ===========
#
# alpha is the layer's parameter (``_spec.DEFAULT_ALPHA``: leaky_relu's negative slope, elu's
# alpha); the other activations ignore it. f' uses whichever of z and a gives it exactly.


def identity(z, alpha=None):
    return z


def identity_derivative(z, a, alpha=None):
    return np.ones_like(a)


def sigmoid(z, alpha=None):
    """1 / (1 + exp(-z)), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z, a, alpha=None):
    return a * (1.0 - a)


def tanh(z, alpha=None):
    return np.tanh(z)


def tanh_derivative(z, a, alpha=None):
    return 1.0 - a * a


def relu(z, alpha=None):
    return z * (z > 0.0)  # as the kernel computes it, branch-free


def relu_derivative(z, a, alpha=None):
    return (a > 0).astype(a.dtype)


def step(z, alpha=None):
    """The perceptron's step: 1 where z >= 0, else 0."""
    return (z >= 0).astype(z.dtype)


def step_derivative(z, a, alpha=None):
    return np.zeros_like(a)


def leaky_relu(z, alpha):
    """z where z > 0, else alpha z (alpha: the negative slope)."""
    return np.where(z > 0.0, z, z * alpha)


def leaky_relu_derivative(z, a, alpha):
    return np.where(z > 0.0, 1.0, alpha).astype(z.dtype)


def elu(z, alpha):
    """z where z > 0, else alpha (exp(z) - 1)."""
    return np.where(z > 0.0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_derivative(z, a, alpha):
    return np.where(z > 0.0, 1.0, alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype)


SQRT1_2 = 0.70710678118654752440  # 1/sqrt(2) and 1/sqrt(2 pi), as torch's GELU writes them
INV_SQRT_2PI = 1.12837916709551257390 * SQRT1_2 * 0.5


def gelu_cdf(z):
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2, as erfc(-z / sqrt 2) / 2 (exact for negative z)."""
    from scipy.special import erfc  # imported when used: import nnfast stays light

    return 0.5 * erfc(-z * SQRT1_2)


def gelu(z, alpha=None):
    """z Phi(z), Phi the standard normal CDF (torch's exact form)."""
    return z * gelu_cdf(z)


def gelu_derivative(z, a, alpha=None):
    return gelu_cdf(z) + z * (INV_SQRT_2PI * np.exp(z * z * -0.5))


def softplus(z, alpha=None):
    """log(1 + exp(z)), and z itself from z > 20 (torch's threshold)."""
    return np.where(z > 20.0, z, np.log1p(np.exp(np.minimum(z, 20.0))))


def softplus_derivative(z, a, alpha=None):
    e = np.exp(np.minimum(z, 20.0))
    return np.where(z > 20.0, 1.0, e / (e + 1.0)).astype(z.dtype)


def silu(z, alpha=None):
    """z sigmoid(z), written as torch computes it: z / (1 + exp(-z))."""
    with np.errstate(over="ignore"):  # exp(-z) = inf: z / inf = 0, as torch
        return z / (1.0 + np.exp(-z))


def silu_derivative(z, a, alpha=None):
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 + z * (1.0 - s))


def exponential(z, alpha=None):
    """exp(z): the Poisson loss's output, a rate from its logarithm."""
    return np.exp(z)


def exponential_derivative(z, a, alpha=None):
    return a


# The elementwise activations, one entry each: code -> (f, f').
ELEMENTWISE = {
    IDENTITY: (identity, identity_derivative),
    SIGMOID: (sigmoid, sigmoid_derivative),
    TANH: (tanh, tanh_derivative),
    RELU: (relu, relu_derivative),
    STEP: (step, step_derivative),
    LEAKY_RELU: (leaky_relu, leaky_relu_derivative),
    ELU: (elu, elu_derivative),
    GELU: (gelu, gelu_derivative),
    SOFTPLUS: (softplus, softplus_derivative),
    SILU: (silu, silu_derivative),
    EXP: (exponential, exponential_derivative),
}


def softmax(z):
    """exp(z) / sum(exp(z)) along the last axis, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(p, g):
    """Vector-Jacobian product of softmax: dL/dz from p = softmax(z) and g = dL/dp."""
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


def activate(code, z, alpha=None):
    """f(z) for activation ``code`` with parameter alpha (None: its default; softmax: along
    the last axis)."""
    if code == SOFTMAX:
        return softmax(z)
    return ELEMENTWISE[code][0](z, default_alpha(code) if alpha is None else alpha)


def derivative(code, z, alpha=None):
    """f'(z), elementwise, as the forward pass computes it beside f(z) (softmax's Jacobian is
    ``softmax_backward``'s)."""
    return activate_and_derivative(code, z, alpha)[1]


def activate_and_derivative(code, z, alpha=None):
    """(f(z), f'(z)) for an elementwise activation: a hidden layer's forward pass."""
    if code not in ELEMENTWISE:
        raise ValueError(
            f"code must be an elementwise activation {tuple(ELEMENTWISE)}, got "
            f"{code!r} (softmax: use softmax_backward)."
        )
    f, f_prime = ELEMENTWISE[code]
    alpha = default_alpha(code) if alpha is None else alpha
    a = f(z, alpha)
    return a, f_prime(z, a, alpha)


# === losses: summed loss and its gradient w.r.t. the output layer's pre-activation z =======
#
# The regression losses are a loss of the difference d = f(z) - y and its derivative, chained
# through the output activation (``pointwise_delta``). Sigmoid + binary cross-entropy,
# softmax + cross-entropy and exp + Poisson are fused and evaluated from the logits z, which
# keeps them finite for saturated outputs.


def pointwise_delta(code, z, y, alpha, loss, gradient):
    """(sum of loss(f(z) - y), its gradient w.r.t. z) for the output activation ``code``
    (parameter alpha): gradient(d) times f'(z), or softmax's Jacobian."""
    if code == SOFTMAX:
        a = softmax(z)
        delta = softmax_backward(a, gradient(a - y))
    else:
        a, d = activate_and_derivative(code, z, alpha)
        delta = gradient(a - y) * d
    return np.sum(loss(a - y), dtype=np.float64), delta


def mse_delta(code, z, y, alpha):
    """Sum of (f(z) - y)^2."""
    return pointwise_delta(code, z, y, alpha, lambda d: d * d, lambda d: 2.0 * d)


def mae_delta(code, z, y, alpha):
    """Sum of |f(z) - y| (gradient sign(d), 0 at 0 as torch's L1Loss)."""
    return pointwise_delta(code, z, y, alpha, np.abs, np.sign)


def huber(d):
    """d**2 / 2 where |d| < 1, else |d| - 1/2 (torch's HuberLoss, delta 1)."""
    return np.where(np.abs(d) < 1.0, 0.5 * d * d, np.abs(d) - 0.5)


def huber_delta(code, z, y, alpha):
    """Sum of huber(f(z) - y) (gradient d clipped to [-1, 1])."""
    return pointwise_delta(code, z, y, alpha, huber, lambda d: np.clip(d, -1.0, 1.0))


def poisson_delta(code, z, y, alpha):
    """The output is exp(z), a rate: sum of exp(z) - y z, the Poisson negative log-likelihood
    without log(y!) (torch's PoissonNLLLoss(log_input=True)), from the logits."""
    e = np.exp(z)
    return np.sum(e - y * z, dtype=np.float64), e - y


def binary_cross_entropy_delta(code, z, y, alpha):
    """The output is a sigmoid: sum of -(y ln p + (1 - y) ln(1 - p)) from the logits."""
    total = np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))), dtype=np.float64)
    return total, sigmoid(z) - y


def cross_entropy_delta(code, z, y, alpha):
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
    delta: Callable  # (code, z, y, alpha) -> (summed loss, its gradient w.r.t. z)
    correct: Callable | None  # (z, y) -> correct predictions; None: no accuracy
    per_element: bool  # the mean is over every element, else over rows


# The losses, one entry each.
LOSSES = {
    MSE: Loss(mse_delta, None, True),
    BINARY_CROSS_ENTROPY: Loss(binary_cross_entropy_delta, threshold_correct, True),
    CROSS_ENTROPY: Loss(cross_entropy_delta, argmax_correct, False),
    MAE: Loss(mae_delta, None, True),
    HUBER: Loss(huber_delta, None, True),
    POISSON: Loss(poisson_delta, None, True),
}


def output_delta(loss, code, z, y, alpha=None):
    """(sum of the loss over the batch, dLsum/dz) for the output activation ``code`` with
    parameter alpha (None: its default)."""
    return LOSSES[loss].delta(code, z, y, default_alpha(code) if alpha is None else alpha)


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
    (its _base.py); its log losses are sums over the outputs, as nnfast's. nnfast's
    absolute and Huber losses are averaged over the outputs, gradient included."""
    if spec.loss == MSE:
        return 0.5 / spec.sizes[-1], 0.5
    if spec.loss in (MAE, HUBER):
        return 1.0 / spec.sizes[-1], 1.0 / spec.sizes[-1]
    return 1.0, 1.0


def _output_step(spec, z, Y, w, w_mean, scale):
    """``output_step`` with the delta's factor ``scale`` given."""
    code, alpha = spec.activations[-1], spec.layer_alphas()[-1]
    if w is None:
        total, delta = output_delta(spec.loss, code, z, Y, alpha)
        return total, count_correct(spec.loss, z, Y), delta * scale
    total = correct = 0.0
    delta = np.empty_like(z)
    for i in range(z.shape[0]):
        row_total, row_delta = output_delta(spec.loss, code, z[i : i + 1], Y[i : i + 1], alpha)
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


# === dense layer and batch normalisation ==================================================


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


def batch_norm_forward(z, gamma, beta):
    """Batch normalisation in training (torch's BatchNorm1d): y := gamma xhat + beta, xhat
    the columns of z standardised by their mean and (biased) variance over the batch's rows.
    Returns (y, xhat, 1 / sqrt(var + eps), mean, var)."""
    m = z.shape[0]
    mean = z.sum(axis=0) / m
    c = z - mean
    var = (c * c).sum(axis=0) / m
    inv_std = 1.0 / np.sqrt(var + BN_EPSILON)
    xhat = c * inv_std
    return gamma * xhat + beta, xhat, inv_std, mean, var


def batch_norm_backward(delta, xhat, gamma, inv_std):
    """(dL/dz, dL/dgamma, dL/dbeta) from dL/dy = delta, through the batch's mean and
    variance: dz = gamma inv_std / m (m delta - sum(delta) - xhat sum(delta xhat))."""
    m = delta.shape[0]
    d_beta = delta.sum(axis=0)
    d_gamma = (delta * xhat).sum(axis=0)
    return (gamma * inv_std / m) * (m * delta - d_beta - xhat * d_gamma), d_gamma, d_beta


def batch_norm_running(running_mean, running_var, mean, var, m):
    """The running statistics after a batch of m rows, in place: momentum BN_MOMENTUM, the
    variance unbiased (var m / (m - 1)), as torch's BatchNorm1d."""
    keep = 1.0 - BN_MOMENTUM
    running_mean[...] = keep * running_mean + BN_MOMENTUM * mean
    running_var[...] = keep * running_var + BN_MOMENTUM * (var * (m / (m - 1.0)))


def batch_norm_inference(z, gamma, beta, running_mean, running_var):
    """Batch normalisation outside training: y := z scale + (beta - running_mean scale),
    scale = gamma / sqrt(running_var + eps)."""
    scale = gamma / np.sqrt(running_var + BN_EPSILON)
    return z * scale + (beta - running_mean * scale)


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


def cosine_rate(hyper, t):
    """Linear warm-up from 0, then lr * ((1 - final) (1 + cos(pi p)) / 2 + final), p the
    fraction of decay_steps done (held at 1 after them)."""
    lr, warmup, final = hyper.learning_rate, hyper.warmup_steps, hyper.final_fraction
    p = np.minimum(t - warmup, hyper.decay_steps) / hyper.decay_steps
    decayed = lr * ((1.0 - final) * (0.5 * (1.0 + np.cos(np.pi * p))) + final)
    return np.where(t < warmup, lr * t / (warmup or 1.0), decayed)


def annealed(start, end, p):
    """torch's _annealing_cos: from start at p = 0 to end at p = 1."""
    return end + (start - end) / 2.0 * (np.cos(np.pi * p) + 1.0)


def one_cycle_rate(hyper, t):
    """torch's OneCycleLR at step t: up from lr / div_factor to lr until the step
    pct_start * total_steps - 1, then down to lr / div_factor / final_div_factor at step
    total_steps - 1 (held there after it)."""
    lr = hyper.learning_rate
    low = lr / hyper.div_factor
    peak, last = hyper.pct_start * hyper.total_steps - 1.0, hyper.total_steps - 1.0
    up = annealed(low, lr, t / peak) if peak > 0 else low
    down = annealed(lr, low / hyper.final_div_factor, np.minimum((t - peak) / (last - peak), 1.0))
    return np.where((t <= peak) & (peak > 0), up, down)


def learning_rate_at(hyper, t):
    """The learning rate of update step ``t`` (0-based; an array of steps works too)."""
    if hyper.schedule == CONSTANT:
        return hyper.learning_rate
    if hyper.schedule in (COSINE, ONE_CYCLE):
        units = np.floor(t / hyper.step_unit)  # steps or epochs
        rate = cosine_rate if hyper.schedule == COSINE else one_cycle_rate
        return rate(hyper, units)[()]  # a scalar for a scalar t
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


def adamw_update(hyper, lr, t, params, grad, state):
    """AdamW (Loshchilov & Hutter), as torch.optim.AdamW: the decoupled decay
    p := (1 - lr weight_decay) p, then Adam's step."""
    params *= 1.0 - lr * hyper.weight_decay
    adam_update(hyper, lr, t, params, grad, state)


def rmsprop_update(hyper, lr, t, params, grad, state):
    """RMSprop, as torch.optim.RMSprop: v := rho v + (1 - rho) g**2 and the step
    lr g / (sqrt(v) + eps); centered, sqrt(v - g_avg**2) with g_avg the gradients' average
    (held at >= 0 under the root); with momentum the step goes through a velocity m."""
    rho = hyper.rho
    state.v[...] = rho * state.v + (1.0 - rho) * grad * grad
    if hyper.centered:
        state.g_avg[...] = rho * state.g_avg + (1.0 - rho) * grad
        divisor = np.sqrt(np.maximum(state.v - state.g_avg * state.g_avg, 0.0)) + hyper.epsilon
    else:
        divisor = np.sqrt(state.v) + hyper.epsilon
    if hyper.momentum:
        state.m[...] = hyper.momentum * state.m + grad / divisor
        params -= lr * state.m
    else:
        params -= lr * grad / divisor


def adagrad_update(hyper, lr, t, params, grad, state):
    """Adagrad, as torch.optim.Adagrad without rate decay: v := v + g**2 (from
    initial_accumulator_value), p -= lr g / (sqrt(v) + eps)."""
    state.v += grad * grad
    params -= lr * grad / (np.sqrt(state.v) + hyper.epsilon)


# The optimizers, one entry each: code -> the update of the whole flat buffer.
OPTIMIZERS = {
    SGD: sgd_update,
    ADAM: adam_update,
    SGD_SKLEARN: sgd_sklearn_update,
    ADAM_SKLEARN: adam_sklearn_update,
    ADAMW: adamw_update,
    RMSPROP: rmsprop_update,
    ADAGRAD: adagrad_update,
}


def clip_gradient(hyper, grad):
    """grad clipped in place (and returned): each element to [-clip_value, clip_value]
    (torch's clip_grad_value_), then the whole by clip_norm / (||grad|| + 1e-6) where that is
    below 1 (torch's clip_grad_norm_, the norm over every parameter); 0 turns either off."""
    if hyper.clip_value:
        np.clip(grad, -hyper.clip_value, hyper.clip_value, out=grad)
    if hyper.clip_norm:
        norm = float(np.sqrt(np.sum(grad * grad, dtype=np.float64)))
        scale = hyper.clip_norm / (norm + 1e-6)  # a Python float: rounded to grad's dtype
        if scale < 1.0:
            grad *= scale
    return grad


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
        self.last_moments = {}  # name -> the optimizer state's buffer it keeps
        self.last_step = 0
        self.epochs_done = 0
        self.diverged = False
        self.cancelled = False  # set by another thread to stop the run (KeyboardInterrupt)

    def save(self, params, state, hyper):
        self.last_good[:] = params
        self.last_order = self.order.copy()
        self.last_moments = {name: getattr(state, name).copy() for name in state_buffers(hyper)}
        self.last_step = state.step[0]

    def restore(self, params, state):
        params[:] = self.last_good
        self.order[:] = self.last_order
        for name, saved in self.last_moments.items():
            getattr(state, name)[:] = saved
        state.step[0] = self.last_step


def weight_sum(sample_weight, n):
    """The data set's total weight: n rows, or the sum of their weights (in float64)."""
    return n if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))


def _backprop(spec, params, X, Y, masks, grad, w=None, w_mean=1.0, training=True, scale=None):
    """Forward and backward pass over one batch; grad := d(mean loss)/d(params).

    ``masks`` holds one inverted-dropout mask per hidden layer (or None); ``w`` the batch's
    sample weights (see ``output_step``); ``scale`` the output delta's factor (None: the
    batch's ``loss_scale``). Returns the summed (weighted) loss of the batch and its
    (weighted) number of correct predictions; with ``grad=None`` only the forward pass and
    the loss are computed. With batch normalisation each hidden layer is dense ->
    normalisation -> activation -> dropout (torch's usual order), normalised by the batch's
    statistics when ``training`` (which then also move the running ones, with
    ``masks is not None``: a training step), else by the running statistics.
    """
    weights, biases = spec.unpack(params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    inputs, derivs, norms = [X], [], []
    a = X
    for l, (code, alpha, W, b) in enumerate(
        zip(spec.activations, spec.layer_alphas(), weights, biases)
    ):
        z = first_layer_forward(a, W, b) if l == 0 else dense_forward(a, W, b)
        if l == spec.n_layers - 1:
            break
        if spec.batch_norm and training:
            z, xhat, inv_std, mean, var = batch_norm_forward(z, gammas[l], betas[l])
            norms.append((xhat, inv_std))
            if masks is not None:
                batch_norm_running(means[l], variances[l], mean, var, z.shape[0])
        elif spec.batch_norm:
            z = batch_norm_inference(z, gammas[l], betas[l], means[l], variances[l])
        a, d = activate_and_derivative(code, z, alpha)
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
    g_gammas, g_betas, _, _ = spec.unpack_norm(grad)
    for l in reversed(range(spec.n_layers)):
        if l == 0:
            g_weights[l][...] = first_layer_weight_gradient(inputs[l], delta)
        else:
            g_weights[l][...] = weight_gradient(inputs[l], delta)
        g_biases[l][...] = bias_gradient(delta)
        if l > 0:
            delta = dense_backward(delta, weights[l], derivs[l - 1])
            if spec.batch_norm:
                xhat, inv_std = norms[l - 1]
                delta, g_gammas[l - 1][...], g_betas[l - 1][...] = batch_norm_backward(
                    delta, xhat, gammas[l - 1], inv_std
                )
    return total, correct


def sklearn_batch(spec, params, X, Y, masks, grad, w, hyper):
    """One batch in scikit-learn's convention (``Hyper.convention`` SKLEARN): grad := the
    gradient of (sum_B w_i l_i + l1 |W| + l2 / 2 ||W||^2) / S_B, S_B the batch's weight sum;
    returns (|B| times that objective before the step, the weighted correct predictions),
    scikit-learn's share of the epoch's loss."""
    rows = X.shape[0]
    s_b = weight_sum(w, rows)
    loss_factor, delta_factor = sklearn_scales(spec)
    total, correct = _backprop(spec, params, X, Y, masks, grad, w, 1.0, scale=delta_factor / s_b)
    grad[: spec.n_weights] += penalty_gradient(spec, params, hyper.l1 / s_b, hyper.l2 / s_b)
    batch_loss = loss_factor * total / s_b + penalty(spec, params, hyper.l1, hyper.l2) / s_b
    return batch_loss * rows, correct


def layer_outputs(spec, params, X, outs, pre_activations=False):
    """outs[l] := layer l's outputs for the batch X, or with ``pre_activations`` what its
    activation is applied to (after batch normalisation, by the running statistics)."""
    check_layer_outputs(spec, params, X, outs)
    weights, biases = spec.unpack(params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    a = X
    for l, (code, alpha, W, b) in enumerate(
        zip(spec.activations, spec.layer_alphas(), weights, biases)
    ):
        z = first_layer_forward(a, W, b) if l == 0 else dense_forward(a, W, b)
        if spec.batch_norm and l < spec.n_layers - 1:
            z = batch_norm_inference(z, gammas[l], betas[l], means[l], variances[l])
        a = activate(code, z, alpha)
        outs[l][...] = z if pre_activations else a


def forward(spec, params, X, out):
    """out := the network's output for the batch X (batch normalisation by the running
    statistics)."""
    check_forward(spec, params, X, out)
    outs = [np.empty((X.shape[0], n), X.dtype) for n in spec.sizes[1:-1]] + [out]
    layer_outputs(spec, params, X, outs)


def evaluate(spec, params, X, Y, sample_weight=None):
    """(mean loss, accuracy) over (X, Y), without regularisation; accuracy is NaN for MSE.
    With ``sample_weight`` both are weighted means."""
    check_evaluate(spec, params, X, Y, sample_weight)
    n = weight_sum(sample_weight, X.shape[0])
    total, correct = _backprop(
        spec, params, X, Y, None, None, sample_weight, n / X.shape[0], training=False
    )
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
    each batch: dropout masks, forward, backward, penalty gradient, clipping, optimizer
    update.
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
                trained = slice(spec.n_trainable)  # not the running statistics after them
                clip_gradient(hyper, grad[trained])
                update(hyper, params[trained], grad[trained], state)
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
    "batch_norm_forward",
    "batch_norm_backward",
    "batch_norm_running",
    "batch_norm_inference",
    "learning_rate_at",
    "clip_gradient",
    "update",
    "shuffle_order",
    "dropout_mask",
    "perceptron_pass",
)
pieces = SimpleNamespace(**{piece: globals()[piece] for piece in PIECES})
