// The shipped ClusterRole aphex-pipeline-runner (platform/base/controller/rbac.yaml), which every
// pipeline namespace binds to its ServiceAccount pipeline-runner: exactly what pipelines need.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <yaml-cpp/yaml.h>

namespace {

std::map<std::string, std::set<std::string>> grantedBy(const YAML::Node& role) {
  std::map<std::string, std::set<std::string>> granted;  // "group/resource" → verbs
  for (const auto& rule : role["rules"]) {
    EXPECT_FALSE(rule["nonResourceURLs"]) << "no non-resource URLs";
    EXPECT_FALSE(rule["resourceNames"]) << "a namespace's pipelines need every object of a kind";
    for (const char* field : {"apiGroups", "resources", "verbs"}) {
      for (const auto& value : rule[field]) EXPECT_NE(value.as<std::string>(), "*") << field;
    }
    for (const auto& resource : rule["resources"]) {
      for (const auto& group : rule["apiGroups"]) {
        for (const auto& verb : rule["verbs"]) {
          granted[group.as<std::string>() + "/" + resource.as<std::string>()].insert(verb.as<std::string>());
        }
      }
    }
  }
  return granted;
}

TEST(PipelineRunnerRole, GrantsWhatPipelinesNeedAndNothingElse) {
  std::vector<YAML::Node> documents = YAML::LoadAllFromFile(APHEX_SOURCE_DIR "/platform/base/controller/rbac.yaml");
  const YAML::Node* role = nullptr;
  for (const auto& document : documents) {
    if (document["kind"].as<std::string>() == "ClusterRole" &&
        document["metadata"]["name"].as<std::string>() == "aphex-pipeline-runner") {
      role = &document;
    }
  }
  ASSERT_NE(role, nullptr) << "rbac.yaml ships no ClusterRole aphex-pipeline-runner";
  const auto granted = grantedBy(*role);
  // What pipelines need, each rule checked by its purpose. Everything is namespaced: bound by a
  // RoleBinding, none of it reaches beyond the pipeline namespace.
  const std::map<std::string, std::set<std::string>> needed = {
      {"tekton.dev/pipelineruns", {"create", "get", "list", "watch"}},
      {"tekton.dev/taskruns", {"get", "list", "watch"}},
      {"/pods", {"get", "list", "watch"}},
      {"/pods/log", {"get"}},
      {"/secrets", {"get", "list", "create", "update", "delete"}},
      {"coordination.k8s.io/leases", {"get", "create", "update", "delete"}},
      {"/configmaps", {"get", "list", "watch", "create", "update", "patch", "delete"}},
      {"argoproj.io/applications", {"create", "get", "list", "watch", "update", "patch", "delete"}},
  };
  EXPECT_EQ(granted, needed);
}

}  // namespace
