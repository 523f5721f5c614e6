/* fitwatch's C ABI: the C++ library (logger, monitor, detector, settings)
 * behind opaque handles and plain C types, for any language with an FFI. The
 * Python package loads it with ctypes (python/fitwatch/_core.py), so one
 * shared library serves every Python version (docs/python.md).
 *
 *     fw_logger* log = NULL;
 *     fw_monitor* mon = NULL;
 *     if (fw_logger_new("FitWatch", 8, "my-job", 6, 1, NULL, 1, 1024, 0, 1, 10.0, 5.0, NULL, &log)
 * || fw_monitor_new(log, NULL, &mon)) fprintf(stderr, "%s\n", fw_last_error()); fw_signals s;
 *     fw_monitor_observe(mon, 1, 0.9, 1.0, 0, 0, 0, 0, 0, &s);
 *     fw_monitor_free(mon);  // before its logger
 *     fw_logger_free(log);   // flushes and waits (shutdown timeout)
 *
 * Errors: a function that can fail returns an fw_status; FW_OK is 0. The
 * message of the last failure on the calling thread is fw_last_error(), word
 * for word the C++ message ("fitwatch: ..."). Set-up calls fail on bad
 * input (FW_ERROR, the C++ fitwatch::error); the per-step calls (put, set,
 * flush, observe) never fail on bad values, as in C++ (docs/library.md).
 * Strings are UTF-8 with an explicit length; invalid UTF-8 in a value is
 * written as U+FFFD, as in C++. A string the library returns is allocated:
 * free it with fw_free().
 *
 * Thread safety is the C++ one: a logger may be used from several threads, a
 * monitor belongs to one training loop. A monitor refers to its logger: free
 * the monitor first.
 */
#ifndef FITWATCH_FITWATCH_H
#define FITWATCH_FITWATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FITWATCH_C_BUILD)
#define FW_API __attribute__((visibility("default")))
#else
#define FW_API
#endif

/* The version of the ABI: grows when a function is added; a change of an
 * existing function's meaning would be a new name. */
#define FW_ABI_VERSION 1

typedef enum fw_status {
  FW_OK = 0,
  FW_ERROR = 1,      /* bad input (fitwatch::error): Python's fitwatch.Error */
  FW_TYPE_ERROR = 2, /* a value of the wrong kind for an option */
  FW_FAILURE = 3     /* anything else (out of memory): a bug or the machine */
} fw_status;

typedef struct fw_logger fw_logger;
typedef struct fw_monitor fw_monitor;
typedef struct fw_options fw_options;   /* detector options */
typedef struct fw_settings fw_settings; /* settings read from hyperparameters and the environment */

/* The detector's signals after one evaluation (C++ fitwatch::signals). */
typedef struct fw_signals {
  int64_t evaluation;
  double gap;
  double gap_ratio;
  double smoothed_validation;
  int64_t rise_streak;
  int64_t since_best;
  double best_validation;
  int64_t best_evaluation;
  double generalization_loss;
  double noise;
  double train_trend;
  int32_t improved;
  int32_t diverged;
  int32_t overfitting;
  int32_t finite;
  uint32_t reason_length; /* bytes of the reason */
  /* The reason, NUL-terminated, when reason_length < 256; a longer one (a
   * long monitored name) is cut here: fw_monitor_reason() has all of it. */
  char reason[256];
} fw_signals;

FW_API int fw_abi_version(void);
FW_API const char* fw_version(void);
FW_API const char* fw_last_error(void);
FW_API void fw_free(void* p);

/* Name tables: FW_TABLE_UNITS (CloudWatch's units), FW_TABLE_SIGNAL_METRICS
 * (what observe() writes), FW_TABLE_SETTINGS (every setting),
 * FW_TABLE_OPTIONS (the detector options, in the settings' order). */
enum {
  FW_TABLE_UNITS = 0,
  FW_TABLE_SIGNAL_METRICS = 1,
  FW_TABLE_SETTINGS = 2,
  FW_TABLE_OPTIONS = 3
};
FW_API size_t fw_table_size(int table);
FW_API const char* fw_table_name(int table, size_t i);
/* A detector option's kind: a number, a count (>= 0), a boolean, a text, or
 * the mode ("min" or "max"); its description. */
enum { FW_NUMBER = 0, FW_COUNT = 1, FW_BOOLEAN = 2, FW_TEXT = 3, FW_MODE = 4 };
FW_API int fw_option_kind(size_t option);
FW_API const char* fw_option_description(size_t option);
FW_API const char* fw_default_namespace(void);
FW_API const char* fw_hyperparameter_prefix(void);

/* Detector options, the C++ defaults when new. Set: a number or count in
 * `number` (a count must be a whole number >= 0), a boolean as 0/1, a text or
 * mode in `text`/`length`. Get: the same; a text is allocated (fw_free). */
FW_API fw_status fw_options_new(fw_options** out);
FW_API fw_status fw_options_copy(const fw_options* from, fw_options** out);
FW_API void fw_options_free(fw_options* o);
FW_API fw_status fw_options_set(fw_options* o, size_t option, double number, const char* text,
                                size_t length);
FW_API fw_status fw_options_get(const fw_options* o, size_t option, double* number, char** text,
                                size_t* length);
FW_API fw_status fw_schema_json(const char* ns, size_t ns_length, const fw_options* o, char** json,
                                size_t* length);

/* Settings: defaults, then the FITWATCH_<NAME> variables among env_names/
 * env_values (every other one is ignored, whatever its bytes), then the
 * fitwatch_<name> keys among hp_names/hp_values (an unknown fitwatch_* key
 * fails), then validated. */
FW_API fw_status fw_settings_read(size_t hp_count, const char* const* hp_names,
                                  const size_t* hp_name_lengths, const char* const* hp_values,
                                  const size_t* hp_value_lengths, size_t env_count,
                                  const char* const* env_names, const size_t* env_name_lengths,
                                  const char* const* env_values, const size_t* env_value_lengths,
                                  fw_settings** out);
FW_API void fw_settings_free(fw_settings* s);
FW_API fw_status fw_settings_options(const fw_settings* s, fw_options** out);
/* A setting's value as text ("namespace", "job_name", any name of the table). */
FW_API fw_status fw_settings_value(const fw_settings* s, const char* name, size_t name_length,
                                   char** text, size_t* length);
FW_API int fw_settings_writes_metrics(const fw_settings* s, int64_t rank);
/* RANK, LOCAL_RANK, WORLD_SIZE of the environment (torchrun). */
FW_API fw_status fw_read_process_rank(int64_t* rank, int64_t* local_rank, int64_t* world_size);

/* A logger. overflow: 0 drop_oldest, 1 drop_newest, 2 block. path: NULL for
 * stdout. Timeouts in seconds. settings: NULL, or namespace, job name and
 * dimensions from it (and a rank that must not write discards its lines). */
FW_API fw_status fw_logger_new(const char* ns, size_t ns_length, const char* job_name,
                               size_t job_name_length, int default_dimensions, const char* path,
                               int background_writer, size_t queue_capacity, int overflow,
                               int flush_on_sigterm, double sigterm_timeout,
                               double shutdown_timeout, const fw_settings* settings,
                               fw_logger** out);
/* Flushes, waits at most the shutdown timeout, and frees. */
FW_API void fw_logger_free(fw_logger* log);
FW_API fw_status fw_logger_metric(fw_logger* log, const char* name, size_t name_length,
                                  const char* unit, size_t unit_length, int resolution,
                                  uint32_t* id);
FW_API fw_status fw_logger_property(fw_logger* log, const char* name, size_t name_length,
                                    uint32_t* id);
/* Dimension sets: set_sizes[i] pairs each, names/values flattened. */
FW_API fw_status fw_logger_set_dimensions(fw_logger* log, size_t set_count, const size_t* set_sizes,
                                          const char* const* names, const size_t* name_lengths,
                                          const char* const* values, const size_t* value_lengths);
FW_API fw_status fw_logger_add_dimensions(fw_logger* log, size_t count, const char* const* names,
                                          const size_t* name_lengths, const char* const* values,
                                          const size_t* value_lengths);
FW_API void fw_logger_put(fw_logger* log, uint32_t metric, double value);
FW_API void fw_logger_set_number(fw_logger* log, uint32_t property, double value);
FW_API void fw_logger_set_integer(fw_logger* log, uint32_t property, int64_t value);
FW_API void fw_logger_set_boolean(fw_logger* log, uint32_t property, int value);
FW_API void fw_logger_set_text(fw_logger* log, uint32_t property, const char* value, size_t length);
FW_API void fw_logger_flush(fw_logger* log);
FW_API void fw_logger_flush_at(fw_logger* log, int64_t timestamp_ms);
/* 1 when every queued line is written within the timeout, else 0. */
FW_API fw_status fw_logger_drain(fw_logger* log, double timeout, int* drained);
FW_API uint64_t fw_logger_dropped_values(const fw_logger* log);
FW_API uint64_t fw_logger_dropped_evaluations(const fw_logger* log);
FW_API const char* fw_logger_job_name(const fw_logger* log);
FW_API const char* fw_logger_namespace(const fw_logger* log);
FW_API int fw_logger_is_primary_host(const fw_logger* log);

/* A monitor writing to `log` (which must outlive it); options NULL: the
 * defaults. */
FW_API fw_status fw_monitor_new(fw_logger* log, const fw_options* options, fw_monitor** out);
FW_API void fw_monitor_free(fw_monitor* mon);
/* present: FW_TRAIN_ACC | FW_VAL_ACC | FW_METRIC | FW_TIMESTAMP say which of
 * the optional values are given. Never fails on bad values. */
enum { FW_TRAIN_ACC = 1, FW_VAL_ACC = 2, FW_METRIC = 4, FW_TIMESTAMP = 8 };
FW_API void fw_monitor_observe(fw_monitor* mon, int64_t epoch, double train_loss, double val_loss,
                               double train_acc, double val_acc, double metric,
                               int64_t timestamp_ms, unsigned present, fw_signals* out);
FW_API int fw_monitor_should_stop(const fw_monitor* mon);
FW_API int64_t fw_monitor_best_epoch(const fw_monitor* mon);
FW_API void fw_monitor_signals(const fw_monitor* mon, fw_signals* out);
/* The reason of the last evaluation, whole (allocated: fw_free). */
FW_API fw_status fw_monitor_reason(const fw_monitor* mon, char** reason, size_t* length);
FW_API fw_status fw_monitor_options(const fw_monitor* mon, fw_options** out);
FW_API fw_status fw_monitor_save_state(const fw_monitor* mon, char** state, size_t* length);
FW_API fw_status fw_monitor_restore_state(fw_monitor* mon, const char* state, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* FITWATCH_FITWATCH_H */
