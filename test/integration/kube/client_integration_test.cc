// The client against a real kube-apiserver: TLS with client certificates, RBAC, and the API
// server's own answers for the common failure cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <atomic>
#include <set>
#include <thread>

#include "integration/support/cluster.h"
#include "kube/client.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::ScopedNamespace;
using ::aphex::testing::testerConfig;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
namespace resources = kube::resources;

kube::Json configMap(const std::string& name, const std::string& value) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"aphex.io/test", "client"}}}}},
          {"data", {{"value", value}}}};
}

class ClientIntegration : public ::testing::Test {
 protected:
  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
};

TEST_F(ClientIntegration, CreatesGetsListsUpdatesAndDeletesAConfigMap) {
  ScopedNamespace ns(*admin_, "it-crud");

  auto created = admin_->create(resources::kConfigMaps, ns.name(), configMap("settings", "one"));
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());

  auto fetched = admin_->get(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ((*fetched)["data"]["value"], "one");

  auto listed = admin_->list(resources::kConfigMaps, ns.name(), {.label_selector = "aphex.io/test=client"});
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ((*listed)["items"].size(), 1U);
  EXPECT_EQ((*listed)["items"][0]["metadata"]["name"], "settings");

  kube::Json changed = *fetched;
  changed["data"]["value"] = "two";
  auto updated = admin_->update(resources::kConfigMaps, ns.name(), changed);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ((*updated)["data"]["value"], "two");

  auto removed = admin_->remove(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_TRUE(removed) << removed.error().message;
  auto gone = admin_->get(resources::kConfigMaps, ns.name(), "settings");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().isNotFound()) << gone.error().message;
  EXPECT_EQ(gone.error().status->reason, "NotFound");
}

TEST_F(ClientIntegration, CreatingTwiceIsAlreadyExists) {
  ScopedNamespace ns(*admin_, "it-exists");
  ASSERT_TRUE(admin_->create(resources::kConfigMaps, ns.name(), configMap("x", "1")));
  auto again = admin_->create(resources::kConfigMaps, ns.name(), configMap("x", "1"));
  ASSERT_FALSE(again);
  EXPECT_TRUE(again.error().isAlreadyExists()) << again.error().message;
}

TEST_F(ClientIntegration, AStaleUpdateIsAConflict) {
  ScopedNamespace ns(*admin_, "it-conflict");
  auto original = admin_->create(resources::kConfigMaps, ns.name(), configMap("x", "1"));
  ASSERT_TRUE(original) << original.error().message;

  kube::Json first = *original;
  first["data"]["value"] = "first writer";
  ASSERT_TRUE(admin_->update(resources::kConfigMaps, ns.name(), first));

  kube::Json second = *original;  // still carries the old resourceVersion
  second["data"]["value"] = "second writer";
  auto lost = admin_->update(resources::kConfigMaps, ns.name(), second);
  ASSERT_FALSE(lost);
  EXPECT_TRUE(lost.error().isConflict()) << lost.error().message;
}

TEST_F(ClientIntegration, TwoWritersRacingOnOneObjectBothLandByRetryingConflicts) {
  ScopedNamespace ns(*admin_, "it-race");
  ASSERT_TRUE(admin_->create(resources::kConfigMaps, ns.name(), configMap("counter", "0")));
  std::atomic<int> conflicts = 0;
  const auto increment = [&](kube::Client& client) {
    return kube::retryOnConflict([&]() -> kube::Result<kube::Json> {
      auto current = client.get(resources::kConfigMaps, ns.name(), "counter");
      if (!current) return current;
      kube::Json next = *current;
      next["data"]["value"] = std::to_string(std::stoi(next["data"]["value"].get<std::string>()) + 1);
      auto written = client.update(resources::kConfigMaps, ns.name(), next);
      if (!written && written.error().isConflict()) ++conflicts;
      return written;
    }, 100);
  };
  auto second_client = clientFor(adminConfig());
  constexpr int kIncrements = 25;
  std::thread other([&] {
    for (int i = 0; i < kIncrements; ++i) EXPECT_TRUE(increment(*second_client));
  });
  for (int i = 0; i < kIncrements; ++i) EXPECT_TRUE(increment(*admin_));
  other.join();
  auto final_state = admin_->get(resources::kConfigMaps, ns.name(), "counter");
  ASSERT_TRUE(final_state) << final_state.error().message;
  EXPECT_EQ((*final_state)["data"]["value"], std::to_string(2 * kIncrements)) << "an increment was lost";
  RecordProperty("conflicts", conflicts.load());
}

TEST_F(ClientIntegration, ApplyingTheSameIntentTwiceWritesNothingTheSecondTime) {
  ScopedNamespace ns(*admin_, "it-ssa");
  kube::Json intent = configMap("applied", "1");
  intent["metadata"]["namespace"] = ns.name();
  const kube::ApplyOptions options{.field_manager = "aphex-test"};
  auto first = admin_->apply(resources::kConfigMaps, intent, options);
  ASSERT_TRUE(first) << first.error().message;
  auto second = admin_->apply(resources::kConfigMaps, intent, options);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ((*first)["metadata"]["resourceVersion"], (*second)["metadata"]["resourceVersion"]);
}

TEST_F(ClientIntegration, AFieldLeftOutOfTheAppliedIntentIsRemoved) {
  ScopedNamespace ns(*admin_, "it-ssa-prune");
  kube::Json intent = configMap("applied", "1");
  intent["metadata"]["namespace"] = ns.name();
  intent["data"]["extra"] = "to be removed";
  intent["metadata"]["labels"]["aphex.io/extra"] = "yes";
  const kube::ApplyOptions options{.field_manager = "aphex-test"};
  ASSERT_TRUE(admin_->apply(resources::kConfigMaps, intent, options));
  intent["data"].erase("extra");
  intent["metadata"]["labels"].erase("aphex.io/extra");
  auto applied = admin_->apply(resources::kConfigMaps, intent, options);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_FALSE((*applied)["data"].contains("extra"));
  EXPECT_FALSE((*applied)["metadata"]["labels"].contains("aphex.io/extra"));
  EXPECT_EQ((*applied)["data"]["value"], "1");
}

TEST_F(ClientIntegration, ApplyingTheStatusSubresourceChangesOnlyStatus) {
  ScopedNamespace ns(*admin_, "it-ssa-status");
  const kube::ResourceType namespaces = resources::kNamespaces;
  kube::Json status = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns.name()}}},
                       {"status", {{"conditions", kube::Json::array({{{"type", "AphexTest"}, {"status", "True"}}})}}}};
  auto applied = admin_->apply(namespaces, status, {.field_manager = "aphex-test", .subresource = kube::Subresource::kStatus});
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ((*applied)["status"]["conditions"][0]["type"], "AphexTest");
}

TEST_F(ClientIntegration, PagesThroughALargeListWithContinueTokens) {
  ScopedNamespace ns(*admin_, "it-paging");
  std::set<std::string> expected;
  for (int i = 0; i < 7; ++i) {
    const std::string name = "item-" + std::to_string(i);
    ASSERT_TRUE(admin_->create(resources::kConfigMaps, ns.name(), configMap(name, "v")));
    expected.insert(name);
  }
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = admin_->list(resources::kConfigMaps, ns.name(),
                             {.label_selector = "aphex.io/test=client", .limit = 3, .continue_token = token});
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_LE((*page)["items"].size(), 3U);
    for (const auto& item : (*page)["items"]) seen.insert(item["metadata"]["name"].get<std::string>());
    token = (*page)["metadata"].value("continue", "");
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, expected);
}

TEST_F(ClientIntegration, ANonAdminIdentityIsForbidden) {
  auto tester = clientFor(testerConfig());
  ScopedNamespace ns(*admin_, "it-rbac");
  auto listed = tester->list(resources::kConfigMaps, ns.name());
  ASSERT_FALSE(listed);
  EXPECT_TRUE(listed.error().isForbidden()) << listed.error().message;
  EXPECT_EQ(listed.error().status->reason, "Forbidden");
  // The API server authenticated the client certificate: it names the user it denied.
  EXPECT_THAT(listed.error().status->message, HasSubstr("\"aphex-tester\""));
}

TEST_F(ClientIntegration, AServerCertificateFromAnotherAuthorityIsRefused) {
  kube::ClientConfig config = adminConfig();
  config.ca_pem = config.client_cert_pem;  // a valid certificate, but not the cluster's CA
  auto client = clientFor(config);
  auto listed = client->list(resources::kNamespaces, "");
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().kind, kube::ErrorKind::kTransport) << listed.error().message;
}

TEST_F(ClientIntegration, WithoutAClientCertificateTheRequestIsAnonymousAndForbidden) {
  kube::ClientConfig config = adminConfig();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  auto anonymous = clientFor(config);
  auto listed = anonymous->list(resources::kNamespaces, "");
  ASSERT_FALSE(listed);
  EXPECT_TRUE(listed.error().isForbidden() || listed.error().isUnauthorized()) << listed.error().message;
}

// kube-controller-manager's namespace controller empties and removes a deleted namespace;
// without it the namespace would stay Terminating for ever.
TEST_F(ClientIntegration, ADeletedNamespaceIsEmptiedAndRemovedByTheControllerManager) {
  const std::string name = uniqueName("it-nsdelete");
  ASSERT_TRUE(admin_->create(resources::kNamespaces, "", aphex::testing::namespaceObject(name)));
  ASSERT_TRUE(admin_->create(resources::kConfigMaps, name, configMap("content", "v")));
  ASSERT_TRUE(admin_->remove(resources::kNamespaces, "", name));

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  bool removed = false;
  while (!removed && std::chrono::steady_clock::now() < deadline) {
    auto current = admin_->get(resources::kNamespaces, "", name);
    removed = !current && current.error().isNotFound();
    if (!removed) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_TRUE(removed) << "namespace " << name << " still exists 90 s after deletion";
}

}  // namespace
