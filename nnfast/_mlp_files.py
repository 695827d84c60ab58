"""The MLP estimators' model files: everything a fitted model holds (weights, the optimizer
and the records scikit-learn's loop keeps between fits), as a JSON header and arrays,
checked when read. The header names the model's precision (float32 models are read back
as float32; files without it are float64)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._compat import ClassifierMixin
from ._spec import OptimizerState, real_dtype
from ._validation import check_number
from .callbacks import History
from .io import decode_classes, encode_classes, estimator_from_header, float_array, params_header

if TYPE_CHECKING:
    from collections.abc import Mapping

    from typing_extensions import Self

    from ._mlp_solvers import MLPState

    _State = MLPState  # the estimator's state and methods the files hold, declared once
else:
    _State = object


class FilesMixin(_State):
    """``_to_file`` / ``_from_file`` of the MLP estimators (see ``nnfast.io``)."""

    def _to_file(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = params_header(self)
        header["fitted"] = self._is_fitted()
        if not header["fitted"]:
            return header, {}
        net = self._network("save")
        names = getattr(self, "feature_names_in_", None)
        optimizer = getattr(self, "_optimizer", None)
        header.update(
            {
                "target": self._target,
                "n_features_in": int(self.n_features_in_),
                "layer_sizes": net.layer_sizes,
                "dtype": net.dtype.name,
                "n_iter": int(self.n_iter_),
                "t": int(self.t_),
                "loss": _number_or_none(getattr(self, "loss_", None)),
                "best_loss": _number_or_none(getattr(self, "best_loss_", None)),
                "best_validation_score": _number_or_none(
                    getattr(self, "best_validation_score_", None)
                ),
                "no_improvement_count": getattr(self, "_no_improvement_count", None),
                "optimizer": None
                if optimizer is None
                else {
                    "solver": "adam" if hasattr(optimizer, "beta_1") else "sgd",
                    "learning_rate": float(getattr(optimizer, "learning_rate", 0.0)),
                    "step": int(optimizer.state.step[0]),
                },
                "feature_names_in": None if names is None else [str(s) for s in names],
            }
        )
        if hasattr(self, "classes_"):
            header["classes"] = encode_classes(self.classes_)
        arrays: dict[str, np.ndarray] = {"parameters": net.parameters}
        history = getattr(self, "history_", None) or History()
        arrays["history_loss"] = np.asarray(history.loss, dtype=np.float64)
        arrays["history_learning_rate"] = np.asarray(history.learning_rate, dtype=np.float64)
        for name in ("loss_curve_", "validation_scores_", "validation_loss_curve_"):
            value = getattr(self, name, None)
            if value is not None:
                arrays[name.rstrip("_")] = np.asarray(value, dtype=np.float64)
        best = getattr(self, "_best_parameters", None)
        if best is not None:
            arrays["best_parameters"] = best
        if optimizer is not None:
            arrays["optimizer_m"], arrays["optimizer_v"] = optimizer.state.m, optimizer.state.v
        return header, arrays

    @classmethod
    def _file_shapes(cls, header: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        if not header["fitted"]:
            return {}
        sizes = [check_number(s, "layer_sizes", 1, integer=True) for s in header["layer_sizes"]]
        return {"parameters": (sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])),)}

    @classmethod
    def _from_file(cls, header: Mapping[str, Any], arrays: Mapping[str, Any]) -> Self:
        from ._mlp_solvers import SGDOptimizer, new_optimizer

        model = estimator_from_header(cls, header)
        p = model._checked_params()
        if not header["fitted"]:
            return model
        target = header["target"]
        if target not in cls._kinds:
            raise ValueError(f"target {target!r} is not one of {cls._kinds}")
        n_features = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        sizes = [check_number(s, "layer_sizes", 1, integer=True) for s in header["layer_sizes"]]
        if sizes[:-1] != [n_features, *p.hidden]:
            raise ValueError(
                f"layer_sizes {sizes} do not match n_features_in={n_features} and "
                f"hidden_layer_sizes={p.hidden}"
            )
        model._target = target
        if issubclass(cls, ClassifierMixin):
            model.classes_ = decode_classes(header["classes"])
            k = model.classes_.size
            fits = {
                "binary": k <= 2 and sizes[-1] == 1,
                "multiclass": k > 2 and sizes[-1] == k,
                "multilabel": sizes[-1] == k and np.array_equal(model.classes_, np.arange(k)),
            }[target]
            if not fits:
                raise ValueError(
                    f"classes {model.classes_.tolist()} do not fit a {target} "
                    f"output of {sizes[-1]} units"
                )
        dtype = real_dtype(header.get("dtype", "float64"))
        net = model._new_network(sizes, dtype)
        n_params = net.spec.n_params
        with np.errstate(over="ignore"):
            net.parameters[:] = float_array(arrays, "parameters", (n_params,))
        if not np.isfinite(net.parameters).all():
            raise ValueError(f"parameters do not fit the model's dtype {dtype.name}")
        model._set_network(net)
        model.n_features_in_ = n_features
        if header["feature_names_in"] is not None:
            names = [str(s) for s in header["feature_names_in"]]
            if len(names) != n_features:
                raise ValueError("feature_names_in does not match n_features_in")
            model.feature_names_in_ = np.asarray(names, dtype=object)
        model.n_iter_ = check_number(header["n_iter"], "n_iter", 0, integer=True)
        model.t_ = check_number(header["t"], "t", 0, integer=True)
        if header["loss"] is not None:
            model.loss_ = _record_number(header["loss"], "loss")
        for key, name in (
            ("best_loss", "best_loss_"),
            ("best_validation_score", "best_validation_score_"),
        ):
            if header[key] is not None or p.solver != "lbfgs":
                setattr(
                    model, name, None if header[key] is None else _record_number(header[key], key)
                )
        if header["no_improvement_count"] is not None:
            model._no_improvement_count = check_number(
                header["no_improvement_count"], "no_improvement_count", 0, integer=True
            )
        for name in ("loss_curve", "validation_scores", "validation_loss_curve"):
            if name in arrays:
                setattr(
                    model, name + "_", float_array(arrays, name, (None,), finite=False).tolist()
                )
            elif p.solver != "lbfgs":
                setattr(model, name + "_", None if name != "loss_curve" else [])
        model._best_parameters = (
            float_array(arrays, "best_parameters", (n_params,)).astype(dtype)
            if "best_parameters" in arrays
            else None
        )
        model._optimizer = None
        saved = header["optimizer"]
        if saved is not None:
            if not isinstance(saved, dict) or saved.get("solver") not in ("sgd", "adam"):
                raise ValueError(f"optimizer must describe 'sgd' or 'adam', got {saved!r}")
            p.solver = saved["solver"]
            optimizer = new_optimizer(p, n_params, dtype)
            state = OptimizerState(n_params, dtype=dtype)
            state.m, state.v = (
                float_array(arrays, key, (None,)).astype(dtype)
                for key in ("optimizer_m", "optimizer_v")
            )
            if {state.m.size, state.v.size} - {1, n_params}:
                raise ValueError(
                    f"optimizer_m and optimizer_v hold {state.m.size} and "
                    f"{state.v.size} values, expected 1 or {n_params}"
                )
            state.step[0] = check_number(saved["step"], "optimizer step", 0, integer=True)
            optimizer.state = state
            if isinstance(optimizer, SGDOptimizer):  # saved["solver"] == "sgd"
                optimizer.learning_rate = check_number(
                    saved["learning_rate"], "optimizer learning_rate", 0.0, low_open=True
                )
            model._optimizer = optimizer
        history = History()
        history.loss = float_array(arrays, "history_loss", (None,), finite=False).tolist()
        history.learning_rate = float_array(arrays, "history_learning_rate", (None,)).tolist()
        curve = getattr(model, "validation_loss_curve_", None)
        if curve:
            history.val_loss = list(curve)
        model.history_ = net.history = history
        return model


def _number_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)


def _record_number(value: object, name: str) -> float:
    """A recorded number (a loss): a real number, NaN or infinite when training diverged."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)
