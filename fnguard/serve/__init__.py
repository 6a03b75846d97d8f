"""Serving a Guard: batch prediction of tables (CSV, Parquet) in bounded memory.

Examples
--------
>>> from fnguard.serve import predict_file, predict_frame
>>> callable(predict_file) and callable(predict_frame)
True
"""

from fnguard.serve.predict import predict_file, predict_frame

__all__ = ["predict_file", "predict_frame"]
