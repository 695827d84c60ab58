"""Model files: save is atomic, load refuses anything but an intact nnfast file with a ValueError.

A crash in the middle of ``save`` (an exception, Ctrl-C, or the process killed) must leave
the file that was at the path untouched and no temporary file behind (except after a hard
kill, where only the hidden ``.nnfast-*.npz.tmp`` can remain). ``load`` of a truncated,
corrupted, tampered or pickled file raises ValueError naming the path, never a zipfile,
pickle or MemoryError traceback, and never runs code from the file.
"""

import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import nnfast
from nnfast import io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def model(seed=0):
    return nnfast.Network([3, 5, 2], activation="tanh", seed=seed)


def listing(directory):
    return sorted(os.listdir(directory))


def assert_same_network(a, b):
    assert type(a) is type(b)
    assert a.layer_sizes == b.layer_sizes and repr(a) == repr(b)
    np.testing.assert_array_equal(a.parameters, b.parameters)


@pytest.fixture
def saved(tmp_path):
    """(path, network, bytes) of a model saved at tmp_path / 'model.npz'."""
    net = model()
    path = tmp_path / "model.npz"
    net.save(path)
    return path, net, path.read_bytes()


# --- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(layer_sizes=[3, 5, 2], activation="tanh"),
        dict(layer_sizes=[4, 3, 3, 3], activation=["relu", "sigmoid"], loss="cross_entropy"),
        dict(layer_sizes=[2, 1], activation=[], loss="binary_cross_entropy"),
        dict(layer_sizes=[2, 6, 2], activation="step", output_activation="softmax", init="normal"),
    ],
)
def test_round_trip_is_exact(tmp_path, kwargs):
    net = nnfast.Network(seed=3, **kwargs)
    X = np.random.default_rng(0).normal(size=(7, net.n_inputs))
    path = tmp_path / "m.npz"
    assert net.save(path) == os.fspath(path)
    back = nnfast.load(path)
    assert_same_network(net, back)
    assert back.init == net.init and back.activations == net.activations
    np.testing.assert_array_equal(back.feedforward(X), net.feedforward(X))
    assert listing(tmp_path) == ["m.npz"]


def test_save_overwrites_and_model_saved_after_training_loads(saved):
    path, net, _ = saved
    X = np.random.default_rng(0).normal(size=(20, 3))
    net.train(X, np.tanh(X[:, :2]), epochs=3, batch_size=4, seed=0)
    net.save(path)
    assert_same_network(nnfast.load(path), net)
    assert listing(path.parent) == ["model.npz"]


# --- atomic save ----------------------------------------------------------------------------


class DiskFull(OSError):
    pass


def partial_savez(exception):
    """An np.savez that writes the first half of the real file, then raises ``exception``."""
    real = np.savez

    def fake(file, *args, **kwargs):
        import io as _io

        buffer = _io.BytesIO()
        real(buffer, *args, **kwargs)
        data = buffer.getvalue()
        file.write(data[: len(data) // 2])
        file.flush()
        raise exception

    return fake


@pytest.mark.parametrize(
    "exception",
    [DiskFull(28, "No space left on device"), KeyboardInterrupt(), MemoryError()],
    ids=["OSError", "KeyboardInterrupt", "MemoryError"],
)
def test_crash_mid_write_keeps_the_old_file_and_leaves_no_temp_file(saved, monkeypatch, exception):
    path, old, old_bytes = saved
    monkeypatch.setattr(np, "savez", partial_savez(exception))
    with pytest.raises(type(exception)):
        model(seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert_same_network(nnfast.load(path), old)
    assert listing(path.parent) == ["model.npz"]


@pytest.mark.parametrize("stage", ["fsync", "replace"])
def test_crash_before_the_rename_keeps_the_old_file(saved, monkeypatch, stage):
    path, old, old_bytes = saved

    def boom(*args, **kwargs):
        raise OSError(5, f"I/O error in {stage}")

    monkeypatch.setattr(io.os, stage, boom)
    with pytest.raises(OSError, match=stage):
        model(seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert listing(path.parent) == ["model.npz"]


def test_crash_on_a_new_path_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(np, "savez", partial_savez(DiskFull(28, "No space left on device")))
    with pytest.raises(OSError):
        model().save(tmp_path / "new.npz")
    assert listing(tmp_path) == []


def test_the_file_is_complete_and_synced_before_it_is_renamed_into_place(saved, monkeypatch):
    """The rename is the commit: the temp file, in the same directory (same file system, so
    os.replace is atomic), must already be a complete, loadable, fsynced model."""
    path, _, _ = saved
    new = model(seed=7)
    events = []
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd):
        events.append("fsync")
        return real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        assert os.path.dirname(os.path.abspath(src)) == os.path.dirname(os.path.abspath(dst))
        assert os.path.abspath(dst) == os.path.abspath(path)
        assert_same_network(nnfast.load(src), new)  # complete before it becomes visible
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", replace)
    monkeypatch.setattr(io.os, "fsync", fsync)
    new.save(path)
    assert events == ["fsync", "replace"]
    assert_same_network(nnfast.load(path), new)


KILL_MID_SAVE = textwrap.dedent("""
    import sys, time
    import numpy as np
    import nnfast
    real = np.savez
    def slow(file, *args, **kwargs):
        import io
        buffer = io.BytesIO()
        real(buffer, *args, **kwargs)
        data = buffer.getvalue()
        file.write(data[:len(data) // 2])
        file.flush()
        print("writing", flush=True)
        time.sleep(60)
    np.savez = slow
    nnfast.Network([3, 5, 2], activation="tanh", seed=1).save(sys.argv[1])
""")


def test_process_killed_mid_save_keeps_the_old_file(saved):
    path, old, old_bytes = saved
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_MID_SAVE, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "writing", child.stderr.read()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
        child.stderr.close()
    assert path.read_bytes() == old_bytes
    assert_same_network(nnfast.load(path), old)
    leftovers = [name for name in listing(path.parent) if name != "model.npz"]
    # a hard kill cannot clean up: at most the hidden temp file remains, never at the path
    assert all(name.startswith(".nnfast-") and name.endswith(".npz.tmp") for name in leftovers)


def test_saved_file_permissions_follow_the_umask(tmp_path):
    """An atomic save must not change who can read the model: np.savez (and open()) create
    files with mode 0o666 & ~umask, but tempfile.mkstemp creates them 0o600, and os.replace
    keeps that mode: other users (a model server, a shared results folder) cannot read it."""
    previous = os.umask(0o022)
    try:
        path = tmp_path / "shared.npz"
        model().save(path)
        np.savez(tmp_path / "plain.npz", a=np.zeros(1))
    finally:
        os.umask(previous)
    expected = os.stat(tmp_path / "plain.npz").st_mode & 0o777
    assert expected == 0o644
    assert os.stat(path).st_mode & 0o777 == expected, oct(os.stat(path).st_mode & 0o777)


# --- truncated and corrupted files ----------------------------------------------------------


def test_every_truncation_is_a_value_error(saved, tmp_path):
    path, _, data = saved
    bad = tmp_path / "truncated.npz"
    for n in range(len(data)):
        bad.write_bytes(data[:n])
        with pytest.raises(ValueError, match="truncated.npz"):
            nnfast.load(bad)


def test_every_bit_flip_is_detected_or_harmless(saved, tmp_path):
    """Flip one bit anywhere: load either raises ValueError or returns the very same model
    (the flip hit a field nothing reads, such as a timestamp); the zip CRC catches data."""
    path, net, data = saved
    bad = tmp_path / "flipped.npz"
    escaped = {}
    for i in range(len(data)):
        for bit in (0, 7):
            blob = bytearray(data)
            blob[i] ^= 1 << bit
            bad.write_bytes(bytes(blob))
            try:
                back = nnfast.load(bad)
            except ValueError:
                continue
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                escaped.setdefault(type(exc).__name__, (i, bit, str(exc)))
                continue
            assert_same_network(back, net)
    assert not escaped, f"load raised other errors than ValueError: {escaped}"


def _zip_with(data, local_field, central_field, value):
    """``data`` with one 2-byte field set to ``value`` in every local and central header."""
    blob = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local_field), (b"PK\x01\x02", central_field)):
        start = 0
        while (start := blob.find(signature, start)) >= 0:
            struct.pack_into("<H", blob, start + offset, value)
            start += 4
    return bytes(blob)


@pytest.mark.parametrize(
    "what, local_field, central_field, value",
    [
        ("unsupported compression method", 8, 10, 99),
        ("encrypted member", 6, 8, 0x0001),
        ("needs a newer zip version", 4, 6, 0x00FF),
    ],
)
def test_zip_features_we_never_write_are_a_value_error(
    saved, tmp_path, what, local_field, central_field, value
):
    """zipfile raises NotImplementedError / RuntimeError for these: load must translate."""
    _, _, data = saved
    bad = tmp_path / "odd.npz"
    bad.write_bytes(_zip_with(data, local_field, central_field, value))
    with pytest.raises(ValueError, match="odd.npz"):
        nnfast.load(bad)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello",
        b"PK\x03\x04" + bytes(60),
        b"\x93NUMPY" + bytes(40),
        bytes(range(256)) * 4,
    ],
    ids=["empty", "text", "zip-magic-only", "npy-magic-only", "binary"],
)
def test_not_a_model_file(tmp_path, content):
    bad = tmp_path / "junk.npz"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="junk.npz"):
        nnfast.load(bad)


def test_other_npy_and_npz_files_are_refused(tmp_path):
    np.save(tmp_path / "array.npy", np.arange(5.0))
    np.savez(tmp_path / "plain.npz", parameters=np.zeros(3))
    for name in ("array.npy", "plain.npz"):
        with pytest.raises(ValueError, match=name):
            nnfast.load(tmp_path / name)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        nnfast.load(tmp_path / "nope.npz")
    with pytest.raises((ValueError, IsADirectoryError, PermissionError)):
        nnfast.load(tmp_path)


# --- pickles are never loaded ---------------------------------------------------------------


class _Sentinel:
    """Unpickling it creates a file: proof that load ran code from the model file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def header_bytes(header):
    return np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


def good_header(**changes):
    net = model()
    header, _ = net._to_file()
    header = {
        "format": "nnfast",
        "format_version": io.FORMAT_VERSION,
        "nnfast_version": nnfast.__version__,
        "kind": "Network",
        **header,
    }
    header.update(changes)
    return header


@pytest.mark.parametrize("where", ["parameters", "header", "extra"])
def test_pickled_object_arrays_are_refused_without_unpickling(tmp_path, where):
    proof = tmp_path / "pwned"
    evil = np.array([_Sentinel(str(proof)), 1], dtype=object)
    arrays = {"header": header_bytes(good_header()), "parameters": model().parameters}
    arrays[where] = evil
    path = tmp_path / "evil.npz"
    np.savez(path, allow_pickle=True, **arrays)
    # the file really does carry a pickle that would run code
    with np.load(path, allow_pickle=True) as data:
        data[where]
    assert proof.exists()
    proof.unlink()
    with pytest.raises(ValueError, match=r"evil\.npz.*(pickle|[Oo]bject arrays)"):
        nnfast.load(path)
    assert not proof.exists()


def test_a_plain_pickle_file_is_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model()))
    with pytest.raises(ValueError, match="model.pkl"):
        nnfast.load(path)


# --- tampered headers and data --------------------------------------------------------------


def write_model(path, header, parameters):
    np.savez(path, header=header_bytes(header), parameters=parameters)


@pytest.mark.parametrize(
    "changes",
    [
        dict(format="other"),
        dict(format_version=2),
        dict(format_version="1"),
        dict(kind="Pipeline"),
        dict(kind=None),
        dict(kind=["Network"]),
        dict(kind={"a": 1}),
        dict(layer_sizes=None),
        dict(layer_sizes="abc"),
        dict(layer_sizes=[3, -5, 2]),
        dict(layer_sizes=[3.0, 5, 2]),
        dict(layer_sizes=[[3], 5, 2]),
        dict(layer_sizes=[3, 6, 2]),
        dict(activation=None),
        dict(activation=3),
        dict(activation=["selu"]),
        dict(activation=[{"name": "leaky_relu", "negative_slope": "steep"}]),
        dict(activation=[{"negative_slope": 0.1}]),
        dict(activation=[{"name": "tanh", "beta": 1}]),
        dict(activation=[{"name": "elu", "alpha": None}]),
        dict(output_activation=[1]),
        dict(loss="hinge"),
        dict(loss=["mse"]),
        dict(init=None),
        dict(init=[1]),
        dict(loss="cross_entropy"),  # needs a softmax output, the header says identity
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_tampered_header_is_a_value_error(tmp_path, changes):
    path = tmp_path / "tampered.npz"
    write_model(path, good_header(**changes), model().parameters)
    with pytest.raises(ValueError, match="tampered.npz"):
        nnfast.load(path)


def test_missing_header_keys(tmp_path):
    for key in ("format", "kind", "layer_sizes", "activation", "loss", "init"):
        header = good_header()
        del header[key]
        path = tmp_path / f"no_{key}.npz"
        write_model(path, header, model().parameters)
        with pytest.raises(ValueError, match=f"no_{key}.npz"):
            nnfast.load(path)


def test_a_header_claiming_a_huge_network_is_refused_before_allocating(tmp_path):
    """The header is data from the file: its layer sizes must be checked against the
    parameter array before anything that size is allocated (here 8 TB: MemoryError today;
    sizes that do fit in memory get allocated and initialised, then thrown away)."""
    path = tmp_path / "huge.npz"
    write_model(path, good_header(layer_sizes=[10**6, 10**6, 2], activation=["tanh"]), np.zeros(10))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="huge.npz"):
        nnfast.load(path)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "parameters",
    [
        np.zeros(5),
        np.zeros(100),
        np.zeros((32, 1)),
        np.full(32, np.nan),
        np.r_[np.zeros(31), np.inf],
        np.array(["a"] * 32),
    ],
    ids=["too-few", "too-many", "2-D", "nan", "inf", "strings"],
)
def test_bad_parameter_arrays(tmp_path, parameters):
    assert model().parameters.size == 32
    path = tmp_path / "params.npz"
    write_model(path, good_header(), parameters)
    with pytest.raises(ValueError, match="params.npz"):
        nnfast.load(path)


def test_complex_parameters_are_refused_not_silently_truncated(tmp_path):
    """save writes float64 only; a complex array would lose its imaginary part (with only a
    ComplexWarning) and load as a different model."""
    path = tmp_path / "complex.npz"
    write_model(path, good_header(), model().parameters + 1j)
    with pytest.raises(ValueError, match="complex.npz"):
        nnfast.load(path)


DAMAGE = {
    "npy-header-syntax": ("parameters.npy", lambda b: b[:20] + b"{'descr': 'zz'" + b[34:]),
    "npy-header-unclosed": ("parameters.npy", lambda b: b[:10] + b"{'descr': ('<f8'" + b"\n"),
    "npy-data-short": ("parameters.npy", lambda b: b[:-8]),
    "header-data-short": ("header.npy", lambda b: b[:-3]),
    "npy-magic": ("parameters.npy", lambda b: b"\x93NUMPZ" + b[6:]),  # NpzFile gives bytes
    "header-npy-magic": ("header.npy", lambda b: b"\x93NUMPZ" + b[6:]),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_member_inside_a_valid_zip(saved, tmp_path, damage):
    """A zip whose member .npy is damaged, re-zipped so that the CRCs match."""
    path, _, _ = saved
    name, change = DAMAGE[damage]
    with zipfile.ZipFile(path) as z:
        members = {member: z.read(member) for member in z.namelist()}
    bad = tmp_path / "damaged.npz"
    with zipfile.ZipFile(bad, "w") as z:
        for member, content in members.items():
            z.writestr(member, change(content) if member == name else content)
    with pytest.raises(ValueError, match="damaged.npz"):
        nnfast.load(bad)
