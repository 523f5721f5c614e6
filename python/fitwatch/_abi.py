"""The C ABI (include/fitwatch/fitwatch.h) as ctypes sees it: the shared
library next to this file, loaded and checked for its ABI version; every
fw_* function with its argument and result types; the conversions at the
boundary (status -> exception, library-owned strings, text and numbers in);
the library's tables and constants; fw_signals as a Structure. Private: the
classes over it are _core.py, the public surface the fitwatch package.
"""
from __future__ import annotations

import ctypes
import math
import os
from ctypes import (POINTER, Structure, byref, c_char, c_char_p, c_double, c_int, c_int32,
                    c_int64, c_size_t, c_uint, c_uint32, c_uint64, c_void_p)
from typing import Any, List, Tuple


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
