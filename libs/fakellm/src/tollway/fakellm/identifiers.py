"""Response ids: unique across workers and restarts, yet costing only a counter increment per call."""

import itertools
import os

# A random per-process part keeps ids unique when several workers or restarts answer one test.
_PROCESS = os.urandom(5).hex()
_SEQUENCE = itertools.count()


def new_id(prefix: str) -> str:
    return f"{prefix}{_PROCESS}{next(_SEQUENCE):010x}"
