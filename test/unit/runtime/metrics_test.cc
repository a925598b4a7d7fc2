#include "runtime/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace kube::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, ACounterIsWrittenWithHelpTypeAndLabels) {
  MetricsRegistry registry;
  auto& requests =
      registry.counter({.name = "requests_total", .help = "Requests served.", .labels = {"code", "method"}});
  requests.with({"200", "GET"}).inc();
  requests.with({"200", "GET"}).inc(2);
  requests.with({"404", "GET"}).inc();
  EXPECT_EQ(registry.text(),
            "# HELP requests_total Requests served.\n"
            "# TYPE requests_total counter\n"
            "requests_total{code=\"200\",method=\"GET\"} 3\n"
            "requests_total{code=\"404\",method=\"GET\"} 1\n");
}

TEST(Metrics, ACounterIgnoresNegativeIncrements) {
  MetricsRegistry registry;
  auto& counter = registry.counter({.name = "c_total", .help = "h"}).with({});
  counter.inc(5);
  counter.inc(-2);
  counter.inc(std::nan(""));
  EXPECT_EQ(counter.value(), 5);
}

TEST(Metrics, AGaugeGoesUpAndDown) {
  MetricsRegistry registry;
  auto& depth = registry.gauge({.name = "depth", .help = "Queue depth.", .labels = {"name"}});
  depth.with({"q"}).set(4);
  depth.with({"q"}).inc();
  depth.with({"q"}).dec();
  depth.with({"q"}).add(-1.5);
  EXPECT_EQ(registry.text(),
            "# HELP depth Queue depth.\n"
            "# TYPE depth gauge\n"
            "depth{name=\"q\"} 2.5\n");
}

TEST(Metrics, AnUnlabelledMetricIsExportedAtZeroFromRegistration) {
  MetricsRegistry registry;
  registry.gauge({.name = "up", .help = "Up."});
  EXPECT_EQ(registry.text(), "# HELP up Up.\n# TYPE up gauge\nup 0\n");
}

TEST(Metrics, AFamilyWithoutChildrenIsLeftOut) {
  MetricsRegistry registry;
  registry.counter({.name = "unused_total", .help = "Never touched.", .labels = {"x"}});
  EXPECT_EQ(registry.text(), "");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsRegistry registry;
  auto& latency = registry.histogram({.name = "latency_seconds", .help = "Latency.", .labels = {"op"},
                                      .buckets = {0.25, 0.5, 1}});
  auto& get = latency.with({"get"});
  get.observe(0.125);
  get.observe(0.25);  // le is inclusive
  get.observe(0.375);
  get.observe(7);
  EXPECT_EQ(registry.text(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.25\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
            "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
            "latency_seconds_sum{op=\"get\"} 7.75\n"
            "latency_seconds_count{op=\"get\"} 4\n");
}

TEST(Metrics, AnUnlabelledHistogramHasOnlyTheLeLabel) {
  MetricsRegistry registry;
  registry.histogram({.name = "h", .help = "H.", .buckets = {1, std::numeric_limits<double>::infinity()}})
      .with({})
      .observe(2);
  EXPECT_EQ(registry.text(),
            "# HELP h H.\n"
            "# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\n"
            "h_bucket{le=\"+Inf\"} 1\n"
            "h_sum 2\n"
            "h_count 1\n");
}

TEST(Metrics, AHistogramWithoutBucketsUsesPrometheusDefaults) {
  MetricsRegistry registry;
  registry.histogram({.name = "h", .help = "H."});
  const std::string text = registry.text();
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"0.005\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"2.5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"10\"} 0\n"));
}

TEST(Metrics, LabelValuesEscapeBackslashQuoteAndNewline) {
  MetricsRegistry registry;
  registry.counter({.name = "c_total", .help = "h", .labels = {"path"}}).with({"a\\b \"c\"\nd"}).inc();
  EXPECT_THAT(registry.text(), HasSubstr("c_total{path=\"a\\\\b \\\"c\\\"\\nd\"} 1\n"));
}

TEST(Metrics, HelpTextEscapesBackslashAndNewlineButNotQuotes) {
  MetricsRegistry registry;
  registry.gauge({.name = "g", .help = "a \"b\"\\c\nd"});
  EXPECT_THAT(registry.text(), HasSubstr("# HELP g a \"b\"\\\\c\\nd\n"));
}

TEST(Metrics, ValuesUseTheShortestFormAndSpellInfinitiesAndNaN) {
  EXPECT_EQ(formatMetricValue(0), "0");
  EXPECT_EQ(formatMetricValue(42), "42");
  EXPECT_EQ(formatMetricValue(0.25), "0.25");
  EXPECT_EQ(formatMetricValue(1e-8), "1e-08");
  EXPECT_EQ(formatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(formatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(formatMetricValue(std::nan("")), "NaN");
}

TEST(Metrics, FamiliesAreSortedByName) {
  MetricsRegistry registry;
  registry.gauge({.name = "zeta", .help = "z"});
  registry.gauge({.name = "alpha", .help = "a"});
  const std::string text = registry.text();
  EXPECT_LT(text.find("alpha"), text.find("zeta"));
}

TEST(Metrics, RegisteringTheSameShapeTwiceReturnsTheSameFamily) {
  MetricsRegistry registry;
  auto& first = registry.counter({.name = "c_total", .help = "h", .labels = {"x"}});
  auto& second = registry.counter({.name = "c_total", .help = "h", .labels = {"x"}});
  EXPECT_EQ(&first, &second);
}

TEST(MetricsDeathTest, RegisteringANameWithOtherLabelsAborts) {
  MetricsRegistry registry;
  registry.counter({.name = "c_total", .help = "h", .labels = {"x"}});
  EXPECT_DEATH(registry.counter({.name = "c_total", .help = "h", .labels = {"y"}}), "registered twice");
}

TEST(MetricsDeathTest, AWrongNumberOfLabelValuesAborts) {
  MetricsRegistry registry;
  auto& family = registry.counter({.name = "c_total", .help = "h", .labels = {"x", "y"}});
  EXPECT_DEATH(family.with({"only one"}), "1 label values for 2 label names");
}

TEST(MetricsDeathTest, InvalidNamesAbort) {
  MetricsRegistry registry;
  EXPECT_DEATH(registry.counter({.name = "1bad", .help = "h"}), "invalid metric name");
  EXPECT_DEATH(registry.counter({.name = "ok", .help = "h", .labels = {"bad-label"}}), "invalid label name");
  EXPECT_DEATH(registry.histogram({.name = "h", .help = "h", .labels = {"le"}}), "reserved");
  EXPECT_DEATH(registry.histogram({.name = "h", .help = "h", .buckets = {1, 1}}), "strictly increasing");
}

TEST(Metrics, ExponentialBucketsMultiplyByTheFactor) {
  EXPECT_EQ(exponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry registry;
  auto& family = registry.counter({.name = "c_total", .help = "h", .labels = {"worker"}});
  auto& histogram = registry.histogram({.name = "h", .help = "h", .buckets = {1}}).with({});
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < 10000; ++i) {
          family.with({"shared"}).inc();
          histogram.observe(0.5);
        }
      });
    }
  }
  EXPECT_EQ(family.with({"shared"}).value(), 40000);
  EXPECT_EQ(histogram.count(), 40000U);
  EXPECT_EQ(histogram.sum(), 20000);
}

TEST(Metrics, EveryControllerSeriesExistsAtZeroBeforeTheFirstReconcile) {
  MetricsRegistry registry;
  ControllerMetrics metrics(registry);
  metrics.initController("organization", 2);
  const std::string text = registry.text();
  for (const std::string series : {
           "controller_runtime_reconcile_total{controller=\"organization\",result=\"success\"} 0\n",
           "controller_runtime_reconcile_errors_total{controller=\"organization\"} 0\n",
           "controller_runtime_terminal_reconcile_errors_total{controller=\"organization\"} 0\n",
           "controller_runtime_reconcile_panics_total{controller=\"organization\"} 0\n",
           "controller_runtime_reconcile_time_seconds_count{controller=\"organization\"} 0\n",
           "workqueue_depth{name=\"organization\"} 0\n",
           "workqueue_adds_total{name=\"organization\"} 0\n",
           "workqueue_retries_total{name=\"organization\"} 0\n",
           "workqueue_queue_duration_seconds_count{name=\"organization\"} 0\n",
           "workqueue_work_duration_seconds_count{name=\"organization\"} 0\n"}) {
    EXPECT_THAT(text, HasSubstr(series));
  }
}

TEST(Metrics, ControllerMetricsUseControllerRuntimeAndClientGoNames) {
  MetricsRegistry registry;
  ControllerMetrics metrics(registry);
  metrics.initController("aphex", 3);
  metrics.reconcile_total.with({"aphex", reconcileResultLabel(ReconcileResult::kRequeueAfter)}).inc();
  metrics.reconcile_time_seconds.with({"aphex"}).observe(0.02);
  metrics.workqueue_depth.with({"aphex"}).set(2);
  metrics.workqueue_adds_total.with({"aphex"}).inc();
  metrics.workqueue_retries_total.with({"aphex"}).inc();
  metrics.workqueue_queue_duration_seconds.with({"aphex"}).observe(0.001);
  metrics.workqueue_work_duration_seconds.with({"aphex"}).observe(0.5);
  metrics.rest_client_requests_total.with({"200", "GET", "10.0.0.1:6443"}).inc();
  metrics.leader_election_master_status.with({"aphex-leader"}).set(1);

  const std::string text = registry.text();
  EXPECT_THAT(text, HasSubstr("# TYPE controller_runtime_reconcile_total counter\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_total{controller=\"aphex\",result=\"error\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_total{controller=\"aphex\",result=\"requeue\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_total{controller=\"aphex\",result=\"requeue_after\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_total{controller=\"aphex\",result=\"success\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_errors_total{controller=\"aphex\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE controller_runtime_reconcile_time_seconds histogram\n"));
  EXPECT_THAT(text,
              HasSubstr("controller_runtime_reconcile_time_seconds_bucket{controller=\"aphex\",le=\"0.025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_time_seconds_bucket{controller=\"aphex\",le=\"60\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_max_concurrent_reconciles{controller=\"aphex\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_active_workers{controller=\"aphex\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("workqueue_depth{name=\"aphex\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("workqueue_adds_total{name=\"aphex\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("workqueue_retries_total{name=\"aphex\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("workqueue_queue_duration_seconds_bucket{name=\"aphex\",le=\"0.001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("workqueue_queue_duration_seconds_bucket{name=\"aphex\",le=\"1e-08\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("workqueue_work_duration_seconds_count{name=\"aphex\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("rest_client_requests_total{code=\"200\",method=\"GET\",host=\"10.0.0.1:6443\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE leader_election_master_status gauge\n"));
  EXPECT_THAT(text, HasSubstr("leader_election_master_status{name=\"aphex-leader\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("NaN")));
}

TEST(Metrics, ControllerMetricsCanBeBuiltTwiceOnOneRegistry) {
  MetricsRegistry registry;
  ControllerMetrics first(registry);
  ControllerMetrics second(registry);
  EXPECT_EQ(&first.reconcile_total, &second.reconcile_total);
}

}  // namespace
}  // namespace kube::runtime
