// The client against a real kube-apiserver: TLS with client certificates, RBAC, and the API
// server's own answers for the common failure cases.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "integration/support/cluster.h"
#include "kube/client.h"
#include "support/temp_dir.h"

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

// A burst of concurrent requests leaves one pooled connection per request that ran at once;
// closing the idle ones keeps the most recently used, and the client goes on working after.
TEST_F(ClientIntegration, IdleConnectionsLeftByABurstAreClosedAndTheClientGoesOn) {
  constexpr int kConcurrent = 6;
  std::vector<std::thread> burst;
  std::atomic<int> answered{0};
  for (int i = 0; i < kConcurrent; ++i) {
    burst.emplace_back([&] {
      // A watch the server ends after a second: the six overlap, each on a connection of its own.
      if (admin_->transport().send({.method = "GET", .path = "/api/v1/namespaces?watch=true&timeoutSeconds=1"})) {
        ++answered;
      }
    });
  }
  for (auto& thread : burst) thread.join();
  ASSERT_EQ(answered.load(), kConcurrent);
  EXPECT_EQ(admin_->transport().closeIdleConnections(2), static_cast<std::size_t>(kConcurrent - 2));
  EXPECT_EQ(admin_->transport().closeIdleConnections(2), 0u) << "two kept, nothing more to close";
  EXPECT_TRUE(admin_->get(resources::kNamespaces, "", "default")) << "a kept connection still serves";
  EXPECT_EQ(admin_->transport().closeIdleConnections(0), 2u);
  EXPECT_TRUE(admin_->get(resources::kNamespaces, "", "default")) << "a new connection is made when none is pooled";
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

// A service account's token, from the TokenRequest API (the cluster signs tokens with its
// service-account key), for an exec plugin to hand out.
std::string serviceAccountToken(kube::Client& admin, const std::string& ns, const std::string& name) {
  const kube::ResourceType service_accounts{.group = "", .version = "v1", .plural = "serviceaccounts", .namespaced = true};
  auto created = admin.create(service_accounts, ns,
                              {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", name}}}});
  if (!created) throw std::runtime_error(created.error().message);
  const kube::Json request{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"},
                           {"spec", {{"expirationSeconds", 600}}}};
  auto response = admin.transport().send({.method = "POST",
                                          .path = "/api/v1/namespaces/" + ns + "/serviceaccounts/" + name + "/token",
                                          .body = request.dump(),
                                          .content_type = "application/json"});
  if (!response || response->status != 201) throw std::runtime_error("TokenRequest failed");
  return kube::Json::parse(response->body)["status"]["token"].get<std::string>();
}

// The plugin's first answer is a token the API server does not know (a revoked one, say): the
// 401 sends the client back to the plugin, whose second answer is the service account's token.
TEST_F(ClientIntegration, AnExecPluginsTokenAuthenticatesAndA401RunsItAgain) {
  ScopedNamespace ns(*admin_, "it-exec");
  const std::string token = serviceAccountToken(*admin_, ns.name(), "robot");
  aphex::testing::TempDir dir;
  const std::string credential = R"({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {"token": ")";
  const std::string plugin = dir.write("plugin", "#!/bin/sh\necho run >> \"$0.runs\"\n"
                                                 "if [ \"$(wc -l < \"$0.runs\")\" -eq 1 ]; then token=revoked; else token='" +
                                                     token + "'; fi\necho '" + credential + "'\"$token\"'\"}}'\n");
  ::chmod(plugin.c_str(), 0755);

  kube::ClientConfig config = adminConfig();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.exec = kube::ExecConfig{.command = plugin, .api_version = "client.authentication.k8s.io/v1"};
  auto robot = clientFor(config);
  const kube::ResourceType reviews{.group = "authentication.k8s.io", .version = "v1", .plural = "selfsubjectreviews", .namespaced = false};
  auto review = robot->create(reviews, "", {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "SelfSubjectReview"}});
  ASSERT_TRUE(review) << review.error().message;
  EXPECT_EQ((*review)["status"]["userInfo"]["username"], "system:serviceaccount:" + ns.name() + ":robot");
  std::ifstream runs(plugin + ".runs");
  int count = 0;
  for (std::string line; std::getline(runs, line);) ++count;
  EXPECT_EQ(count, 2);
}

// kube-apiserver refuses an unknown token before reading a POST's body, and Go's HTTP/2 server
// then resets the stream; libcurl calls that a partial transfer. It must still be a 401 (which is
// what sends an exec plugin's client back to the plugin), every time.
TEST_F(ClientIntegration, AnUnknownTokenOnAPostIsAlwaysA401) {
  kube::ClientConfig config = adminConfig();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.bearer_token = "revoked";
  auto client = clientFor(config);
  const kube::ResourceType reviews{.group = "authentication.k8s.io", .version = "v1", .plural = "selfsubjectreviews", .namespaced = false};
  for (int i = 0; i < 20; ++i) {
    auto review = client->create(reviews, "", {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "SelfSubjectReview"}});
    ASSERT_FALSE(review);
    EXPECT_TRUE(review.error().isUnauthorized()) << review.error().message;
  }
}

// A plugin may answer with a client certificate instead of a token: here the tester's.
TEST_F(ClientIntegration, AnExecPluginsClientCertificateAuthenticates) {
  const kube::ClientConfig tester = testerConfig();
  aphex::testing::TempDir dir;
  const kube::Json credential{{"apiVersion", "client.authentication.k8s.io/v1beta1"},
                              {"kind", "ExecCredential"},
                              {"status", {{"clientCertificateData", tester.client_cert_pem},
                                          {"clientKeyData", tester.client_key_pem}}}};
  const std::string json = dir.write("credential.json", credential.dump());
  const std::string plugin = dir.write("plugin", "#!/bin/sh\ncat '" + json + "'\n");
  ::chmod(plugin.c_str(), 0755);

  kube::ClientConfig config = adminConfig();
  config.client_cert_pem.clear();
  config.client_key_pem.clear();
  config.exec = kube::ExecConfig{.command = plugin, .api_version = "client.authentication.k8s.io/v1beta1"};
  auto client = clientFor(config);
  const kube::ResourceType reviews{.group = "authentication.k8s.io", .version = "v1", .plural = "selfsubjectreviews", .namespaced = false};
  auto review = client->create(reviews, "", {{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "SelfSubjectReview"}});
  ASSERT_TRUE(review) << review.error().message;
  EXPECT_EQ((*review)["status"]["userInfo"]["username"], "aphex-tester");
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
