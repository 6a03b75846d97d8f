"""fnguard: find, explain and cut the false negatives of classifiers.

Importing fnguard is fast and silent: subpackages load when first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = ("data", "metrics", "decide", "levers", "search", "serve", "report", "errors")
#: Top-level functions and classes, loaded from their module when first used.
_LAZY = {"fit": "fnguard.search.fit", "load": "fnguard.guard", "Guard": "fnguard.guard"}


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"fnguard.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'fnguard' has no attribute {name!r}")


__all__ = ["__version__", *_SUBPACKAGES, *_LAZY]
