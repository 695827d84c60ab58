"""The perceptron: the lessons' numbers, the algorithm re-derived in plain Python, and
backend parity of the compiled ``perceptron_epochs`` with the NumPy reference."""

import inspect

import numpy as np
import pytest

import nnfast as nf
from nnfast import _reference
from nnfast.datasets import load_perceptron_points
from nnfast.exceptions import NotFittedError

X_POINTS, Y_POINTS = load_perceptron_points()


def perceptron_by_hand(X, y, w, b, lr, epochs, seed=None):
    """The lesson's perceptronStep, repeated; shuffles with rng.shuffle when seeded."""
    w = [float(v) for v in w]
    b = float(b)
    rng = np.random.default_rng(seed) if seed is not None else None
    order = np.arange(len(X))
    errors = []
    for _ in range(epochs):
        if rng is not None:
            rng.shuffle(order)
        mistakes = 0
        for i in order:
            x = [float(v) for v in X[i]]
            z = 0.0
            for wj, xj in zip(w, x):
                z += wj * xj
            y_hat = 1 if z + b >= 0 else 0
            if y[i] - y_hat == 1:
                w = [wj + lr * xj for wj, xj in zip(w, x)]
                b += lr
                mistakes += 1
            elif y[i] - y_hat == -1:
                w = [wj + (-lr) * xj for wj, xj in zip(w, x)]
                b += -lr
                mistakes += 1
        errors.append(mistakes)
        if mistakes == 0:
            break
    return np.array(w), b, errors


def blobs(n=60, d=2, gap=3.0, seed=0):
    """Two clearly separable clouds, labels 0/1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, d)) * 0.5
    X[:, 0] += np.where(y == 1, gap, -gap)
    return X, y


# --- the lessons' numbers --------------------------------------------------------------------


def test_perceptron_trick_moves_the_line_away_from_a_negative_point(backend):
    """3 x1 + 4 x2 - 10 = 0 and the point (4, 5), labelled 0 but predicted 1 (score 22):
    with learning rate 0.1 the line becomes 2.6 x1 + 3.5 x2 - 10.1 = 0."""
    p = nf.Perceptron.from_weights([3, 4], -10, learning_rate=0.1)
    assert p([4, 5]) == 1 and p.predict([[4, 5]]).tolist() == [1]
    p.step([[4, 5]], [0])
    np.testing.assert_allclose(p.coef_, [2.6, 3.5], rtol=0, atol=1e-12)
    assert p.intercept_ == pytest.approx(-10.1, abs=1e-12)
    assert p.n_iter_ == 1 and p.errors_.tolist() == [1]
    np.testing.assert_allclose(p.boundary_lines_, [[2.6, 3.5, -10.1]], atol=1e-12)


def test_perceptron_trick_moves_the_line_towards_a_positive_point(backend):
    """(1, 1), labelled 1 but predicted 0 (score -3): w += 0.1 (1, 1), b += 0.1."""
    p = nf.Perceptron.from_weights([3, 4], -10, learning_rate=0.1).step([[1, 1]], [1])
    np.testing.assert_allclose(p.coef_, [3.1, 4.1], atol=1e-12)
    assert p.intercept_ == pytest.approx(-9.9, abs=1e-12)


def test_a_correctly_classified_point_changes_nothing(backend):
    p = nf.Perceptron.from_weights([3, 4], -10, learning_rate=0.1).step([[4, 5]], [1])
    assert p.coef_.tolist() == [3.0, 4.0] and p.intercept_ == -10.0
    assert p.errors_.tolist() == [0]


def test_the_student_above_the_line_is_accepted():
    """Test 7 and grades 6 under 2 x1 + x2 - 18: 2*7 + 6 - 18 = 2 >= 0, accepted."""
    p = nf.Perceptron.from_weights([2, 1], -18, classes=("rejected", "accepted"))
    assert p.decision_function([[7, 6]]).tolist() == [2.0]
    assert p([7, 6]) == "accepted"
    assert p.predict([[7, 6], [1, 1]]).tolist() == ["accepted", "rejected"]


def test_the_step_is_one_on_the_line():
    """The step convention: 1 where w.x + b >= 0, so a point on the line is positive."""
    p = nf.Perceptron.from_weights([1, 1], -2)
    assert p.decision_function([[1, 1]]).tolist() == [0.0]
    assert p.predict([[1, 1], [1, 0.999]]).tolist() == [1, 0]


def test_lesson_settings_on_the_points(backend):
    """Learning rate 0.01, 25 passes from w = 0: 92 of 100 points right. The points are not
    linearly separable (the best line gets 95), so every pass makes mistakes and the
    algorithm never stops early."""
    p = nf.Perceptron(learning_rate=0.01, max_epochs=25).fit(X_POINTS, Y_POINTS)
    assert p.score(X_POINTS, Y_POINTS) == 0.92
    assert p.n_iter_ == 25 and (p.errors_ > 0).all()
    assert p.boundary_lines_.shape == (25, 3)
    np.testing.assert_array_equal(p.boundary_lines_[-1], np.append(p.coef_, p.intercept_))


def test_lesson_random_start_on_the_points(backend):
    """The lesson's solution starts at W = rand(2), b = rand() + max(x1) (seed 42): 0.92."""
    np.random.seed(42)
    w0 = np.random.rand(2)
    b0 = np.random.rand() + X_POINTS[:, 0].max()
    p = nf.Perceptron(learning_rate=0.01, max_epochs=25)
    p.fit(X_POINTS, Y_POINTS, coef_init=w0, intercept_init=b0)
    w, b, errors = perceptron_by_hand(X_POINTS, Y_POINTS, w0, b0, 0.01, 25)
    np.testing.assert_array_equal(p.coef_, w)
    assert p.intercept_ == b
    assert p.errors_.tolist() == errors
    assert p.score(X_POINTS, Y_POINTS) == 0.92


def test_stops_after_the_first_pass_without_mistakes(backend):
    X, y = blobs()
    p = nf.Perceptron(learning_rate=0.1, max_epochs=100).fit(X, y)
    assert p.n_iter_ < 100
    assert p.errors_[-1] == 0 and (p.errors_[:-1] > 0).all()
    assert len(p.errors_) == len(p.boundary_lines_) == p.n_iter_
    assert p.score(X, y) == 1.0


def test_xor_is_never_separated(backend):
    """No line separates XOR: every pass makes a mistake, for as long as it runs."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    p = nf.Perceptron(learning_rate=0.1, max_epochs=50).fit(X, [0, 1, 1, 0])
    assert p.n_iter_ == 50 and (p.errors_ > 0).all()
    assert p.score(X, [0, 1, 1, 0]) < 1.0


# --- the algorithm, re-derived --------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("d", [1, 2, 5])
def test_matches_the_algorithm_written_out(backend, shuffle, d):
    rng = np.random.default_rng(d)
    X = rng.normal(size=(40, d))
    y = (X @ rng.normal(size=d) + 0.3 * rng.normal(size=40) > 0).astype(int)
    p = nf.Perceptron(
        learning_rate=0.05, max_epochs=30, seed=11 if shuffle else None, shuffle=shuffle
    ).fit(X, y)
    w, b, errors = perceptron_by_hand(
        X, y, np.zeros(d), 0.0, 0.05, 30, seed=11 if shuffle else None
    )
    np.testing.assert_array_equal(p.coef_, w)
    assert p.intercept_ == b
    assert p.errors_.tolist() == errors


def test_from_zero_the_learning_rate_only_scales_the_weights(backend):
    a = nf.Perceptron(learning_rate=0.01).fit(X_POINTS, Y_POINTS)
    b = nf.Perceptron(learning_rate=1.0).fit(X_POINTS, Y_POINTS)
    np.testing.assert_allclose(b.coef_, 100 * a.coef_, rtol=1e-9)
    np.testing.assert_array_equal(a.predict(X_POINTS), b.predict(X_POINTS))


def test_step_continues_from_the_current_weights(backend):
    """fit for 3 passes == fit for 1 pass + 2 steps."""
    a = nf.Perceptron(max_epochs=3).fit(X_POINTS, Y_POINTS)
    b = nf.Perceptron(max_epochs=1).fit(X_POINTS, Y_POINTS)
    b.step(X_POINTS, Y_POINTS).step(X_POINTS, Y_POINTS)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.errors_, b.errors_)
    np.testing.assert_array_equal(a.boundary_lines_, b.boundary_lines_)
    assert a.n_iter_ == b.n_iter_ == 3


def test_step_on_an_unfitted_perceptron_starts_from_zero(backend):
    p = nf.Perceptron(learning_rate=0.5).step([[1.0, 2.0]], [0])  # score 0 >= 0: predicted 1
    np.testing.assert_array_equal(p.coef_, [-0.5, -1.0])
    assert p.intercept_ == -0.5


def test_refit_resets_the_history(backend):
    p = nf.Perceptron(max_epochs=5).fit(X_POINTS, Y_POINTS)
    p.fit(X_POINTS, Y_POINTS)
    assert p.n_iter_ == 5 and len(p.errors_) == 5


def test_shuffle_is_seeded(backend):
    def fit(seed):
        return nf.Perceptron(shuffle=True, seed=seed).fit(X_POINTS, Y_POINTS)

    np.testing.assert_array_equal(fit(3).boundary_lines_, fit(3).boundary_lines_)
    assert not np.array_equal(fit(3).boundary_lines_, fit(4).boundary_lines_)


# --- labels ---------------------------------------------------------------------------------


def test_any_two_labels(backend):
    labels = np.where(Y_POINTS == 1, "yes", "no")
    p = nf.Perceptron().fit(X_POINTS, labels)
    q = nf.Perceptron().fit(X_POINTS, Y_POINTS)
    assert p.classes_.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(p.coef_, q.coef_)
    assert set(p.predict(X_POINTS)) <= {"no", "yes"}
    assert p.score(X_POINTS, labels) == q.score(X_POINTS, Y_POINTS)
    m = nf.Perceptron().fit(X_POINTS, 2 * Y_POINTS - 1)  # -1 / +1
    assert m.classes_.tolist() == [-1, 1]
    np.testing.assert_array_equal(m.coef_, q.coef_)


def test_labels_that_are_all_one_class_of_0_1_keep_their_meaning(backend):
    p = nf.Perceptron().fit([[1.0, 1.0], [2.0, 2.0]], [0, 0])
    assert p.classes_.tolist() == [0, 1]
    assert p.predict([[1.0, 1.0]]).tolist() == [0]


@pytest.mark.parametrize(
    "y, match",
    [
        (["a", "a", "a"], "two classes"),
        ([0, 1, 2], "two classes"),
        ([0, 1], "different numbers of samples"),
        ([[0, 1], [1, 0], [0, 1]], "1-D"),
        ([0.0, np.nan, 1.0], "NaN"),
    ],
)
def test_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        nf.Perceptron().fit(np.zeros((3, 2)), y)


def test_step_with_a_label_outside_classes():
    p = nf.Perceptron.from_weights([1, 1], 0)
    with pytest.raises(ValueError, match=r"y holds labels \[2\]"):
        p.step([[1, 1]], [2])


# --- validation and state -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"learning_rate": 0}, ValueError, "learning_rate"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate"),
        ({"max_epochs": 0}, ValueError, "max_epochs"),
        ({"max_epochs": 2.5}, TypeError, "max_epochs"),
        ({"seed": "x"}, TypeError, "seed"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    """Checked where they are used, as scikit-learn does: the constructor (and
    set_params) store them as given; fit, step and from_weights refuse them."""
    p = nf.Perceptron(**kwargs)
    assert p.get_params()[next(iter(kwargs))] == next(iter(kwargs.values()))
    with pytest.raises(error, match=match):
        p.fit(X_POINTS, Y_POINTS)
    with pytest.raises(error, match=match):
        nf.Perceptron(**kwargs).step(X_POINTS, Y_POINTS)
    with pytest.raises(error, match=match):
        nf.Perceptron.from_weights([1.0, 2.0], 0.0, **kwargs)


def test_a_column_vector_y_is_raveled_with_a_warning():
    with pytest.warns(UserWarning, match="A column-vector y was passed"):
        p = nf.Perceptron().fit(X_POINTS, np.reshape(Y_POINTS, (-1, 1)))
    assert p.coef_.tolist() == nf.Perceptron().fit(X_POINTS, Y_POINTS).coef_.tolist()


def test_one_sample_is_a_call_and_predict_takes_2d():
    p = nf.Perceptron.from_weights([1.0, 1.0], -1.0)
    assert p([1.0, 1.0]) == 1 and p([[1.0, 1.0], [0.0, 0.0]]).tolist() == [1, 0]
    for method in (p.predict, p.decision_function):
        with pytest.raises(ValueError, match="Reshape your data"):
            method([1.0, 1.0])


def test_bad_inputs_name_the_argument():
    p = nf.Perceptron()
    with pytest.raises(ValueError, match="X must be 2-D"):
        p.fit([1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="X contains NaN"):
        p.fit([[np.nan, 1.0], [0.0, 1.0]], [0, 1])
    with pytest.raises(TypeError, match="X must hold real numbers"):
        p.fit([["a", "b"]], [0])
    with pytest.raises(ValueError, match="coef_init has 3 features"):
        p.fit(X_POINTS, Y_POINTS, coef_init=[0, 0, 0])
    with pytest.raises(TypeError, match="intercept_init"):
        p.fit(X_POINTS, Y_POINTS, intercept_init="0")
    p.fit(X_POINTS, Y_POINTS)
    with pytest.raises(ValueError, match="X has 3 features, but Perceptron is expecting 2"):
        p.predict([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="X has 3 features, but Perceptron is expecting 2"):
        p.step([[1.0, 2.0, 3.0]], [1])
    with pytest.raises(ValueError, match="y must have shape"):
        p.score(X_POINTS, Y_POINTS[:10])
    with pytest.raises(ValueError, match="weights must be 1-D"):
        nf.Perceptron.from_weights([[1, 2]], 0)
    with pytest.raises(TypeError, match="bias"):
        nf.Perceptron.from_weights([1, 2], "b")
    with pytest.raises(ValueError, match="classes must be two different labels"):
        nf.Perceptron.from_weights([1, 2], 0, classes=(1, 1))


def test_predict_before_fit_is_a_clear_error():
    p = nf.Perceptron()
    with pytest.raises(NotFittedError, match=r"call fit\(X, y\).*before predict"):
        p.predict([[1.0, 2.0]])
    with pytest.raises(RuntimeError):  # NotFittedError is a RuntimeError
        p.decision_function([[1.0, 2.0]])
    assert not hasattr(p, "coef_")


def test_repr_shows_the_line_once_there_is_one():
    p = nf.Perceptron(learning_rate=0.1)
    assert repr(p) == "Perceptron(learning_rate=0.1, max_epochs=25, seed=None, shuffle=False)"
    p = nf.Perceptron.from_weights([3, 4], -10, learning_rate=0.1)
    assert repr(p) == (
        "Perceptron(w=[3, 4], b=-10, learning_rate=0.1, max_epochs=25, seed=None, shuffle=False)"
    )


# --- backends --------------------------------------------------------------------------------


def test_kernels_have_the_same_signature(cython_kernels):
    def params(f):
        return [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]

    assert params(cython_kernels.perceptron_epochs) == params(_reference.perceptron_epochs)


@pytest.mark.parametrize("shuffle", [False, True])
def test_both_backends_train_the_same_perceptron(on_both, shuffle):
    def fit():
        p = nf.Perceptron(learning_rate=0.01, max_epochs=60, seed=5, shuffle=shuffle)
        p.fit(X_POINTS, Y_POINTS)
        return p.coef_, p.intercept_, p.errors_, p.boundary_lines_

    cy, ref = on_both(fit)
    for a, b in zip(cy, ref):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)


def test_both_backends_agree_on_random_problems(on_both):
    for seed in range(20):
        rng = np.random.default_rng(seed)
        n, d = rng.integers(1, 60), rng.integers(1, 8)
        X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10)
        y = rng.integers(0, 2, size=n)
        lr = float(rng.uniform(0.001, 1.0))

        def fit():
            p = nf.Perceptron(lr, max_epochs=20, seed=seed, shuffle=bool(seed % 2))
            return p.fit(X, y).boundary_lines_

        cy, ref = on_both(fit)
        np.testing.assert_array_equal(cy, ref)


@pytest.mark.parametrize("name", ["cython", "numpy"])
def test_the_kernels_shuffle_like_generator_shuffle(name, request):
    """Each pass shuffles the persisted order in place with Generator.shuffle's draws."""
    if name == "cython":
        request.getfixturevalue("cython_kernels")
    kernels = nf._backend.kernels(name)
    rng = np.random.default_rng(0)
    order = np.arange(7, dtype=np.intp)
    X, y = np.eye(7), np.ones(7, dtype=np.intp)
    kernels.perceptron_epochs(
        X, y, np.zeros(8), 1.0, 3, True, rng, order, np.zeros(3, np.intp), np.zeros((3, 8))
    )
    expected, check = np.arange(7), np.random.default_rng(0)
    check.shuffle(expected)  # pass 1; every point is right after it, so it stops there
    np.testing.assert_array_equal(order, expected)
    assert rng.random() == check.random()  # and drew nothing more
