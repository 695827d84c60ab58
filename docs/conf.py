"""Sphinx configuration: ``sphinx-build -W -b html docs docs/_build/html``.

The gallery (``examples/``) runs every example; those that need MNIST or the bike-sharing
data read them through ``nnfast.datasets`` (``$NNFAST_DATA``, the cache, or a download).
"""

import os
import re
import sys
import warnings

import nnfast

sys.path.insert(0, os.path.abspath("."))  # _gallery_order

project = "nnfast"
author = "the nnfast developers"
copyright = "2026, the nnfast developers"
version = release = nnfast.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = []
html_static_path = ["_static"]
html_css_files = ["nnfast.css"]
html_theme = "pydata_sphinx_theme"
html_title = f"nnfast {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": [],
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "architecture": [], "benchmarks": []}
html_show_sourcelink = False
html_copy_source = False

autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the signatures stay readable; types are in the docstrings
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False


def _runnable_examples():
    """A pattern of the examples to run: all of them, but those whose public data set is
    not at hand ($NNFAST_DATA or the cache), which are shown without output instead of
    downloading while the docs build."""
    from nnfast import _fetch, datasets

    needs = {"mnist_first_layer": datasets.MNIST, "bike_sharing": datasets.BIKE_SHARING}
    absent = [name for name, source in needs.items() if not _fetch.found_locally(source)]
    for name in absent:
        print(
            f"docs: examples/{name}.py is shown without running: its data are not at hand "
            f"(set NNFAST_DATA to a folder holding them)"
        )
    return "".join(f"(?<!{name})" for name in absent) + r"\.py$"


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": _runnable_examples(),
    "ignore_pattern": r"__init__\.py",
    "subsection_order": [
        "../examples/networks",
        "../examples/training",
        "../examples/applications",
    ],
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "abort_on_example_error": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "download_all_examples": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "show_memory": False,
    "reference_url": {"nnfast": None},
}

# Examples print training progress warnings on purpose (ConvergenceWarning of a short run).
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# In a numpydoc "name : type" line, a fitted attribute in a shape ("shape (n_iter_,)") reads
# as a reST link target; escape the trailing underscore there (types have no backticks).
_DEFINITION = re.compile(r"^(\s*[\w*][\w, *]* : )(.*)$")
_TRAILING = re.compile(r"\b([A-Za-z]\w*)_(?=[,)\]\s]|$)")


def _escape_attribute_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _DEFINITION.match(line)
        if match and "`" not in match.group(2):
            lines[i] = match.group(1) + _TRAILING.sub(r"\1\\_", match.group(2))


_METADATA_REQUEST = re.compile(r"^set_\w+_request$")


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """scikit-learn's set_{fit,score,...}_request methods, which the estimators inherit from
    its BaseEstimator when it is installed, are scikit-learn's to document."""
    return True if _METADATA_REQUEST.match(name) else None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_attribute_names, priority=100)
    app.connect("autodoc-skip-member", _skip_metadata_requests)
