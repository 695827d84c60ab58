"""Learning-rate schedules.

``StepDecay``, ``ExponentialDecay``, ``InverseTimeDecay``, ``CosineDecay`` and ``OneCycle``
are functions of t, evaluated inside the compiled loop before every update. With
``per="step"`` t is the 0-based update step; with ``per="epoch"`` t is the 0-based epoch
index, so the rate is constant within an epoch:

- ExponentialDecay: ``lr * decay_rate ** (t / decay_steps)``
- InverseTimeDecay: ``lr / (1 + decay_rate * t / decay_steps) ** power``
- StepDecay: ``lr * drop ** floor(epoch / every)``
- CosineDecay: ``lr * t / warmup_steps`` for t < warmup_steps, then
  ``lr * ((1 - alpha) * (1 + cos(pi * p)) / 2 + alpha)`` with ``p = min(t - warmup_steps,
  decay_steps) / decay_steps``
- OneCycle: torch's ``OneCycleLR`` with cosine annealing and no momentum cycling, ``lr`` its
  ``max_lr``

(``staircase=True`` floors ``t / decay_steps``.) ``ReduceOnPlateau`` watches the
validation (or training) loss between epochs and multiplies the rate by ``factor``.
``History.learning_rate[e]`` is the rate of the first update of epoch e.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from ._spec import CONSTANT, COSINE, EXPONENTIAL, INVERSE_TIME, ONE_CYCLE
from ._validation import check_number

if TYPE_CHECKING:
    from typing import TypedDict

    from ._typing import Schedule
    from .callbacks import History
    from .network import Network

    class ScheduleFields(TypedDict, total=False):
        """The ``nnfast._spec.Hyper`` fields a schedule sets (``hyper()``): its code and
        constants; none (``{}``) leaves Hyper's constant rate."""

        schedule: int
        decay_rate: float
        decay_steps: float
        staircase: bool
        power: float
        warmup_steps: float
        final_fraction: float
        total_steps: float
        pct_start: float
        div_factor: float
        final_div_factor: float
        step_unit: float

    #: What t counts: update steps or epochs.
    Per = Literal["step", "epoch"]
    #: What ``ReduceOnPlateau`` watches.
    PlateauMonitor = Literal["auto", "loss", "val_loss"]


PER: tuple[Per, ...] = ("step", "epoch")


class _KernelSchedule:
    code: ClassVar[int] = CONSTANT

    def __init__(self, decay_rate: float, decay_steps: float, staircase: bool, per: Per) -> None:
        if per not in PER:
            raise ValueError(f"per must be one of {PER}, got {per!r}.")
        self.decay_rate = decay_rate
        self.decay_steps = check_number(decay_steps, "decay_steps", 0.0, low_open=True)
        self.staircase = bool(staircase)
        self.per = per
        if per == "epoch" and self.staircase and self.decay_steps != int(self.decay_steps):
            raise ValueError(
                f"decay_steps must be a whole number of epochs with staircase=True "
                f"and per='epoch', got {decay_steps!r}."
            )

    def hyper(self, steps_per_epoch: int, epochs: int | None = None) -> ScheduleFields:
        """The Hyper fields that make the kernels compute this schedule.

        The kernels see only the update step t; the epoch index is floor(t / steps_per_epoch).
        Per epoch with ``staircase``, the kernel's floor(t / (decay_steps * steps_per_epoch))
        is floor(epoch / decay_steps), as decay_steps is then a whole number. Per epoch
        without it, the rate must hold for the whole epoch: the kernel floors
        t / steps_per_epoch and decay_steps moves into the rate, as
        ``r ** (epoch / s) == (r ** (1 / s)) ** epoch`` and ``r * epoch / s == (r / s) * epoch``.
        """
        rate, steps, staircase = self.decay_rate, self.decay_steps, self.staircase
        if self.per == "epoch" and staircase:
            steps = self.decay_steps * steps_per_epoch
        elif self.per == "epoch":
            rate = rate ** (1.0 / steps) if self.code == EXPONENTIAL else rate / steps
            steps, staircase = float(steps_per_epoch), True
        return {
            "schedule": self.code,
            "decay_rate": rate,
            "decay_steps": steps,
            "staircase": staircase,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(decay_rate={self.decay_rate}, decay_steps="
            f"{self.decay_steps}, staircase={self.staircase}, per={self.per!r})"
        )


class ExponentialDecay(_KernelSchedule):
    """lr_t = lr * decay_rate ** (t / decay_steps); t counts steps or epochs (``per``)."""

    code = EXPONENTIAL

    def __init__(
        self,
        decay_rate: float = 0.96,
        decay_steps: float = 1000,
        staircase: bool = False,
        per: Per = "step",
    ) -> None:
        super().__init__(
            check_number(decay_rate, "decay_rate", 0.0, 1.0, low_open=True),
            decay_steps,
            staircase,
            per,
        )


class InverseTimeDecay(_KernelSchedule):
    """lr_t = lr / (1 + decay_rate * t / decay_steps) ** power; t counts steps or epochs
    (``per``). ``power=0.5`` with ``decay_rate`` = samples per epoch and ``per="epoch"`` is
    scikit-learn's ``invscaling``."""

    code = INVERSE_TIME

    def __init__(
        self,
        decay_rate: float = 0.5,
        decay_steps: float = 1000,
        staircase: bool = False,
        per: Per = "step",
        power: float = 1.0,
    ) -> None:
        super().__init__(check_number(decay_rate, "decay_rate", 0.0), decay_steps, staircase, per)
        self.power = check_number(power, "power", 0.0)

    def hyper(self, steps_per_epoch: int, epochs: int | None = None) -> ScheduleFields:
        return {**super().hyper(steps_per_epoch), "power": self.power}

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", power={self.power})"


class StepDecay(ExponentialDecay):
    """lr_epoch = lr * drop ** floor(epoch / every): drop the rate every ``every`` epochs."""

    def __init__(self, drop: float = 0.5, every: int = 10) -> None:
        super().__init__(
            check_number(drop, "drop", 0.0, 1.0, low_open=True),
            check_number(every, "every", 1, integer=True),
            True,
            "epoch",
        )

    def __repr__(self) -> str:
        return f"StepDecay(drop={self.decay_rate}, every={int(self.decay_steps)})"


class ReduceOnPlateau:
    """Multiply the learning rate by ``factor`` when the monitored loss has not improved by
    ``min_delta`` for ``patience`` epochs (never below ``min_lr``).

    Keras's ``ReduceLROnPlateau`` (and this library's ``EarlyStopping``) count patience the
    same way: with ``patience=2`` the rate drops after the second epoch in a row without
    improvement, then the count starts again. ``monitor`` is ``"val_loss"``, ``"loss"``
    or ``"auto"``: the validation loss when there is validation data, else the training
    loss.
    """

    MONITORS: ClassVar[tuple[PlateauMonitor, ...]] = ("auto", "loss", "val_loss")

    def __init__(
        self,
        factor: float = 0.1,
        patience: int = 10,
        min_delta: float = 1e-4,
        min_lr: float = 0.0,
        monitor: PlateauMonitor = "auto",
    ) -> None:
        self.factor = check_number(factor, "factor", 0.0, 1.0, low_open=True, high_open=True)
        self.patience = check_number(patience, "patience", 0, integer=True)
        self.min_delta = check_number(min_delta, "min_delta", 0.0)
        self.min_lr = check_number(min_lr, "min_lr", 0.0)
        if monitor not in self.MONITORS:
            raise ValueError(f"monitor must be one of {self.MONITORS}, got {monitor!r}.")
        self.monitor = monitor

    def hyper(self, steps_per_epoch: int, epochs: int | None = None) -> ScheduleFields:
        return {"schedule": CONSTANT}

    def on_train_begin(self, network: Network) -> None:
        self._best, self._wait = float("inf"), 0

    def adjust_learning_rate(self, epoch: int, history: History, lr: float) -> float:
        """Callback hook: the rate for the next epoch after epoch ``epoch``."""
        watched = history.loss if self.monitor == "loss" else history.monitor
        return self.next_rate(watched[-1], lr)

    def next_rate(self, value: float, lr: float) -> float:
        """The learning rate for the next epoch, given this epoch's monitored loss."""
        if value < self._best - self.min_delta:
            self._best, self._wait = value, 0
            return lr
        self._wait += 1
        if self._wait >= self.patience:
            self._wait = 0
            if lr > self.min_lr:  # a rate already below min_lr is left alone, never raised
                return max(lr * self.factor, self.min_lr)
        return lr

    def __repr__(self) -> str:
        return (
            f"ReduceOnPlateau(factor={self.factor}, patience={self.patience}, "
            f"min_delta={self.min_delta}, min_lr={self.min_lr}, monitor={self.monitor!r})"
        )


def _per(per: Per) -> Per:
    if per not in PER:
        raise ValueError(f"per must be one of {PER}, got {per!r}.")
    return per


class CosineDecay:
    """A linear warm-up, then a cosine decay of the learning rate.

    From 0 to lr over ``warmup_steps``, then a cosine from lr down to ``alpha * lr`` over
    ``decay_steps``, held there after them (Keras's ``CosineDecay`` with a warm-up from 0;
    torch's ``CosineAnnealingLR`` with ``eta_min = alpha * lr``, after a ``LinearLR``
    warm-up). t counts steps or epochs (``per``)::

        lr_t = lr * t / warmup_steps                                  t < warmup_steps
        lr_t = lr * ((1 - alpha) * (1 + cos(pi * p)) / 2 + alpha)     otherwise,
        p = min(t - warmup_steps, decay_steps) / decay_steps
    """

    def __init__(
        self, decay_steps: float, alpha: float = 0.0, warmup_steps: float = 0, per: Per = "step"
    ) -> None:
        self.decay_steps = check_number(decay_steps, "decay_steps", 0.0, low_open=True)
        self.alpha = check_number(alpha, "alpha", 0.0, 1.0)
        self.warmup_steps = check_number(warmup_steps, "warmup_steps", 0.0)
        self.per = _per(per)

    def hyper(self, steps_per_epoch: int, epochs: int | None = None) -> ScheduleFields:
        return {
            "schedule": COSINE,
            "decay_steps": self.decay_steps,
            "warmup_steps": self.warmup_steps,
            "final_fraction": self.alpha,
            "step_unit": float(steps_per_epoch) if self.per == "epoch" else 1.0,
        }

    def __repr__(self) -> str:
        return (
            f"CosineDecay(decay_steps={self.decay_steps}, alpha={self.alpha}, "
            f"warmup_steps={self.warmup_steps}, per={self.per!r})"
        )


class OneCycle:
    """The one-cycle policy (Smith & Topin), as torch's ``OneCycleLR`` with cosine annealing
    and no momentum cycling: ``learning_rate`` is the peak rate (torch's ``max_lr``). From
    ``lr / div_factor`` the rate rises over the first ``pct_start`` of ``total_steps`` to
    ``lr``, then falls to ``lr / div_factor / final_div_factor`` at the last step, and stays
    there. ``total_steps=None`` means the whole run: every update (``per="step"``) or every
    epoch (``per="epoch"``) of the ``train`` call.
    """

    def __init__(
        self,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        per: Per = "step",
    ) -> None:
        self.total_steps = (
            None
            if total_steps is None
            else check_number(total_steps, "total_steps", 1, integer=True)
        )
        self.pct_start = check_number(
            pct_start, "pct_start", 0.0, 1.0, low_open=True, high_open=True
        )
        self.div_factor = check_number(div_factor, "div_factor", 0.0, low_open=True)
        self.final_div_factor = check_number(
            final_div_factor, "final_div_factor", 0.0, low_open=True
        )
        self.per = _per(per)

    def hyper(self, steps_per_epoch: int, epochs: int | None = None) -> ScheduleFields:
        total = self.total_steps
        if total is None:
            if epochs is None:
                raise ValueError(
                    "OneCycle(total_steps=None) needs the run's length: pass "
                    "total_steps, or train with it (train() gives the epochs)."
                )
            total = epochs * (steps_per_epoch if self.per == "step" else 1)
        return {
            "schedule": ONE_CYCLE,
            "total_steps": float(max(total, 1)),
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "step_unit": float(steps_per_epoch) if self.per == "epoch" else 1.0,
        }

    def __repr__(self) -> str:
        return (
            f"OneCycle(total_steps={self.total_steps}, pct_start={self.pct_start}, "
            f"div_factor={self.div_factor}, final_div_factor={self.final_div_factor}, "
            f"per={self.per!r})"
        )


SCHEDULES = (ExponentialDecay, InverseTimeDecay, StepDecay, ReduceOnPlateau, CosineDecay, OneCycle)


def get(schedule: Schedule | None) -> Schedule | None:
    """``schedule`` itself when it is one of this module's schedules or None, else a
    TypeError."""
    if schedule is None or isinstance(schedule, SCHEDULES):
        return schedule
    raise TypeError(
        "lr_schedule must be None or one of nnfast.schedules.StepDecay, ExponentialDecay, "
        f"InverseTimeDecay, ReduceOnPlateau, CosineDecay, OneCycle; got {schedule!r}."
    )
