"""Augmentation: samplers that add made-up positives close to real ones.

Both samplers are imbalanced-learn over-samplers: ``fit_resample`` keeps every original row,
first and unchanged, and appends synthetic rows of the classes that ``sampling_strategy``
asks for. In an imbalanced-learn ``Pipeline`` they run in ``fit`` only, so the synthetic rows
never reach a validation fold.

- :class:`TabularJitter` copies a random row of the class and adds Gaussian noise scaled to
  each numeric feature's spread in that class (a smoothed bootstrap, as in ROSE).
- :class:`ImageAugmenter` copies a random image of the class (rows are flattened images) and
  rotates, scales, shifts brightness and contrast, adds noise and hides a random rectangle.

Augmentation only helps when the label stays true: a jittered income is still a bad loan; a
rotated 6 may be a 9.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from scipy import sparse
from sklearn.utils import check_array, check_consistent_length, check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import validate_data

from fnguard.errors import DataError
from fnguard.levers.registry import LeverError, register, registry

__all__ = ["ImageAugmenter", "TabularJitter"]


def _is_numeric(dtype: Any) -> bool:
    """Numbers that can take noise: not booleans, not categories, not strings."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _cast_like(values: np.ndarray, dtype: Any) -> Any:
    """Float ``values`` back into ``dtype``: integers are rounded and kept inside the type."""
    if pd.api.types.is_integer_dtype(dtype):
        info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
        values = np.clip(np.round(values), info.min, info.max)
    if isinstance(dtype, np.dtype):
        return values.astype(dtype) if dtype.kind in "iuf" else values
    return pd.Series(values).astype(dtype).array


class TabularJitter(BaseOverSampler):
    """Over-sample with jittered copies of rows: a smoothed bootstrap on numeric columns.

    Each synthetic row is a row of the class drawn at random, plus Gaussian noise on its
    numeric columns; the noise of column ``j`` has standard deviation ``noise * std_j``,
    where ``std_j`` is that column's standard deviation **within the class being
    over-sampled**. The class's own spread is used, not all rows', because the spread of all
    rows is set by the majority class and, on a feature that separates the classes, also
    holds the gap between them: scaled by it, the noise would push positives towards the
    negatives. (imbalanced-learn's ``RandomOverSampler(shrinkage=...)`` scales the same way.)

    Other columns (strings, categories, booleans, dates) are copied from the source row.
    Integer columns are jittered, then rounded stochastically (up with the chance of the
    fraction) and kept in their dtype, so a count stays a count and small noise still moves
    some counts to a neighbouring value; a column whose class spread is tiny (a 0/1 flag)
    mostly keeps its value. Floats are not clipped to the observed range. Missing values
    stay missing; infinite values stay infinite and do not count in the spread.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to grow and to how many rows, as in imbalanced-learn: ``"auto"``
        grows every class but the majority to the majority's size; a float ``r`` grows the
        minority to ``r`` times the majority (binary targets only).
    noise : float, default=0.05
        Noise standard deviation, as a fraction of each column's within-class standard
        deviation; 0 gives exact copies (random over-sampling).
    numeric_columns : array-like of str or int, default=None
        The columns to jitter, by name (DataFrames) or position. ``None`` jitters every
        numeric, non-boolean column.
    random_state : int, RandomState instance or None, default=None
        Seed of the row draws and the noise.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label to the number of rows added.
    numeric_columns_ : ndarray of int
        Positions of the jittered columns.
    scale_ : dict
        Class label to the noise standard deviation per jittered column.
    sample_indices_ : ndarray of int
        For each returned row, the row of ``X`` it comes from: ``0 .. n - 1`` for the
        original rows, then the source of each synthetic row.
    n_features_in_ : int
        Number of columns seen in ``fit_resample``.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit_resample``, when they are all strings.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> X = pd.DataFrame({"amount": [10.0, 12.0, 11.0, 50.0, 55.0], "grade": list("AABAB")})
    >>> y = np.array([0, 0, 0, 1, 1])
    >>> X_res, y_res = TabularJitter(random_state=0).fit_resample(X, y)
    >>> X_res.shape, np.bincount(y_res).tolist()
    ((6, 2), [3, 3])
    >>> X_res.iloc[5]["grade"] in {"A", "B"}, bool(abs(X_res.iloc[5]["amount"] - 52.5) < 5)
    (True, True)
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseOverSampler._parameter_constraints,
        "noise": [Interval(numbers.Real, 0, None, closed="left")],
        "numeric_columns": ["array-like", None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        noise: float = 0.05,
        numeric_columns: Any = None,
        random_state: Any = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.noise = noise
        self.numeric_columns = numeric_columns
        self.random_state = random_state

    def _check_X_y(self, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if sparse.issparse(X):
            raise DataError(
                "TabularJitter needs dense data: noise on every feature would fill a sparse "
                "matrix. Convert it with X.toarray() or use RandomOverSampler."
            )
        if not isinstance(X, pd.DataFrame):
            X = check_array(X, dtype=None, ensure_all_finite=False)
        check_consistent_length(X, y)
        validate_data(self, X=X, y=y, reset=True, skip_check_array=True)
        return X, y, binarize_y

    def _numeric_positions(self, X: Any) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X).infer_objects()
        numeric = [j for j in range(frame.shape[1]) if _is_numeric(frame.dtypes.iloc[j])]
        if self.numeric_columns is None:
            return np.asarray(numeric, dtype=int)
        positions = []
        for column in self.numeric_columns:
            if isinstance(column, numbers.Integral) and not isinstance(column, bool):
                if not -frame.shape[1] <= column < frame.shape[1]:
                    raise DataError(
                        f"numeric_columns holds the position {column}, but X has "
                        f"{frame.shape[1]} columns."
                    )
                position = int(column) % frame.shape[1]
            elif isinstance(X, pd.DataFrame) and column in X.columns:
                position = X.columns.get_loc(column)
                if not isinstance(position, int):
                    raise DataError(f"The column name {column!r} is not unique in X.")
            else:
                raise DataError(
                    f"numeric_columns holds {column!r}, which is not a column of X: give "
                    "column names (DataFrames) or positions."
                )
            if position not in numeric:
                raise DataError(
                    f"The column {column!r} has dtype {frame.dtypes.iloc[position]}, not a "
                    "number: only numeric, non-boolean columns can be jittered."
                )
            positions.append(position)
        return np.asarray(sorted(set(positions)), dtype=int)

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        rng = check_random_state(self.random_state)
        is_frame = isinstance(X, pd.DataFrame)
        self.numeric_columns_ = self._numeric_positions(X)
        columns = self.numeric_columns_
        if is_frame:
            values = (
                np.column_stack(
                    [X.iloc[:, j].to_numpy(dtype=float, na_value=np.nan) for j in columns]
                )
                if len(columns)
                else np.empty((X.shape[0], 0))
            )
        else:
            values = np.asarray(X[:, columns], dtype=float)

        if is_frame:
            kinds = [X.dtypes.iloc[j] for j in columns]
        elif X.dtype == object:
            kinds = list(pd.DataFrame(X[:, columns]).infer_objects().dtypes)
        else:
            kinds = [X.dtype] * len(columns)
        integer = np.asarray([pd.api.types.is_integer_dtype(k) for k in kinds], dtype=bool)
        self.scale_ = {}
        new_X, new_y, sources = [], [], [np.arange(X.shape[0])]
        for klass, n_samples in self.sampling_strategy_.items():
            members = np.flatnonzero(y == klass)
            own = values[members]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all missing: no spread
                # the spread of the finite values: an infinite one would give no noise at all
                spread = np.nan_to_num(np.nanstd(np.where(np.isinf(own), np.nan, own), axis=0))
            self.scale_[klass] = self.noise * spread
            source = rng.choice(members, size=n_samples, replace=True)
            noise = rng.standard_normal((n_samples, len(columns))) * self.scale_[klass]
            jittered = values[source] + noise
            if integer.any() and self.noise > 0:
                # stochastic rounding: a count moves to a neighbouring count with the chance
                # the noise gives it, instead of rounding back to itself when the noise is
                # small (the mean is kept; no noise keeps the count)
                part = jittered[:, integer]
                jittered[:, integer] = np.floor(part + rng.random_sample(part.shape))
            if is_frame:
                rows = X.iloc[source].reset_index(drop=True)
                for k, j in enumerate(columns):
                    rows.isetitem(j, _cast_like(jittered[:, k], X.dtypes.iloc[j]))
            elif X.dtype == object:  # mixed array: cast each column like its inferred dtype
                rows = X[source].copy()
                dtypes = pd.DataFrame(X[:, columns]).infer_objects().dtypes
                for k, j in enumerate(columns):
                    rows[:, j] = _cast_like(jittered[:, k], dtypes.iloc[k])
            else:
                rows = X[source].copy()
                rows[:, columns] = _cast_like(jittered, X.dtype)
            new_X.append(rows)
            new_y.append(y[source])
            sources.append(source)
        self.sample_indices_ = np.concatenate(sources)

        if is_frame:
            X_res = pd.concat([X.reset_index(drop=True), *new_X], ignore_index=True)
        else:
            X_res = np.vstack([X, *new_X])
        return X_res, np.hstack([y, *new_y])

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.sampler_tags.sample_indices = True
        tags.input_tags.string = True
        return tags


def _fit_to_shape(image: np.ndarray, shape: tuple[int, ...], fill: float) -> np.ndarray:
    """Centre-crop or centre-pad (with ``fill``) the first two axes of ``image`` to ``shape``."""
    out = np.full(shape, fill, dtype=image.dtype)
    src, dst = [], []
    for have, want in zip(image.shape[:2], shape[:2], strict=True):
        if have >= want:
            start = (have - want) // 2
            src.append(slice(start, start + want))
            dst.append(slice(0, want))
        else:
            start = (want - have) // 2
            src.append(slice(0, have))
            dst.append(slice(start, start + have))
    out[tuple(dst)] = image[tuple(src)]
    return out


class ImageAugmenter(BaseOverSampler):
    """Over-sample images with randomly transformed copies of images of the class.

    Rows of ``X`` are flattened images of ``image_shape`` (C order, as ``image.ravel()``).
    Each synthetic image is an image of the class drawn at random, then, each step drawn
    independently:

    1. rotated by an angle uniform in ``[-rotation, rotation]`` degrees about its centre
       (:func:`scipy.ndimage.rotate`, ``reshape=False``, linear interpolation);
    2. scaled by a factor uniform in ``scale`` (:func:`scipy.ndimage.zoom`), then centre
       cropped or padded back to ``image_shape``. The zoomed size is a whole number of
       pixels, so on small images the scale moves in steps of one pixel (on 8x8 digits a
       factor in (0.9, 1.1) gives 7, 8 or 9 pixels);
    3. contrast-scaled about its mean by a factor uniform in ``[1 - contrast, 1 + contrast]``
       and shifted by ``u * (high - low)``, ``u`` uniform in ``[-brightness, brightness]``;
    4. given Gaussian noise of standard deviation ``noise * (high - low)`` per pixel;
    5. occluded: a random rectangle covering up to ``occlusion`` of the area is set to the
       background ``low``;

    and clipped to ``value_range = (low, high)``. Pixels that rotation and scaling bring in
    from outside the image are also ``low``, so the background is taken to be the low end
    (black digits background, as in scikit-learn's digits). Integer images (``uint8``) are
    rounded back to their dtype.

    Parameters
    ----------
    image_shape : tuple of int or None, default=(8, 8)
        ``(height, width)`` or ``(height, width, channels)``; their product must be the
        number of columns. ``None`` takes square single-channel images.
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to grow and to how many rows, as in imbalanced-learn.
    rotation : float or None, default=15.0
        Largest rotation in degrees, 0 to 180. 0 or None: no rotation.
    scale : tuple of (float, float) or None, default=(0.9, 1.1)
        Range of the scale factor, ``0 < low <= high``. None: no scaling.
    brightness : float or None, default=0.1
        Largest brightness shift as a fraction of the value range, 0 to 1.
    contrast : float or None, default=0.1
        Largest relative contrast change, 0 to 1 (excluded).
    noise : float or None, default=0.02
        Pixel noise standard deviation as a fraction of the value range, 0 or more.
    occlusion : float or None, default=0.1
        Largest fraction of the image hidden by the rectangle, 0 to 1 (excluded).
    value_range : tuple of (float, float) or None, default=None
        ``(low, high)`` pixel values; None takes the smallest and largest value of ``X``.
    random_state : int, RandomState instance or None, default=None
        Seed of the image draws and every transform.

    Attributes
    ----------
    sampling_strategy_ : dict
        Class label to the number of images added.
    image_shape_ : tuple of int
        The image shape used.
    value_range_ : tuple of (float, float)
        The pixel range used for clipping, brightness and noise.
    sample_indices_ : ndarray of int
        For each returned row, the row of ``X`` it comes from: ``0 .. n - 1`` for the
        original rows, then the source of each synthetic row.
    n_features_in_ : int
        Number of columns (pixels) seen in ``fit_resample``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.uniform(0, 16, size=(10, 64)), np.array([0] * 8 + [1] * 2)
    >>> X_res, y_res = ImageAugmenter(random_state=0).fit_resample(X, y)
    >>> X_res.shape, np.bincount(y_res).tolist()
    ((16, 64), [8, 8])
    >>> bool(X_res.min() >= X.min() and X_res.max() <= X.max())
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseOverSampler._parameter_constraints,
        "image_shape": [tuple, list, None],
        "rotation": [Interval(numbers.Real, 0, 180, closed="both"), None],
        "scale": [tuple, list, None],
        "brightness": [Interval(numbers.Real, 0, 1, closed="both"), None],
        "contrast": [Interval(numbers.Real, 0, 1, closed="left"), None],
        "noise": [Interval(numbers.Real, 0, None, closed="left"), None],
        "occlusion": [Interval(numbers.Real, 0, 1, closed="left"), None],
        "value_range": [tuple, list, None],
    }

    def __init__(
        self,
        image_shape: tuple[int, ...] | None = (8, 8),
        *,
        sampling_strategy: Any = "auto",
        rotation: float | None = 15.0,
        scale: tuple[float, float] | None = (0.9, 1.1),
        brightness: float | None = 0.1,
        contrast: float | None = 0.1,
        noise: float | None = 0.02,
        occlusion: float | None = 0.1,
        value_range: tuple[float, float] | None = None,
        random_state: Any = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.image_shape = image_shape
        self.rotation = rotation
        self.scale = scale
        self.brightness = brightness
        self.contrast = contrast
        self.noise = noise
        self.occlusion = occlusion
        self.value_range = value_range
        self.random_state = random_state

    def _check_X_y(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, bool]:
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if isinstance(X, pd.DataFrame) and any(
            isinstance(dtype, pd.SparseDtype) for dtype in X.dtypes
        ):
            X = X.sparse.to_dense()  # imbalanced-learn gives the sparse dtypes back
        if getattr(X, "ndim", 2) > 2 and not isinstance(X, pd.DataFrame):
            shape = tuple(np.shape(X))
            raise DataError(
                f"ImageAugmenter takes one flattened image per row; X has shape {shape}. "
                f"Pass X.reshape(len(X), -1) with image_shape={shape[1:]}."
            )
        X, y = validate_data(self, X=X, y=y, reset=True, accept_sparse=False, dtype="numeric")
        return X, y, binarize_y

    def _check_image_params(self, X: np.ndarray) -> None:
        n_features = X.shape[1]
        if self.image_shape is None:
            side = round(np.sqrt(n_features))
            if side * side != n_features:
                raise DataError(
                    f"image_shape=None takes square images, but X has {n_features} columns, "
                    "not a square number: give image_shape=(height, width)."
                )
            shape: tuple[int, ...] = (side, side)
        else:
            shape = tuple(self.image_shape)
            if len(shape) not in (2, 3) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in shape
            ):
                raise LeverError(
                    "The 'image_shape' parameter of ImageAugmenter must be (height, width) or "
                    f"(height, width, channels) of positive integers. Got {self.image_shape!r}"
                    " instead."
                )
            shape = tuple(int(s) for s in shape)
            if int(np.prod(shape)) != n_features:
                raise DataError(
                    f"image_shape={shape} holds {int(np.prod(shape))} pixels, but X has "
                    f"{n_features} columns: give the shape of the flattened images."
                )
        self.image_shape_ = shape
        if self.scale is not None:
            scale = tuple(self.scale)
            if (
                len(scale) != 2
                or not all(isinstance(s, numbers.Real) for s in scale)
                or not 0 < scale[0] <= scale[1] <= 10
            ):
                raise LeverError(
                    "The 'scale' parameter of ImageAugmenter must be (low, high) with "
                    f"0 < low <= high <= 10, or None. Got {self.scale!r} instead."
                )
        if self.value_range is None:
            self.value_range_ = (float(np.min(X)), float(np.max(X)))
        else:
            bounds = tuple(self.value_range)
            if (
                len(bounds) != 2
                or not all(isinstance(b, numbers.Real) for b in bounds)
                or not np.all(np.isfinite(np.asarray(bounds, dtype=float)))
                or not bounds[0] < bounds[1]
            ):
                raise LeverError(
                    "The 'value_range' parameter of ImageAugmenter must be (low, high), finite, "
                    f"with low < high, or None. Got {self.value_range!r} instead."
                )
            low, high = float(np.min(X)), float(np.max(X))
            if low < bounds[0] or high > bounds[1]:
                raise DataError(
                    f"value_range={tuple(bounds)!r} does not hold the pixels of X, which run "
                    f"from {low:g} to {high:g}: every synthetic image would be clipped to it. "
                    "Give the range of the pixel values (e.g. (0, 255) or (0, 1)), or None to "
                    "take it from X."
                )
            self.value_range_ = (float(bounds[0]), float(bounds[1]))

    def _augment(self, image: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
        """One random variant of ``image`` (float64, shape ``image_shape_``)."""
        from scipy import ndimage

        low, high = self.value_range_
        span = high - low
        if self.rotation:
            angle = rng.uniform(-self.rotation, self.rotation)
            image = ndimage.rotate(image, angle, reshape=False, order=1, mode="constant", cval=low)
        if self.scale is not None:
            factor = rng.uniform(*self.scale)
            if factor != 1.0:
                zoom = (factor, factor) + (1.0,) * (image.ndim - 2)
                zoomed = ndimage.zoom(image, zoom, order=1, mode="constant", cval=low)
                image = _fit_to_shape(zoomed, image.shape, low)
        if self.contrast:
            image = (image - image.mean()) * rng.uniform(
                1 - self.contrast, 1 + self.contrast
            ) + image.mean()
        if self.brightness:
            image = image + rng.uniform(-self.brightness, self.brightness) * span
        if self.noise:
            image = image + rng.standard_normal(image.shape) * (self.noise * span)
        if self.occlusion:
            height, width = image.shape[:2]
            side = np.sqrt(rng.uniform(0, self.occlusion))
            h = min(height, max(1, round(side * height)))
            w = min(width, max(1, round(side * width)))
            top = rng.randint(0, height - h + 1)
            left = rng.randint(0, width - w + 1)
            image = image.copy()
            image[top : top + h, left : left + w] = low
        return np.clip(image, low, high)

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._check_image_params(X)
        rng = check_random_state(self.random_state)
        new_X, new_y, sources = [X], [y], [np.arange(X.shape[0])]
        for klass, n_samples in self.sampling_strategy_.items():
            source = rng.choice(np.flatnonzero(y == klass), size=n_samples, replace=True)
            sources.append(source)
            images = X[source].astype(float).reshape((n_samples, *self.image_shape_))
            out = np.empty((n_samples, X.shape[1]))
            for i, image in enumerate(images):
                out[i] = self._augment(image, rng).ravel()
            if X.dtype.kind in "iu":
                out = np.round(out)
            new_X.append(out.astype(X.dtype))
            new_y.append(y[source])
        self.sample_indices_ = np.concatenate(sources)
        return np.vstack(new_X), np.hstack(new_y)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.sampler_tags.sample_indices = True
        return tags


def _jitter_space(trial: Any) -> dict[str, Any]:
    from fnguard.levers.samplers import _ratio  # above the data's own ratio, as the samplers

    return {
        "noise": trial.suggest_float("jitter.noise", 0.01, 0.3, log=True),
        "sampling_strategy": _ratio(trial, "jitter"),
    }


def _image_space(trial: Any) -> dict[str, Any]:
    from fnguard.levers.samplers import _ratio

    return {
        "rotation": trial.suggest_float("image-augment.rotation", 0.0, 30.0),
        "noise": trial.suggest_float("image-augment.noise", 0.0, 0.1),
        "occlusion": trial.suggest_float("image-augment.occlusion", 0.0, 0.3),
        "sampling_strategy": _ratio(trial, "image-augment"),
    }


def _make_jitter(**params: Any) -> TabularJitter:
    return TabularJitter(**params)


def _make_image_augmenter(**params: Any) -> ImageAugmenter:
    params.setdefault("image_shape", None)  # square images of any size unless told
    return ImageAugmenter(**params)


# Guarded: the module may be imported twice under different names (doctest collection).
if "jitter" not in registry:
    register(
        "jitter",
        "augmentation",
        "sampler",
        "Adds positives: copies of positive rows with Gaussian noise scaled to each numeric "
        "feature's spread among positives.",
        "Jitter too large creates positives that do not exist; too small just duplicates rows.",
        search=_jitter_space,
    )(_make_jitter)
if "image-augment" not in registry:
    register(
        "image-augment",
        "augmentation",
        "sampler",
        "Adds positive images: rotated, scaled, brightness/contrast-shifted, noisy and "
        "partly occluded copies of positive images.",
        "Augmentations must keep the label true: a rotated 6 can become a 9.",
        search=_image_space,
    )(_make_image_augmenter)
