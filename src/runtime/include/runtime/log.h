// Structured logs: one JSON object per line, for log pipelines, or one text line, for people.
//
//   {"ts":"2025-05-01T12:00:00.123Z","level":"info","logger":"controller","msg":"reconciled",
//    "controller":"aphex","namespace":"prod","name":"web","reconcileID":"5c1b…"}
//
// Field values are scalars (strings, numbers, booleans) on purpose: there is no way to log a
// whole JSON object, so a Secret or a kubeconfig cannot end up in a log by accident. Callers name
// the few fields they want.
//
// Thread safety: a Logger may be used from any thread. Loggers derived with with() or named()
// share their parent's sink, level and lock; a line is formatted before the lock is taken and
// handed to the sink whole under it, so lines never interleave. setLevel() changes the level of
// the whole family. defaultLogger()/setDefaultLogger() may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "runtime/clock.h"

namespace kube::runtime {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kJson, kText };

std::string_view toString(LogLevel level);  // "debug", "info", "warn", "error"
// For --log-level and --log-format; nullopt for anything else.
std::optional<LogLevel> parseLogLevel(std::string_view text);
std::optional<LogFormat> parseLogFormat(std::string_view text);  // "json", "text"

// A field's value: a string, an integer, a floating-point number or a boolean.
class LogValue {
 public:
  using Variant = std::variant<std::string, std::int64_t, std::uint64_t, double, bool>;

  LogValue(std::string value) : value_(std::move(value)) {}           // NOLINT: implicit by design
  LogValue(std::string_view value) : value_(std::string(value)) {}    // NOLINT
  // Without it a string literal would convert to bool, a better match than to std::string.
  LogValue(const char* value) : value_(std::string(value)) {}         // NOLINT
  LogValue(bool value) : value_(value) {}                             // NOLINT
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_signed_v<T>)
  LogValue(T value) : value_(static_cast<std::int64_t>(value)) {}     // NOLINT
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool> && std::is_unsigned_v<T>)
  LogValue(T value) : value_(static_cast<std::uint64_t>(value)) {}    // NOLINT
  template <typename T>
    requires std::is_floating_point_v<T>
  LogValue(T value) : value_(static_cast<double>(value)) {}           // NOLINT

  const Variant& get() const { return value_; }

 private:
  Variant value_;
};

struct LogField {
  std::string key;
  LogValue value;
};
using LogFields = std::vector<LogField>;

// Receives each finished line, without its newline, under the logger's lock.
using LogSink = std::function<void(std::string_view line)>;

// Writes each line and a newline to stderr in one call.
LogSink stderrSink();

struct LoggerOptions {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kJson;
  LogSink sink;  // empty: stderrSink()
};

class Logger {
 public:
  explicit Logger(LoggerOptions options = {}, Clock& clock = realClock());

  // A logger whose lines carry `fields` too, after the parent's (a repeated key: the last wins).
  Logger with(LogFields fields) const;
  // A logger named "<parent>.<name>" (or just `name` for an unnamed parent).
  Logger named(std::string_view name) const;

  void log(LogLevel level, std::string_view msg, const LogFields& fields = {}) const;
  void debug(std::string_view msg, const LogFields& fields = {}) const { log(LogLevel::kDebug, msg, fields); }
  void info(std::string_view msg, const LogFields& fields = {}) const { log(LogLevel::kInfo, msg, fields); }
  void warn(std::string_view msg, const LogFields& fields = {}) const { log(LogLevel::kWarn, msg, fields); }
  void error(std::string_view msg, const LogFields& fields = {}) const { log(LogLevel::kError, msg, fields); }

  // Whether a line at `level` would be written: check before building expensive fields.
  bool enabled(LogLevel level) const;
  void setLevel(LogLevel level);

  const std::string& name() const { return name_; }

 private:
  struct Shared;
  Logger(std::shared_ptr<Shared> shared, std::string name, LogFields fields);
  std::string format(LogLevel level, std::string_view msg, const LogFields& fields) const;

  std::shared_ptr<Shared> shared_;
  std::string name_;
  LogFields fields_;
};

// The process-wide logger (JSON at info to stderr until replaced). Returns a copy, so replacing
// it never pulls the rug from under a thread that is logging.
Logger defaultLogger();
void setDefaultLogger(Logger logger);

// An RFC 3339 UTC timestamp with `fraction_digits` (0–9) digits of fractional seconds,
// truncated: 3 for log lines, 6 for the API's MicroTime ("2025-05-01T12:00:00.123456Z").
std::string formatTimestamp(WallTime time, int fraction_digits);

// `text` cut to at most `max_bytes` at a UTF-8 character boundary, "..." appended when cut.
std::string truncateForLog(std::string_view text, std::size_t max_bytes = 200);
// The exception being handled, for a log field: its what(), truncated (a message may quote a
// tenant's object at length), or a fixed text for one not derived from std::exception. Call it
// only inside a catch block.
std::string currentExceptionSummary(std::size_t max_bytes = 200);

}  // namespace kube::runtime
