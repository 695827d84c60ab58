"""The order of the gallery: the lessons' order, not the alphabet."""

EXAMPLES = [
    # the classic lessons
    "perceptron_algorithm.py",
    "xor_perceptrons.py",
    "weight_height_network.py",
    "logistic_regression_gradient_descent.py",
    "student_admissions.py",
    # networks
    "activations_and_losses.py",
    "backprop_worked_example.py",
    # training
    "sgd_batch_sizes.py",
    "model_complexity.py",
    "l1_vs_l2.py",
    "dropout.py",
    "random_restarts.py",
    "learning_rate_schedules.py",
    # applications
    "mnist_first_layer.py",
    "bike_sharing.py",
    "sklearn_pipeline_grid_search.py",
    "onnx_export.py",
]


class ExampleOrder:
    """Sort key of the examples within a folder."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return EXAMPLES.index(filename) if filename in EXAMPLES else len(EXAMPLES)

    def __repr__(self):
        return "ExampleOrder"
