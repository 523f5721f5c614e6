"""fitwatch's C++ core through its C ABI: the classes over the calls that
_abi.py declares (options, settings, logger, monitor). Private: use the
fitwatch package.

Thin on purpose: every value, rule and line is computed by the C++ library;
this module converts arguments and turns a failed call into an exception
(fitwatch.Error, a ValueError, with the C++ message word for word). One
library serves every Python version: no Python headers, no compiled module
(docs/python.md, "Why ctypes").
"""
from __future__ import annotations

import json
import math
import os
import weakref
from ctypes import byref, c_double, c_int, c_int64, c_size_t, c_uint32, c_void_p
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ._abi import (DEFAULT_NAMESPACE, Error, HYPERPARAMETER_PREFIX, SETTING_NAMES, SIGNAL_METRICS,
                   Signals, UNITS, VERSION, _BOOLEAN, _COUNT, _MODE, _OPTIONS, _OVERFLOW, _TEXT,
                   _best_epoch, _bytes, _check, _drain, _dropped_evaluations, _dropped_values,
                   _flush, _flush_at, _integer, _logger_add_dimensions, _logger_free,
                   _logger_job_name, _logger_metric, _logger_namespace, _logger_new,
                   _logger_primary, _logger_property, _logger_set_dimensions, _monitor_free,
                   _monitor_new, _monitor_options, _monitor_reason, _monitor_signals, _new_handle,
                   _number, _observe, _option_description, _option_kind, _options_copy,
                   _options_free, _options_get, _options_new, _options_set, _pairs, _put,
                   _read_rank, _restore_state, _save_state, _schema_json, _set_boolean,
                   _set_integer, _set_number, _set_text, _settings_free, _settings_options,
                   _settings_read, _settings_value, _settings_writes, _should_stop, _taken)


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
