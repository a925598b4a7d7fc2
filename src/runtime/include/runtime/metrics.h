// Prometheus metrics: counters, gauges and histograms in labelled families, and the text
// exposition format (version 0.0.4) that /metrics serves.
//
// A family has a name, help text and label names; each distinct list of label values is a child
// that holds the numbers. Children live as long as the registry, so callers look one up once
// (`reconcile_total.with({"aphex", "success"})`) and keep the reference for the hot path, where an
// update is a single atomic operation.
//
// Programming errors — an invalid metric or label name, a name registered twice with a different
// type or label names, a wrong number of label values — abort with a message, as client_golang
// panics: they are found by the first test that reaches the call, and returning an error would
// make every increment check for something that cannot happen in correct code. Registering the
// same name with the same shape again returns the existing family, so two controllers can each
// build ControllerMetrics on one registry.
//
// Thread safety: every method of every class here may be called from any thread. Child updates
// are lock-free atomics; child lookup and registration take a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kube/client.h"

namespace kube::runtime {

// A monotonically increasing number.
class Counter {
 public:
  // Negative increments are ignored: a counter that went down would read as a restart.
  void inc(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }
  void write(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::atomic<double> value_{0.0};
};

// A number that goes up and down.
class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double by);
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return value_.load(std::memory_order_relaxed); }
  void write(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into buckets by upper bound (`le`), plus their sum and count.
class Histogram {
 public:
  // `bounds`: strictly increasing upper bounds, without +Inf (always present implicitly).
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  void observe(double value);
  std::uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  void write(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  // Per-bucket (not cumulative) counts; the last one is the +Inf bucket. The exposition sums
  // them, so _count always equals the +Inf bucket even while observations race with a scrape.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0.0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What the registry keeps of every family: its identity and a way to write its samples.
class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return label_names_; }
  // `# HELP`, `# TYPE` and one line per sample; nothing for a family without children.
  void write(std::string& out) const;

 protected:
  // Appends every child's samples, in label-value order.
  virtual void writeChildren(std::string& out) const = 0;
  virtual bool empty() const = 0;
  // `a="x",b="y"` for a child's label values, or "" when the family has no labels.
  std::string renderLabels(std::span<const std::string> values) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// Orders label-value lists and compares stored lists with looked-up views without copying them.
struct LabelValuesLess {
  using is_transparent = void;
  bool operator()(std::span<const std::string> a, std::span<const std::string> b) const;
  bool operator()(std::span<const std::string> a, std::span<const std::string_view> b) const;
  bool operator()(std::span<const std::string_view> a, std::span<const std::string> b) const;
};

template <typename Metric>
class Family final : public MetricFamily {
 public:
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make_child);

  // The child for these label values (one per label name, in order), created on first use.
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  Metric& with(std::span<const std::string_view> values);
  Metric& with(const std::vector<std::string>& values);

 private:
  void writeChildren(std::string& out) const override;
  bool empty() const override;

  std::function<std::unique_ptr<Metric>()> make_child_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>, LabelValuesLess> children_;  // guarded by mutex_
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;
using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

struct MetricOptions {
  std::string name;                      // [a-zA-Z_:][a-zA-Z0-9_:]*
  std::string help;
  std::vector<std::string> labels;       // [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__"
};

struct HistogramOptions {
  std::string name;
  std::string help;
  std::vector<std::string> labels;       // "le" is reserved for the buckets
  std::vector<double> buckets;           // strictly increasing; empty: defaultBuckets()
};

// Prometheus' default buckets, 5 ms to 10 s.
std::vector<double> defaultBuckets();
// `count` bounds: start, start×factor, start×factor², …
std::vector<double> exponentialBuckets(double start, double factor, int count);

// A sample value as the exposition format writes it: shortest round-trip form, +Inf, -Inf, NaN.
std::string formatMetricValue(double value);
// A label value inside double quotes: backslash, double quote and newline escaped.
std::string escapeLabelValue(std::string_view value);

class MetricsRegistry {
 public:
  CounterFamily& counter(MetricOptions options);
  GaugeFamily& gauge(MetricOptions options);
  HistogramFamily& histogram(HistogramOptions options);

  // Every family in the text exposition format 0.0.4, sorted by name.
  std::string text() const;

 private:
  template <typename Metric>
  Family<Metric>& add(MetricOptions options, MetricType type, std::function<std::unique_ptr<Metric>()> make_child);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;  // guarded by mutex_
};

// The Content-Type of MetricsRegistry::text().
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The `result` label of controller_runtime_reconcile_total.
enum class ReconcileResult { kSuccess, kError, kRequeue, kRequeueAfter };
std::string_view reconcileResultLabel(ReconcileResult result);

// The metrics controller-runtime and client-go export, under the same names and labels, so
// existing dashboards and alerts work unchanged.
struct ControllerMetrics {
  explicit ControllerMetrics(MetricsRegistry& registry);

  // Exports every series of a controller before its first reconcile, as client-go does for its
  // workqueue metrics: each reconcile_total result, the error, terminal-error and panic counts,
  // the workqueue's depth, adds, retries and both durations at 0 (so rate() and alerts see the
  // first increment), its worker limit, and 0 active workers.
  void initController(std::string_view controller, int max_workers);

  CounterFamily& reconcile_total;            // {controller, result}
  CounterFamily& reconcile_errors_total;     // {controller}
  // Reconciles that threw instead of returning an outcome; each also counts as an error.
  CounterFamily& reconcile_panics_total;     // {controller}
  // Reconciles that ended Terminal (a failure retrying cannot fix); each also counts as an error.
  CounterFamily& terminal_reconcile_errors_total;  // {controller}
  HistogramFamily& reconcile_time_seconds;   // {controller}
  GaugeFamily& max_concurrent_reconciles;    // {controller}
  GaugeFamily& active_workers;               // {controller}
  GaugeFamily& workqueue_depth;              // {name}
  CounterFamily& workqueue_adds_total;       // {name}
  CounterFamily& workqueue_retries_total;    // {name}
  HistogramFamily& workqueue_queue_duration_seconds;  // {name}
  HistogramFamily& workqueue_work_duration_seconds;   // {name}
  CounterFamily& rest_client_requests_total;          // {code, method, host}
  GaugeFamily& leader_election_master_status;         // {name}: 1 while leading, else 0
  // Informer event handlers (and the mappings they run) that threw; controller-runtime has no
  // such metric, hence the name of our own.
  CounterFamily& informer_handler_panics_total;       // {resource}: "configmaps", "deployments.apps"
  // Watch events that were the controller's own writes coming back (own_writes.h), which woke
  // no reconcile; also ours.
  CounterFamily& own_write_echoes_total;              // {controller}
};

// Feeds rest_client_requests_total from a client (ClientOptions::on_request). `host` is the API
// server's host:port; a request that got no answer counts under code "<error>", as in client-go.
kube::RequestObserver countRestRequests(ControllerMetrics& metrics, std::string host);
// "host:port" of a server URL such as "https://10.0.0.1:6443/prefix".
std::string hostOfServer(std::string_view server);

}  // namespace kube::runtime
