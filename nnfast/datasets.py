"""Data sets for the lessons: the small ones bundled in ``nnfast/data``, and loaders for
MNIST, Fashion-MNIST and the bike-sharing data, which are read from a local folder or
downloaded once into a cache.

The bundled loaders (``load_admissions``, ``load_perceptron_points``, ``load_gender``) return
a ``Dataset``: it unpacks as ``X, y`` and also carries the column names. Sources and
licences: ``nnfast/data/PROVENANCE.md``.

``load_mnist``, ``load_fashion_mnist`` and ``load_bike_sharing`` look for their files in
``path=`` (when given, only there), else in the folder named by the environment variable
``NNFAST_DATA``, else in the cache ``~/.cache/nnfast`` (``$XDG_CACHE_HOME/nnfast`` when that
is set); failing those, they download the files once from the published source into the
cache. Every file is checked against the SHA-256 of its published content before it is used
(a ``.gz`` file by its decompressed bytes, so a copy gzipped by another tool, or not gzipped
at all, is accepted too). A folder may hold the files directly or in a sub-folder named
``mnist``, ``fashion-mnist`` or ``bike-sharing``. Offline and without the files, the loaders
raise ``FileNotFoundError`` saying where to put them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _fetch

if TYPE_CHECKING:
    from numpy.typing import DTypeLike, NDArray

    from ._typing import FloatArray, StrPath

    #: ``(X, y)`` of one part of an image data set: images (float, or uint8 unscaled) and
    #: integer labels.
    ImageSplit = tuple[NDArray[Any], NDArray[np.intp]]


class Dataset(tuple[np.ndarray, np.ndarray]):
    """``(X, y)`` with names: unpack it as ``X, y = load_...()``.

    Attributes
    ----------
    X : ndarray of float64, shape (n_samples, n_features)
    y : ndarray, shape (n_samples,)
        Integer class labels, or float targets for a regression (``load_bike_sharing``).
    feature_names : tuple of str
        One name per column of X.
    target_names : tuple of str
        What each label means: ``target_names[label]``.
    sample_names : tuple of str or None
        One name per row, where the rows have names.
    """

    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    sample_names: tuple[str, ...] | None

    def __new__(
        cls,
        X: np.ndarray,
        y: np.ndarray,
        feature_names: Iterable[str],
        target_names: Iterable[str],
        sample_names: Iterable[str] | None = None,
    ) -> Dataset:
        self = super().__new__(cls, (X, y))
        self.feature_names = tuple(feature_names)
        self.target_names = tuple(target_names)
        self.sample_names = None if sample_names is None else tuple(sample_names)
        return self

    def __getnewargs__(self) -> tuple[Any, ...]:  # pickle and copy through __new__
        return (self.X, self.y, self.feature_names, self.target_names, self.sample_names)

    @property
    def X(self) -> np.ndarray:
        return self[0]

    @property
    def y(self) -> np.ndarray:
        return self[1]

    def __repr__(self) -> str:
        return (
            f"Dataset(X: {self.X.shape}, y: {self.y.shape}, "
            f"feature_names={self.feature_names}, target_names={self.target_names})"
        )


def _read(name: str) -> list[list[str]]:
    """The rows of a bundled CSV file as lists of strings (importlib.resources: works from
    a wheel or a zip)."""
    text = resources.files("nnfast").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


def load_admissions(preprocess: bool = False) -> Dataset:
    """The 400 graduate-school applicants of Udacity's student-admissions lesson.

    Parameters
    ----------
    preprocess : bool
        False: the raw columns ``gre, gpa, rank``. True: the lesson's preprocessing in one
        call: ``rank`` one-hot encoded into ``rank_1 .. rank_4``, ``gre / 800`` and
        ``gpa / 4.0``, so the columns are ``gre, gpa, rank_1, rank_2, rank_3, rank_4`` all in
        [0, 1].

    Returns
    -------
    Dataset
        ``X`` (400, 3) or (400, 6); ``y`` the ``admit`` label (1 admitted, 0 not; 127 ones).

    Examples
    --------
    >>> from nnfast.datasets import load_admissions
    >>> X, y = load_admissions(preprocess=True)
    >>> X.shape, float(1 - y.mean())     # share of the majority class
    ((400, 6), 0.6825)
    """
    header, *rows = _read("student_data.csv")
    data = np.array(rows, dtype=np.float64)
    y = data[:, 0].astype(np.intp)
    gre, gpa, rank = data[:, 1], data[:, 2], data[:, 3]
    targets = ("not admitted", "admitted")
    if not preprocess:
        return Dataset(np.ascontiguousarray(data[:, 1:]), y, header[1:], targets)
    ranks = (rank[:, None] == np.arange(1, 5)).astype(np.float64)
    X = np.column_stack([gre / 800.0, gpa / 4.0, ranks])
    names = ("gre", "gpa", "rank_1", "rank_2", "rank_3", "rank_4")
    return Dataset(X, y, names, targets)


def load_perceptron_points() -> Dataset:
    """The 100 labelled 2-D points of Udacity's perceptron-algorithm and gradient-descent
    lessons (not linearly separable: the best line gets 95 right).

    Returns
    -------
    Dataset
        ``X`` (100, 2) with columns ``x1, x2``; ``y`` (100,) in {0, 1} (the first 50 are 1).
    """
    data = np.array(_read("gradient_descent_data.csv"), dtype=np.float64)
    return Dataset(
        np.ascontiguousarray(data[:, :2]), data[:, 2].astype(np.intp), ("x1", "x2"), ("0", "1")
    )


def load_gender(shift: bool = True) -> Dataset:
    """Victor Zhou's four people: weight and height, and gender as the label.

    Parameters
    ----------
    shift : bool
        True (the post's inputs): weight - 135 lb and height - 66 in. False: weight in lb
        and height in inches.

    Returns
    -------
    Dataset
        ``X`` (4, 2); ``y`` (4,) with 1 = female, 0 = male, as in the post;
        ``sample_names`` Alice, Bob, Charlie, Diana.
    """
    header, *rows = _read("victorzhou_gender.csv")
    cols = (4, 5) if shift else (1, 2)
    X = np.array([[float(r[c]) for c in cols] for r in rows])
    y = np.array([int(r[6]) for r in rows], dtype=np.intp)
    return Dataset(X, y, [header[c] for c in cols], ("male", "female"), [r[0] for r in rows])


# --- downloaded data sets -------------------------------------------------------------------

_IDX = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_IDX_SIZES = (47040016, 60008, 7840016, 10008)

MNIST = _fetch.Source(
    name="mnist",
    files=dict(
        zip(
            _IDX,
            zip(
                (
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                ),
                _IDX_SIZES,
            ),
        )
    ),
    # The published site, then the mirror torchvision uses (the site often refuses downloads).
    urls=("https://yann.lecun.com/exdb/mnist/", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
)

FASHION_MNIST = _fetch.Source(
    name="fashion-mnist",
    files=dict(
        zip(
            _IDX,
            zip(
                (
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                ),
                _IDX_SIZES,
            ),
        )
    ),
    urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
)

BIKE_SHARING = _fetch.Source(
    name="bike-sharing",
    files={
        "hour.csv": ("e03de4ee4ef4dc376ac6e04bf829673c6269e8eba5c60fa121640fa2f829504f", 1156736),
        "day.csv": ("a6bcf826782d3c0fbfdcbeead17cd0884185a0dafe8ff10cd48a874ee7ba18be", 57569),
    },
    urls=("https://archive.ics.uci.edu/static/public/275/bike+sharing+dataset.zip",),
    archive=True,
)

#: What Fashion-MNIST's labels 0-9 stand for.
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def parse_idx(data: bytes, name: str = "data") -> NDArray[np.uint8]:
    """An ndarray of uint8 from the bytes of an idx file (MNIST's format: a 4-byte magic
    number ``0x0000080N`` with N dimensions, N big-endian 4-byte sizes, then the values)."""
    if len(data) < 4 or data[:3] != b"\0\0\x08" or not 1 <= data[3] <= 3:
        raise ValueError(
            f"{name} is not an idx file of unsigned bytes (magic number {data[:4].hex()})."
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise ValueError(
            f"{name} should hold {header + int(np.prod(shape))} bytes for "
            f"shape {shape}, it has {len(data)}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _load_idx(
    source: _fetch.Source,
    path: StrPath | None,
    scale: bool,
    flatten: bool,
    dtype: DTypeLike,
    download: bool,
) -> tuple[ImageSplit, ImageSplit]:
    if not isinstance(scale, (bool, np.bool_)) or not isinstance(flatten, (bool, np.bool_)):
        raise TypeError(f"scale and flatten must be True or False, got {scale!r} and {flatten!r}.")
    real: np.dtype[Any] = np.dtype(dtype)
    if real.kind != "f":
        raise ValueError(f"dtype must be a floating-point type (float64 or float32), got {real}.")
    files = _fetch.load(source, path, download)
    arrays = [parse_idx(files[name], name) for name in _IDX]
    out = []
    for images, labels, name in ((arrays[0], arrays[1], "train"), (arrays[2], arrays[3], "test")):
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ValueError(
                f"the {name} images {images.shape} and labels {labels.shape} do not match."
            )
        X = images.reshape(images.shape[0], -1) if flatten else images
        X = (X.astype(real) / real.type(255.0)) if scale else X.copy()
        out.append((np.ascontiguousarray(X), labels.astype(np.intp)))
    return out[0], out[1]


def load_mnist(
    path: StrPath | None = None,
    *,
    scale: bool = True,
    flatten: bool = True,
    dtype: DTypeLike = "float64",
    download: bool = True,
) -> tuple[ImageSplit, ImageSplit]:
    """The MNIST handwritten digits: 60,000 training and 10,000 test images of 28 x 28.

    Parameters
    ----------
    path : str or path-like, optional
        A folder holding the four idx files (``train-images-idx3-ubyte.gz``,
        ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
        ``t10k-labels-idx1-ubyte.gz``, gzipped or not), directly or in a ``mnist``
        sub-folder. Default: ``$NNFAST_DATA``, else the cache ``~/.cache/nnfast/mnist``,
        else a download into that cache.
    scale : bool
        True: pixels as floats in [0, 1] (the byte value / 255). False: the raw uint8
        values 0-255.
    flatten : bool
        True: one row of 784 pixels per image (what a ``Network`` takes). False: images of
        shape (28, 28).
    dtype : str or dtype
        Floating type of the scaled pixels (ignored when ``scale=False``).
    download : bool
        Download the files when they are found nowhere (False: raise FileNotFoundError).

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        ``X_train`` of shape (60000, 784) (or (60000, 28, 28)), float64 in [0, 1] by
        default; ``y_train`` (60000,) of int labels 0-9. The test part has 10,000 rows.

    Raises
    ------
    FileNotFoundError
        The files are not in any folder looked in and could not be downloaded; the message
        says where to put them.
    ValueError
        A file found is not the published one (its SHA-256 differs).

    Examples
    --------
    >>> from nnfast.datasets import load_mnist
    >>> (X_train, y_train), (X_test, y_test) = load_mnist()    # doctest: +SKIP
    >>> X_train.shape, X_train.dtype, float(X_train.max())       # doctest: +SKIP
    ((60000, 784), dtype('float64'), 1.0)
    """
    return _load_idx(MNIST, path, scale, flatten, dtype, download)


def load_fashion_mnist(
    path: StrPath | None = None,
    *,
    scale: bool = True,
    flatten: bool = True,
    dtype: DTypeLike = "float64",
    download: bool = True,
) -> tuple[ImageSplit, ImageSplit]:
    """Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28 x 28 images of clothes.

    A harder drop-in for MNIST: the same file names and format, ten classes named in
    ``FASHION_MNIST_CLASSES`` (0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat,
    5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot). Parameters, return value and errors
    as ``load_mnist``; the sub-folder and cache folder are named ``fashion-mnist``.

    Parameters
    ----------
    path : str or path-like, optional
        A folder holding the four idx files, directly or in a ``fashion-mnist`` sub-folder.
    scale : bool
        True: floats in [0, 1]; False: raw uint8.
    flatten : bool
        True: rows of 784 pixels; False: (28, 28) images.
    dtype : str or dtype
        Floating type of the scaled pixels.
    download : bool
        Download the files when they are found nowhere.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
    """
    return _load_idx(FASHION_MNIST, path, scale, flatten, dtype, download)


_BIKE_ONE_HOT = ("season", "weathersit", "mnth", "hr", "weekday")
_BIKE_SCALED = ("temp", "hum", "windspeed")


def load_bike_sharing(
    path: StrPath | None = None,
    *,
    hourly: bool = True,
    preprocess: bool = False,
    download: bool = True,
) -> Dataset:
    """Capital Bikeshare rentals in Washington D.C., 2011-2012 (UCI; Fanaee-T & Gama 2013).

    The data of Udacity's first project, "Predicting Bike-Sharing Patterns": predict the
    number of bikes rented (``cnt``) from the date, hour and weather.

    Parameters
    ----------
    path : str or path-like, optional
        A folder holding ``hour.csv`` and ``day.csv``, directly or in a ``bike-sharing``
        sub-folder. Default: ``$NNFAST_DATA``, else the cache ``~/.cache/nnfast``, else a
        download of the UCI archive into that cache.
    hourly : bool
        True: ``hour.csv`` (17,379 rows, one per hour). False: ``day.csv`` (731 rows).
    preprocess : bool
        False: the numeric columns as they are (``season, yr, mnth, [hr,] holiday, weekday,
        workingday, weathersit, temp, atemp, hum, windspeed``; temperatures, humidity and
        wind are already divided by their maxima). True: the project's preprocessing:
        ``season, weathersit, mnth, hr, weekday`` one-hot encoded (``season_1``, ...),
        ``atemp`` and ``workingday`` dropped, ``temp, hum, windspeed`` standardised
        (mean 0, standard deviation 1 over all rows).
    download : bool
        Download the files when they are found nowhere.

    Returns
    -------
    Dataset
        ``X`` float64 (n_rows, n_features); ``y`` float64, the rentals ``cnt`` (the sum of
        the ``casual`` and ``registered`` counts, which are left out of X); ``sample_names``
        the date (``2011-01-01``) or, hourly, date and hour (``2011-01-01 00h``). Rows are
        in time order, so the last 21 days are the project's test set.
    """
    for flag, name in ((hourly, "hourly"), (preprocess, "preprocess")):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {flag!r}.")
    name = "hour.csv" if hourly else "day.csv"
    text = _fetch.load(BIKE_SHARING, path, download)[name].decode("utf-8")
    header, *rows = list(csv.reader(io.StringIO(text)))
    col = {h: i for i, h in enumerate(header)}
    features = [h for h in header if h not in ("instant", "dteday", "casual", "registered", "cnt")]
    table = np.array([[float(r[col[h]]) for h in features] for r in rows])
    y = np.array([float(r[col["cnt"]]) for r in rows])
    dates = [r[col["dteday"]] + (f" {int(r[col['hr']]):02d}h" if hourly else "") for r in rows]
    targets = ("cnt",)
    if not preprocess:
        return Dataset(np.ascontiguousarray(table), y, features, targets, dates)
    columns: list[FloatArray] = []
    names: list[str] = []
    for j, h in enumerate(features):
        if h in ("atemp", "workingday"):
            continue
        if h in _BIKE_ONE_HOT:
            values = np.unique(table[:, j])
            columns += [(table[:, j] == v).astype(np.float64) for v in values]
            names += [f"{h}_{int(v)}" for v in values]
        elif h in _BIKE_SCALED:
            columns.append((table[:, j] - table[:, j].mean()) / table[:, j].std())
            names.append(h)
        else:
            columns.append(table[:, j])
            names.append(h)
    return Dataset(np.column_stack(columns), y, names, targets, dates)
