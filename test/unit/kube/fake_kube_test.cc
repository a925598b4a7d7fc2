// The in-memory FakeObjectApi behaves as the API server does in what tests rely on: errors in
// kube::Client's shapes, resource versions, generation, finalizers, selectors, watches.
#include "support/fake_kube.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "support/fake_clock.h"

namespace kube::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const ResourceType& kConfigMaps = resources::kConfigMaps;
const ResourceType kWidgets{.group = "example.com", .version = "v1", .plural = "widgets", .namespaced = true};

Json configMap(const std::string& name, Json data = Json::object()) {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", "team"}}},
          {"data", std::move(data)}};
}

Json widget(const std::string& name, Json spec) {
  return {{"apiVersion", "example.com/v1"}, {"kind", "Widget"},
          {"metadata", {{"name", name}, {"namespace", "team"}}}, {"spec", std::move(spec)}};
}

std::string versionOf(const Json& object) { return object["metadata"]["resourceVersion"].get<std::string>(); }

class FakeObjectApiTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  FakeObjectApi api_{clock_};
};

TEST_F(FakeObjectApiTest, ACreatedObjectGetsTheFieldsTheServerSets) {
  auto created = api_.create(kConfigMaps, "team", configMap("settings"));
  ASSERT_TRUE(created) << created.error().message;
  auto read = api_.get(kConfigMaps, "team", "settings");
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, *created);
  EXPECT_THAT((*read)["metadata"]["uid"].get<std::string>(), HasSubstr("fake-uid-"));
  EXPECT_EQ((*read)["metadata"]["generation"], 1);
  EXPECT_EQ(versionOf(*read), api_.resourceVersion());
  EXPECT_TRUE((*read)["metadata"].contains("creationTimestamp"));
}

TEST_F(FakeObjectApiTest, ErrorsHaveTheShapesTheClientGives) {
  auto missing = api_.get(kConfigMaps, "team", "absent");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().isNotFound());
  EXPECT_EQ(missing.error().kind, ErrorKind::kApi);
  EXPECT_EQ(missing.error().message, "GET /api/v1/namespaces/team/configmaps/absent: 404 NotFound: "
                                     "configmaps \"absent\" not found");

  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("settings")));
  auto again = api_.create(kConfigMaps, "team", configMap("settings"));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().isAlreadyExists());
}

TEST_F(FakeObjectApiTest, AnUpdateFromAStaleVersionIsAConflict) {
  auto created = api_.create(kConfigMaps, "team", configMap("settings"));
  ASSERT_TRUE(created);
  Json changed = *created;
  changed["data"]["k"] = "v";
  ASSERT_TRUE(api_.update(kConfigMaps, "team", changed));
  changed["data"]["k"] = "w";  // still carries the first version
  auto stale = api_.update(kConfigMaps, "team", changed);
  ASSERT_FALSE(stale);
  EXPECT_TRUE(stale.error().isConflict());
}

TEST_F(FakeObjectApiTest, GenerationMovesWhenTheSpecChangesAndNotForStatusOrMetadata) {
  ASSERT_TRUE(api_.create(kWidgets, "team", widget("w", {{"size", 1}})));
  ASSERT_TRUE(api_.mergePatch(kWidgets, "team", "w", {{"status", {{"ready", true}}}}, {.subresource = Subresource::kStatus}));
  ASSERT_TRUE(api_.mergePatch(kWidgets, "team", "w", {{"metadata", {{"labels", {{"a", "b"}}}}}}));
  EXPECT_EQ((*api_.find(kWidgets, "team", "w"))["metadata"]["generation"], 1);
  auto resized = api_.mergePatch(kWidgets, "team", "w", {{"spec", {{"size", 2}}}});
  ASSERT_TRUE(resized);
  EXPECT_EQ((*resized)["metadata"]["generation"], 2);
  EXPECT_EQ((*resized)["status"]["ready"], true);
}

TEST_F(FakeObjectApiTest, AStatusWriteChangesOnlyTheStatus) {
  ASSERT_TRUE(api_.create(kWidgets, "team", widget("w", {{"size", 1}})));
  Json intent = widget("w", {{"size", 9}});
  intent["status"] = {{"ready", true}};
  auto written = api_.apply(kWidgets, intent, {.field_manager = "test", .subresource = Subresource::kStatus});
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ((*written)["spec"]["size"], 1);
  EXPECT_EQ((*written)["status"]["ready"], true);
}

TEST_F(FakeObjectApiTest, AWriteThatChangesNothingWritesNothing) {
  ASSERT_TRUE(api_.apply(kConfigMaps, configMap("settings", {{"k", "v"}}), {.field_manager = "test"}));
  const std::string before = api_.resourceVersion();
  auto again = api_.apply(kConfigMaps, configMap("settings", {{"k", "v"}}), {.field_manager = "test"});
  ASSERT_TRUE(again);
  EXPECT_EQ(versionOf(*again), before);
  EXPECT_EQ(api_.resourceVersion(), before);
}

TEST_F(FakeObjectApiTest, ApplyMergesIntoTheStoredObjectAndMergePatchNullRemoves) {
  ASSERT_TRUE(api_.apply(kConfigMaps, configMap("settings", {{"a", "1"}}), {.field_manager = "test"}));
  ASSERT_TRUE(api_.apply(kConfigMaps, configMap("settings", {{"b", "2"}}), {.field_manager = "test"}));
  EXPECT_EQ((*api_.find(kConfigMaps, "team", "settings"))["data"], Json({{"a", "1"}, {"b", "2"}}));
  ASSERT_TRUE(api_.mergePatch(kConfigMaps, "team", "settings", {{"data", {{"a", nullptr}}}}));
  EXPECT_EQ((*api_.find(kConfigMaps, "team", "settings"))["data"], Json({{"b", "2"}}));
}

TEST_F(FakeObjectApiTest, AnObjectWithFinalizersIsMarkedAndVanishesWhenTheLastOneGoes) {
  Json object = configMap("held");
  object["metadata"]["finalizers"] = {"example.com/cleanup"};
  ASSERT_TRUE(api_.create(kConfigMaps, "team", object));
  auto marked = api_.remove(kConfigMaps, "team", "held");
  ASSERT_TRUE(marked);
  EXPECT_TRUE((*marked)["metadata"].contains("deletionTimestamp"));
  ASSERT_TRUE(api_.find(kConfigMaps, "team", "held"));

  ASSERT_TRUE(api_.mergePatch(kConfigMaps, "team", "held", {{"metadata", {{"finalizers", Json::array()}}}}));
  EXPECT_FALSE(api_.find(kConfigMaps, "team", "held"));
}

TEST_F(FakeObjectApiTest, ADeleteWhoseUidPreconditionFailsIsAConflictAndDeletesNothing) {
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("settings")));
  auto refused = api_.remove(kConfigMaps, "team", "settings", {.precondition_uid = "someone-else"});
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().isConflict());
  EXPECT_THAT(refused.error().message, HasSubstr("Precondition failed"));
  EXPECT_TRUE(api_.find(kConfigMaps, "team", "settings"));
  auto deleted = api_.remove(kConfigMaps, "team", "settings");
  ASSERT_TRUE(deleted);
  EXPECT_EQ((*deleted)["kind"], "Status");
  EXPECT_FALSE(api_.find(kConfigMaps, "team", "settings"));
}

TEST_F(FakeObjectApiTest, AListKeepsToItsNamespaceAndLabelSelector) {
  Json labelled = configMap("labelled");
  labelled["metadata"]["labels"] = {{"app", "web"}, {"tier", "front"}};
  api_.seed(kConfigMaps, labelled);
  api_.seed(kConfigMaps, configMap("plain"));
  Json elsewhere = configMap("elsewhere");
  elsewhere["metadata"]["namespace"] = "other";
  api_.seed(kConfigMaps, elsewhere);

  auto all = api_.list(kConfigMaps, "");
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["items"].size(), 3U);
  EXPECT_EQ((*all)["kind"], "ConfigMapList");
  EXPECT_FALSE((*all)["items"][0].contains("kind")) << "list items carry no kind, as from the API server";
  auto selected = api_.list(kConfigMaps, "team", {.label_selector = "app=web,tier==front"});
  ASSERT_TRUE(selected);
  ASSERT_EQ((*selected)["items"].size(), 1U);
  EXPECT_EQ((*selected)["items"][0]["metadata"]["name"], "labelled");
  auto others = api_.list(kConfigMaps, "team", {.label_selector = "app!=web"});
  ASSERT_TRUE(others);
  EXPECT_EQ((*others)["items"].size(), 1U);
  auto unsupported = api_.list(kConfigMaps, "team", {.label_selector = "app in (web)"});
  ASSERT_FALSE(unsupported);
  EXPECT_EQ(unsupported.error().httpCode(), 400);
}

TEST_F(FakeObjectApiTest, AWatchStreamsTheChangesAfterItsVersionUntilTheHandlerStops) {
  const std::string start = api_.resourceVersion();
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("a")));
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("b")));
  ASSERT_TRUE(api_.remove(kConfigMaps, "team", "a"));
  std::vector<std::string> seen;
  auto watched = api_.watch(kConfigMaps, "team", {.resource_version = start}, [&](WatchEvent&& event) {
    seen.push_back(std::string(toString(event.type)) + " " + event.object["metadata"]["name"].get<std::string>());
    return seen.size() < 3;
  });
  ASSERT_TRUE(watched);
  EXPECT_THAT(seen, ElementsAre("ADDED a", "ADDED b", "DELETED a"));
}

TEST_F(FakeObjectApiTest, AWatchFromACompactedVersionGetsA410ErrorEvent) {
  const std::string start = api_.resourceVersion();
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("a")));
  api_.compact();
  std::vector<WatchEvent> events;
  auto watched = api_.watch(kConfigMaps, "team", {.resource_version = start}, [&](WatchEvent&& event) {
    events.push_back(std::move(event));
    return true;
  });
  ASSERT_TRUE(watched);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].type, WatchEventType::kError);
  EXPECT_EQ(events[0].errorStatus().code, 410);
  EXPECT_EQ(events[0].errorStatus().reason, "Expired");
}

TEST_F(FakeObjectApiTest, EndWatchesEndsAnOpenWatchCleanlyAfterItsPendingChanges) {
  std::vector<std::string> seen;
  std::thread watcher([&] {
    auto watched = api_.watch(kConfigMaps, "team", {.resource_version = api_.resourceVersion()},
                              [&](WatchEvent&& event) {
                                seen.push_back(event.object["metadata"]["name"].get<std::string>());
                                return true;
                              });
    EXPECT_TRUE(watched);
  });
  ASSERT_TRUE(api_.awaitOpenWatches(1));
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("late")));
  api_.endWatches();
  watcher.join();
  EXPECT_THAT(seen, ElementsAre("late"));
  EXPECT_EQ(api_.openWatches(), 0);
}

TEST_F(FakeObjectApiTest, FailNextFailsOnlyTheNextCallsOfThatVerb) {
  api_.failNext(Verb::kGet, statusError(500, "InternalError", "etcd is unavailable"), 2);
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("a")));
  EXPECT_EQ(api_.get(kConfigMaps, "team", "a").error().httpCode(), 500);
  EXPECT_EQ(api_.get(kConfigMaps, "team", "a").error().httpCode(), 500);
  EXPECT_TRUE(api_.get(kConfigMaps, "team", "a"));
}

TEST_F(FakeObjectApiTest, AStoppedCallFailsAsTheClientsDoWithoutTouchingAnything) {
  std::stop_source stop;
  stop.request_stop();
  auto created = api_.create(kConfigMaps, "team", configMap("a"), {}, stop.get_token());
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, ErrorKind::kTransport);
  EXPECT_THAT(created.error().message, HasSubstr("stopped"));
  EXPECT_FALSE(api_.find(kConfigMaps, "team", "a"));
}

TEST_F(FakeObjectApiTest, WritesAreRecordedInOrderAndReadsAreNot) {
  api_.seed(kConfigMaps, configMap("seeded"));
  ASSERT_TRUE(api_.create(kConfigMaps, "team", configMap("a")));
  ASSERT_TRUE(api_.get(kConfigMaps, "team", "a"));
  ASSERT_TRUE(api_.apply(kWidgets, widget("w", {}), {.field_manager = "test"}));
  ASSERT_TRUE(api_.mergePatch(kWidgets, "team", "w", {{"status", {}}}, {.subresource = Subresource::kStatus}));
  ASSERT_TRUE(api_.remove(kConfigMaps, "team", "a"));
  ASSERT_TRUE(api_.remove(resources::kNamespaces, "", "team").error().isNotFound());
  EXPECT_THAT(api_.writes(), ElementsAre(Write{Verb::kCreate, "configmaps", "team", "a"},
                                         Write{Verb::kApply, "widgets.example.com", "team", "w"},
                                         Write{Verb::kMergePatch, "widgets.example.com/status", "team", "w"},
                                         Write{Verb::kRemove, "configmaps", "team", "a"},
                                         Write{Verb::kRemove, "namespaces", "", "team"}));
  std::ostringstream text;
  text << api_.writes()[2];
  EXPECT_EQ(text.str(), "patch widgets.example.com/status team/w");
  EXPECT_EQ(api_.count(Verb::kGet), 1);
}

}  // namespace
}  // namespace kube::testing
