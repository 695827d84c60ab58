"""Time nnfast's backends on the reference workloads and print one markdown table.

    python bench/bench_backends.py                  # everything, ~1 minute
    python bench/bench_backends.py --quick          # fewer, shorter repeats
    python bench/bench_backends.py --workload W1 --backend cython --json out.json

All the logic lives in ``nnfast.bench`` (so a ``nnfast bench`` command can reuse it);
``--help`` lists the options.
"""
import os
import sys

try:
    from nnfast.bench import main
except ImportError:  # run from a source checkout that is not installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from nnfast.bench import main

if __name__ == "__main__":
    sys.exit(main())
