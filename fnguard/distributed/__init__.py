"""More data than one machine: diagnose, predict and fit on a Dask cluster.

The Dask engine is an optional extra (``pip install 'fnguard[dask]'``); Dask is imported only
inside the functions that use it. Every function takes a ``client`` from :func:`connect`, which
starts a local cluster of worker processes for a ``with`` block or connects to a running
scheduler::

    from fnguard.distributed import connect, diagnose_dask
    with connect(workers=4, memory_limit="4GB") as client:        # or connect("tcp://host:8786")
        d = diagnose_dask("scores/*.parquet", "y", "p", client=client)

- :func:`diagnose_dask`: the single-machine Diagnosis, from counts merged exactly;
- :func:`confusion_curve_dask`: the exact confusion curve alone;
- :func:`predict_dask`: partitioned Parquet predictions, the review rows returned;
- :func:`fit_dask`: a Guard searched on a sample of negatives with its trials on the workers,
  a LightGBM winner refitted on all rows, thresholded on the full data.
"""

from __future__ import annotations

from fnguard.distributed.cluster import ClusterError, connect, dashboard_link
from fnguard.distributed.curve import confusion_curve_dask
from fnguard.distributed.diagnose import diagnose_dask
from fnguard.distributed.files import list_partitions
from fnguard.distributed.fit import fit_dask
from fnguard.distributed.predict import predict_dask

__all__ = [
    "ClusterError",
    "confusion_curve_dask",
    "connect",
    "dashboard_link",
    "diagnose_dask",
    "fit_dask",
    "list_partitions",
    "predict_dask",
]
