"""What EarlyStopping and ModelCheckpoint watch: ``monitor`` (a History list by name, or a
callable of the network) and ``mode`` (min, max, or auto: max for the accuracies), as Keras's
callbacks do; and ModelCheckpoint's saves, through ``nnfast.save``."""

import numpy as np
import pytest

import nnfast as nf


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + 0.7 * X[:, 1] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    return X, np.eye(2)[y]


def network(seed=0):
    return nf.Network([2, 6, 2], activation="tanh", loss="cross_entropy", seed=seed)


class Snapshots(nf.Callback):
    """Every epoch's parameters, and a monitored value of our own."""

    def __init__(self):
        self.parameters = []

    def on_epoch_end(self, epoch, history, network):
        self.parameters.append(network.parameters.copy())


def fit(net, early_stopping=None, callbacks=(), epochs=40, **options):
    X, Y = blobs()
    keep = Snapshots()
    options.setdefault("validation_split", 0.3)
    history = net.train(
        X,
        Y,
        epochs=epochs,
        batch_size=8,
        learning_rate=0.3,
        seed=1,
        early_stopping=early_stopping,
        callbacks=[keep, *callbacks],
        **options,
    )
    return history, keep.parameters


def first_best(values, mode):
    values = np.asarray(values)
    return int(np.argmax(values) if mode == "max" else np.argmin(values))


@pytest.mark.parametrize(
    "monitor, mode",
    [("val_accuracy", "max"), ("accuracy", "max"), ("loss", "min"), ("val_loss", "min")],
)
def test_early_stopping_watches_the_named_list(backend, monitor, mode):
    stopper = nf.EarlyStopping(patience=4, monitor=monitor)
    assert stopper.mode == mode  # "auto"
    net = network()
    history, parameters = fit(net, stopper)
    values = getattr(history, monitor)
    best = first_best(values[: len(parameters)], mode)
    assert history.best_epoch == stopper.best_epoch == best
    assert stopper.best == values[best]
    np.testing.assert_array_equal(net.parameters, parameters[best])
    if history.stopped_epoch is not None:  # patience ran out after the best epoch
        assert history.stopped_epoch == best + 4


def test_val_loss_falls_back_on_the_loss_without_validation():
    stopper = nf.EarlyStopping(patience=3)
    history, _ = fit(network(), stopper, validation_split=0.0)
    assert history.best_epoch == first_best(history.loss, "min")


def test_a_callable_monitor_with_a_mode():
    X_test, Y_test = blobs(200, seed=9)
    seen = []

    def score(network):
        value = float(np.mean(network.feedforward(X_test).argmax(1) == Y_test.argmax(1)))
        seen.append(value)
        return value

    stopper = nf.EarlyStopping(patience=5, monitor=score, mode="max")
    net = network(3)
    history, parameters = fit(net, stopper)
    assert len(seen) == history.epochs
    best = first_best(seen, "max")
    assert history.best_epoch == best
    np.testing.assert_array_equal(net.parameters, parameters[best])
    low = nf.EarlyStopping(patience=5, monitor=lambda n: -score(n), mode="min")
    history2, _ = fit(network(3), low)
    assert history2.best_epoch == best


def test_a_monitor_that_is_not_finite_never_improves():
    values = iter([np.nan, 0.5, np.inf, 0.4, 0.45, np.nan, 0.1] + [1.0] * 50)
    stopper = nf.EarlyStopping(patience=10, monitor=lambda n: next(values), mode="min")
    history, _ = fit(network(), stopper, epochs=7)
    assert history.best_epoch == 6 and stopper.best == 0.1


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(monitor="val_acc"), ValueError, r"monitor must be one of \('val_loss', 'loss'"),
        (dict(monitor=3), ValueError, "monitor must be one of"),
        (dict(mode="lowest"), ValueError, r"mode must be one of \('auto', 'min', 'max'\)"),
        (dict(monitor=len), ValueError, "pass mode='min' or mode='max'"),
    ],
)
def test_bad_monitors_and_modes_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        nf.EarlyStopping(**kwargs)
    with pytest.raises(error, match=match):
        nf.ModelCheckpoint("x.npz", **kwargs)


def test_lists_a_run_will_not_have_are_refused_before_training():
    X, Y = blobs()
    net = network()
    before = net.parameters.copy()
    with pytest.raises(ValueError, match="val_accuracy.*needs validation_data"):
        net.train(X, Y, early_stopping=nf.EarlyStopping(monitor="val_accuracy"))
    regression = nf.Network([2, 3, 1], loss="mse")
    with pytest.raises(ValueError, match="needs a loss with an accuracy"):
        regression.train(X, Y[:, 1], callbacks=[nf.ModelCheckpoint("x.npz", monitor="accuracy")])
    np.testing.assert_array_equal(net.parameters, before)


def test_a_callable_must_return_a_number():
    with pytest.raises(TypeError, match="must return a number"):
        fit(network(), nf.EarlyStopping(monitor=lambda n: "good", mode="max"))


def test_checkpoint_saves_each_improvement(tmp_path, backend):
    path = tmp_path / "best.npz"
    checkpoint = nf.ModelCheckpoint(path, monitor="val_accuracy")
    history, parameters = fit(network(), callbacks=[checkpoint], epochs=15)
    best = first_best(history.val_accuracy, "max")
    assert checkpoint.best_epoch == best and checkpoint.mode == "max"
    improved = [
        e for e in range(15) if history.val_accuracy[e] > max([-np.inf] + history.val_accuracy[:e])
    ]
    assert len(checkpoint.saved) == len(improved) and improved[-1] == best
    np.testing.assert_array_equal(nf.load(path).parameters, parameters[best])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_checkpoint_every_epoch_to_numbered_files(tmp_path):
    checkpoint = nf.ModelCheckpoint(
        str(tmp_path / "net-{epoch}.npz"), monitor="loss", save_best_only=False
    )
    history, parameters = fit(network(), callbacks=[checkpoint], epochs=4)
    assert checkpoint.saved == [str(tmp_path / f"net-{e}.npz") for e in (1, 2, 3, 4)]
    for e in range(4):
        np.testing.assert_array_equal(nf.load(checkpoint.saved[e]).parameters, parameters[e])


def test_checkpoint_refuses_a_missing_folder_before_training(tmp_path):
    net = network()
    before = net.parameters.copy()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fit(net, callbacks=[nf.ModelCheckpoint(tmp_path / "nowhere" / "net.npz")])
    np.testing.assert_array_equal(net.parameters, before)
    with pytest.raises(TypeError, match="path must be a file path"):
        nf.ModelCheckpoint(3)


def test_reprs_name_what_is_watched():
    assert repr(nf.EarlyStopping()) == (
        "EarlyStopping(patience=10, min_delta=0.0, restore_best=True)"
    )
    assert repr(nf.EarlyStopping(monitor="val_accuracy", mode="min")) == (
        "EarlyStopping(patience=10, min_delta=0.0, restore_best=True, "
        "monitor='val_accuracy', mode='min')"
    )

    def f1(network):
        return 0.0

    assert "monitor=f1" in repr(nf.EarlyStopping(monitor=f1, mode="max"))
    assert repr(nf.ModelCheckpoint("m.npz")) == (
        "ModelCheckpoint('m.npz', monitor='val_loss', save_best_only=True, mode='min')"
    )
