#include "runtime/own_writes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "runtime/controller.h"
#include "runtime/informer.h"
#include "support/fake_clock.h"
#include "support/fake_kube.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;

Json configMap(const std::string& name, const std::string& version) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"namespace", "team"}, {"name", name}, {"resourceVersion", version}}}};
}

class OwnWritesTest : public ::testing::Test {
 protected:
  OwnWritesTest() { writes_.expectEchoesOf(resources::kConfigMaps); }

  // A write of the ConfigMap `name` that the server answered with `version`.
  void written(const std::string& name, const std::string& version) {
    OwnWrites::Write write = writes_.begin(resources::kConfigMaps, "team", name);
    const Json answer = configMap(name, version);
    write.end(&answer);
  }
  OwnWrites::Seen deliver(const Json& object, const ResourceType& type = resources::kConfigMaps) {
    return writes_.deliver(type, object, [this] { ++woke_; });
  }

  FakeClock clock_;
  OwnWrites writes_{clock_, 30s};
  int woke_ = 0;
};

TEST_F(OwnWritesTest, AWriteComingBackIsAnEchoOnce) {
  written("settings", "5");
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kEcho);
  EXPECT_EQ(woke_, 0);
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kNew) << "the record is consumed";
  EXPECT_EQ(woke_, 1);
  EXPECT_EQ(writes_.pending(), 0U);
  EXPECT_EQ(writes_.echoes(), 1U);
}

TEST_F(OwnWritesTest, AnotherVersionOrAnotherObjectIsNotAnEcho) {
  written("settings", "5");
  EXPECT_EQ(deliver(configMap("settings", "6")), OwnWrites::Seen::kNew) << "someone else's change";
  EXPECT_EQ(deliver(configMap("other", "5")), OwnWrites::Seen::kNew);
  EXPECT_EQ(deliver(configMap("settings", "5"), resources::kSecrets), OwnWrites::Seen::kNew) << "another kind";
  EXPECT_EQ(woke_, 3);
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kEcho) << "still waiting for its echo";
}

TEST_F(OwnWritesTest, AnEchoConsumesTheObjectsOlderRecordsButNotNewerOnes) {
  written("settings", "5");
  written("settings", "7");
  written("settings", "9");
  EXPECT_EQ(deliver(configMap("settings", "7")), OwnWrites::Seen::kEcho);
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kNew);
  EXPECT_EQ(deliver(configMap("settings", "9")), OwnWrites::Seen::kEcho);
  EXPECT_EQ(writes_.pending(), 0U);
}

TEST_F(OwnWritesTest, OnlyExpectedKindsAreRecorded) {
  {
    OwnWrites::Write write = writes_.begin(resources::kSecrets, "team", "token");
    const Json answer = configMap("token", "5");
    write.end(&answer);
  }
  written("unversioned", "");
  EXPECT_EQ(writes_.pending(), 0U);
}

TEST_F(OwnWritesTest, ARecordWithoutAnEchoGoesAfterTheWindow) {
  written("unchanged", "5");  // a write that changed nothing
  clock_.advance(29s);
  written("recent", "8");
  EXPECT_EQ(writes_.pending(), 2U);
  clock_.advance(2s);
  written("newest", "9");
  EXPECT_EQ(writes_.pending(), 2U) << "the one older than 30 s is gone";
  EXPECT_EQ(deliver(configMap("unchanged", "5")), OwnWrites::Seen::kNew);
  EXPECT_EQ(deliver(configMap("recent", "8")), OwnWrites::Seen::kEcho);
}

TEST_F(OwnWritesTest, ADeletedObjectTakesItsRecordsAlong) {
  written("settings", "5");
  writes_.forget(resources::kConfigMaps, configMap("settings", "6"));
  EXPECT_EQ(writes_.pending(), 0U);
}

// The watch event of a write often comes before the writer has its answer.
TEST_F(OwnWritesTest, AnEchoThatComesBeforeTheAnswerIsHeldAndDropped) {
  OwnWrites::Write write = writes_.begin(resources::kConfigMaps, "team", "settings");
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kDeferred);
  EXPECT_EQ(deliver(configMap("other", "5")), OwnWrites::Seen::kNew) << "only the object written waits";
  const Json answer = configMap("settings", "5");
  write.end(&answer);
  EXPECT_EQ(woke_, 1) << "the other object only";
  EXPECT_EQ(writes_.echoes(), 1U);
  EXPECT_EQ(writes_.pending(), 0U);
}

TEST_F(OwnWritesTest, AnotherChangeHeldDuringAWriteWakesOnceTheWriteIsAnswered) {
  OwnWrites::Write write = writes_.begin(resources::kConfigMaps, "team", "settings");
  EXPECT_EQ(deliver(configMap("settings", "4")), OwnWrites::Seen::kDeferred) << "someone else's, just before";
  const Json answer = configMap("settings", "5");
  write.end(&answer);
  EXPECT_EQ(woke_, 1);
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kEcho);
}

TEST_F(OwnWritesTest, AWriteThatFailedOrWasNeverEndedReleasesWhatWaited) {
  {
    OwnWrites::Write write = writes_.begin(resources::kConfigMaps, "team", "settings");
    EXPECT_EQ(deliver(configMap("settings", "4")), OwnWrites::Seen::kDeferred);
    write.end(nullptr);
    EXPECT_EQ(woke_, 1);
  }
  {
    OwnWrites::Write write = writes_.begin(resources::kConfigMaps, "team", "settings");
    EXPECT_EQ(deliver(configMap("settings", "6")), OwnWrites::Seen::kDeferred);
  }
  EXPECT_EQ(woke_, 2);
  EXPECT_EQ(deliver(configMap("settings", "7")), OwnWrites::Seen::kNew) << "nothing in flight any more";
}

TEST_F(OwnWritesTest, EventsWaitUntilTheLastOfTwoWritesInFlightIsAnswered) {
  OwnWrites::Write first = writes_.begin(resources::kConfigMaps, "team", "settings");
  OwnWrites::Write second = writes_.begin(resources::kConfigMaps, "team", "settings");
  EXPECT_EQ(deliver(configMap("settings", "5")), OwnWrites::Seen::kDeferred);
  const Json first_answer = configMap("settings", "5");
  first.end(&first_answer);
  EXPECT_EQ(deliver(configMap("settings", "6")), OwnWrites::Seen::kDeferred) << "the second is still in flight";
  const Json second_answer = configMap("settings", "6");
  second.end(&second_answer);
  EXPECT_EQ(woke_, 0);
  EXPECT_EQ(writes_.echoes(), 2U);
}

TEST(OwnWritesClient, RecordsTheWritesThatSucceededOnly) {
  FakeClock clock;
  kube::testing::FakeObjectApi api(clock);
  auto writes = std::make_shared<OwnWrites>(clock);
  writes->expectEchoesOf(resources::kConfigMaps);
  OwnWritesClient client(api, writes);
  auto created = client.create(resources::kConfigMaps, "team", configMap("made", ""));
  ASSERT_TRUE(created);
  auto applied = client.apply(resources::kConfigMaps, configMap("applied", ""), {.field_manager = "test"});
  ASSERT_TRUE(applied);
  auto patched = client.mergePatch(resources::kConfigMaps, "team", "made", {{"data", {{"k", "v"}}}});
  ASSERT_TRUE(patched);
  ASSERT_FALSE(client.create(resources::kConfigMaps, "team", configMap("made", ""))) << "AlreadyExists";
  ASSERT_TRUE(client.apply(resources::kConfigMaps, configMap("dry", ""), {.field_manager = "test", .dry_run = true}));
  EXPECT_EQ(writes->pending(), 2U) << "made (twice) and applied; not the failure, not the dry run";
  const auto ignore = [] {};
  EXPECT_EQ(writes->deliver(resources::kConfigMaps, *patched, ignore), OwnWrites::Seen::kEcho);
  EXPECT_EQ(writes->deliver(resources::kConfigMaps, *applied, ignore), OwnWrites::Seen::kEcho);
  EXPECT_EQ(writes->deliver(resources::kConfigMaps, *created, ignore), OwnWrites::Seen::kNew)
      << "consumed with the later patch's echo";
}

// A controller with a mapped watch and an OwnWrites: its reconciler's own writes coming back wake
// nothing, anyone else's change to the same object does. The own writes are made while the
// informer is stopped, so that they reach it (when it lists again) only after they are recorded,
// as they nearly always do from the API server: the answer to a write comes before its watch event.
TEST(OwnWritesController, AnOwnWriteComingBackWakesNothingAnotherChangeDoes) {
  FakeClock clock;
  kube::testing::FakeObjectApi api(clock);
  Informer informer(api, clock, {.type = resources::kConfigMaps, .ns = "team"});
  MetricsRegistry registry;
  ControllerMetrics metrics(registry);
  auto writes = std::make_shared<OwnWrites>(clock);
  OwnWritesClient own_client(api, writes);
  std::atomic<int> reconciles{0};
  Controller controller(clock, ControllerOptions{.name = "owner", .concurrency = 1, .metrics = &metrics, .own_writes = writes},
                        [&](const Request&, std::stop_token) -> Outcome {
                          ++reconciles;
                          return Done{};
                        });
  controller.watchMapped(informer, [](const Json&) { return std::vector<Request>{{.ns = "team", .name = "owner"}}; });
  std::jthread controller_thread([&](std::stop_token stop) { controller.run(stop); });
  auto settled = [&](const std::function<bool()>& condition) {
    for (int i = 0; i < 2000 && !condition(); ++i) std::this_thread::sleep_for(1ms);
    return condition();
  };
  const auto echoes = [&] { return metrics.own_write_echoes_total.with({"owner"}).value(); };

  // A create and a patch, seen by the informer's next list as one add.
  ASSERT_TRUE(own_client.create(resources::kConfigMaps, "team", configMap("child", "")));
  ASSERT_TRUE(own_client.mergePatch(resources::kConfigMaps, "team", "child", {{"data", {{"k", "mine"}}}}));
  auto informer_thread = std::make_unique<std::jthread>([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(settled([&] { return informer.store().list().size() == 1; }));
  ASSERT_TRUE(settled([&] { return echoes() == 1; }));
  EXPECT_EQ(writes->pending(), 0U) << "the add consumed both records";

  // A patch, seen by the next list as an update.
  informer_thread.reset();
  ASSERT_TRUE(own_client.mergePatch(resources::kConfigMaps, "team", "child", {{"data", {{"k", "mine again"}}}}));
  informer_thread = std::make_unique<std::jthread>([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(settled([&] { return echoes() == 2; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(reconciles.load(), 0) << "no own write woke the owner";

  ASSERT_TRUE(api.mergePatch(resources::kConfigMaps, "team", "child", {{"data", {{"k", "theirs"}}}}));
  EXPECT_TRUE(settled([&] { return reconciles.load() == 1; })) << "someone else's change wakes the owner";
  ASSERT_TRUE(api.remove(resources::kConfigMaps, "team", "child"));
  EXPECT_TRUE(settled([&] { return reconciles.load() == 2; })) << "and so does a delete";
  EXPECT_EQ(echoes(), 2);
}

// The primary kind: the controller's own metadata write coming back wakes nothing, but a write
// that changed nothing, made while a user deleted the object, is answered with the deletion's
// version, and the deletion must still wake the object.
TEST(OwnWritesController, APrimarysDeletionWakesItEvenWhenAWriteThatChangedNothingCarriesItsVersion) {
  FakeClock clock;
  kube::testing::FakeObjectApi api(clock);
  Json owner = configMap("owner", "");
  owner["metadata"]["finalizers"] = {"test.io/cleanup"};
  owner["data"] = {{"k", "v"}};
  ASSERT_TRUE(api.create(resources::kConfigMaps, "team", owner));
  Informer informer(api, clock, {.type = resources::kConfigMaps, .ns = "team"});
  auto writes = std::make_shared<OwnWrites>(clock);
  OwnWritesClient own_client(api, writes);
  std::atomic<int> reconciles{0};
  Controller controller(clock, ControllerOptions{.name = "owner", .concurrency = 1, .own_writes = writes},
                        [&](const Request&, std::stop_token) -> Outcome {
                          ++reconciles;
                          return Done{};
                        });
  controller.watchPrimary(informer, changedApartFromStatus());
  std::jthread controller_thread([&](std::stop_token stop) { controller.run(stop); });
  auto settled = [&](const std::function<bool()>& condition) {
    for (int i = 0; i < 2000 && !condition(); ++i) std::this_thread::sleep_for(1ms);
    return condition();
  };
  auto informer_thread = std::make_unique<std::jthread>([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(settled([&] { return reconciles.load() == 1; })) << "the add";

  // The controller's own label, seen by the next list as an update: an echo.
  informer_thread.reset();
  ASSERT_TRUE(own_client.mergePatch(resources::kConfigMaps, "team", "owner", {{"metadata", {{"labels", {{"a", "b"}}}}}}));
  informer_thread = std::make_unique<std::jthread>([&](std::stop_token stop) { informer.run(stop); });
  ASSERT_TRUE(settled([&] { return writes->echoes() == 1; }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(reconciles.load(), 1) << "the controller's own write woke nothing";

  // A user deletes it (the finalizer holds it), and a write from a cache a step behind changes
  // nothing: the server answers with the deletion's version, which is recorded.
  informer_thread.reset();
  ASSERT_TRUE(api.remove(resources::kConfigMaps, "team", "owner"));
  auto unchanged = own_client.mergePatch(resources::kConfigMaps, "team", "owner", {{"data", {{"k", "v"}}}});
  ASSERT_TRUE(unchanged);
  ASSERT_TRUE(unchanged->at("metadata").contains("deletionTimestamp")) << "answered with the deletion's version";
  informer_thread = std::make_unique<std::jthread>([&](std::stop_token stop) { informer.run(stop); });
  EXPECT_TRUE(settled([&] { return reconciles.load() == 2; })) << "the deletion wakes the object";
}

}  // namespace
}  // namespace kube::runtime
