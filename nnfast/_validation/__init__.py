"""Turn user input into what the kernels trust: C-contiguous float64 arrays of the right shape.

Every public entry point (``Network``, the classic models, the estimators, the command line)
validates through this package, once per call, before any buffer reaches a kernel. Errors
name the argument, what was expected and what came. Arrays that are already right
(C-contiguous float64) are used as they are, never copied.

- ``arrays``: float arrays, matrices, targets, numbers within bounds;
- ``labels``: class labels and codes;
- ``estimator_inputs``: the estimators' X and y, with scikit-learn's messages;
- ``seeds``: seeds and random generators;
- ``weights``: sample and class weights;
- ``resources``: allocations the machine could never hold, refused before they are made.
"""

from .arrays import (
    TEXT_HINT,
    all_finite,
    as_float_array,
    as_matrix,
    as_targets,
    check_number,
    matrix_from_checked,
)
from .estimator_inputs import (
    as_dtype,
    check_consistent,
    check_feature_names,
    check_width,
    check_X,
    check_y_column,
    classic_X,
    column_or_1d_if_column,
    require_y,
    reshape_error,
    to_array,
)
from .labels import (
    MAX_CLASSES,
    as_labels,
    checked_classes,
    classification_labels,
    encode_labels,
    one_hot_codes,
)
from .resources import check_memory, format_bytes, memory_limit, physical_memory
from .seeds import check_rng, check_seed
from .weights import (
    WEIGHT_RANGE,
    as_weights,
    check_sample_weight,
    check_weight,
    class_weight_vector,
    rescaled,
)

__all__ = [
    "MAX_CLASSES",
    "TEXT_HINT",
    "WEIGHT_RANGE",
    "all_finite",
    "as_dtype",
    "as_float_array",
    "as_labels",
    "as_matrix",
    "as_targets",
    "as_weights",
    "check_X",
    "check_consistent",
    "check_feature_names",
    "check_memory",
    "check_number",
    "check_rng",
    "check_sample_weight",
    "check_seed",
    "check_weight",
    "check_width",
    "check_y_column",
    "checked_classes",
    "class_weight_vector",
    "classic_X",
    "classification_labels",
    "column_or_1d_if_column",
    "encode_labels",
    "format_bytes",
    "matrix_from_checked",
    "memory_limit",
    "one_hot_codes",
    "physical_memory",
    "require_y",
    "rescaled",
    "reshape_error",
    "to_array",
]
