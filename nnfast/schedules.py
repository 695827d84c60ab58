"""Learning-rate schedules.

``StepDecay``, ``ExponentialDecay`` and ``InverseTimeDecay`` are functions of the update
step t, evaluated inside the compiled loop (per step, or per epoch when ``per="epoch"``):

- ExponentialDecay: ``lr * decay_rate ** (t / decay_steps)``
- InverseTimeDecay: ``lr / (1 + decay_rate * t / decay_steps)``
- StepDecay: ``lr * drop ** floor(epoch / every)``

(``staircase=True`` floors ``t / decay_steps``.) ``ReduceOnPlateau`` watches the
validation (or training) loss between epochs and multiplies the rate by ``factor``.
"""
from __future__ import annotations

from ._spec import CONSTANT, EXPONENTIAL, INVERSE_TIME
from ._validation import check_number

PER = ("step", "epoch")


class _KernelSchedule:
    code = CONSTANT

    def __init__(self, decay_rate, decay_steps, staircase, per):
        if per not in PER:
            raise ValueError(f"per must be one of {PER}, got {per!r}.")
        self.decay_rate = decay_rate
        self.decay_steps = check_number(decay_steps, "decay_steps", 0.0, low_open=True)
        self.staircase = bool(staircase)
        self.per = per

    def hyper(self, steps_per_epoch):
        """The Hyper fields that make the kernels compute this schedule."""
        steps = self.decay_steps * (steps_per_epoch if self.per == "epoch" else 1)
        return {"schedule": self.code, "decay_rate": self.decay_rate, "decay_steps": steps,
                "staircase": self.staircase}

    def __repr__(self):
        return (f"{type(self).__name__}(decay_rate={self.decay_rate}, decay_steps="
                f"{self.decay_steps}, staircase={self.staircase}, per={self.per!r})")


class ExponentialDecay(_KernelSchedule):
    """lr_t = lr * decay_rate ** (t / decay_steps); t counts steps or epochs (``per``)."""

    code = EXPONENTIAL

    def __init__(self, decay_rate=0.96, decay_steps=1000, staircase=False, per="step"):
        super().__init__(check_number(decay_rate, "decay_rate", 0.0, 1.0, low_open=True),
                         decay_steps, staircase, per)


class InverseTimeDecay(_KernelSchedule):
    """lr_t = lr / (1 + decay_rate * t / decay_steps); t counts steps or epochs (``per``)."""

    code = INVERSE_TIME

    def __init__(self, decay_rate=0.5, decay_steps=1000, staircase=False, per="step"):
        super().__init__(check_number(decay_rate, "decay_rate", 0.0), decay_steps, staircase,
                         per)


class StepDecay(ExponentialDecay):
    """lr_epoch = lr * drop ** floor(epoch / every): drop the rate every ``every`` epochs."""

    def __init__(self, drop=0.5, every=10):
        super().__init__(check_number(drop, "drop", 0.0, 1.0, low_open=True),
                         check_number(every, "every", 1, integer=True), True, "epoch")

    def __repr__(self):
        return f"StepDecay(drop={self.decay_rate}, every={int(self.decay_steps)})"


class ReduceOnPlateau:
    """Multiply the learning rate by ``factor`` when the monitored loss has not improved by
    ``min_delta`` for ``patience`` epochs (never below ``min_lr``).

    Monitors ``"val_loss"`` when there is validation data, else ``"loss"``.
    """

    def __init__(self, factor=0.1, patience=10, min_delta=1e-4, min_lr=0.0, monitor="auto"):
        self.factor = check_number(factor, "factor", 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_number(patience, "patience", 0, integer=True)
        self.min_delta = check_number(min_delta, "min_delta", 0.0)
        self.min_lr = check_number(min_lr, "min_lr", 0.0)
        self.monitor = monitor

    def hyper(self, steps_per_epoch):
        return {"schedule": CONSTANT}

    def start(self):
        self._best, self._wait = float("inf"), 0

    def next_rate(self, value, lr):
        """The learning rate for the next epoch, given this epoch's monitored loss."""
        if value < self._best - self.min_delta:
            self._best, self._wait = value, 0
            return lr
        self._wait += 1
        if self._wait > self.patience:
            self._wait = 0
            return max(lr * self.factor, self.min_lr)
        return lr

    def __repr__(self):
        return (f"ReduceOnPlateau(factor={self.factor}, patience={self.patience}, "
                f"min_delta={self.min_delta}, min_lr={self.min_lr})")


SCHEDULES = (ExponentialDecay, InverseTimeDecay, StepDecay, ReduceOnPlateau)


def get(schedule):
    if schedule is None or isinstance(schedule, SCHEDULES):
        return schedule
    raise TypeError(
        "lr_schedule must be None or one of nnfast.schedules.StepDecay, ExponentialDecay, "
        f"InverseTimeDecay, ReduceOnPlateau; got {schedule!r}."
    )
