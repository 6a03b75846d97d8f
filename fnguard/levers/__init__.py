"""Levers: every way to cut false negatives, as scikit-learn / imbalanced-learn steps.

Importing this package fills :data:`registry` with every lever (``fnguard levers`` lists
them); :func:`build` turns lever names into a pipeline.

Examples
--------
>>> from fnguard.levers import build, registry
>>> registry["lightgbm"].family
'algorithm'
>>> list(build(["scale:standard", "logistic"]).named_steps)
['scale:standard', 'logistic']
"""

from fnguard.levers import (  # noqa: F401 - each module registers its levers on import
    algorithms,
    anomaly,
    augment,
    cost,
    ensembles,
    features,
    focal,
    nn,
    samplers,
)
from fnguard.levers.build import build
from fnguard.levers.features import features_from_schema
from fnguard.levers.registry import FAMILIES, KINDS, Lever, LeverError, register, registry

__all__ = [
    "FAMILIES",
    "KINDS",
    "Lever",
    "LeverError",
    "build",
    "features_from_schema",
    "register",
    "registry",
]
