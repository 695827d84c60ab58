"""CosineDecay and OneCycle against their definitions: the formulas re-derived in NumPy here,
and torch's CosineAnnealingLR and OneCycleLR themselves (opt-in: ``@pytest.mark.torch``),
through both backends' ``learning_rate_at``, the rate each update of a training run inside
``train_epochs`` really takes, and ``History.learning_rate``.
"""

import math

import numpy as np
import pytest

import nnfast
from nnfast import _reference, schedules
from nnfast._spec import Hyper


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def cosine_formula(lr, t, decay_steps, alpha=0.0, warmup_steps=0):
    if t < warmup_steps:
        return lr * t / warmup_steps
    p = min(t - warmup_steps, decay_steps) / decay_steps
    return lr * ((1 - alpha) * (1 + math.cos(math.pi * p)) / 2 + alpha)


def one_cycle_formula(lr, t, total, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    """Smith & Topin's one cycle with cosine phases, as torch's OneCycleLR lays them out:
    phase one ends at step pct_start * total - 1, phase two at total - 1."""
    low, end = lr / div_factor, lr / div_factor / final_div_factor
    peak = pct_start * total - 1

    def cos_between(a, b, p):
        return b + (a - b) * (1 + math.cos(math.pi * min(p, 1.0))) / 2

    if t <= peak:
        return cos_between(low, lr, t / peak)
    return cos_between(lr, end, (t - peak) / (total - 1 - peak))


def rates(pieces, schedule, steps_per_epoch, n, epochs=None):
    hyper = Hyper(0.4, **schedule.hyper(steps_per_epoch, epochs))
    return np.array([pieces.learning_rate_at(hyper, t) for t in range(n)])


@pytest.mark.parametrize("alpha, warmup", [(0.0, 0), (0.1, 0), (0.05, 7)])
def test_cosine_decay_by_formula(pieces, alpha, warmup):
    got = rates(pieces, schedules.CosineDecay(30, alpha=alpha, warmup_steps=warmup), 4, 50)
    want = [cosine_formula(0.4, t, 30, alpha, warmup) for t in range(50)]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-17)
    assert got[0] == (0.0 if warmup else 0.4)
    assert got[-1] == pytest.approx(0.4 * alpha, abs=1e-17)  # held after decay_steps


def test_cosine_decay_per_epoch_holds_each_epoch(pieces):
    got = rates(pieces, schedules.CosineDecay(6, alpha=0.2, warmup_steps=2, per="epoch"), 5, 50)
    want = [cosine_formula(0.4, t // 5, 6, 0.2, 2) for t in range(50)]
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-17)


@pytest.mark.parametrize(
    "total, pct, div, final", [(100, 0.3, 25.0, 1e4), (37, 0.5, 10.0, 100.0), (5, 0.25, 4.0, 2.0)]
)
def test_one_cycle_by_formula(pieces, total, pct, div, final):
    schedule = schedules.OneCycle(total, pct_start=pct, div_factor=div, final_div_factor=final)
    got = rates(pieces, schedule, 3, total + 5)
    want = [one_cycle_formula(0.4, t, total, pct, div, final) for t in range(total + 5)]
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-17)
    assert got[0] == pytest.approx(0.4 / div, rel=1e-15)
    assert 0.35 < got.max() <= 0.4  # lr itself where the peak falls on a step
    assert got[total - 1] == got[-1] == pytest.approx(0.4 / div / final, rel=1e-12)


@pytest.mark.torch
@pytest.mark.parametrize(
    "total, pct, div, final", [(100, 0.3, 25.0, 1e4), (37, 0.5, 10.0, 100.0), (5, 0.25, 4.0, 2.0)]
)
def test_one_cycle_matches_torch(pieces, total, pct, div, final):
    import torch

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=0.4,
        total_steps=total,
        pct_start=pct,
        div_factor=div,
        final_div_factor=final,
        anneal_strategy="cos",
        cycle_momentum=False,
    )
    want = [opt.param_groups[0]["lr"]]
    for _ in range(total - 1):  # torch refuses a step past total_steps
        opt.step()
        sched.step()
        want.append(opt.param_groups[0]["lr"])
    schedule = schedules.OneCycle(total, pct_start=pct, div_factor=div, final_div_factor=final)
    np.testing.assert_allclose(rates(pieces, schedule, 1, total), want, rtol=1e-12, atol=1e-18)


@pytest.mark.torch
def test_cosine_decay_matches_torch(pieces):
    """CosineAnnealingLR (eta_min = alpha lr), after a warm-up from 0 that LambdaLR gives."""
    import torch

    warmup, decay, alpha = 5, 40, 0.1
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt,
        [
            torch.optim.lr_scheduler.LambdaLR(opt, lambda t: t / warmup),
            torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=decay, eta_min=alpha * 0.4),
        ],
        milestones=[warmup],
    )
    want = []
    for _ in range(warmup + decay + 1):
        want.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    got = rates(
        pieces, schedules.CosineDecay(decay, alpha=alpha, warmup_steps=warmup), 1, len(want)
    )
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)  # torch's is recursive


def test_each_update_of_a_run_takes_its_scheduled_rate(backend):
    """Plain SGD, full batch, in order: the kernel's parameters after each epoch equal the
    recursion p -= rate(t) * gradient(p), the gradients from Network.gradients."""
    net = nnfast.Network([3, 4, 1], activation="tanh", output_activation="identity", seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    for schedule in (
        schedules.OneCycle(12, pct_start=0.25),
        schedules.CosineDecay(8, alpha=0.3, warmup_steps=3),
    ):
        run, manual = net.copy(), net.copy()
        history = run.train(
            X, Y, epochs=12, learning_rate=0.3, batch_size=None, shuffle=False, lr_schedule=schedule
        )
        p = manual.parameters.copy()
        formula = [
            one_cycle_formula(0.3, t, 12, 0.25)
            if isinstance(schedule, schedules.OneCycle)
            else cosine_formula(0.3, t, 8, 0.3, 3)
            for t in range(12)
        ]
        for t in range(12):
            manual.parameters = p
            grads = manual.gradients(X, Y)
            p = p - formula[t] * np.concatenate([g.ravel() for g in grads[0] + grads[1]])
        np.testing.assert_allclose(run.parameters, p, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(history.learning_rate, formula, rtol=1e-13)


@pytest.mark.parametrize("per", ["step", "epoch"])
def test_one_cycle_without_total_steps_spans_the_run(per, backend):
    net = nnfast.Network([2, 3, 1], seed=1)
    X, Y = np.random.default_rng(1).normal(size=(20, 2)), np.random.default_rng(2).random((20, 1))
    history = net.train(
        X, Y, epochs=9, learning_rate=0.2, batch_size=5, lr_schedule=schedules.OneCycle(per=per)
    )
    total = 9 * 4 if per == "step" else 9
    hyper = Hyper(0.2, **schedules.OneCycle(per=per).hyper(4, 9))
    assert hyper.total_steps == total
    first_steps = np.arange(9) * 4
    want = [one_cycle_formula(0.2, t if per == "step" else t // 4, total) for t in first_steps]
    np.testing.assert_allclose(history.learning_rate, want, rtol=1e-13)


def test_schedule_arguments_are_checked():
    for bad, message in (
        (lambda: schedules.CosineDecay(0), "decay_steps"),
        (lambda: schedules.CosineDecay(10, alpha=1.5), "alpha"),
        (lambda: schedules.CosineDecay(10, warmup_steps=-1), "warmup_steps"),
        (lambda: schedules.CosineDecay(10, per="batch"), "per"),
        (lambda: schedules.OneCycle(0), "total_steps"),
        (lambda: schedules.OneCycle(pct_start=1.0), "pct_start"),
        (lambda: schedules.OneCycle(div_factor=0), "div_factor"),
        (lambda: schedules.OneCycle(final_div_factor=-1), "final_div_factor"),
        (lambda: schedules.OneCycle().hyper(4), "total_steps"),
    ):
        with pytest.raises(ValueError, match=message):
            bad()
    assert "OneCycle(total_steps=None" in repr(schedules.OneCycle())
