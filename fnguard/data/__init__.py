"""Read tables, scores and bundled datasets into checked, labelled data.

The entry points are :func:`load_table` (features and a binary target), :func:`load_scores`
(true labels and a model's scores) and the bundled real datasets in :mod:`fnguard.data.datasets`.
"""

from __future__ import annotations

from fnguard.data import datasets
from fnguard.data.frames import read_frame
from fnguard.data.schema import ColumnSpec, Schema, infer_schema
from fnguard.data.scores import ClassScores, ScoredTable, load_class_scores, load_scores
from fnguard.data.table import Dataset, load_table

__all__ = [
    "ClassScores",
    "ColumnSpec",
    "Dataset",
    "Schema",
    "ScoredTable",
    "datasets",
    "infer_schema",
    "load_class_scores",
    "load_scores",
    "load_table",
    "read_frame",
]
