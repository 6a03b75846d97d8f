"""The catalogue of levers: every way to cut false negatives, by name, with its search space.

A :class:`Lever` makes a fresh, unfitted scikit-learn / imbalanced-learn object and says how
to search its parameters. ``registry`` maps names to levers; modules of this package add to
it with :func:`register` when :mod:`fnguard.levers` is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fnguard.errors import FnguardError

#: The seven ways (plus the threshold), in the order the catalogue lists them.
FAMILIES = (
    "features",
    "threshold",
    "resampling",
    "augmentation",
    "algorithm",
    "ensemble",
    "cost",
    "review",
)
#: What a lever makes: where it sits in a pipeline.
KINDS = ("transformer", "sampler", "classifier", "threshold", "review")
#: How to install an optional package a lever needs.
INSTALL = {"torch": "pip install 'fnguard[nn]'"}


class LeverError(FnguardError, ValueError):
    """An unknown lever, or parameters a lever does not take."""


class PrefixedTrial:
    """An optuna trial whose parameter names get a prefix (``"smote/k_neighbors"``); every
    other attribute is the trial's. A ``FixedTrial`` holding the plain name keeps it.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial.
    prefix : str
        The lever name.
    """

    def __init__(self, trial: Any, prefix: str) -> None:
        self._trial = trial
        self._prefix = prefix

    def _name(self, name: str) -> str:
        full = f"{self._prefix}/{name}"
        # an optuna FixedTrial given the plain names (as make() takes them) keeps them
        fixed = getattr(self._trial, "_params", None)
        if isinstance(fixed, dict) and full not in fixed:
            # the sampler spaces name theirs "smote.k_neighbors": make() takes "k_neighbors"
            for plain in (name, name.rsplit(".", 1)[-1]):
                if plain in fixed:
                    return plain
        return full

    def suggest_float(self, name: str, *args: Any, **kwargs: Any) -> float:
        """``trial.suggest_float`` of ``prefix/name``."""
        return self._trial.suggest_float(self._name(name), *args, **kwargs)

    def suggest_int(self, name: str, *args: Any, **kwargs: Any) -> int:
        """``trial.suggest_int`` of ``prefix/name``."""
        return self._trial.suggest_int(self._name(name), *args, **kwargs)

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        """``trial.suggest_categorical`` of ``prefix/name``."""
        return self._trial.suggest_categorical(self._name(name), choices)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)


@dataclass(frozen=True)
class Lever:
    """One fix, ready to be built and searched.

    Attributes
    ----------
    name : str
        Registry key, lower case (``"smote"``, ``"lightgbm"``, ``"lightgbm:focal"``).
    family : str
        One of :data:`FAMILIES`.
    kind : str
        One of :data:`KINDS`: a ``sampler`` goes before the classifier in an
        imbalanced-learn ``Pipeline`` (and runs in ``fit`` only), a ``transformer`` before it,
        a ``classifier`` last.
    summary : str
        One line on what it does.
    risk : str
        One line on what can go wrong.
    factory : callable
        ``factory(**params)`` returns a fresh, unfitted estimator, sampler or transformer.
    search : callable or None
        ``search(trial)`` returns a dict of parameters drawn from an optuna trial.
    needs : tuple of str
        Optional packages it needs (``"torch"``), named in the error when missing.
    """

    name: str
    family: str
    kind: str
    summary: str
    risk: str
    factory: Callable[..., Any] = field(repr=False)
    search: Callable[[Any], dict[str, Any]] | None = field(default=None, repr=False)
    needs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"Lever {self.name!r}: family {self.family!r} not in {FAMILIES}.")
        if self.kind not in KINDS:
            raise ValueError(f"Lever {self.name!r}: kind {self.kind!r} not in {KINDS}.")

    def missing(self) -> list[str]:
        """The optional packages it needs that are not installed (importable).

        Examples
        --------
        >>> lever = Lever("x", "algorithm", "classifier", "One line.", "A risk.", dict,
        ...               needs=("numpy", "no_such_package"))
        >>> lever.missing()
        ['no_such_package']
        """
        import importlib.util
        import sys

        def importable(name: str) -> bool:
            if name in sys.modules:  # None there: blocked, as if not installed
                return sys.modules[name] is not None
            return importlib.util.find_spec(name) is not None

        return [name for name in self.needs if not importable(name)]

    def check_installed(self) -> None:
        """Raise an ImportError saying how to install what the lever needs, if anything is
        missing."""
        missing = self.missing()
        if missing:
            how = "; ".join(dict.fromkeys(INSTALL.get(n, f"pip install {n}") for n in missing))
            raise ImportError(
                f"The lever {self.name!r} needs {', '.join(missing)}, which is not installed. "
                f"Install it with: {how}"
            )

    def make(self, **params: Any) -> Any:
        """A fresh, unfitted object with ``params`` set.

        Raises
        ------
        LeverError
            When a parameter is not one the object takes.
        """
        try:
            return self.factory(**params)
        except TypeError as exc:
            known = self._parameter_names()
            if known is None:  # a factory that needs arguments: Python names the bad one
                unknown = [p for p in params if f"unexpected keyword argument '{p}'" in str(exc)]
            else:
                unknown = [p for p in params if p not in known]
            if not unknown:
                raise LeverError(
                    f"The lever {self.name!r} could not be made with the parameters "
                    f"{sorted(params)}: {exc}"
                ) from None
            from fnguard.data.names import closest_names

            shown = []
            for name in unknown:
                hint = closest_names(name, sorted(known or ()), n=1)
                shown.append(repr(name) + (f" (did you mean {hint[0]!r}?)" if hint else ""))
            takes = "" if known is None else f" It takes: {', '.join(sorted(known)) or 'none'}."
            raise LeverError(
                f"The lever {self.name!r} does not take the parameter"
                f"{'s' if len(unknown) > 1 else ''} {', '.join(shown)}.{takes}"
            ) from None

    def _parameter_names(self) -> set[str] | None:
        """The parameters the lever takes: its factory's own keywords when it names them all
        (``select:l1`` takes ``C``, not its ``SelectFromModel``'s parameters), else
        ``get_params`` of a default object, or None when that cannot be told."""
        import inspect

        try:
            signature = inspect.signature(self.factory)
        except (TypeError, ValueError):
            signature = None
        if signature is not None and not any(
            p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in signature.parameters.values()
        ):
            return {name for name in signature.parameters if name != "self"}
        try:
            made = self.factory()
        except Exception:  # only to word an error better
            return None
        if hasattr(made, "get_params"):
            return set(made.get_params(deep=False))
        return None

    def space(self, trial: Any) -> dict[str, Any]:
        """Parameters drawn from an optuna ``trial`` (empty when nothing is searched).

        In the study the parameters are named after the lever (``"smote/k_neighbors"``), so
        several levers can draw from one trial although they name parameters alike
        (``class_weight`` of ``logistic`` and of ``random-forest`` differ); the dict returned
        holds the names :meth:`make` takes.
        """
        if self.search is None:
            return {}
        if getattr(trial, "_prefix", None) != self.name:
            trial = PrefixedTrial(trial, self.name)
        return self.search(trial)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``fnguard levers --json``."""
        return {
            "name": self.name,
            "family": self.family,
            "kind": self.kind,
            "summary": self.summary,
            "risk": self.risk,
            "searchable": self.search is not None,
            "needs": list(self.needs),
        }


class Registry(Mapping[str, Lever]):
    """Lever name to :class:`Lever`; unknown names get an error with the close names."""

    def __init__(self) -> None:
        self._levers: dict[str, Lever] = {}

    def __getitem__(self, name: str) -> Lever:
        key = str(name).strip().lower()
        if key in self._levers:
            return self._levers[key]
        import difflib

        close = difflib.get_close_matches(key, list(self._levers), n=4, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise LeverError(
            f"There is no lever {name!r}.{hint} `fnguard levers` lists them all."
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._levers)

    def __len__(self) -> int:
        return len(self._levers)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._levers

    def add(self, lever: Lever) -> Lever:
        """Add a lever (its name must be new)."""
        if lever.name in self._levers:
            raise ValueError(f"The lever {lever.name!r} is registered twice.")
        self._levers[lever.name] = lever
        return lever

    def family(self, family: str) -> list[Lever]:
        """Levers of one family, in registration order."""
        return [lever for lever in self._levers.values() if lever.family == family]


#: Every lever, by name.
registry = Registry()


def register(
    name: str,
    family: str,
    kind: str,
    summary: str,
    risk: str,
    *,
    search: Callable[[Any], dict[str, Any]] | None = None,
    needs: tuple[str, ...] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``factory`` as the lever ``name``.

    Examples
    --------
    >>> @register("example:identity", "features", "transformer", "Does nothing.", "None.")
    ... def _identity(**params):
    ...     from sklearn.preprocessing import FunctionTransformer
    ...     return FunctionTransformer(**params)
    >>> registry["example:identity"].make().__class__.__name__
    'FunctionTransformer'
    >>> _ = registry._levers.pop("example:identity")
    """

    def wrap(factory: Callable[..., Any]) -> Callable[..., Any]:
        registry.add(Lever(name, family, kind, summary, risk, factory, search, needs))
        return factory

    return wrap
