"""load_mnist, load_fashion_mnist and load_bike_sharing: where they look, the SHA-256 checks,
the download into the cache (from file:// URLs only: no test touches the network), and the
contents of the real files when ``$NNFAST_DATA`` names a folder holding them (skipped
otherwise)."""

import dataclasses
import gzip
import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnfast import _fetch, datasets

# A local copy of the real files (mnist/, fashion-mnist/, bike-sharing/), if there is one:
# read before the tests unset the variable.
REAL = Path(os.environ["NNFAST_DATA"]) if os.environ.get("NNFAST_DATA") else None


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Every test gets an empty cache of its own, no $NNFAST_DATA, and a downloader that
    fails the test unless the test itself allows downloads."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("NNFAST_DATA", raising=False)

    def no_network(*args, **kwargs):
        raise AssertionError("a loader tried to download")

    monkeypatch.setattr(_fetch, "fetch", no_network)


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def small_mnist(n_train=6, n_test=3, seed=0):
    """{file name: idx content} of a tiny MNIST-format data set."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (n_train, 28, 28))),
        "train-labels-idx1-ubyte.gz": idx_bytes(rng.integers(0, 10, n_train)),
        "t10k-images-idx3-ubyte.gz": idx_bytes(rng.integers(0, 256, (n_test, 28, 28))),
        "t10k-labels-idx1-ubyte.gz": idx_bytes(rng.integers(0, 10, n_test)),
    }


def source_for(source, contents, urls=None):
    """``source`` with the hashes and sizes of ``contents`` (and other URLs)."""
    files = {name: (hashlib.sha256(data).hexdigest(), len(data)) for name, data in contents.items()}
    return dataclasses.replace(source, files=files, urls=urls or source.urls)


def write(folder, contents, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        if gz:
            (folder / name).write_bytes(gzip.compress(data))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(data)
    return folder


@pytest.fixture
def fake_mnist(monkeypatch):
    contents = small_mnist()
    monkeypatch.setattr(datasets, "MNIST", source_for(datasets.MNIST, contents))
    return contents


def allow_downloads(monkeypatch):
    """The real downloader, counting its calls."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return real_fetch(*args, **kwargs)

    monkeypatch.setattr(_fetch, "fetch", counted)
    return calls


real_fetch = _fetch.fetch


# --- reading from a folder ---------------------------------------------------------------------


def test_reads_a_folder_given_as_path(tmp_path, fake_mnist):
    write(tmp_path / "files", fake_mnist)
    (X, y), (X_test, y_test) = datasets.load_mnist(tmp_path / "files")
    images = np.frombuffer(fake_mnist["train-images-idx3-ubyte.gz"], np.uint8, offset=16)
    assert X.shape == (6, 784) and X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, images.reshape(6, 784) / 255.0)
    assert y.tolist() == list(fake_mnist["train-labels-idx1-ubyte.gz"][8:])
    assert X_test.shape == (3, 784) and y_test.shape == (3,) and y.dtype == np.intp
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_raw_images_and_other_dtypes(tmp_path, fake_mnist):
    write(tmp_path, fake_mnist)
    (X, _), _ = datasets.load_mnist(tmp_path, scale=False, flatten=False)
    assert X.shape == (6, 28, 28) and X.dtype == np.uint8
    np.testing.assert_array_equal(
        X.ravel(), np.frombuffer(fake_mnist["train-images-idx3-ubyte.gz"], np.uint8, offset=16)
    )
    (X32, _), _ = datasets.load_mnist(tmp_path, dtype="float32")
    assert X32.dtype == np.float32
    np.testing.assert_allclose(X32, X.reshape(6, -1) / 255.0, rtol=1e-7)
    with pytest.raises(ValueError, match="dtype must be a floating-point type"):
        datasets.load_mnist(tmp_path, dtype="int32")
    with pytest.raises(TypeError, match="scale and flatten must be True or False"):
        datasets.load_mnist(tmp_path, scale="yes")


def test_uncompressed_files_and_a_named_subfolder(tmp_path, fake_mnist):
    write(tmp_path / "mnist", fake_mnist, gz=False)  # what torchvision's raw/ folder holds
    (X, y), _ = datasets.load_mnist(tmp_path)
    assert X.shape == (6, 784) and y.shape == (6,)


def test_nnfast_data_then_the_cache(tmp_path, fake_mnist, monkeypatch):
    write(tmp_path / "cache" / "nnfast" / "mnist", fake_mnist)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _fetch.cache_dir() == tmp_path / "cache" / "nnfast"
    (X, _), _ = datasets.load_mnist()  # from the cache
    assert X.shape == (6, 784)
    other = small_mnist(n_train=4, seed=1)
    monkeypatch.setattr(datasets, "MNIST", source_for(datasets.MNIST, other))
    write(tmp_path / "shared" / "mnist", other)
    monkeypatch.setenv("NNFAST_DATA", str(tmp_path / "shared"))
    (X, _), _ = datasets.load_mnist()  # $NNFAST_DATA comes before the cache
    assert X.shape == (4, 784)


def test_relative_xdg_cache_home_is_ignored(monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert _fetch.cache_dir() == Path.home() / ".cache" / "nnfast"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _fetch.cache_dir() == Path.home() / ".cache" / "nnfast"


def test_missing_files_say_where_to_put_them(tmp_path, fake_mnist, monkeypatch):
    with pytest.raises(FileNotFoundError, match="were not found") as info:
        datasets.load_mnist(tmp_path / "nowhere")  # path= is the only place looked in
    assert "nowhere" in str(info.value) and "pass path=" in str(info.value)
    monkeypatch.setenv("NNFAST_DATA", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load_mnist(download=False)
    message = str(info.value)
    assert "NNFAST_DATA" in message and str(tmp_path / "empty") in message
    assert str(_fetch.cache_dir() / "mnist") in message
    for name in fake_mnist:
        assert name in message


def test_a_changed_file_is_refused_and_kept(tmp_path, fake_mnist):
    write(tmp_path, fake_mnist)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(fake_mnist["t10k-labels-idx1-ubyte.gz"])
    data[-1] = (data[-1] + 1) % 10
    labels.write_bytes(gzip.compress(bytes(data)))
    with pytest.raises(ValueError, match="is not the published file.*SHA-256"):
        datasets.load_mnist(tmp_path)
    assert labels.exists()  # the user's file is never deleted
    labels.write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(ValueError, match="could not be read"):
        datasets.load_mnist(tmp_path)


def test_an_oversized_file_is_not_decompressed_whole(tmp_path, fake_mnist):
    write(tmp_path, fake_mnist)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(10**6)))
    with pytest.raises(ValueError, match="more than the 11 bytes expected"):
        datasets.load_mnist(tmp_path)


def test_parse_idx_rejects_other_files():
    assert datasets.parse_idx(idx_bytes(np.arange(6).reshape(2, 3))).tolist() == [
        [0, 1, 2],
        [3, 4, 5],
    ]
    with pytest.raises(ValueError, match="not an idx file"):
        datasets.parse_idx(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="should hold 18 bytes for shape \\(2, 3\\), it has 17"):
        datasets.parse_idx(idx_bytes(np.arange(6).reshape(2, 3))[:-1])


# --- downloading --------------------------------------------------------------------------------


def served(tmp_path, contents, name="server"):
    """A folder of gzipped files and its file:// URL."""
    folder = write(tmp_path / name, contents)
    return folder.as_uri() + "/"


def test_downloads_once_into_the_cache(tmp_path, monkeypatch):
    contents = small_mnist()
    dead = (tmp_path / "no-such-mirror").as_uri() + "/"
    url = served(tmp_path, contents)
    monkeypatch.setattr(datasets, "MNIST", source_for(datasets.MNIST, contents, (dead, url)))
    calls = allow_downloads(monkeypatch)
    (X, _), _ = datasets.load_mnist()
    assert len(calls) == 1 and X.shape == (6, 784)
    cache = _fetch.cache_dir() / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(contents)  # no .part left
    (X2, _), _ = datasets.load_mnist()  # the second time from the cache
    assert len(calls) == 1
    np.testing.assert_array_equal(X, X2)


def test_a_download_that_fails_its_hash_is_deleted(tmp_path, monkeypatch):
    contents = small_mnist()
    wrong = dict(contents, **{"train-labels-idx1-ubyte.gz": idx_bytes(np.zeros(6))})
    url = served(tmp_path, wrong)
    monkeypatch.setattr(datasets, "MNIST", source_for(datasets.MNIST, contents, (url,)))
    allow_downloads(monkeypatch)
    with pytest.raises(ValueError, match="is not the published file"):
        datasets.load_mnist()
    cache = _fetch.cache_dir() / "mnist"
    assert "train-labels-idx1-ubyte.gz" not in os.listdir(cache)
    assert not [p for p in os.listdir(cache) if p.endswith(".part")]


def test_offline_the_error_says_where_to_put_the_files(tmp_path, monkeypatch):
    contents = small_mnist()
    dead = (tmp_path / "offline").as_uri() + "/"
    monkeypatch.setattr(datasets, "MNIST", source_for(datasets.MNIST, contents, (dead,)))
    allow_downloads(monkeypatch)
    with pytest.raises(
        FileNotFoundError, match="(?s)copy them to .*mnist. The download failed too .*No such file"
    ):
        datasets.load_mnist()


def test_a_fake_opener_sees_the_published_urls(tmp_path):
    contents = small_mnist()
    source = source_for(datasets.MNIST, contents)
    seen = []

    def opener(url, timeout):
        seen.append(url)
        name = url.rsplit("/", 1)[1]
        return open(write(tmp_path / "srv", {name: contents[name]}) / name, "rb")

    real_fetch(source, tmp_path / "cache", opener=opener)
    assert seen == [datasets.MNIST.urls[0] + name for name in contents]
    assert seen[0] == "https://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"


def bike_csv(rows):
    header = (
        "instant,dteday,season,yr,mnth,hr,holiday,weekday,workingday,weathersit,temp,"
        "atemp,hum,windspeed,casual,registered,cnt"
    )
    return (header + "\n" + "\n".join(rows) + "\n").encode()


BIKE_ROWS = [
    "1,2011-01-01,1,0,1,0,0,6,0,1,0.24,0.2879,0.81,0,3,13,16",
    "2,2011-01-01,1,0,1,1,0,6,0,2,0.22,0.2727,0.8,0.1,8,32,40",
    "3,2011-06-02,2,0,6,13,1,4,1,1,0.8,0.7,0.4,0.3,30,100,130",
]


def test_bike_sharing_from_the_published_zip(tmp_path, monkeypatch):
    hour = bike_csv(BIKE_ROWS)
    day = bike_csv([])
    zipped = tmp_path / "bike.zip"
    with zipfile.ZipFile(zipped, "w") as archive:  # the UCI zip has its files at the top
        archive.writestr("Readme.txt", "about")
        archive.writestr("hour.csv", hour)
        archive.writestr("day.csv", day)
    source = source_for(
        datasets.BIKE_SHARING, {"hour.csv": hour, "day.csv": day}, (zipped.as_uri(),)
    )
    monkeypatch.setattr(datasets, "BIKE_SHARING", source)
    calls = allow_downloads(monkeypatch)
    data = datasets.load_bike_sharing()
    assert len(calls) == 1
    assert sorted(os.listdir(_fetch.cache_dir() / "bike-sharing")) == ["day.csv", "hour.csv"]
    assert data.X.shape == (3, 12) and data.y.tolist() == [16, 40, 130]
    assert data.sample_names == ("2011-01-01 00h", "2011-01-01 01h", "2011-06-02 13h")
    assert data.feature_names[:4] == ("season", "yr", "mnth", "hr")
    pre = datasets.load_bike_sharing(preprocess=True)
    names = pre.feature_names
    assert "atemp" not in names and "workingday" not in names and "season" not in names
    assert names[:2] == ("season_1", "season_2")
    X = dict(zip(names, pre.X.T))
    np.testing.assert_array_equal(X["hr_13"], [0, 0, 1])
    np.testing.assert_array_equal(X["weathersit_2"], [0, 1, 0])
    np.testing.assert_allclose([X["temp"].mean(), X["temp"].std()], [0, 1], atol=1e-12)
    np.testing.assert_array_equal(X["holiday"], [0, 0, 1])
    with pytest.raises(TypeError, match="hourly must be True or False"):
        datasets.load_bike_sharing(hourly="no")


def test_a_zip_without_the_files_is_refused(tmp_path, monkeypatch):
    zipped = tmp_path / "bike.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("other.csv", "x")
    source = source_for(
        datasets.BIKE_SHARING, {"hour.csv": b"a", "day.csv": b"b"}, (zipped.as_uri(),)
    )
    monkeypatch.setattr(datasets, "BIKE_SHARING", source)
    allow_downloads(monkeypatch)
    with pytest.raises(ValueError, match="has no file"):
        datasets.load_bike_sharing()


def test_bench_reads_mnist_through_the_loader(tmp_path, fake_mnist, monkeypatch):
    from nnfast import _bench as bench

    write(tmp_path / "mnist", fake_mnist)
    X, y, X_test, y_test = bench.mnist_data(tmp_path)
    assert X.shape == (6, 784) and X_test.shape == (3, 784)
    assert y.shape == (6,) and y_test.shape == (3,)
    monkeypatch.setenv("NNFAST_DATA", str(tmp_path))
    assert bench.mnist_data()[0].shape == (6, 784)
    monkeypatch.delenv("NNFAST_DATA")
    with pytest.raises(FileNotFoundError):  # nnfast bench reports "MNIST skipped" on this
        bench.mnist_data(tmp_path / "nowhere")


def test_nnfast_bench_runs_mnist_from_the_loader_or_says_why_not(tmp_path, fake_mnist, capsys):
    from nnfast import _bench as bench

    write(tmp_path / "mnist", fake_mnist)
    result = bench.run(workloads=["MNIST"], repeats=1, mnist_path=tmp_path, mnist_epochs=1)
    [row] = result["rows"]
    assert row["workload"].startswith("MNIST 6x784") and not result["skipped"]
    assert "test accuracy after 1 epoch" in row["note"]
    status = bench.main(
        ["--workload", "MNIST", "--mnist-dir", str(tmp_path / "nowhere"), "--no-peers"]
    )
    err = capsys.readouterr().err
    assert status == 2  # asked for, could not run: not a silent success
    assert "MNIST skipped" in err and "--mnist-dir" in err and "--download" in err


# --- the real files -------------------------------------------------------------------------------


def real(name):
    folder = None if REAL is None else REAL / name
    if folder is None or not folder.is_dir():
        pytest.skip(f"no copy of the {name} files in $NNFAST_DATA ({REAL})")
    return folder


@pytest.mark.parametrize(
    "loader, folder, means, train_counts",
    [
        (
            datasets.load_mnist,
            "mnist",
            (0.1307, 0.3081),
            [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        ),
        (datasets.load_fashion_mnist, "fashion-mnist", (0.2860, 0.3530), [6000] * 10),
    ],
)
def test_the_real_files(loader, folder, means, train_counts, tmp_path):
    copy = shutil.copytree(real(folder), tmp_path / folder)
    (X, y), (X_test, y_test) = loader(copy)
    assert X.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert np.bincount(y).tolist() == train_counts and y_test.shape == (10000,)
    assert X.min() == 0.0 and X.max() == 1.0
    assert (round(float(X.mean()), 4), round(float(X.std()), 4)) == means


def test_the_real_bike_sharing_files(tmp_path):
    copy = shutil.copytree(real("bike-sharing"), tmp_path / "bike-sharing")
    hourly = datasets.load_bike_sharing(tmp_path)
    assert hourly.X.shape == (17379, 12) and hourly.y.min() == 1 and hourly.y.max() == 977
    daily = datasets.load_bike_sharing(copy, hourly=False, preprocess=True)
    assert daily.X.shape[0] == 731 and "hr_0" not in daily.feature_names
    assert hourly.sample_names[-1] == "2012-12-31 23h"
    pre = datasets.load_bike_sharing(copy, preprocess=True)
    assert pre.X.shape == (17379, 56)  # 4 + 1 + 12 + 24 + 1 + 7 + 4 one-hot or kept + 3 scaled
