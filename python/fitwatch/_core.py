"""fitwatch's C++ core through its C ABI (include/fitwatch/fitwatch.h), loaded
with ctypes from the shared library next to this file. Private: use the
fitwatch package.

Thin on purpose: every value, rule and line is computed by the C++ library;
this module converts arguments and turns a failed call into an exception
(fitwatch.Error, a ValueError, with the C++ message word for word). One
library serves every Python version: no Python headers, no compiled module
(docs/python.md, "Why ctypes").
"""
from __future__ import annotations

import ctypes
import json
import math
import os
import weakref
from ctypes import (POINTER, Structure, byref, c_char, c_char_p, c_double, c_int, c_int32,
                    c_int64, c_size_t, c_uint, c_uint32, c_uint64, c_void_p)
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

_lib = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_libfitwatch.so"))
_ABI_VERSION = 1


class Error(ValueError):
    """The C++ fitwatch::error: a set-up call got a bad value."""


def _declare(name: str, restype: Any, *argtypes: Any) -> Any:
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


_P = c_void_p
_PP = POINTER(c_void_p)
_STRINGS = POINTER(c_char_p)
_SIZES = POINTER(c_size_t)
_last_error = _declare("fw_last_error", c_char_p)
_free = _declare("fw_free", None, c_void_p)


def _raise(status: int) -> None:
    message = (_last_error() or b"").decode("utf-8", "replace")
    if status == 1:
        raise Error(message)
    if status == 2:
        raise TypeError(message)
    if "out of memory" in message:
        raise MemoryError(message)
    raise RuntimeError(message)


def _check(status: int) -> None:
    if status:
        _raise(status)


def _taken(pointer: c_void_p, length: c_size_t) -> str:
    """A string the library allocated, as str; freed."""
    try:
        return ctypes.string_at(pointer.value, length.value).decode("utf-8", "surrogateescape")
    finally:
        _free(pointer)


def _bytes(value: Any, what: str) -> bytes:
    """Text for the library: a str as UTF-8 (a lone surrogate as the invalid
    bytes it stands for, which the library reports or writes as U+FFFD, never
    an exception here), or bytes as they are."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError("fitwatch: %s must be str, not %s" % (what, type(value).__name__))


if _declare("fw_abi_version", c_int)() != _ABI_VERSION:
    raise ImportError("fitwatch: %s is not the library this package was built with"
                      % _lib._name)

_version = _declare("fw_version", c_char_p)
_table_size = _declare("fw_table_size", c_size_t, c_int)
_table_name = _declare("fw_table_name", c_char_p, c_int, c_size_t)
_option_kind = _declare("fw_option_kind", c_int, c_size_t)
_option_description = _declare("fw_option_description", c_char_p, c_size_t)


def _table(table: int) -> Tuple[str, ...]:
    return tuple(_table_name(table, i).decode() for i in range(_table_size(table)))


VERSION: str = _version().decode()
DEFAULT_NAMESPACE: str = _declare("fw_default_namespace", c_char_p)().decode()
HYPERPARAMETER_PREFIX: str = _declare("fw_hyperparameter_prefix", c_char_p)().decode()
UNITS = _table(0)
SIGNAL_METRICS = _table(1)
SETTING_NAMES = _table(2)
_OPTIONS = _table(3)
_NUMBER, _COUNT, _BOOLEAN, _TEXT, _MODE = range(5)

_options_new = _declare("fw_options_new", c_int, _PP)
_options_copy = _declare("fw_options_copy", c_int, c_void_p, _PP)
_options_free = _declare("fw_options_free", None, c_void_p)
_options_set = _declare("fw_options_set", c_int, c_void_p, c_size_t, c_double, c_char_p, c_size_t)
_options_get = _declare("fw_options_get", c_int, c_void_p, c_size_t, POINTER(c_double), _PP,
                        _SIZES)
_schema_json = _declare("fw_schema_json", c_int, c_char_p, c_size_t, c_void_p, _PP, _SIZES)


def _new_handle(make: Any, *args: Any) -> c_void_p:
    handle = c_void_p()
    _check(make(*args, byref(handle)))
    return handle


def _number(value: Any, what: str) -> float:
    """A float from a number (an int, a float, anything with __float__, such as
    a 0-d tensor); a str, bytes or bool is a TypeError."""
    if type(value) is float:
        return value
    if isinstance(value, (str, bytes, bytearray, bool)) or value is None:
        raise TypeError("fitwatch: %s must be a number, not %s" % (what, type(value).__name__))
    try:
        return float(value)
    except OverflowError:  # an int beyond the doubles
        return math.inf if value > 0 else -math.inf


def _integer(value: Any, what: str) -> int:
    """An int in the 64-bit range; a bool, float or str is a TypeError."""
    if type(value) is not int:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise TypeError("fitwatch: %s must be an int, not %s" % (what, type(value).__name__))
        value = value.__index__()
    if not -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
        raise TypeError("fitwatch: %s %d is out of range (a 64-bit integer)" % (what, value))
    return value


class DetectorOptions:
    """The detector's rules and thresholds; the defaults are the C++ ones
    (docs/detector.md)."""

    _fields: Tuple[str, ...] = _OPTIONS

    def __init__(self) -> None:
        self._handle = _new_handle(_options_new)
        weakref.finalize(self, _options_free, self._handle)

    @classmethod
    def _adopt(cls, handle: c_void_p) -> "DetectorOptions":
        o = cls.__new__(cls)
        DetectorOptions._adopt_into(o, handle)
        return o

    def _adopt_into(self, handle: c_void_p) -> None:
        self._handle = handle
        weakref.finalize(self, _options_free, handle)

    def _copy_handle(self) -> c_void_p:
        return _new_handle(_options_copy, self._handle)

    def _get(self, i: int) -> Any:
        number, text, length = c_double(), c_void_p(), c_size_t()
        _check(_options_get(self._handle, i, byref(number), byref(text), byref(length)))
        kind = _option_kind(i)
        if kind in (_TEXT, _MODE):
            return _taken(text, length)
        if kind == _COUNT:
            return int(number.value)
        if kind == _BOOLEAN:
            return number.value != 0
        return number.value

    def _set(self, i: int, value: Any) -> None:
        name, kind = _OPTIONS[i], _option_kind(i)
        if kind in (_TEXT, _MODE):
            raw = _bytes(value, "detector " + name)
            _check(_options_set(self._handle, i, 0.0, raw, len(raw)))
            return
        if kind == _BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError("fitwatch: detector %s must be True or False, not %r"
                                % (name, value))
            number = 1.0 if value else 0.0
        elif kind == _COUNT:
            number = float(_integer(value, "detector " + name))
            if number < 0:
                raise Error("fitwatch: detector %s must not be negative, got %d" % (name, value))
        else:
            number = _number(value, "detector " + name)
            if math.isnan(number):
                raise Error("fitwatch: detector %s must be a number, got nan" % name)
            if name == "min_delta" and math.isinf(number):
                raise Error("fitwatch: detector min_delta must be finite, got %r" % number)
        _check(_options_set(self._handle, i, number, None, 0))


def _option_property(i: int) -> property:
    description = (_option_description(i) or b"").decode()
    return property(lambda self: self._get(i), lambda self, v: self._set(i, v), doc=description)


for _i, _name in enumerate(_OPTIONS):
    setattr(DetectorOptions, _name, _option_property(_i))


def schema_json(namespace: str = DEFAULT_NAMESPACE,
                options: Optional[DetectorOptions] = None) -> str:
    raw = _bytes(namespace, "namespace")
    text, length = c_void_p(), c_size_t()
    _check(_schema_json(raw, len(raw), None if options is None else options._handle, byref(text),
                        byref(length)))
    return _taken(text, length)


class Signals(Structure):
    """The detector's signals after one evaluation (read-only)."""

    _fields_ = [("_evaluation", c_int64), ("_gap", c_double), ("_gap_ratio", c_double),
                ("_smoothed_validation", c_double), ("_rise_streak", c_int64),
                ("_since_best", c_int64), ("_best_validation", c_double),
                ("_best_evaluation", c_int64), ("_generalization_loss", c_double),
                ("_noise", c_double), ("_train_trend", c_double), ("_improved", c_int32),
                ("_diverged", c_int32), ("_overfitting", c_int32), ("_finite", c_int32),
                ("_reason_length", c_uint32), ("_reason", c_char * 256)]
    _fields = ("evaluation", "gap", "gap_ratio", "smoothed_validation", "rise_streak",
               "since_best", "best_validation", "best_evaluation", "generalization_loss",
               "noise", "train_trend", "improved", "diverged", "overfitting", "finite", "reason")

    evaluation = property(lambda self: self._evaluation, doc="0-based index of this evaluation")
    gap = property(lambda self: self._gap, doc="validation - training loss")
    gap_ratio = property(lambda self: self._gap_ratio, doc="(validation - training) / training")
    smoothed_validation = property(lambda self: self._smoothed_validation,
                                   doc="the validation loss the rules read")
    rise_streak = property(lambda self: self._rise_streak,
                           doc="consecutive rises of the validation loss")
    since_best = property(lambda self: self._since_best,
                          doc="evaluations since the best validation loss")
    best_validation = property(lambda self: self._best_validation,
                               doc="best validation loss so far")
    best_evaluation = property(lambda self: self._best_evaluation,
                               doc="0-based index of the best evaluation")
    generalization_loss = property(lambda self: self._generalization_loss,
                                   doc="percent above the best (Prechelt GL)")
    noise = property(lambda self: self._noise,
                     doc="robust std. dev. of the change per evaluation, 0 until known")
    train_trend = property(lambda self: self._train_trend,
                           doc="t of the training loss's slope (< 0: falling)")
    improved = property(lambda self: self._improved != 0, doc="this evaluation set a new best")
    diverged = property(lambda self: self._diverged != 0,
                        doc="a loss was NaN/inf or above divergence_threshold")
    overfitting = property(lambda self: self._overfitting != 0,
                           doc="the verdict, latched until a new best")
    finite = property(lambda self: self._finite != 0, doc="both losses finite")
    reason = property(lambda self: self._long_reason if self._reason_length >= 256
                      else self._reason.decode("utf-8", "replace"),
                      doc="which rule fired, empty if none")
    _long_reason = ""  # set by Monitor when the reason does not fit

    def __repr__(self) -> str:
        return ("Signals(evaluation=%d, overfitting=%r, diverged=%r, generalization_loss=%r, "
                "since_best=%d, reason=%r)" % (self.evaluation, self.overfitting, self.diverged,
                                               self.generalization_loss, self.since_best,
                                               self.reason))


# ---- settings ------------------------------------------------------------------
_settings_read = _declare("fw_settings_read", c_int, c_size_t, _STRINGS, _SIZES, _STRINGS, _SIZES,
                          c_size_t, _STRINGS, _SIZES, _STRINGS, _SIZES, _PP)
_settings_free = _declare("fw_settings_free", None, c_void_p)
_settings_options = _declare("fw_settings_options", c_int, c_void_p, _PP)
_settings_value = _declare("fw_settings_value", c_int, c_void_p, c_char_p, c_size_t, _PP, _SIZES)
_settings_writes = _declare("fw_settings_writes_metrics", c_int, c_void_p, c_int64)
_read_rank = _declare("fw_read_process_rank", c_int, POINTER(c_int64), POINTER(c_int64),
                      POINTER(c_int64))


def _pairs(items: List[Tuple[bytes, bytes]]) -> Tuple[Any, Any, Any, Any]:
    n = len(items)
    names = (c_char_p * n)(*(k for k, _ in items))
    name_lengths = (c_size_t * n)(*(len(k) for k, _ in items))
    values = (c_char_p * n)(*(v for _, v in items))
    value_lengths = (c_size_t * n)(*(len(v) for _, v in items))
    return names, name_lengths, values, value_lengths


class Settings:
    """Detector and logger settings read from hyperparameters and the
    environment (docs/settings.md)."""

    def __init__(self) -> None:
        raise TypeError("fitwatch: Settings come from fitwatch.settings_from()")

    @classmethod
    def _adopt(cls, handle: c_void_p) -> "Settings":
        s = cls.__new__(cls)
        s._handle = handle
        weakref.finalize(s, _settings_free, handle)
        return s

    @property
    def detector(self) -> DetectorOptions:
        return DetectorOptions._adopt(_new_handle(_settings_options, self._handle))

    @property
    def namespace(self) -> str:
        return self.value("namespace")

    @property
    def job_name(self) -> str:
        return self.value("job_name")

    @property
    def default_dimensions(self) -> bool:
        return self.value("default_dimensions") in ("true", "True", "1")

    def value(self, name: str) -> str:
        raw = _bytes(name, "a setting's name")
        text, length = c_void_p(), c_size_t()
        _check(_settings_value(self._handle, raw, len(raw), byref(text), byref(length)))
        return _taken(text, length)

    def writes_metrics(self, rank: int) -> bool:
        return _settings_writes(self._handle, _integer(rank, "rank")) != 0


def _setting_text(value: Any) -> bytes:
    """A value as SageMaker delivers it: a str as it is; anything else (an
    int, a float, a bool from SM_HPS's JSON) as its str(), so True is "True",
    and a whole float as the int it is (SM_HPS's 5.0 for a count is 5).
    A str from os.environ holding undecodable bytes (surrogateescape) is those
    bytes again; the library reads only FITWATCH_* and reports a bad one."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def read_settings(hyperparameters: Mapping[Any, Any], environ: Mapping[Any, Any]) -> Settings:
    hps = [(_setting_text(k), _setting_text(v)) for k, v in hyperparameters.items()]
    env = [(_setting_text(k), _setting_text(v)) for k, v in environ.items()]
    h = _pairs(hps)
    e = _pairs(env)
    return Settings._adopt(_new_handle(_settings_read, len(hps), *h, len(env), *e))


def read_process_rank() -> Tuple[int, int, int]:
    r, local, world = c_int64(), c_int64(), c_int64()
    _check(_read_rank(byref(r), byref(local), byref(world)))
    return r.value, local.value, world.value


# ---- logger --------------------------------------------------------------------
_logger_new = _declare("fw_logger_new", c_int, c_char_p, c_size_t, c_char_p, c_size_t, c_int,
                       c_char_p, c_int, c_size_t, c_int, c_int, c_double, c_double, c_void_p, _PP)
_logger_free = _declare("fw_logger_free", None, c_void_p)
_logger_metric = _declare("fw_logger_metric", c_int, c_void_p, c_char_p, c_size_t, c_char_p,
                          c_size_t, c_int, POINTER(c_uint32))
_logger_property = _declare("fw_logger_property", c_int, c_void_p, c_char_p, c_size_t,
                            POINTER(c_uint32))
_logger_set_dimensions = _declare("fw_logger_set_dimensions", c_int, c_void_p, c_size_t, _SIZES,
                                  _STRINGS, _SIZES, _STRINGS, _SIZES)
_logger_add_dimensions = _declare("fw_logger_add_dimensions", c_int, c_void_p, c_size_t, _STRINGS,
                                  _SIZES, _STRINGS, _SIZES)
_put = _declare("fw_logger_put", None, c_void_p, c_uint32, c_double)
_set_number = _declare("fw_logger_set_number", None, c_void_p, c_uint32, c_double)
_set_integer = _declare("fw_logger_set_integer", None, c_void_p, c_uint32, c_int64)
_set_boolean = _declare("fw_logger_set_boolean", None, c_void_p, c_uint32, c_int)
_set_text = _declare("fw_logger_set_text", None, c_void_p, c_uint32, c_char_p, c_size_t)
_flush = _declare("fw_logger_flush", None, c_void_p)
_flush_at = _declare("fw_logger_flush_at", None, c_void_p, c_int64)
_drain = _declare("fw_logger_drain", c_int, c_void_p, c_double, POINTER(c_int))
_dropped_values = _declare("fw_logger_dropped_values", c_uint64, c_void_p)
_dropped_evaluations = _declare("fw_logger_dropped_evaluations", c_uint64, c_void_p)
_logger_job_name = _declare("fw_logger_job_name", c_char_p, c_void_p)
_logger_namespace = _declare("fw_logger_namespace", c_char_p, c_void_p)
_logger_primary = _declare("fw_logger_is_primary_host", c_int, c_void_p)
_OVERFLOW = {"drop_oldest": 0, "drop_newest": 1, "block": 2}


class Metric:
    """A declared metric: pass it to Logger.put()."""
    __slots__ = ("_index",)

    def __init__(self, index: int) -> None:
        self._index = index

    def __repr__(self) -> str:
        return "<fitwatch.Metric %d>" % self._index


class Property:
    """A declared property: pass it to Logger.set()."""
    __slots__ = ("_index",)

    def __init__(self, index: int) -> None:
        self._index = index

    def __repr__(self) -> str:
        return "<fitwatch.Property %d>" % self._index


_property = property  # Logger.property() is a method


def _timeout(seconds: Any) -> float:
    return _number(seconds, "a timeout")


class Logger:
    def __init__(self, namespace: str, job_name: str, default_dimensions: bool,
                 path: Optional[str], background_writer: bool, queue_capacity: int,
                 overflow: str, flush_on_sigterm: bool, sigterm_timeout: float,
                 shutdown_timeout: float, settings: Optional[Settings] = None) -> None:
        if overflow not in _OVERFLOW:
            raise Error('fitwatch: unknown overflow policy "%s" (drop_oldest, drop_newest, block)'
                        % overflow)
        ns = _bytes(namespace, "namespace")
        job = _bytes(job_name, "job_name")
        capacity = _integer(queue_capacity, "queue_capacity")
        if capacity < 0:
            raise TypeError("fitwatch: queue_capacity must not be negative")
        if settings is not None and not isinstance(settings, Settings):
            raise TypeError("fitwatch: settings must come from fitwatch.settings_from()")
        handle = _new_handle(
            _logger_new, ns, len(ns), job, len(job), bool(default_dimensions),
            None if path is None else _bytes(path, "path"), bool(background_writer), capacity,
            _OVERFLOW[overflow], bool(flush_on_sigterm), _timeout(sigterm_timeout),
            _timeout(shutdown_timeout), None if settings is None else settings._handle)
        self._handle = handle
        self._properties: Dict[str, int] = {}
        self._finalizer = weakref.finalize(self, _logger_free, handle)

    def metric(self, name: str, unit: str = "None", resolution: int = 60) -> Metric:
        n, u = _bytes(name, "a metric's name"), _bytes(unit, "unit")
        index = c_uint32()
        _check(_logger_metric(self._handle, n, len(n), u, len(u),
                              _integer(resolution, "resolution"), byref(index)))
        return Metric(index.value)

    def property(self, name: str) -> Property:
        return Property(self._property_index(name))

    def _property_index(self, name: str) -> int:
        index = self._properties.get(name)
        if index is None:
            n = _bytes(name, "a property's name")
            out = c_uint32()
            _check(_logger_property(self._handle, n, len(n), byref(out)))
            index = self._properties[name] = out.value
        return index

    def set_dimensions(self, sets: List[Dict[str, str]]) -> None:
        flat: List[Tuple[bytes, bytes]] = []
        sizes = []
        for s in sets:
            pairs = [(_bytes(k, "a dimension's name"), _bytes(v, "a dimension's value"))
                     for k, v in dict(s).items()]
            flat += pairs
            sizes.append(len(pairs))
        _check(_logger_set_dimensions(self._handle, len(sizes), (c_size_t * len(sizes))(*sizes),
                                      *_pairs(flat)))

    def add_dimensions(self, dimensions: Dict[str, str]) -> None:
        pairs = [(_bytes(k, "a dimension's name"), _bytes(v, "a dimension's value"))
                 for k, v in dict(dimensions).items()]
        _check(_logger_add_dimensions(self._handle, len(pairs), *_pairs(pairs)))

    def put(self, metric: Metric, value: float) -> None:
        if not isinstance(metric, Metric):
            raise TypeError("fitwatch: put() takes a Metric from Logger.metric()")
        _put(self._handle, metric._index, _number(value, "a metric value"))

    def set(self, property: Property, value: Union[bool, int, float, str]) -> None:
        if not isinstance(property, Property):
            raise TypeError("fitwatch: set() takes a Property from Logger.property()")
        self._set_value(property._index, value)

    def _set_value(self, index: int, v: Any) -> None:
        """A property value keeps its Python type: bool, int, float or str.
        Never raises on a bad value: an int beyond 64 bits is written as a
        number (a double), a lone surrogate as U+FFFD."""
        if isinstance(v, bool):
            _set_boolean(self._handle, index, v)
        elif isinstance(v, int) or (hasattr(v, "__index__") and not isinstance(v, float)
                                    and not hasattr(v, "__float__")):
            v = v.__index__()
            if -0x8000000000000000 <= v <= 0x7FFFFFFFFFFFFFFF:
                _set_integer(self._handle, index, v)
            else:
                _set_number(self._handle, index, _number(v, "a property value"))
        elif isinstance(v, str):
            raw = v.encode("utf-8", "surrogatepass")
            _set_text(self._handle, index, raw, len(raw))
        elif isinstance(v, float) or hasattr(v, "__float__"):
            _set_number(self._handle, index, _number(v, "a property value"))
        else:
            raise TypeError("fitwatch: a property value must be bool, int, float or str, not "
                            + type(v).__name__)

    def flush(self) -> None:
        _flush(self._handle)

    def flush_at(self, timestamp_ms: int) -> None:
        _flush_at(self._handle, _integer(timestamp_ms, "timestamp_ms"))

    def drain(self, timeout: float = 5.0) -> bool:
        drained = c_int()
        _check(_drain(self._handle, _timeout(timeout), byref(drained)))  # ctypes drops the GIL
        return drained.value != 0

    @_property
    def dropped_values(self) -> int:
        return int(_dropped_values(self._handle))

    @_property
    def dropped_evaluations(self) -> int:
        return int(_dropped_evaluations(self._handle))

    @_property
    def job_name(self) -> str:
        return _logger_job_name(self._handle).decode("utf-8", "replace")

    @_property
    def namespace(self) -> str:
        return _logger_namespace(self._handle).decode("utf-8", "replace")

    @_property
    def is_primary_host(self) -> bool:
        return _logger_primary(self._handle) != 0


# ---- monitor -------------------------------------------------------------------
_monitor_new = _declare("fw_monitor_new", c_int, c_void_p, c_void_p, _PP)
_monitor_free = _declare("fw_monitor_free", None, c_void_p)
_observe = _declare("fw_monitor_observe", None, c_void_p, c_int64, c_double, c_double, c_double,
                    c_double, c_double, c_int64, c_uint, POINTER(Signals))
_should_stop = _declare("fw_monitor_should_stop", c_int, c_void_p)
_best_epoch = _declare("fw_monitor_best_epoch", c_int64, c_void_p)
_monitor_signals = _declare("fw_monitor_signals", None, c_void_p, POINTER(Signals))
_monitor_reason = _declare("fw_monitor_reason", c_int, c_void_p, _PP, _SIZES)
_monitor_options = _declare("fw_monitor_options", c_int, c_void_p, _PP)
_save_state = _declare("fw_monitor_save_state", c_int, c_void_p, _PP, _SIZES)
_restore_state = _declare("fw_monitor_restore_state", c_int, c_void_p, c_char_p, c_size_t)


def _free_monitor(handle: c_void_p, logger: Logger) -> None:
    """Frees the monitor, then lets its logger go (a monitor refers to it)."""
    _monitor_free(handle)
    del logger


class Monitor:
    def __init__(self, logger: Logger, options: DetectorOptions) -> None:
        if not isinstance(logger, Logger):
            raise TypeError("fitwatch: Monitor takes a fitwatch.Logger")
        if not isinstance(options, DetectorOptions):
            raise TypeError("fitwatch: Monitor takes fitwatch.DetectorOptions")
        self._handle = _new_handle(_monitor_new, logger._handle, options._handle)
        self._logger = logger
        # The names the monitor writes: a property of observe() by one of
        # them would be overwritten on the line without a word.
        schema = json.loads(schema_json(DEFAULT_NAMESPACE, options))
        self._written = frozenset(
            [m["Name"] for m in schema["Metrics"]] + list(schema["Properties"])
            + [d for ds in schema["Dimensions"] for d in ds])
        self._checked: Dict[str, int] = {}
        weakref.finalize(self, _free_monitor, self._handle, logger)

    def observe(self, epoch: int, train_loss: float, val_loss: float, *,
                train_acc: Optional[float] = None, val_acc: Optional[float] = None,
                metric: Optional[float] = None, timestamp: Optional[int] = None,
                **properties: Union[bool, int, float, str]) -> Signals:
        if type(epoch) is not int or not -0x8000000000000000 <= epoch <= 0x7FFFFFFFFFFFFFFF:
            epoch = _integer(epoch, "epoch")
        if type(train_loss) is not float:
            train_loss = _number(train_loss, "train_loss")
        if type(val_loss) is not float:
            val_loss = _number(val_loss, "val_loss")
        present = 0
        ta = va = m = 0.0
        ts = 0
        if train_acc is not None:
            ta, present = _number(train_acc, "train_acc"), present | 1
        if val_acc is not None:
            va, present = _number(val_acc, "val_acc"), present | 2
        if metric is not None:
            m, present = _number(metric, "metric"), present | 4
        if timestamp is not None:
            ts, present = _integer(timestamp, "timestamp"), present | 8
        if properties:
            log, checked = self._logger, self._checked
            for name, value in properties.items():
                index = checked.get(name)
                if index is None:
                    if name in self._written:
                        raise Error("fitwatch: observe(%s=...): %s is a name fitwatch already "
                                    "writes on the line" % (name, name))
                    index = checked[name] = log._property_index(name)
                log._set_value(index, value)
        s = Signals()
        _observe(self._handle, epoch, train_loss, val_loss, ta, va, m, ts, present, byref(s))
        if s._reason_length >= 256:
            s._long_reason = self._reason()
        return s

    def _reason(self) -> str:
        text, length = c_void_p(), c_size_t()
        _check(_monitor_reason(self._handle, byref(text), byref(length)))
        return _taken(text, length)

    def should_stop(self) -> bool:
        return _should_stop(self._handle) != 0

    @property
    def best_epoch(self) -> int:
        return int(_best_epoch(self._handle))

    @property
    def signals(self) -> Signals:
        s = Signals()
        _monitor_signals(self._handle, byref(s))
        if s._reason_length >= 256:
            s._long_reason = self._reason()
        return s

    @property
    def options(self) -> DetectorOptions:
        return DetectorOptions._adopt(_new_handle(_monitor_options, self._handle))

    @property
    def logger(self) -> Logger:
        return self._logger

    def save_state(self) -> str:
        text, length = c_void_p(), c_size_t()
        _check(_save_state(self._handle, byref(text), byref(length)))
        return _taken(text, length)

    def restore_state(self, state: Union[str, bytes]) -> None:
        raw = _bytes(state, "state")
        _check(_restore_state(self._handle, raw, len(raw)))
