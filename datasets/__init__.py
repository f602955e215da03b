"""Real market history for the backtester: importers for venue-native files (Hyperliquid,
Asgard, stake pools, exchange candles), their alignment on an hourly grid without
look-ahead, the canonical dataset file, and the live fetcher.

I/O lives here, not in ``strategy`` (pure) nor in ``basis`` (the service's runtime): the
pipeline is used by the CLI, the tests and the benchmarks alike.
"""

from datasets.build import BuildError, Dataset, DatasetSpec, LstHistory, ProtocolHistory, build
from datasets.files import read_meta, report_path, write_dataset
from datasets.parse import HistoryError
from datasets.report import DatasetReport
from datasets.series import Bar, ColumnReport, Point, Series, Source, align, series

__all__ = [
    "Bar",
    "BuildError",
    "ColumnReport",
    "Dataset",
    "DatasetReport",
    "DatasetSpec",
    "HistoryError",
    "LstHistory",
    "Point",
    "ProtocolHistory",
    "Series",
    "Source",
    "align",
    "build",
    "read_meta",
    "report_path",
    "series",
    "write_dataset",
]
