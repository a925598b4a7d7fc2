// The event recorder against a real kube-apiserver: events.k8s.io/v1 validation accepts what it
// writes, and repeats become one Event with a series count rather than many Events.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "integration/support/cluster.h"
#include "kube/client.h"
#include "runtime/events.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::ScopedNamespace;
using ::testing::MatchesRegex;
namespace resources = kube::resources;
namespace runtime = kube::runtime;

class EventRecorderIntegration : public ::testing::Test {
 protected:
  // The Events in `ns` once `done` accepts them, or the last list seen after 30 s.
  kube::Json waitForEvents(const std::string& ns, const std::function<bool(const kube::Json&)>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    kube::Json items = kube::Json::array();
    while (std::chrono::steady_clock::now() < deadline) {
      auto listed = admin_->list(runtime::kEventsV1, ns);
      if (listed) items = (*listed)["items"];
      if (done(items)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return items;
  }

  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
  runtime::Logger quiet_{{.level = runtime::LogLevel::kError, .sink = [](std::string_view) {}}};
};

TEST_F(EventRecorderIntegration, IdenticalEventsBecomeOneEventWithASeriesAndANewReasonASecondEvent) {
  ScopedNamespace ns(*admin_, "it-events");
  auto created = admin_->create(resources::kConfigMaps, ns.name(),
                                {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "settings"}}}});
  ASSERT_TRUE(created) << created.error().message;
  const auto regarding = runtime::ObjectReference::of(*created);

  runtime::EventRecorder recorder(*admin_, runtime::realClock(),
                                  {.reporting_controller = "aphex.io/integration-test", .reporting_instance = "test-0"},
                                  quiet_);
  for (int i = 0; i < 3; ++i) recorder.warning(regarding, "ApplyFailed", "Apply", "quota exceeded");
  recorder.flush();
  EXPECT_EQ(recorder.failed(), 0U);

  kube::Json items = waitForEvents(ns.name(), [](const kube::Json& events) {
    return events.size() == 1 && events[0].contains("series") && events[0]["series"]["count"] == 3;
  });
  ASSERT_EQ(items.size(), 1U) << items.dump(2);
  const kube::Json& event = items[0];
  EXPECT_EQ(event["series"]["count"], 3) << event.dump(2);
  EXPECT_THAT(event["series"]["lastObservedTime"].get<std::string>(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z"));
  EXPECT_THAT(event["metadata"]["name"].get<std::string>(), MatchesRegex("settings\\.[0-9a-f]{16}"));
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["reason"], "ApplyFailed");
  EXPECT_EQ(event["action"], "Apply");
  EXPECT_EQ(event["note"], "quota exceeded");
  EXPECT_EQ(event["reportingController"], "aphex.io/integration-test");
  EXPECT_EQ(event["reportingInstance"], "test-0");
  EXPECT_EQ(event["regarding"]["uid"], (*created)["metadata"]["uid"]);
  EXPECT_EQ(event["regarding"]["kind"], "ConfigMap");
  EXPECT_THAT(event["eventTime"].get<std::string>(), MatchesRegex(".*\\.[0-9]{6}Z"));

  recorder.normal(regarding, "Applied", "Apply", "all good");
  recorder.flush();
  EXPECT_EQ(recorder.failed(), 0U);
  items = waitForEvents(ns.name(), [](const kube::Json& events) { return events.size() == 2; });
  ASSERT_EQ(items.size(), 2U) << items.dump(2);
  int applied = 0;
  for (const auto& item : items) applied += item["reason"] == "Applied" ? 1 : 0;
  EXPECT_EQ(applied, 1);
}

TEST_F(EventRecorderIntegration, AnEventAboutAClusterScopedObjectLandsInTheDefaultNamespace) {
  ScopedNamespace ns(*admin_, "it-events-cluster");
  auto fetched = admin_->get(resources::kNamespaces, "", ns.name());
  ASSERT_TRUE(fetched) << fetched.error().message;
  const auto regarding = runtime::ObjectReference::of(*fetched);

  runtime::EventRecorder recorder(*admin_, runtime::realClock(),
                                  {.reporting_controller = "aphex.io/integration-test", .reporting_instance = "test-0"},
                                  quiet_);
  recorder.normal(regarding, "Observed", "Observe", "a note with a long tail " + std::string(3000, 'x'));
  recorder.flush();
  EXPECT_EQ(recorder.failed(), 0U);

  const kube::Json items = waitForEvents("default", [&](const kube::Json& events) {
    for (const auto& event : events) {
      if (event["regarding"].value("name", "") == ns.name()) return true;
    }
    return false;
  });
  const kube::Json* mine = nullptr;
  for (const auto& event : items) {
    if (event["regarding"].value("name", "") == ns.name()) mine = &event;
  }
  ASSERT_NE(mine, nullptr) << "no Event about namespace " << ns.name() << " in default";
  EXPECT_EQ((*mine)["note"].get<std::string>().size(), runtime::kMaxEventNoteBytes);
  (void)admin_->remove(runtime::kEventsV1, "default", (*mine)["metadata"]["name"].get<std::string>());
}

}  // namespace
