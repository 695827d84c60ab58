"""Run the reliability catalogue (``reliability_cases.py``): every case in a process of its
own, so that a crash (a signal) or a hang (a timeout) is caught and reported as such.

A worker process imports numpy, nnfast (and pandas, scikit-learn when installed) once, then
forks a child per case: the child runs the case and reports how it ended through a pipe;
the worker waits for it with a timeout, kills it (and anything it started) when it hangs,
and reads a signal from its exit status. Outcomes:

- ``clean``     the case expected an error and got it: a documented exception type whose
                message names what was wrong;
- ``accepted``  the case expected its input to be accepted, and the result passed its checks;
- ``unclear``   an error of another type, or whose message does not name the argument (or
                a legitimate input refused);
- ``silent``    no error where one was due, or a result that failed its checks;
- ``destroyed`` a file the case guards was changed or removed;
- ``crash``     the child died of a signal (SIGSEGV, SIGABRT, ...) or without reporting;
- ``hang``      the child was still running after its timeout;
- ``skipped``   an optional package the case needs (pandas, scikit-learn) is missing.

``python tests/reliability_runner.py`` runs the catalogue and prints the counts per family
and per outcome (``--family F``, ``--case NAME`` select; ``--list`` lists). The test suite
runs it through ``tests/test_reliability_suite.py``.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CATALOGUE = os.path.join(HERE, "reliability_cases.py")
OUTCOMES = ("clean", "accepted", "unclear", "silent", "destroyed", "crash", "hang", "skipped")
GOOD = ("clean", "accepted", "skipped")
#: Seconds a case may run before it counts as a hang (cases take well under 5 s).
TIMEOUT = 60.0


def load_catalogue():
    """The catalogue module (imported by path: tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location("reliability_cases", CATALOGUE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["reliability_cases"] = module
    spec.loader.exec_module(module)
    return module


def supported():
    """Why the suite cannot run here, or None: it forks a pre-imported worker, which is safe
    on Linux (macOS's system libraries do not support fork without exec; Windows has none)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return f"the reliability suite forks one process per case, on Linux only ({sys.platform})"
    return None


# --- the worker: runs in its own interpreter, forks a child per case ------------------------


def _worker_main():
    """Read case names from stdin, one per line; write one JSON result per line."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing else may write to the protocol
    catalogue = load_catalogue()
    catalogue.preload()
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        result = _run_forked(catalogue, name)
        protocol.write(json.dumps(result) + "\n")


def _run_forked(catalogue, name):
    case = catalogue.CASES.get(name)
    if case is None:
        return {"name": name, "outcome": "unclear", "detail": "no such case"}
    read_fd, write_fd = os.pipe()
    log = os.path.join(catalogue.scratch_root(), f"case-{os.getpid()}.log")
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_fd)
            os.setpgid(0, 0)  # its own group: a hang kills what it started too
            signal.signal(signal.SIGINT, signal.default_int_handler)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            outcome, detail = catalogue.execute(case)
            os.write(write_fd, json.dumps({"outcome": outcome, "detail": detail}).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    data, status, timed_out = b"", None, False
    deadline = start + case.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(read_fd, 65536)
            if chunk:
                data += chunk
                continue
            break  # EOF: the child closed the pipe (it ended, one way or another)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    if timed_out:
        for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, 9)):
            try:
                target()
            except OSError:
                pass
    if status is None or not os.WIFEXITED(status) and not os.WIFSIGNALED(status):
        _, status = os.waitpid(pid, 0)
    os.close(read_fd)
    try:  # anything the case started in its group, once it is gone
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    seconds = round(time.monotonic() - start, 3)
    tail = _tail(log)
    if timed_out:
        return {
            "name": name,
            "outcome": "hang",
            "seconds": seconds,
            "detail": f"still running after {case.timeout:g} s. {tail}",
        }
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return {
            "name": name,
            "outcome": "crash",
            "seconds": seconds,
            "detail": f"killed by {sig}. {tail}",
        }
    try:
        result = json.loads(data.decode())
    except ValueError:
        return {
            "name": name,
            "outcome": "crash",
            "seconds": seconds,
            "detail": f"exited (status {os.WEXITSTATUS(status)}) without a result. {tail}",
        }
    return {"name": name, "seconds": seconds, **result}


def _tail(path, limit=600):
    try:
        with open(path, errors="replace") as f:
            text = f.read()
        os.unlink(path)
    except OSError:
        return ""
    text = " ".join(text.split())
    return ("output: ..." + text[-limit:]) if text else ""


# --- the parent side -------------------------------------------------------------------------


class Worker:
    """A worker process; ``run(name)`` -> result dict. Restarted if it dies."""

    def __init__(self):
        self.proc = None

    def _start(self):
        env = dict(
            os.environ,
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MPLBACKEND="Agg",
            PYTHONWARNINGS="ignore",
        )
        env.pop("NNFAST_BACKEND", None)
        env.pop("NNFAST_DEBUG", None)
        import nnfast

        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(nnfast.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            [package_parent] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        code = (
            f"import sys; sys.path.insert(0, {HERE!r}); "
            f"import reliability_runner as r; r._worker_main()"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=HERE,
        )

    def run(self, name):
        for _ in range(2):
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            try:
                self.proc.stdin.write(name + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if line:
                return json.loads(line)
            self.close()
        return {"name": name, "outcome": "crash", "detail": "the worker process died"}

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def summarise(results, families):
    """The counts per family and per outcome, as printable lines."""
    counts = collections.Counter((r["family"], r["outcome"]) for r in results)
    width = max(len(f) for f in families + ["family", "total"])
    lines = [f"{'family':{width}}  " + "  ".join(f"{o:>9}" for o in OUTCOMES) + "      all"]
    for family in families:
        row = [counts[(family, o)] for o in OUTCOMES]
        lines.append(f"{family:{width}}  " + "  ".join(f"{n:9d}" for n in row) + f"  {sum(row):7d}")
    totals = [sum(counts[(f, o)] for f in families) for o in OUTCOMES]
    lines.append(
        f"{'total':{width}}  " + "  ".join(f"{n:9d}" for n in totals) + f"  {sum(totals):7d}"
    )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", help="run only this family (repeatable)")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--json", help="also write every result to this JSON file")
    args = parser.parse_args(argv)
    reason = supported()
    if reason:
        print(reason)
        return 0
    catalogue = load_catalogue()
    names = [
        n
        for n, c in catalogue.CASES.items()
        if (not args.family or c.family in args.family) and (not args.case or n in args.case)
    ]
    if args.list:
        for n in names:
            print(n)
        return 0
    worker, results, start = Worker(), [], time.monotonic()
    try:
        for n in names:
            result = worker.run(n)
            result["family"] = catalogue.CASES[n].family
            results.append(result)
            if result["outcome"] not in GOOD:
                print(f"{result['outcome']:>9}  {n}: {result.get('detail', '')}", flush=True)
    finally:
        worker.close()
    print(f"\n{len(results)} cases in {time.monotonic() - start:.1f} s")
    for line in summarise(results, list(catalogue.FAMILIES)):
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0 if all(r["outcome"] in GOOD for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
