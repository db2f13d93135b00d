"""`python benchmarks/typing.py [--json] ...`: the timed-typing benchmark, in typing_bench.py.

This file shares its name with the standard library's `typing`, and any script run from this
folder (this one, latency.py, ...) puts the folder first on sys.path, so `import typing` anywhere
in such a run finds this file. Imported that way, it hands over to the standard library's module;
run as a script, it moves the folder to the end of sys.path and starts the benchmark.
"""

import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_ELSEWHERE = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

if __name__ == "__main__":
    sys.path[:] = [*_ELSEWHERE, _HERE]  # siblings (latency, typing_sim) are still found
    from typing_bench import main

    raise SystemExit(main())
else:
    _spec = importlib.machinery.PathFinder.find_spec(__name__, _ELSEWHERE)
    if _spec is None or _spec.loader is None:
        raise ImportError(f"no standard-library module {__name__!r} outside {_HERE}")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[__name__] = _module  # what `import typing` returns once this file has run
    _spec.loader.exec_module(_module)
