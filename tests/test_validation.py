"""Bad input fails early with a message naming the argument; good input of any layout works."""

import numpy as np
import pytest

import nnfast
from nnfast import _reference
from nnfast._validation import as_float_array, as_matrix

X3 = np.arange(6.0).reshape(3, 2)


@pytest.fixture
def mse_net():
    return nnfast.Network([2, 3, 2], activation="tanh", seed=0)


@pytest.fixture
def ce_net():
    return nnfast.Network([2, 3, 3], activation="tanh", loss="cross_entropy", seed=0)


# --- shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["feedforward", "loss", "gradients", "train"])
def test_x_with_three_dimensions(call, mse_net):
    X = np.zeros((3, 2, 1))
    args = (X,) if call == "feedforward" else (X, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"X must be 1-D or 2-D.*\(3, 2, 1\)"):
        getattr(mse_net, call)(*args)


@pytest.mark.parametrize("call", ["feedforward", "loss", "gradients", "train"])
def test_x_with_the_wrong_number_of_features(call, mse_net):
    X = np.zeros((3, 5))
    args = (X,) if call == "feedforward" else (X, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"X has 5 features.*expects 2"):
        getattr(mse_net, call)(*args)
    one_sample = (np.zeros(5),) if call == "feedforward" else (np.zeros(5), np.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"X has 5 features"):
        getattr(mse_net, call)(*one_sample)


@pytest.mark.parametrize(
    "Y, pattern",
    [
        (np.zeros((3, 3)), r"Y has 3 columns.*2 outputs"),
        (np.zeros((3, 1)), r"Y has 1 columns.*2 outputs"),
        (np.zeros(3), r"Y is 1-D.*2 outputs"),
        (np.zeros((3, 2, 1)), r"Y must be 1-D or 2-D"),
    ],
)
def test_y_with_the_wrong_shape(Y, pattern, mse_net):
    for call in (mse_net.loss, mse_net.gradients, mse_net.train):
        with pytest.raises(ValueError, match=pattern):
            call(X3, Y)


@pytest.mark.parametrize("n_y", [2, 4])
def test_mismatched_sample_counts(n_y, mse_net, ce_net):
    with pytest.raises(ValueError, match=rf"X and Y .*different numbers of samples.*3.*{n_y}"):
        mse_net.train(X3, np.zeros((n_y, 2)))
    with pytest.raises(ValueError, match=r"X and Y .*different numbers of samples"):
        ce_net.train(X3, np.zeros(n_y, dtype=int))  # wrong label count
    with pytest.raises(ValueError, match=r"different numbers of samples"):
        mse_net.loss(X3, np.zeros((n_y, 2)))


def test_validation_data_is_checked_by_name(mse_net):
    with pytest.raises(ValueError, match=r"validation_data\[0\] has 4 features"):
        mse_net.train(X3, np.zeros((3, 2)), validation_data=(np.zeros((2, 4)), np.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"validation_data\[1\]"):
        mse_net.train(X3, np.zeros((3, 2)), validation_data=(np.zeros((2, 2)), np.zeros((3, 2))))
    with pytest.raises(TypeError, match="validation_data"):
        mse_net.train(X3, np.zeros((3, 2)), validation_data=np.zeros((2, 2)))


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf(bad, mse_net):
    X = X3.copy()
    X[1, 0] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        mse_net.feedforward(X)
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        mse_net.train(X, np.zeros((3, 2)))
    Y = np.zeros((3, 2))
    Y[2, 1] = bad
    with pytest.raises(ValueError, match=r"Y contains NaN or infinity"):
        mse_net.train(X3, Y)
    with pytest.raises(ValueError, match=r"Y contains NaN or infinity"):
        mse_net.loss(X3, Y)


@pytest.mark.parametrize("empty", [[], np.zeros((0, 2)), np.zeros((0,))])
def test_empty_arrays(empty, mse_net):
    with pytest.raises(ValueError, match=r"X is empty"):
        mse_net.feedforward(empty)
    with pytest.raises(ValueError, match=r"X is empty"):
        mse_net.train(empty, np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"Y is empty"):
        mse_net.train(X3, np.zeros((0, 2)))


@pytest.mark.parametrize(
    "X, kind",
    [
        ([["a", "b"]], "dtype <U"),
        (np.array([[1.0, None]], dtype=object), "dtype object"),
        (np.array([[1.0, 2.0]], dtype=object), "dtype object"),
        (np.array([[1 + 2j, 1.0]]), "complex"),
        (np.array([["2020-01-01", "2020-01-02"]], dtype="datetime64[D]"), "dtype datetime64"),
    ],
)
def test_non_numeric_input(X, kind, mse_net):
    with pytest.raises(TypeError, match=rf"X must hold real numbers, got {kind}"):
        mse_net.feedforward(X)
    with pytest.raises(TypeError, match=r"Y must hold real numbers"):
        mse_net.train(np.zeros((1, 2)), X)


def test_ragged_lists_name_the_argument(mse_net):
    with pytest.raises(ValueError, match=r"X must be an array of numbers"):
        mse_net.train([[1.0, 2.0], [3.0]], np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"Y must be an array of numbers"):
        mse_net.train(np.zeros((2, 2)), [[1.0, 2.0], [3.0]])


def test_feedforward_of_a_ragged_list_names_the_argument(mse_net):
    with pytest.raises(ValueError, match=r"X must be an array of numbers"):
        mse_net.feedforward([[1.0, 2.0], [3.0]])


# --- labels and probabilities for the cross-entropies ---------------------------------------


@pytest.mark.parametrize(
    "labels, pattern",
    [
        ([0, 1, 3], r"Y holds label 3, but there are only 3 classes"),
        ([0, 7, 1], r"Y holds label 7"),
        ([0, -1, 1], r"Y must hold non-negative class labels"),
        ([0.0, 1.5, 2.0], r"Y must hold integer class labels"),
    ],
)
def test_bad_class_labels(labels, pattern, ce_net):
    for call in (ce_net.train, ce_net.loss, ce_net.gradients):
        with pytest.raises(ValueError, match=pattern):
            call(X3, labels)


def test_cross_entropy_targets_must_be_probabilities(ce_net):
    bce = nnfast.Network([2, 2], activation=[], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match=r"Y must hold probabilities in \[0, 1\]"):
        bce.train(X3, np.full((3, 2), 2.0))
    with pytest.raises(ValueError, match=r"Y must hold probabilities in \[0, 1\]"):
        ce_net.train(X3, -np.eye(3))
    # one-hot rows and float labels equal to integers are accepted
    ce_net.loss(X3, np.eye(3))
    ce_net.loss(X3, np.array([0.0, 2.0, 1.0]))


# --- names and hyperparameters --------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(activation="mish"), r"Unknown activation 'mish'\. Supported activations are .*relu"),
        (
            dict(activation=["relu", "selu"], layer_sizes=[2, 3, 3, 1]),
            r"Unknown activation 'selu'.*sigmoid",
        ),
        (dict(output_activation="softsign"), r"Unknown activation 'softsign'.*softmax"),
        (dict(loss="hinge"), r"Unknown loss 'hinge'\. Supported losses are .*cross_entropy.*mse"),
        (
            dict(init="orthogonal"),
            r"Unknown init 'orthogonal'\. Supported initialisations are "
            r".*xavier",
        ),
        (dict(activation="softmax"), r"softmax is only available as the output_activation"),
        (dict(activation=["relu"] * 3), r"activation must be one name or 1 names"),
        (
            dict(loss="binary_cross_entropy", output_activation="softmax"),
            r"binary_cross_entropy.*output_activation='sigmoid'",
        ),
        (
            dict(loss="cross_entropy", output_activation="sigmoid"),
            r"cross_entropy.*output_activation='softmax'",
        ),
    ],
)
def test_unknown_or_inconsistent_names(kwargs, pattern):
    kwargs = {"layer_sizes": [2, 3, 1], **kwargs}
    with pytest.raises(ValueError, match=pattern):
        nnfast.Network(**kwargs)


def test_names_of_the_wrong_type():
    with pytest.raises(TypeError, match="activation"):
        nnfast.Network([2, 3, 1], activation=[3])
    with pytest.raises(TypeError, match="loss"):
        nnfast.Network([2, 3, 1], loss=3)


@pytest.mark.parametrize(
    "sizes, error, pattern",
    [
        ([2, 0, 1], ValueError, r"layer_sizes\[1\] must be in \[1"),
        ([0, 3, 1], ValueError, r"layer_sizes\[0\]"),
        ([2, -3, 1], ValueError, r"layer_sizes\[1\].*-3"),
        ([2, 2.5, 1], TypeError, r"layer_sizes\[1\] must be an integer, got 2.5"),
        ([2.0, 3, 1], TypeError, r"layer_sizes\[0\] must be an integer"),
        ([2, True], TypeError, r"layer_sizes\[1\] must be an integer"),
        ([3], ValueError, r"layer_sizes needs at least an input and an output size"),
        ([], ValueError, r"layer_sizes needs at least"),
        (5, TypeError, r"layer_sizes must be a sequence"),
    ],
)
def test_bad_layer_sizes(sizes, error, pattern):
    with pytest.raises(error, match=pattern):
        nnfast.Network(sizes)


def test_numpy_integer_layer_sizes_are_fine():
    net = nnfast.Network(np.array([2, 3, 1]))
    assert net.layer_sizes == [2, 3, 1]
    assert all(type(s) is int for s in net.layer_sizes)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (dict(learning_rate=0.0), ValueError, r"learning_rate must be in \(0"),
        (dict(learning_rate=-0.1), ValueError, r"learning_rate"),
        (dict(learning_rate=float("nan")), ValueError, r"learning_rate must be finite"),
        (dict(learning_rate=float("inf")), ValueError, r"learning_rate must be finite"),
        (dict(learning_rate=10**400), ValueError, r"learning_rate must be finite"),  # no float
        (dict(learning_rate="0.1"), TypeError, r"learning_rate must be a real number"),
        (dict(batch_size=0), ValueError, r"batch_size must be in \[1"),
        (dict(batch_size=-4), ValueError, r"batch_size"),
        (dict(batch_size=2.5), TypeError, r"batch_size must be an integer"),
        (dict(epochs=-1), ValueError, r"epochs must be in \[0"),
        (dict(epochs=1.5), TypeError, r"epochs must be an integer"),
        (dict(dropout=1.0), ValueError, r"dropout\[0\] must be in \[0.0, 1.0\)"),
        (dict(dropout=1.5), ValueError, r"dropout\[0\]"),
        (dict(dropout=-0.1), ValueError, r"dropout\[0\]"),
        (dict(dropout=[0.1, 0.2, 0.3]), ValueError, r"dropout must be one rate or 2 rates"),
        (dict(dropout=[0.1, 1.0]), ValueError, r"dropout\[1\]"),
        (dict(l1=-0.1), ValueError, r"l1 must be in \[0"),
        (dict(l2=float("nan")), ValueError, r"l2 must be finite"),
        (dict(optimizer="lamb"), ValueError, r"Unknown optimizer 'lamb'.*adam.*sgd"),
        (dict(lr_schedule="cosine"), TypeError, r"lr_schedule must be None or one of"),
        (dict(seed=-1), ValueError, r"seed must be a non-negative integer"),
        (dict(seed="zero"), TypeError, r"seed must be None, an int or a numpy.random.Generator"),
        (dict(validation_split=1.0), ValueError, r"validation_split"),
        (dict(early_stopping="yes"), TypeError, r"early_stopping"),
        (dict(restarts=0), ValueError, r"restarts"),
    ],
)
def test_bad_training_options(kwargs, error, pattern):
    net = nnfast.Network([2, 3, 3, 1], seed=0)
    before = net.parameters.copy()
    with pytest.raises(error, match=pattern):
        net.train(np.zeros((4, 2)), np.zeros(4), **kwargs)
    np.testing.assert_array_equal(net.parameters, before)  # nothing trained


def test_optimizer_and_schedule_arguments_are_checked():
    with pytest.raises(ValueError, match="momentum"):
        nnfast.SGD(momentum=1.0)
    with pytest.raises(ValueError, match="nesterov"):
        nnfast.SGD(momentum=0.0, nesterov=True)
    with pytest.raises(ValueError, match="beta_1"):
        nnfast.Adam(beta_1=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        nnfast.Adam(epsilon=0.0)
    with pytest.raises(ValueError, match="decay_rate"):
        nnfast.schedules.ExponentialDecay(decay_rate=0.0)
    with pytest.raises(ValueError, match="decay_steps"):
        nnfast.schedules.InverseTimeDecay(decay_steps=0)
    with pytest.raises(ValueError, match="per must be one of"):
        nnfast.schedules.ExponentialDecay(per="batch")


def test_zero_epochs_is_a_no_op():
    net = nnfast.Network([2, 3, 1], seed=0)
    before = net.parameters.copy()
    history = net.train(X3, np.zeros(3), epochs=0)
    assert history.loss == []
    np.testing.assert_array_equal(net.parameters, before)


# --- accepted layouts and types -------------------------------------------------------------


def reference_results(net, X, Y):
    """What a clean C-contiguous float64 copy of the input gives."""
    Xc = np.array(np.asarray(X, dtype=np.float64), order="C")
    Yc = np.array(np.asarray(Y, dtype=np.float64), order="C")
    return net.feedforward(Xc), net.loss(Xc, Yc)


def _variants():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 4))
    Y = rng.normal(size=(6, 2))
    readonly = base[:, :2].copy()
    readonly.flags.writeable = False
    yield "fortran", np.asfortranarray(base[:, :2]), np.asfortranarray(Y)
    yield "column_slice", base[:, ::2], Y[:, ::-1]
    yield "row_slice", np.vstack([base, base])[::2, 1:3], Y
    yield "float32", base[:, :2].astype(np.float32), Y.astype(np.float32)
    yield "int", (base[:, :2] * 10).astype(np.int64), (Y * 10).astype(np.int32)
    yield "bool", base[:, :2] > 0, Y > 0
    yield "readonly", readonly, np.asarray(Y).copy()
    yield "list", base[:, :2].tolist(), Y.tolist()
    yield "transposed", np.ascontiguousarray(base[:, :2].T).T, Y


@pytest.mark.parametrize("name, X, Y", list(_variants()), ids=[v[0] for v in _variants()])
def test_converted_input_works(name, X, Y, backend):
    net = nnfast.Network([2, 5, 2], activation="tanh", seed=1)
    out, loss = reference_results(net, X, Y)
    np.testing.assert_array_equal(net.feedforward(X), out)
    assert net.loss(X, Y) == loss
    ref = net.copy()
    history = net.train(X, Y, epochs=3, batch_size=2, seed=0, learning_rate=0.05)
    ref.train(
        np.array(X, dtype=np.float64, order="C"),
        np.array(Y, dtype=np.float64, order="C"),
        epochs=3,
        batch_size=2,
        seed=0,
        learning_rate=0.05,
    )
    np.testing.assert_array_equal(net.parameters, ref.parameters)
    assert len(history.loss) == 3 and np.isfinite(history.loss).all()


def test_read_only_arrays_everywhere(backend):
    X = np.random.default_rng(0).normal(size=(8, 2))
    labels = np.arange(8) % 3
    Y = nnfast.one_hot(labels, 3)
    for a in (X, labels, Y):
        a.flags.writeable = False
    net = nnfast.Network([2, 4, 3], loss="cross_entropy", seed=0)
    net.train(X, labels, epochs=2, batch_size=3, validation_data=(X, Y))
    net.train(X, Y, epochs=2, batch_size=None)
    assert np.isfinite(net.feedforward(X)).all()
    assert np.isfinite(net.gradients(X, labels)[0][0]).all()


def test_c_contiguous_float64_is_not_copied():
    X = np.random.default_rng(0).normal(size=(5, 3))
    out = as_matrix(X, "X", 3)
    assert out is X or (np.shares_memory(out, X) and out.base is X)
    assert np.shares_memory(as_float_array(X, "X"), X)
    row = X[1]
    assert np.shares_memory(as_matrix(row, "X", 3), X)  # a contiguous row: reshaped, not copied
    assert as_matrix(row, "X").shape == (1, 3)


@pytest.mark.parametrize(
    "convert",
    [np.asfortranarray, lambda a: a.astype(np.float32), lambda a: a[:, ::2], lambda a: a.tolist()],
)
def test_other_input_is_converted_to_c_float64(convert):
    X = np.random.default_rng(0).normal(size=(4, 6))
    given = convert(X)
    out = as_matrix(given, "X")
    assert out.dtype == np.float64 and out.flags.c_contiguous
    np.testing.assert_allclose(out, np.asarray(given, dtype=np.float64), rtol=0)
    if isinstance(given, np.ndarray):
        assert not np.shares_memory(out, given)


def test_kernels_receive_the_callers_buffer(monkeypatch):
    """Network.feedforward hands a C-contiguous float64 batch to the kernel without a copy."""
    seen = []
    original = _reference.forward

    def spy(spec, params, X, out):
        seen.append(X)
        return original(spec, params, X, out)

    monkeypatch.setattr(_reference, "forward", spy)
    X = np.random.default_rng(0).normal(size=(5, 2))
    net = nnfast.Network([2, 3, 1], seed=0)
    with nnfast.use_backend("numpy"):
        net.feedforward(X)
        net.feedforward(np.asfortranarray(X))
    assert np.shares_memory(seen[0], X)
    assert seen[1].flags.c_contiguous and seen[1].dtype == np.float64


def test_class_weights_of_any_real_number_type():
    """A class weight is any real number: a Fraction weighs as its value, and a weight no
    float can hold is refused by name (not by a NumPy TypeError)."""
    from fractions import Fraction

    X = np.random.default_rng(0).normal(size=(20, 2))
    y = np.arange(20) % 2
    params = dict(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=3, random_state=0)
    exact = nnfast.MLPClassifier(class_weight={0: 3}, **params).fit(X, y)
    fraction = nnfast.MLPClassifier(class_weight={0: Fraction(6, 2)}, **params).fit(X, y)
    np.testing.assert_array_equal(exact.network_.parameters, fraction.network_.parameters)
    with pytest.raises(ValueError, match=r"class_weight\[0\] must be a finite number >= 0"):
        nnfast.MLPClassifier(class_weight={0: 10**400}, **params).fit(X, y)
