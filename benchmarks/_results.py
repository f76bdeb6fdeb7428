"""What every benchmark writes beside its numbers: the command, the machine, the date, the JSON file.

Imported by the scripts in this folder (``python benchmarks/bench_x.py`` puts
the folder on ``sys.path``).
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def command(script, *, keras_backend=None, argv=None):
    """The command line that reran this benchmark, from the repository root.

    ``script`` is the benchmark's ``__file__``; with ``keras_backend`` the
    command starts with ``KERAS_BACKEND=<backend>``; ``argv`` are the
    arguments (default: this process's).
    """
    words = [f"KERAS_BACKEND={keras_backend}"] if keras_backend else []
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join([*words, "python", os.path.relpath(script, ROOT), *args])


def machine(**extra):
    """Platform, CPU count, Python and numpy versions, and any ``extra`` entries."""
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "numpy": np.__version__, **extra}


def utc_now():
    """The current time, UTC, ISO 8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def write_json(path, result, *, indent=1):
    """Write ``result`` as JSON to ``path`` (creating its folder); return the text."""
    text = json.dumps(result, indent=indent, default=str)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    return text
