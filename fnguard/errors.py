"""The one error hierarchy of fnguard.

Library code raises these with a message that names the input, says what is wrong and how to fix
it. Only the command line turns them into a red line and exit code 2.
"""

from __future__ import annotations


class FnguardError(Exception):
    """Base class of every error fnguard raises on purpose."""


class DataError(FnguardError, ValueError):
    """An input table, column, label or score is missing or invalid."""


class RequirementError(FnguardError, ValueError):
    """A requirement string or policy cannot be parsed or is contradictory."""


class ArtifactError(FnguardError):
    """A saved model, report or other artefact cannot be read or written."""


class OutputError(ArtifactError):
    """An output path cannot be written."""


class FnguardWarning(UserWarning):
    """Something the user should hear about, such as a positive label chosen for them."""
