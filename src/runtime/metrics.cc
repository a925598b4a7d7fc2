#include "runtime/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <system_error>

namespace kube::runtime {
namespace {

// See the header: misuse of the metrics API is a bug in the caller, reported like a failed assert.
[[noreturn]] void misuse(const std::string& message) {
  std::fprintf(stderr, "aphex metrics: %s\n", message.c_str());
  std::abort();
}

bool isLetterOrUnderscore(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool validMetricName(std::string_view name) {
  if (name.empty() || isDigit(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return isLetterOrUnderscore(c) || isDigit(c) || c == ':'; });
}

// Names starting with "__" are reserved for Prometheus' own use.
bool validLabelName(std::string_view name) {
  if (name.empty() || isDigit(name.front()) || name.starts_with("__")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return isLetterOrUnderscore(c) || isDigit(c); });
}

std::string escapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string_view typeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void writeSample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

template <typename A, typename B>
bool lexicographicallyLess(std::span<A> a, std::span<B> b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return std::string_view(x) < std::string_view(y);
  });
}

void validateLabels(const std::string& metric, const std::vector<std::string>& labels) {
  for (const auto& label : labels) {
    if (!validLabelName(label)) misuse("metric " + metric + ": invalid label name \"" + label + "\"");
  }
}

// Strictly increasing and finite, with a trailing +Inf dropped (the exposition always adds it).
std::vector<double> validBuckets(const std::string& metric, std::vector<double> buckets) {
  if (buckets.empty()) return defaultBuckets();
  if (std::isinf(buckets.back()) && buckets.back() > 0) buckets.pop_back();
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1])) {
      misuse("histogram " + metric + ": buckets must be finite and strictly increasing");
    }
  }
  return buckets;
}

}  // namespace

void Counter::inc(double by) {
  if (!(by >= 0.0)) return;  // also ignores NaN
  value_.fetch_add(by, std::memory_order_relaxed);
}

void Counter::write(std::string& out, std::string_view name, std::string_view labels) const {
  writeSample(out, name, labels, formatMetricValue(value()));
}

void Gauge::add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }

void Gauge::write(std::string& out, std::string_view name, std::string_view labels) const {
  writeSample(out, name, labels, formatMetricValue(value()));
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_->size() + 1)) {}

void Histogram::observe(double value) {
  const auto& bounds = *bounds_;
  // NaN belongs nowhere but +Inf; lower_bound finds the first bound >= value, as `le` means.
  const std::size_t index = std::isnan(value)
      ? bounds.size()
      : static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::uint64_t Histogram::count() const {
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) total += buckets_[i].load(std::memory_order_relaxed);
  return total;
}

void Histogram::write(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string bucket_name = std::string(name) + "_bucket";
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_->size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const double bound = i < bounds_->size() ? (*bounds_)[i] : std::numeric_limits<double>::infinity();
    writeSample(out, bucket_name, prefix + "le=\"" + formatMetricValue(bound) + "\"", std::to_string(cumulative));
  }
  writeSample(out, std::string(name) + "_sum", labels, formatMetricValue(sum()));
  writeSample(out, std::string(name) + "_count", labels, std::to_string(cumulative));
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

void MetricFamily::write(std::string& out) const {
  if (empty()) return;  // client_golang, too, leaves out families without samples
  out += "# HELP " + name_ + " " + escapeHelp(help_) + "\n";
  out += "# TYPE " + name_ + " " + std::string(typeName(type_)) + "\n";
  writeChildren(out);
}

std::string MetricFamily::renderLabels(std::span<const std::string> values) const {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += label_names_[i] + "=\"" + escapeLabelValue(values[i]) + "\"";
  }
  return out;
}

bool LabelValuesLess::operator()(std::span<const std::string> a, std::span<const std::string> b) const {
  return lexicographicallyLess(a, b);
}
bool LabelValuesLess::operator()(std::span<const std::string> a, std::span<const std::string_view> b) const {
  return lexicographicallyLess(a, b);
}
bool LabelValuesLess::operator()(std::span<const std::string_view> a, std::span<const std::string> b) const {
  return lexicographicallyLess(a, b);
}

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                       std::function<std::unique_ptr<Metric>()> make_child)
    : MetricFamily(std::move(name), std::move(help), type, std::move(label_names)),
      make_child_(std::move(make_child)) {}

template <typename Metric>
Metric& Family<Metric>::with(std::span<const std::string_view> values) {
  if (values.size() != labelNames().size()) {
    misuse("metric " + name() + ": " + std::to_string(values.size()) + " label values for " +
           std::to_string(labelNames().size()) + " label names");
  }
  std::lock_guard guard(mutex_);
  auto it = children_.find(values);
  if (it == children_.end()) {
    it = children_.emplace(std::vector<std::string>(values.begin(), values.end()), make_child_()).first;
  }
  return *it->second;
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& values) {
  const std::vector<std::string_view> views(values.begin(), values.end());
  return with(std::span<const std::string_view>(views));
}

template <typename Metric>
void Family<Metric>::writeChildren(std::string& out) const {
  std::lock_guard guard(mutex_);
  for (const auto& [values, child] : children_) child->write(out, name(), renderLabels(values));
}

template <typename Metric>
bool Family<Metric>::empty() const {
  std::lock_guard guard(mutex_);
  return children_.empty();
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

std::vector<double> defaultBuckets() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}; }

std::vector<double> exponentialBuckets(double start, double factor, int count) {
  if (count < 1 || !(start > 0.0) || !(factor > 1.0)) {
    misuse("exponentialBuckets: need count >= 1, start > 0, factor > 1");
  }
  std::vector<double> buckets;
  // start × factor^i rather than repeated multiplication, which accumulates rounding error.
  for (int i = 0; i < count; ++i) buckets.push_back(start * std::pow(factor, i));
  return buckets;
}

std::string formatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (error != std::errc()) return "NaN";  // cannot happen: 64 bytes hold any double
  return std::string(buffer, end);
}

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

template <typename Metric>
Family<Metric>& MetricsRegistry::add(MetricOptions options, MetricType type,
                                     std::function<std::unique_ptr<Metric>()> make_child) {
  if (!validMetricName(options.name)) misuse("invalid metric name \"" + options.name + "\"");
  validateLabels(options.name, options.labels);
  std::lock_guard guard(mutex_);
  if (auto it = families_.find(options.name); it != families_.end()) {
    if (it->second->type() != type || it->second->labelNames() != options.labels) {
      misuse("metric " + options.name + " registered twice with different types or label names");
    }
    return static_cast<Family<Metric>&>(*it->second);  // one Metric per MetricType
  }
  const bool unlabelled = options.labels.empty();
  auto family = std::make_unique<Family<Metric>>(options.name, std::move(options.help), type, std::move(options.labels),
                                                 std::move(make_child));
  // An unlabelled metric has exactly one child: export it (at 0) from the start.
  if (unlabelled) family->with({});
  auto& added = *family;
  families_.emplace(std::move(options.name), std::move(family));
  return added;
}

CounterFamily& MetricsRegistry::counter(MetricOptions options) {
  return add<Counter>(std::move(options), MetricType::kCounter, [] { return std::make_unique<Counter>(); });
}

GaugeFamily& MetricsRegistry::gauge(MetricOptions options) {
  return add<Gauge>(std::move(options), MetricType::kGauge, [] { return std::make_unique<Gauge>(); });
}

HistogramFamily& MetricsRegistry::histogram(HistogramOptions options) {
  if (std::find(options.labels.begin(), options.labels.end(), "le") != options.labels.end()) {
    misuse("histogram " + options.name + ": the label name \"le\" is reserved for buckets");
  }
  auto bounds = std::make_shared<const std::vector<double>>(validBuckets(options.name, std::move(options.buckets)));
  MetricOptions shape{
      .name = std::move(options.name), .help = std::move(options.help), .labels = std::move(options.labels)};
  return add<Histogram>(std::move(shape), MetricType::kHistogram,
                        [bounds] { return std::make_unique<Histogram>(bounds); });
}

std::string MetricsRegistry::text() const {
  std::lock_guard guard(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) family->write(out);
  return out;
}

std::string_view reconcileResultLabel(ReconcileResult result) {
  switch (result) {
    case ReconcileResult::kSuccess: return "success";
    case ReconcileResult::kError: return "error";
    case ReconcileResult::kRequeue: return "requeue";
    case ReconcileResult::kRequeueAfter: return "requeue_after";
  }
  return "unknown";
}

namespace {

// controller-runtime's buckets for reconcile durations: fine-grained below a second, where most
// reconciles finish, and up to a minute for slow ones.
std::vector<double> reconcileTimeBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6,
          0.7,   0.8,  0.9,   1.0,  1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5,
          6,     7,    8,     9,    10,  15,  20,   25,  30,  40,  50,  60};
}

// client-go's workqueue buckets: 10 ns to 10 s in decades.
std::vector<double> workqueueBuckets() { return exponentialBuckets(1e-8, 10, 10); }

}  // namespace

ControllerMetrics::ControllerMetrics(MetricsRegistry& registry)
    : reconcile_total(registry.counter({.name = "controller_runtime_reconcile_total",
                                        .help = "Total number of reconciliations per controller",
                                        .labels = {"controller", "result"}})),
      reconcile_errors_total(registry.counter({.name = "controller_runtime_reconcile_errors_total",
                                               .help = "Total number of reconciliation errors per controller",
                                               .labels = {"controller"}})),
      reconcile_panics_total(registry.counter({.name = "controller_runtime_reconcile_panics_total",
                                               .help = "Total number of reconciliation panics per controller",
                                               .labels = {"controller"}})),
      terminal_reconcile_errors_total(
          registry.counter({.name = "controller_runtime_terminal_reconcile_errors_total",
                            .help = "Total number of terminal reconciliation errors per controller",
                            .labels = {"controller"}})),
      reconcile_time_seconds(registry.histogram({.name = "controller_runtime_reconcile_time_seconds",
                                                 .help = "Length of time per reconciliation per controller",
                                                 .labels = {"controller"},
                                                 .buckets = reconcileTimeBuckets()})),
      max_concurrent_reconciles(registry.gauge({.name = "controller_runtime_max_concurrent_reconciles",
                                                .help = "Maximum number of concurrent reconciles per controller",
                                                .labels = {"controller"}})),
      active_workers(registry.gauge({.name = "controller_runtime_active_workers",
                                     .help = "Number of currently used workers per controller",
                                     .labels = {"controller"}})),
      workqueue_depth(registry.gauge({.name = "workqueue_depth",
                                      .help = "Current depth of workqueue",
                                      .labels = {"name"}})),
      workqueue_adds_total(registry.counter({.name = "workqueue_adds_total",
                                             .help = "Total number of adds handled by workqueue",
                                             .labels = {"name"}})),
      workqueue_retries_total(registry.counter({.name = "workqueue_retries_total",
                                                .help = "Total number of retries handled by workqueue",
                                                .labels = {"name"}})),
      workqueue_queue_duration_seconds(registry.histogram({.name = "workqueue_queue_duration_seconds",
                                                           .help = "How long in seconds an item stays in workqueue "
                                                                   "before being requested",
                                                           .labels = {"name"},
                                                           .buckets = workqueueBuckets()})),
      workqueue_work_duration_seconds(registry.histogram({.name = "workqueue_work_duration_seconds",
                                                          .help = "How long in seconds processing an item from "
                                                                  "workqueue takes",
                                                          .labels = {"name"},
                                                          .buckets = workqueueBuckets()})),
      rest_client_requests_total(registry.counter({.name = "rest_client_requests_total",
                                                   .help = "Number of HTTP requests, partitioned by status code, "
                                                           "method, and host",
                                                   .labels = {"code", "method", "host"}})),
      leader_election_master_status(registry.gauge({.name = "leader_election_master_status",
                                                    .help = "1 while this process leads the named lease, 0 while it "
                                                            "is a candidate",
                                                    .labels = {"name"}})),
      informer_handler_panics_total(registry.counter({.name = "aphex_informer_handler_panics_total",
                                                      .help = "Informer event handlers that threw, per resource",
                                                      .labels = {"resource"}})),
      own_write_echoes_total(registry.counter({.name = "aphex_controller_own_write_echoes_total",
                                               .help = "Watch events that were the controller's own writes coming "
                                                       "back, which woke no reconcile",
                                               .labels = {"controller"}})) {}

void ControllerMetrics::initController(std::string_view controller, int max_workers) {
  for (auto result : {ReconcileResult::kSuccess, ReconcileResult::kError, ReconcileResult::kRequeue,
                      ReconcileResult::kRequeueAfter}) {
    reconcile_total.with({controller, reconcileResultLabel(result)});
  }
  reconcile_errors_total.with({controller});
  reconcile_panics_total.with({controller});
  terminal_reconcile_errors_total.with({controller});
  own_write_echoes_total.with({controller});
  reconcile_time_seconds.with({controller});
  max_concurrent_reconciles.with({controller}).set(max_workers);
  active_workers.with({controller}).set(0);
  // The workqueue's series are named after the controller (its queue's name).
  workqueue_depth.with({controller}).set(0);
  workqueue_adds_total.with({controller});
  workqueue_retries_total.with({controller});
  workqueue_queue_duration_seconds.with({controller});
  workqueue_work_duration_seconds.with({controller});
}

kube::RequestObserver countRestRequests(ControllerMetrics& metrics, std::string host) {
  return [&family = metrics.rest_client_requests_total, host = std::move(host)](const kube::RequestRecord& request) {
    const std::string code = request.status == 0 ? "<error>" : std::to_string(request.status);
    family.with({code, request.method, host}).inc();
  };
}

std::string hostOfServer(std::string_view server) {
  if (const auto scheme = server.find("://"); scheme != std::string_view::npos) server.remove_prefix(scheme + 3);
  return std::string(server.substr(0, server.find('/')));
}

}  // namespace kube::runtime
