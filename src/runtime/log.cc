#include "runtime/log.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>

#include <nlohmann/json.hpp>

namespace kube::runtime {

struct Logger::Shared {
  Shared(LoggerOptions options, Clock& clock_ref)
      : sink(options.sink ? std::move(options.sink) : stderrSink()), format(options.format), level(options.level),
        clock(clock_ref) {}

  std::mutex mutex;  // held while the sink writes, so lines never interleave
  LogSink sink;
  LogFormat format;
  std::atomic<LogLevel> level;
  Clock& clock;
};

namespace {

using OrderedJson = nlohmann::ordered_json;

// The keys every line has; a field with one of these names is written as "fields.<key>" so it
// cannot overwrite the line's own time, level, logger or message.
bool isReservedKey(std::string_view key) { return key == "ts" || key == "level" || key == "logger" || key == "msg"; }

std::string fieldKey(const std::string& key) { return isReservedKey(key) ? "fields." + key : key; }

OrderedJson toJson(const LogValue& value) {
  return std::visit([](const auto& v) { return OrderedJson(v); }, value.get());
}

// Invalid UTF-8 is replaced rather than thrown on: a log call must never fail.
std::string dump(const OrderedJson& json) { return json.dump(-1, ' ', false, OrderedJson::error_handler_t::replace); }

// Text values stay bare unless a reader (or a line-based collector) could misread them.
bool needsQuotes(std::string_view text) {
  if (text.empty()) return true;
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= ' ' || byte == 0x7f || c == '"' || c == '=' || c == '\\';
  });
}

std::string textValue(const LogValue& value) {
  if (const auto* text = std::get_if<std::string>(&value.get())) {
    return needsQuotes(*text) ? dump(OrderedJson(*text)) : *text;
  }
  return dump(toJson(value));
}

// A message may contain spaces but never a line break or other control character.
std::string textMessage(std::string_view msg) {
  const bool has_control = std::any_of(msg.begin(), msg.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < ' ' || byte == 0x7f;
  });
  return has_control ? dump(OrderedJson(std::string(msg))) : std::string(msg);
}

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
  return out;
}

std::mutex& defaultLoggerMutex() {
  static std::mutex mutex;
  return mutex;
}

Logger& defaultLoggerSlot() {
  static Logger logger;
  return logger;
}

}  // namespace

std::string_view toString(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::optional<LogLevel> parseLogLevel(std::string_view text) {
  for (auto level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (text == toString(level)) return level;
  }
  return std::nullopt;
}

std::optional<LogFormat> parseLogFormat(std::string_view text) {
  if (text == "json") return LogFormat::kJson;
  if (text == "text") return LogFormat::kText;
  return std::nullopt;
}

LogSink stderrSink() {
  return [](std::string_view line) {
    std::string buffer(line);
    buffer += '\n';
    // One fwrite: stdio locks the stream per call, so even lines from unrelated loggers stay whole.
    std::fwrite(buffer.data(), 1, buffer.size(), stderr);
  };
}

Logger::Logger(LoggerOptions options, Clock& clock) : shared_(std::make_shared<Shared>(std::move(options), clock)) {}

Logger::Logger(std::shared_ptr<Shared> shared, std::string name, LogFields fields)
    : shared_(std::move(shared)), name_(std::move(name)), fields_(std::move(fields)) {}

Logger Logger::with(LogFields fields) const {
  LogFields combined = fields_;
  combined.insert(combined.end(), std::make_move_iterator(fields.begin()), std::make_move_iterator(fields.end()));
  return Logger(shared_, name_, std::move(combined));
}

Logger Logger::named(std::string_view name) const {
  return Logger(shared_, name_.empty() ? std::string(name) : name_ + "." + std::string(name), fields_);
}

bool Logger::enabled(LogLevel level) const { return level >= shared_->level.load(std::memory_order_relaxed); }

void Logger::setLevel(LogLevel level) { shared_->level.store(level, std::memory_order_relaxed); }

void Logger::log(LogLevel level, std::string_view msg, const LogFields& fields) const {
  if (!enabled(level)) return;
  const std::string line = format(level, msg, fields);
  std::lock_guard guard(shared_->mutex);
  shared_->sink(line);
}

std::string Logger::format(LogLevel level, std::string_view msg, const LogFields& fields) const {
  const std::string ts = formatTimestamp(shared_->clock.wallNow(), 3);
  if (shared_->format == LogFormat::kText) {
    std::string line = ts + " " + upper(toString(level)) + " " + (name_.empty() ? "" : name_ + ": ") + textMessage(msg);
    for (const auto* list : {&fields_, &fields}) {
      for (const auto& field : *list) line += " " + fieldKey(field.key) + "=" + textValue(field.value);
    }
    return line;
  }
  OrderedJson line;
  line["ts"] = ts;
  line["level"] = toString(level);
  if (!name_.empty()) line["logger"] = name_;
  line["msg"] = msg;
  for (const auto* list : {&fields_, &fields}) {
    for (const auto& field : *list) line[fieldKey(field.key)] = toJson(field.value);
  }
  return dump(line);
}

Logger defaultLogger() {
  std::lock_guard guard(defaultLoggerMutex());
  return defaultLoggerSlot();
}

void setDefaultLogger(Logger logger) {
  std::lock_guard guard(defaultLoggerMutex());
  defaultLoggerSlot() = std::move(logger);
}

std::string formatTimestamp(WallTime time, int fraction_digits) {
  using namespace std::chrono;
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const auto seconds_of_day = floor<seconds>(time - day);
  const hh_mm_ss<seconds> clock_time{seconds_of_day};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock_time.hours().count()), static_cast<int>(clock_time.minutes().count()),
                static_cast<int>(clock_time.seconds().count()));
  std::string out(buffer);
  const int digits = std::clamp(fraction_digits, 0, 9);
  if (digits > 0) {
    const auto nanos = duration_cast<nanoseconds>(time - day - seconds_of_day).count();
    std::snprintf(buffer, sizeof buffer, "%09lld", static_cast<long long>(nanos));
    out += '.';
    out.append(buffer, static_cast<std::size_t>(digits));
  }
  out += 'Z';
  return out;
}

std::string truncateForLog(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t cut = max_bytes;
  // Never split a multi-byte character: continuation bytes look like 10xxxxxx.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

std::string currentExceptionSummary(std::size_t max_bytes) {
  try {
    throw;
  } catch (const std::exception& e) {
    return truncateForLog(e.what(), max_bytes);
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

}  // namespace kube::runtime
