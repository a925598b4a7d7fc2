// What the KnowledgeBase controller hands the ingester, and where the API server listens for the
// NetworkPolicy — pure parts of the controllers, checked without a cluster.
#include <gtest/gtest.h>

#include <memory>

#include "aphex/knowledgebase/reconciler.h"
#include "aphex/repobinding/reconciler.h"

namespace {

using kube::Json;

TEST(KnowledgeBaseRepos, TheConfigMapListsEveryRepositoryAndIsOwnedByTheKnowledgeBase) {
  aphex::api::KnowledgeBase kb;
  kb.metadata.name = "platform-docs";
  kb.metadata.ns = "platform-system";
  kb.metadata.uid = "uid-1";
  kb.spec.repositories = {{.url = "https://github.com/acme/app1", .branch = "main", .paths = {".kiro/docs"}},
                          {.url = "https://github.com/acme/app2.git", .branch = "release/1.0",
                           .paths = {".kiro/docs/api", ".kiro/docs/ops"}}};
  const Json cm = aphex::knowledgebase::reposConfigMap(kb);
  EXPECT_EQ(cm["metadata"]["name"], "platform-docs-repos");
  EXPECT_EQ(cm["metadata"]["namespace"], "platform-system");
  EXPECT_EQ(cm["metadata"]["labels"]["app.kubernetes.io/managed-by"], "aphex-controller");
  const Json& owner = cm["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "KnowledgeBase");
  EXPECT_EQ(owner["uid"], "uid-1");
  EXPECT_EQ(owner["controller"], true);
  const Json repos = Json::parse(cm["data"]["repositories.json"].get<std::string>());
  ASSERT_EQ(repos.size(), 2u);
  EXPECT_EQ(repos[1], (Json{{"url", "https://github.com/acme/app2.git"},
                            {"branch", "release/1.0"},
                            {"paths", {".kiro/docs/api", ".kiro/docs/ops"}}}));
}

kube::runtime::ObjectPtr slice(const char* text) { return std::make_shared<const Json>(Json::parse(text)); }

TEST(ApiServerEndpoints, ReadyAddressesOfTheHttpsPortSortedWithoutDuplicates) {
  const auto endpoints = aphex::apiServerEndpoints({
      slice(R"({"ports": [{"name": "https", "port": 6443}],
               "endpoints": [{"addresses": ["10.0.0.2"]},
                             {"addresses": ["10.0.0.1"], "conditions": {"ready": true}},
                             {"addresses": ["10.0.0.9"], "conditions": {"ready": false}}]})"),
      slice(R"({"ports": [{"name": "https", "port": 6443}], "endpoints": [{"addresses": ["10.0.0.1"]}]})"),
      slice(R"({"ports": [{"name": "other", "port": 80}], "endpoints": [{"addresses": ["10.0.0.3"]}]})"),
      slice(R"({"ports": [{"name": "https", "port": 443}], "endpoints": [{"addresses": ["fd00::1"]}]})"),
  });
  ASSERT_EQ(endpoints.size(), 3u);
  EXPECT_EQ(endpoints[0].ip, "10.0.0.1");
  EXPECT_EQ(endpoints[0].port, 6443);
  EXPECT_EQ(endpoints[1].ip, "10.0.0.2");
  EXPECT_EQ(endpoints[2].ip, "fd00::1");
  EXPECT_EQ(endpoints[2].port, 443);
}

TEST(RepoBindingMapping, AChildLeadsBackToItsBinding) {
  const Json child = {{"metadata", {{"annotations", {{"aphex.io/repo-binding", "org-acme/app1"}}}}}};
  const auto requests = aphex::repobinding::Reconciler::bindingOfChild(child);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].ns, "org-acme");
  EXPECT_EQ(requests[0].name, "app1");
  EXPECT_TRUE(aphex::repobinding::Reconciler::bindingOfChild({{"metadata", Json::object()}}).empty());
  EXPECT_TRUE(aphex::repobinding::Reconciler::bindingOfChild(
                  {{"metadata", {{"annotations", {{"aphex.io/repo-binding", "no-slash"}}}}}})
                  .empty());
}

}  // namespace

namespace {

TEST(TenantLimits, EachEntryCanBeSetByName) {
  aphex::TenantLimits limits;
  ASSERT_TRUE(aphex::setTenantLimit(limits, "quota.requests.cpu=16"));
  ASSERT_TRUE(aphex::setTenantLimit(limits, "container.max.memory=2Gi"));
  ASSERT_TRUE(aphex::setTenantLimit(limits, "container.default.cpu=250m"));
  ASSERT_TRUE(aphex::setTenantLimit(limits, "quota.pods=12"));
  ASSERT_TRUE(aphex::setTenantLimit(limits, "quota.requests.storage="));
  EXPECT_EQ(limits.requests_cpu, "16");
  EXPECT_EQ(limits.max_memory, "2Gi");
  EXPECT_EQ(limits.default_limit_cpu, "250m");
  EXPECT_EQ(limits.pods, 12);
  EXPECT_EQ(limits.requests_storage, "") << "empty leaves the entry out";
}

TEST(TenantLimits, BadEntriesSayWhatIsAccepted) {
  aphex::TenantLimits limits;
  const std::pair<const char*, const char*> cases[] = {
      {"quota.requests.cpu", "<name>=<quantity>"},
      {"quota.cpus=4", "known: quota.requests.cpu"},
      {"quota.requests.cpu=0.5", "canonical form"},
      {"quota.requests.memory=1G", "canonical form"},
      {"quota.pods=many", "whole number"},
  };
  for (const auto& [assignment, expected] : cases) {
    auto set = aphex::setTenantLimit(limits, assignment);
    ASSERT_FALSE(set) << assignment;
    EXPECT_NE(set.error().message.find(expected), std::string::npos) << set.error().message;
  }
  EXPECT_EQ(limits.requests_cpu, aphex::TenantLimits{}.requests_cpu) << "nothing changed by a refused entry";
}

}  // namespace
