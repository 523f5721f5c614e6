"""fitwatch: CloudWatch Embedded Metric Format lines and an overfitting verdict
from a Python training loop, computed by fitwatch's C++ library.

Each ``Monitor.observe()`` runs the C++ detector on one evaluation and writes
one EMF line to stdout (file descriptor 1), from where SageMaker ships it to
CloudWatch Logs. No AWS API call is made. See docs/python.md.

    import fitwatch

    monitor = fitwatch.Monitor(job_name="my-job")
    for epoch in range(1, epochs + 1):
        signals = monitor.observe(epoch, train_loss, val_loss)
        if monitor.should_stop():
            break
"""
from __future__ import annotations

import io
import json
import os
import sys
from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence, Union

from . import _core
from ._core import Metric, Property, Settings, Signals
from .hyperparameters import settings_from_argv  # noqa: F401 (the toolkit's --fitwatch_* arguments)

__all__ = [
    "DEFAULT_NAMESPACE", "DetectorOptions", "Error", "HYPERPARAMETER_PREFIX", "Logger", "Metric",
    "Monitor", "ProcessRank", "Property", "SETTING_NAMES", "SIGNAL_METRICS", "Settings", "Signals",
    "UNITS", "read_process_rank", "schema", "settings_from",
]
#: The version of the package and of the C++ library it loads (CMake's
#: project(VERSION), the one source).
__version__: str = _core.VERSION

#: The namespace fitwatch's metrics go to unless told otherwise.
DEFAULT_NAMESPACE: str = _core.DEFAULT_NAMESPACE
#: The 27 unit names CloudWatch accepts, e.g. "Count/Second".
UNITS = _core.UNITS
#: The metrics Monitor.observe() writes, in the order of the line.
SIGNAL_METRICS = _core.SIGNAL_METRICS
#: Every setting's name (docs/settings.md): the hyperparameter is
#: HYPERPARAMETER_PREFIX + name, the environment variable FITWATCH_<NAME>.
SETTING_NAMES = _core.SETTING_NAMES
#: "fitwatch_": the prefix of a setting given as a hyperparameter.
HYPERPARAMETER_PREFIX: str = _core.HYPERPARAMETER_PREFIX


#: The one exception type: the C++ fitwatch::error, a ValueError whose message
#: starts with "fitwatch: ", word for word as in C++.
Error = _core.Error


def schema(namespace: str = DEFAULT_NAMESPACE, monitor: str = "ValidationLoss",
           mode: str = "min") -> Dict[str, Any]:
    """The metrics, dimensions and properties fitwatch writes (``fitwatch schema``),
    for the monitored metric ``monitor`` and its ``mode`` (docs/detector.md,
    "Any metric")."""
    return json.loads(_core.schema_json(namespace, DetectorOptions(monitor=monitor, mode=mode)))


def settings_from(hyperparameters: Optional[Mapping[str, Any]] = None,
                  environ: Optional[Mapping[str, str]] = None) -> Settings:
    """Detector and logger settings, read by the C++ library as every front end
    reads them (docs/settings.md): defaults, then the ``FITWATCH_<NAME>``
    variables of ``environ`` (default ``os.environ``), then the
    ``fitwatch_<name>`` keys of ``hyperparameters`` (other keys are ignored).

    Values are text as SageMaker delivers them ("0.5", "True", JSON-quoted
    "\"0.5\""); a non-str value (from SM_HPS's JSON) is read as its str().
    Raises fitwatch.Error (a ValueError) on an unknown ``fitwatch_*`` key, a
    key that is one in another case (``Fitwatch_Warmup``), or a bad value,
    with the C++ message, e.g.
    ``fitwatch: setting fitwatch_smoothing="abc": not a number``. Variables
    of the environment holding bytes that are not UTF-8 are read as bytes and
    never raise unless they are fitwatch's own.
    """
    hyperparameters = dict(hyperparameters or {})
    for key in hyperparameters:
        if (isinstance(key, str) and key.lower().startswith(HYPERPARAMETER_PREFIX)
                and not key.startswith(HYPERPARAMETER_PREFIX)):
            raise Error("fitwatch: hyperparameter %s: fitwatch's settings are lower case (%s)"
                        % (key[:200], key[:200].lower()))
    if environ is None:
        environ = os.environb if os.supports_bytes_environ else os.environ
    return _core.read_settings(hyperparameters, dict(environ))


class ProcessRank(NamedTuple):
    """The process's place in a torchrun job; (0, 0, 1) outside one."""
    rank: int
    local_rank: int
    world_size: int


def read_process_rank() -> ProcessRank:
    """RANK, LOCAL_RANK and WORLD_SIZE as torchrun sets them, read by the C++
    library. A malformed one is reported on stderr and read as unset (rank
    0 writes); it never raises (issue #25 M2)."""
    return ProcessRank(*_core.read_process_rank())


def _line_buffer_stdout() -> None:
    """Makes Python's own ``print()`` reach fd 1 in whole lines.

    The library writes each EMF line to fd 1 with one write(2) from its
    writer thread. Python's sys.stdout, when it is a pipe or a file (as on
    SageMaker), is block-buffered and may hand the kernel half a line; an EMF
    line written in between would be glued to it and CloudWatch would not
    read it. Line buffering (without write-through) makes every write of
    sys.stdout end at a line boundary (docs/python.md, "Output buffering").
    """
    out = sys.stdout
    if not isinstance(out, io.TextIOWrapper):
        return
    try:
        if out.fileno() != 1:
            return
        out.reconfigure(line_buffering=True, write_through=False)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass


class Logger(_core.Logger):
    """Writes CloudWatch EMF lines (one per ``flush()``), from C++.

    ``namespace``: the CloudWatch namespace. ``dimensions``: None for the
    default set [TrainingJobName] (from the SageMaker environment, else
    ``job_name``, else "local"); a dict for one dimension set; a list of dicts
    for several; ``[]`` for none. ``path``: append to this file instead of
    stdout. ``background_writer``: format and write on a C++ thread (the
    default; the training thread never waits for the reader of stdout).
    ``overflow``: what flush() does when ``queue_capacity`` evaluations wait:
    "drop_oldest", "drop_newest" or "block". Timeouts are in seconds.
    ``settings`` (from settings_from()): namespace, job name and default
    dimensions come from it instead, and, as in C++, a process of a torchrun
    job that must not write (RANK other than 0 unless
    ``fitwatch_write_ranks=all``) gets a logger that discards every line.

    Raises fitwatch.Error (a ValueError) on an invalid namespace, job name,
    dimension or option, with the C++ library's message.

    Use it as a context manager, or call ``close()``: both flush and wait
    (at most ``shutdown_timeout``) until the lines are written.
    """

    def __init__(
        self,
        namespace: str = DEFAULT_NAMESPACE,
        dimensions: Union[None, Mapping[str, str], Sequence[Mapping[str, str]]] = None,
        *,
        job_name: str = "",
        path: Optional[Union[str, os.PathLike]] = None,
        background_writer: bool = True,
        queue_capacity: int = 1024,
        overflow: str = "drop_oldest",
        flush_on_sigterm: bool = True,
        sigterm_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        line_buffer_stdout: bool = True,
        settings: Optional[Settings] = None,
    ) -> None:
        if settings is not None and (namespace != DEFAULT_NAMESPACE or job_name):
            raise TypeError("fitwatch: namespace and job_name come from the settings "
                            "(fitwatch_namespace, fitwatch_job_name)")
        super().__init__(namespace, job_name, True, None if path is None else os.fspath(path),
                         background_writer, queue_capacity, overflow, flush_on_sigterm,
                         sigterm_timeout, shutdown_timeout, settings)
        self._shutdown_timeout = shutdown_timeout
        if dimensions is not None:
            sets = [dimensions] if isinstance(dimensions, Mapping) else list(dimensions)
            self.set_dimensions([dict(s) for s in sets])
        if path is None and line_buffer_stdout:
            _line_buffer_stdout()

    def close(self) -> bool:
        """Flushes pending values and waits until they are written; False on timeout."""
        self.flush()
        return self.drain(self._shutdown_timeout)

    def __enter__(self) -> "Logger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return "Logger(namespace=%r, job_name=%r)" % (self.namespace, self.job_name)


class DetectorOptions(_core.DetectorOptions):
    """The detector's rules and thresholds, C++ defaults unless given.

    ``DetectorOptions(patience=5, stop_on_overfitting=False)``; every field
    is listed in ``DetectorOptions._fields`` and docs/detector.md.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__()
        for name, value in options.items():
            if name not in self._fields:
                raise TypeError("fitwatch: unknown detector option %r (one of %s)"
                                % (name, ", ".join(self._fields)))
            setattr(self, name, value)

    def as_dict(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _core.DetectorOptions):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    def __repr__(self) -> str:
        return "DetectorOptions(%s)" % ", ".join("%s=%r" % kv for kv in self.as_dict().items())


class Monitor(_core.Monitor):
    """The overfitting monitor: the C++ detector plus one EMF line per evaluation.

    ``Monitor(logger=None, options=None, **detector_options)``: without a
    logger, one is made with the default namespace and dimensions (keyword
    ``job_name`` is passed to it). Detector options are keyword arguments
    (``patience=5``) or a DetectorOptions.

    ``observe(epoch, train_loss, val_loss, *, train_acc=None, val_acc=None,
    metric=None, timestamp=None, **properties)`` runs the detector and writes
    the line (``timestamp`` in ms since the epoch; extra keyword arguments
    become properties of the line and keep their value on later lines). A NaN
    or infinite loss means divergence, as in C++. Returns the Signals.

    ``monitor`` and ``mode`` (detector options) pick the metric the rules
    read: ``Monitor(monitor="val_f1", mode="max")`` reads ``metric=`` of each
    ``observe()`` as higher-is-better and writes it as ``val_f1`` (its best as
    ``Bestval_f1``); the default is the validation loss, lower-is-better.

    ``settings`` (from settings_from()): the detector options come from it
    (keyword options still win) and, without a logger, so does the logger's
    (see Logger).

    ``save_state()`` returns the detector's state and the best epoch as JSON
    text: save it with a checkpoint. ``restore_state(text)`` puts it back in a
    monitor with the same options, which then goes on as if it had never
    stopped; it raises fitwatch.Error (a ValueError) on a state that is not
    one (malformed, out of range, saved with other options) and leaves the
    monitor unchanged.
    """

    def __init__(self, logger: Optional[_core.Logger] = None,
                 options: Optional[_core.DetectorOptions] = None, *, job_name: str = "",
                 settings: Optional[Settings] = None, **detector_options: Any) -> None:
        if settings is not None:
            if options is not None:
                raise TypeError("fitwatch: give options or settings, not both")
            options = settings.detector
        if logger is None:
            logger = Logger(job_name=job_name, settings=settings)
        elif job_name:
            raise TypeError("fitwatch: job_name is for the logger Monitor makes; "
                            "pass it to your Logger")
        merged = DetectorOptions(**detector_options)
        if options is not None:
            merged = DetectorOptions(**{**_as_dict(options), **detector_options})
        super().__init__(logger, merged)
        self._named_metric = "" if merged.monitor == "ValidationLoss" else merged.monitor

    def observe(self, epoch: int, train_loss: float, val_loss: float, *,  # type: ignore[override]
                metric: Optional[float] = None, **kwargs: Any) -> Signals:
        if self._named_metric and metric is None:
            raise TypeError("fitwatch: this Monitor reads %r: pass observe(..., metric=value)"
                            % self._named_metric)
        return super().observe(epoch, train_loss, val_loss, metric=metric, **kwargs)

    @property
    def options(self) -> DetectorOptions:  # type: ignore[override]
        """The detector's options (a copy)."""
        return DetectorOptions(**_as_dict(super().options))

    def __repr__(self) -> str:
        return "Monitor(logger=%r, best_epoch=%d, should_stop=%r)" % (
            self.logger, self.best_epoch, self.should_stop())


def _as_dict(options: _core.DetectorOptions) -> Dict[str, Any]:
    return {name: getattr(options, name) for name in options._fields}
