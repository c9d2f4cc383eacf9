"""The Spark session and the fleet's tables as Spark reads them (spftrace/fleet).

Split from engine.py, which computes the aggregates: a session over small local
defaults, Spark types from spftrace's schema, and only committed inputs.
"""

import contextlib
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SpftraceError
from ..schema import PARTITION, SCHEMA_VERSION, TABLES

if TYPE_CHECKING:
    pass


DEFAULT_MASTER = "local[2]"
_UINT64 = (20, 0)  # Spark reads Parquet UINT64 as DECIMAL(20, 0)
_SMALL = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    # run names such as 2026 or 1e3 stay strings, as the directory names are
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def session(master: str = DEFAULT_MASTER, conf: Sequence[str] = ()) -> Any:
    """A SparkSession: ``master`` and ``conf`` (``KEY=VALUE``) over small local defaults.
    An existing session is reused (pyspark allows one per process)."""
    try:
        from pyspark.sql import SparkSession  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise SpftraceError(
            "spftrace fleet needs pyspark: pip install 'spftrace[fleet]' (and Java 17)"
        ) from None
    # the Python workers run this interpreter, which has spftrace and pyarrow
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no warning about the hostname
    b = SparkSession.builder.master(master).appName("spftrace-fleet")
    b = b.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_log_config()}")
    for k, v in _SMALL.items():
        b = b.config(k, v)
    for item in conf:
        k, eq, v = item.partition("=")
        if not eq or not k:
            raise SpftraceError(f"--conf {item!r}: expected KEY=VALUE")
        b = b.config(k, v)
    try:
        spark = b.getOrCreate()
    except Exception as exc:  # no Java, a bad master URL: the JVM's first line
        raise SpftraceError(f"cannot start Spark ({master}): {_first_line(exc)}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _log_config() -> str:
    """A log4j2 configuration that prints errors only (Spark's default prints warnings
    and banners on stderr, between spftrace's lines)."""
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"spftrace-fleet-log4j2-{os.getuid()}.properties")
    text = "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n" + (
        "appender.console.type = Console\nappender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\nappender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = spark: %p %c{1}: %m%n%ex{short}\n"
    )
    try:
        with open(path) as fh:
            if fh.read() == text:
                return path
    except OSError:
        pass
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """pyspark warns that it has not been tested with pandas 3 at each pandas-backed
    call; spftrace's calls exchange Arrow only (tests/spark checks the results)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        yield


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def spark_type(name: str) -> Any:
    """The Spark type of a schema.py column type."""
    from pyspark.sql import types as T  # type: ignore[import-not-found,unused-ignore]

    u64 = T.DecimalType(*_UINT64)
    simple = {
        "string": T.StringType(), "int32": T.IntegerType(), "int64": T.LongType(),
        "uint64": u64, "float64": T.DoubleType(), "bool": T.BooleanType(),
        "binary": T.BinaryType(), "timestamp": T.TimestampType(),
        "map": T.MapType(T.StringType(), T.StringType()),
    }  # fmt: skip
    if name == "frames":
        frame = T.StructType(
            [
                T.StructField("ip", u64),
                T.StructField("sym", T.StringType()),
                T.StructField("off", u64),
                T.StructField("dso", T.StringType()),
            ]
        )
        return T.ArrayType(frame)
    return simple[name]


def spark_schema(table: str) -> Any:
    """The table's Spark schema, the partition column first (as DuckDB's views have it)."""
    from pyspark.sql import types as T  # type: ignore[import-not-found,unused-ignore]

    t = TABLES[table]
    fields = [T.StructField(PARTITION, T.StringType())]
    fields += [T.StructField(c.name, spark_type(c.type)) for c in t.columns if c.name != PARTITION]
    return T.StructType(fields)


def _is_url(source: str) -> bool:
    return "://" in source


@dataclass
class FleetData:
    """The dataset's tables as Spark DataFrames, limited to committed inputs."""

    source: str
    runs: Any
    counters: Any
    events: Any
    stats: Any


def open_fleet(spark: Any, source: str) -> FleetData:
    """Read a dataset (a directory or an object-storage URL Spark can read) unchanged."""
    from pyspark.errors import AnalysisException  # type: ignore[import-not-found,unused-ignore]

    root = source.rstrip("/")
    if not _is_url(source):
        _check_local(root)

    def read(table: str, columns: list[str]) -> Any:
        path = f"{root}/{table}"
        schema = spark_schema(table)
        try:
            df = spark.read.schema(schema).option("basePath", path).parquet(path)
        except AnalysisException as exc:
            if "PATH_NOT_FOUND" not in str(exc) and "does not exist" not in str(exc):
                raise SpftraceError(f"{path}: cannot read it: {_first_line(exc)}") from None
            df = spark.createDataFrame([], schema)  # a table no input filled
        return df.select(*columns)

    # runs and counters are small (rows per input and counter) and read by several
    # aggregates: cached, each is listed and decoded once; events are scanned as needed
    runs = read("runs", ["run", "input", "label", "source_format", "command", "kernel"]).cache()
    committed = runs.select("run", "input")

    def data(table: str, columns: list[str]) -> Any:
        df = read(table, ["run", "input", *columns])
        return df.join(committed, ["run", "input"], "left_semi")

    counters = data("counters", ["block", "origin", "ts", "event", "value", "status"]).cache()
    events = data(
        "events",
        ["line_no", "ts", "tid", "comm", "event", "address", "mm", "write", "success",
         "callchain"],
    )  # fmt: skip
    stats = data("stats", ["name", "value"])
    return FleetData(source, runs, counters, events, stats)


def _check_local(root: str) -> None:
    from ..store import MARKER

    marker = os.path.join(root, MARKER)
    if not os.path.isfile(marker):
        raise SpftraceError(f"no dataset at {root} (no {MARKER}): pass a dataset directory")
    try:
        with open(marker) as fh:
            version = int(json.load(fh)["schema_version"])
    except (OSError, ValueError, KeyError, TypeError):
        raise SpftraceError(f"{marker}: unreadable dataset marker") from None
    if version > SCHEMA_VERSION:
        raise SpftraceError(
            f"{root} was written with dataset schema {version}, newer than this spftrace "
            f"(schema {SCHEMA_VERSION}); upgrade spftrace"
        )


# -- the aggregates ----------------------------------------------------------------------
