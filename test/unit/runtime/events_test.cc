#include "runtime/events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include "support/fake_clock.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;
using ::testing::MatchesRegex;

WallTime mayDay() {
  return std::chrono::sys_days{std::chrono::year{2025} / 5 / 1} + 12h + 34min + 56s + 789123us;
}

ObjectReference configMap(std::string name = "settings", std::string uid = "uid-1") {
  return {.api_version = "v1", .kind = "ConfigMap", .ns = "prod", .name = std::move(name), .uid = std::move(uid),
          .resource_version = "42"};
}

EventOccurrence occurrence(MonoTime at, std::string reason = "ApplyFailed", std::string note = "quota exceeded") {
  return {.regarding = configMap(),
          .details = {.type = EventType::kWarning, .reason = std::move(reason), .action = "Apply",
                      .note = std::move(note)},
          .time = mayDay(),
          .mono_time = at};
}

Logger quietLogger() {
  return Logger({.level = LogLevel::kError, .sink = [](std::string_view) {}});
}

EventRecorderOptions recorderOptions() {
  return {.reporting_controller = "aphex.io/aphex-controller", .reporting_instance = "aphex-0"};
}

// --- pure parts ---

TEST(EventText, ShortTextIsKeptAsIs) {
  EXPECT_EQ(truncateUtf8("fine", 1024), "fine");
  EXPECT_EQ(truncateUtf8("", 1024), "");
}

TEST(EventText, LongTextIsCutToTheLimit) {
  const std::string note(5000, 'x');
  EXPECT_EQ(truncateUtf8(note, kMaxEventNoteBytes), std::string(1024, 'x'));
}

TEST(EventText, ACutNeverSplitsACharacter) {
  const std::string note = std::string(1023, 'x') + "\xC3\xA9";  // 'é' straddles byte 1024
  EXPECT_EQ(truncateUtf8(note, 1024), std::string(1023, 'x'));
  EXPECT_EQ(truncateUtf8("a\xE2\x82\xAC", 3), "a");  // '€' needs 3 bytes; only 2 are left
  EXPECT_EQ(truncateUtf8("a\xE2\x82\xAC", 4), "a\xE2\x82\xAC");
}

TEST(EventText, InvalidUtf8IsReplacedAndStillFitsTheLimit) {
  EXPECT_EQ(truncateUtf8("bad\xFFone", 100), "bad\xEF\xBF\xBDone");
  EXPECT_EQ(truncateUtf8("ab\xFF", 3), "ab");  // the 3-byte replacement would not fit
}

TEST(EventName, IsTheObjectNameAndSixteenHexDigits) {
  EXPECT_EQ(eventName("web", 0xabcdef0123456789ULL), "web.abcdef0123456789");
  EXPECT_EQ(eventName("web", 1), "web.0000000000000001");
}

TEST(EventName, BecomesAValidDnsSubdomainWhenTheObjectNameIsNot) {
  EXPECT_EQ(eventName("system:controller:Aphex", 2), "system-controller-aphex.0000000000000002");
  EXPECT_EQ(eventName("-odd-", 2), "odd.0000000000000002");
  EXPECT_EQ(eventName("", 2), "event.0000000000000002");
  const std::string long_name = eventName(std::string(300, 'a'), 3);
  EXPECT_EQ(long_name.size(), 253U);
  EXPECT_THAT(long_name, MatchesRegex("a+\\.0000000000000003"));
}

TEST(EventReference, IsReadFromAnObjectsMetadata) {
  const kube::Json object = {{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata",
                              {{"name", "settings"}, {"namespace", "prod"}, {"uid", "u-1"}, {"resourceVersion", "7"}}},
                             {"data", {{"password", "not copied"}}}};
  const ObjectReference ref = ObjectReference::of(object);
  EXPECT_EQ(ref.toJson(), (kube::Json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"namespace", "prod"},
                                      {"name", "settings"}, {"uid", "u-1"}, {"resourceVersion", "7"}}));
  EXPECT_EQ(ObjectReference::of(kube::Json::array()).toJson(), kube::Json::object());
}

TEST(EventObject, CarriesEverythingEventsV1Requires) {
  const kube::Json event = eventObject(occurrence(MonoTime{}), "settings.0000000000000001", recorderOptions());
  EXPECT_EQ(event, (kube::Json{
                       {"apiVersion", "events.k8s.io/v1"},
                       {"kind", "Event"},
                       {"metadata", {{"name", "settings.0000000000000001"}, {"namespace", "prod"}}},
                       {"eventTime", "2025-05-01T12:34:56.789123Z"},
                       {"type", "Warning"},
                       {"reason", "ApplyFailed"},
                       {"action", "Apply"},
                       {"note", "quota exceeded"},
                       {"regarding", configMap().toJson()},
                       {"reportingController", "aphex.io/aphex-controller"},
                       {"reportingInstance", "aphex-0"},
                   }));
}

TEST(EventObject, EventsAboutClusterScopedObjectsGoToTheDefaultNamespace) {
  EventOccurrence about_namespace = occurrence(MonoTime{});
  about_namespace.regarding = {.api_version = "v1", .kind = "Namespace", .name = "prod", .uid = "u"};
  EXPECT_EQ(eventObject(about_namespace, "prod.1", recorderOptions())["metadata"]["namespace"], "default");
}

TEST(EventObject, TheSeriesPatchHasTheCountAndAMicroTime) {
  EXPECT_EQ(seriesPatch(3, mayDay()),
            (kube::Json{{"series", {{"count", 3}, {"lastObservedTime", "2025-05-01T12:34:56.789123Z"}}}}));
}

TEST(EventAggregation, TheKeyDependsOnObjectTypeReasonActionAndNote) {
  const EventOccurrence base = occurrence(MonoTime{});
  EventOccurrence later = base;
  later.time += 1h;
  later.mono_time += 1h;
  later.regarding.resource_version = "43";  // a newer version of the same object
  EXPECT_EQ(aggregationKey(base), aggregationKey(later));

  const auto differs = [&base](auto change) {
    EventOccurrence other = base;
    change(other);
    return aggregationKey(other) != aggregationKey(base);
  };
  EXPECT_TRUE(differs([](EventOccurrence& o) { o.regarding.uid = "uid-2"; }));
  EXPECT_TRUE(differs([](EventOccurrence& o) { o.regarding.name = "other"; }));
  EXPECT_TRUE(differs([](EventOccurrence& o) { o.details.type = EventType::kNormal; }));
  EXPECT_TRUE(differs([](EventOccurrence& o) { o.details.reason = "Applied"; }));
  EXPECT_TRUE(differs([](EventOccurrence& o) { o.details.action = "Delete"; }));
  EXPECT_TRUE(differs([](EventOccurrence& o) { o.details.note = "other note"; }));
  // Field boundaries matter: "ab"+"c" is not "a"+"bc".
  EXPECT_TRUE(differs([](EventOccurrence& o) {
    o.details.reason = "ApplyFailedquota";
    o.details.note = " exceeded";
  }));
}

TEST(EventAggregation, RepeatsWithinTheWindowExtendTheFirstEventsSeries) {
  EventAggregator aggregator(10min, 16);
  const MonoTime start{};
  const EventWrite first = aggregator.plan(occurrence(start), "settings.a");
  EXPECT_EQ(first.kind, EventWrite::Kind::kCreate);
  EXPECT_EQ(first.name, "settings.a");
  EXPECT_EQ(first.ns, "prod");

  const EventWrite second = aggregator.plan(occurrence(start + 1min), "settings.b");
  EXPECT_EQ(second.kind, EventWrite::Kind::kPatchSeries);
  EXPECT_EQ(second.name, "settings.a");
  EXPECT_EQ(second.count, 2);

  const EventWrite third = aggregator.plan(occurrence(start + 2min), "settings.c");
  EXPECT_EQ(third.kind, EventWrite::Kind::kPatchSeries);
  EXPECT_EQ(third.count, 3);
}

TEST(EventAggregation, TheWindowSlidesWithEachRepeat) {
  EventAggregator aggregator(10min, 16);
  const MonoTime start{};
  (void)aggregator.plan(occurrence(start), "a");
  EXPECT_EQ(aggregator.plan(occurrence(start + 9min), "b").kind, EventWrite::Kind::kPatchSeries);
  EXPECT_EQ(aggregator.plan(occurrence(start + 18min), "c").kind, EventWrite::Kind::kPatchSeries);
}

TEST(EventAggregation, ARepeatAfterTheWindowCreatesANewEvent) {
  EventAggregator aggregator(10min, 16);
  const MonoTime start{};
  (void)aggregator.plan(occurrence(start), "a");
  const EventWrite later = aggregator.plan(occurrence(start + 10min), "b");
  EXPECT_EQ(later.kind, EventWrite::Kind::kCreate);
  EXPECT_EQ(later.name, "b");
  EXPECT_EQ(later.count, 1);
  EXPECT_EQ(aggregator.plan(occurrence(start + 11min), "c").name, "b");
}

TEST(EventAggregation, ADifferentReasonIsADifferentEvent) {
  EventAggregator aggregator(10min, 16);
  (void)aggregator.plan(occurrence(MonoTime{}), "a");
  const EventWrite other = aggregator.plan(occurrence(MonoTime{}, "Applied"), "b");
  EXPECT_EQ(other.kind, EventWrite::Kind::kCreate);
  EXPECT_EQ(other.name, "b");
}

TEST(EventAggregation, TheCacheIsBoundedAndEvictsTheLeastRecentlySeen) {
  EventAggregator aggregator(10min, 2);
  const MonoTime t{};
  (void)aggregator.plan(occurrence(t, "A"), "a");
  (void)aggregator.plan(occurrence(t, "B"), "b");
  (void)aggregator.plan(occurrence(t + 1s, "A"), "unused");  // A is now the most recent
  (void)aggregator.plan(occurrence(t + 2s, "C"), "c");       // evicts B
  EXPECT_EQ(aggregator.size(), 2U);
  EXPECT_EQ(aggregator.plan(occurrence(t + 3s, "A"), "x").kind, EventWrite::Kind::kPatchSeries);
  EXPECT_EQ(aggregator.plan(occurrence(t + 3s, "B"), "b2").kind, EventWrite::Kind::kCreate);
}

TEST(EventAggregation, ForgettingStartsTheSeriesAfresh) {
  EventAggregator aggregator(10min, 16);
  const EventWrite first = aggregator.plan(occurrence(MonoTime{}), "a");
  aggregator.forget(first.key);
  const EventWrite again = aggregator.plan(occurrence(MonoTime{} + 1s), "b");
  EXPECT_EQ(again.kind, EventWrite::Kind::kCreate);
  EXPECT_EQ(again.name, "b");
}

// --- the recorder, against a fake API ---

// Records every write; can fail the next writes and hold the writer thread inside create().
// Owned by the test, so it outlives the recorder and can be inspected after the recorder is gone.
class FakeApi {
 public:
  struct Call {
    std::string verb;
    std::string ns;
    std::string name;
    kube::Json body;
  };

  kube::Result<kube::Json> create(const std::string& ns, const kube::Json& event) {
    std::unique_lock lock(mutex_);
    calls_.push_back({"create", ns, event["metadata"]["name"], event});
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !held_; });
    return respond(event);
  }
  kube::Result<kube::Json> patch(const std::string& ns, const std::string& name, const kube::Json& patch) {
    std::lock_guard guard(mutex_);
    calls_.push_back({"patch", ns, name, patch});
    return respond(patch);
  }

  std::vector<Call> calls() {
    std::lock_guard guard(mutex_);
    return calls_;
  }
  void failNext(int code, std::string reason) {
    std::lock_guard guard(mutex_);
    failures_.push_back({code, std::move(reason)});
  }
  void hold() {
    std::lock_guard guard(mutex_);
    held_ = true;
  }
  void release() {
    std::lock_guard guard(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  void waitUntilCreates(int count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return entered_ >= count; });
  }

 private:
  kube::Result<kube::Json> respond(const kube::Json& body) {
    if (failures_.empty()) return body;
    auto [code, reason] = failures_.front();
    failures_.erase(failures_.begin());
    return kube::Error{.kind = ErrorKind::kApi, .message = reason,
                       .status = kube::ApiStatus{.code = code, .reason = reason, .message = reason, .details = {}}};
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Call> calls_;
  std::vector<std::pair<int, std::string>> failures_;
  bool held_ = false;
  int entered_ = 0;
};

class FakeWriter final : public EventWriter {
 public:
  explicit FakeWriter(FakeApi& api) : api_(api) {}
  kube::Result<kube::Json> create(const std::string& ns, const kube::Json& event) override {
    return api_.create(ns, event);
  }
  kube::Result<kube::Json> patch(const std::string& ns, const std::string& name, const kube::Json& patch) override {
    return api_.patch(ns, name, patch);
  }

 private:
  FakeApi& api_;
};

class EventRecorderTest : public ::testing::Test {
 protected:
  std::unique_ptr<EventRecorder> recorderWith(EventRecorderOptions options = recorderOptions()) {
    return std::make_unique<EventRecorder>(std::make_unique<FakeWriter>(api_), clock_, std::move(options),
                                           quietLogger());
  }

  FakeClock clock_{MonoTime{} + 1h, mayDay()};
  FakeApi api_;
  std::unique_ptr<EventRecorder> recorder_ = recorderWith();
};

TEST_F(EventRecorderTest, ThreeIdenticalEventsAreOneCreateAndTwoSeriesPatches) {
  for (int i = 0; i < 3; ++i) {
    recorder_->warning(configMap(), "ApplyFailed", "Apply", "quota exceeded");
    clock_.advance(1s);
  }
  recorder_->flush();
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 3U);
  EXPECT_EQ(calls[0].verb, "create");
  EXPECT_EQ(calls[0].ns, "prod");
  EXPECT_THAT(calls[0].name, MatchesRegex("settings\\.[0-9a-f]{16}"));
  EXPECT_EQ(calls[0].body["eventTime"], "2025-05-01T12:34:56.789123Z");
  EXPECT_EQ(calls[1].verb, "patch");
  EXPECT_EQ(calls[1].name, calls[0].name);
  EXPECT_EQ(calls[1].body,
            (kube::Json{{"series", {{"count", 2}, {"lastObservedTime", "2025-05-01T12:34:57.789123Z"}}}}));
  EXPECT_EQ(calls[2].body["series"]["count"], 3);
  EXPECT_EQ(recorder_->failed(), 0U);
  EXPECT_EQ(recorder_->dropped(), 0U);
}

TEST_F(EventRecorderTest, NotesAreTruncatedBeforeTheyAreWritten) {
  recorder_->normal(configMap(), "Applied", "", std::string(4096, 'n'));
  recorder_->flush();
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 1U);
  EXPECT_EQ(calls[0].body["note"].get<std::string>().size(), 1024U);
  EXPECT_EQ(calls[0].body["action"], "Applied");  // an empty action falls back to the reason
  EXPECT_EQ(calls[0].body["type"], "Normal");
}

TEST_F(EventRecorderTest, AVanishedEventIsCreatedAgain) {
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->flush();
  api_.failNext(404, "NotFound");
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->flush();
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 3U);
  EXPECT_EQ(calls[1].verb, "patch");
  EXPECT_EQ(calls[2].verb, "create");
  EXPECT_NE(calls[2].name, calls[0].name);
  EXPECT_EQ(recorder_->failed(), 0U);
}

TEST_F(EventRecorderTest, AFailedCreateIsCountedAndTheNextRepeatCreatesAgain) {
  api_.failNext(500, "InternalError");
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->flush();
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 2U);
  EXPECT_EQ(calls[0].verb, "create");
  EXPECT_EQ(calls[1].verb, "create");
  EXPECT_EQ(recorder_->failed(), 1U);
}

TEST_F(EventRecorderTest, AFailedPatchKeepsTheSeriesAndTheNextPatchCarriesTheFullCount) {
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->flush();
  api_.failNext(500, "InternalError");
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->warning(configMap(), "ApplyFailed", "Apply", "n");
  recorder_->flush();
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 3U);
  EXPECT_EQ(calls[2].verb, "patch");
  EXPECT_EQ(calls[2].body["series"]["count"], 3);
  EXPECT_EQ(recorder_->failed(), 1U);
}

TEST_F(EventRecorderTest, RecordingNeverWaitsForTheApiAndDropsWhenTheQueueIsFull) {
  api_.hold();
  EventRecorderOptions options = recorderOptions();
  options.queue_size = 2;
  MetricsRegistry registry;
  Counter& dropped_total = registry.counter({.name = "event_recorder_dropped_total", .help = "h"}).with({});
  options.dropped_total = &dropped_total;
  auto recorder = recorderWith(options);

  recorder->normal(configMap("a"), "R", "A", "n");
  api_.waitUntilCreates(1);  // the writer thread is now stuck inside create()
  recorder->normal(configMap("b"), "R", "A", "n");
  recorder->normal(configMap("c"), "R", "A", "n");
  recorder->normal(configMap("d"), "R", "A", "n");  // the queue holds two: dropped
  EXPECT_EQ(recorder->dropped(), 1U);
  EXPECT_NE(registry.text().find("event_recorder_dropped_total 1"), std::string::npos) << registry.text();

  api_.release();
  recorder->flush();
  EXPECT_EQ(api_.calls().size(), 3U);
}

TEST_F(EventRecorderTest, DestroyingTheRecorderDropsWhatIsStillQueued) {
  api_.hold();
  auto recorder = recorderWith();
  recorder->normal(configMap("a"), "R", "A", "n");
  api_.waitUntilCreates(1);
  recorder->normal(configMap("b"), "R", "A", "n");
  std::jthread releaser([this] {
    std::this_thread::sleep_for(100ms);  // let the destructor request the stop first
    api_.release();
  });
  recorder.reset();  // must not hang, and must not write "b"
  EXPECT_EQ(api_.calls().size(), 1U);
}

}  // namespace
}  // namespace kube::runtime
