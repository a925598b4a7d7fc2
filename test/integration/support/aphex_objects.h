// Aphex objects for integration tests, and questions about their status.
#pragma once

#include <string>

#include "kube/client.h"

namespace aphex::testing {

inline std::string conditionStatus(const kube::Json& object, const std::string& type) {
  if (!object.is_object()) return "";
  for (const auto& condition : object.value("status", kube::Json::object()).value("conditions", kube::Json::array())) {
    if (condition.value("type", "") == type) return condition.value("status", "");
  }
  return "";
}

inline std::string conditionMessage(const kube::Json& object, const std::string& type) {
  if (!object.is_object()) return "";
  for (const auto& condition : object.value("status", kube::Json::object()).value("conditions", kube::Json::array())) {
    if (condition.value("type", "") == type) return condition.value("message", "");
  }
  return "";
}

// Ready=True for the object's current generation.
// Reads with value(), never a const operator[]: an object without a status yet (or a failed read,
// which is null) must answer false, and a const operator[] on a missing key is undefined.
inline bool isReady(const kube::Json& object) {
  if (!object.is_object()) return false;
  const kube::Json status = object.value("status", kube::Json::object());
  const kube::Json metadata = object.value("metadata", kube::Json::object());
  return conditionStatus(object, "Ready") == "True" &&
         status.value("observedGeneration", 0) == metadata.value("generation", -1);
}

// The label a test's controller selects its objects by (ControllerConfig::object_selector), so
// that tests running side by side never reconcile each other's objects.
inline constexpr const char* kTestRunLabel = "aphex.io/test-run";
inline std::string testRunSelector(const std::string& run) { return std::string(kTestRunLabel) + "=" + run; }
inline kube::Json labelledForRun(kube::Json object, const std::string& run) {
  object["metadata"]["labels"][kTestRunLabel] = run;
  return object;
}

inline kube::Json organizationObject(const std::string& ns, const std::string& name) {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "Organization"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", {{"displayName", "Team " + name}, {"adminUsers", {"alice@example.com", "bob@example.com"}},
                    {"adminGroups", {"team-leads"}}}}};
}

// A tekton.dev/v1 Pipeline that honours the pipeline contract.
inline std::string contractPipelineYaml(const std::string& message = "hello") {
  return "apiVersion: tekton.dev/v1\n"
         "kind: Pipeline\n"
         "spec:\n"
         "  params:\n"
         "    - {name: git-url, type: string}\n"
         "    - {name: git-revision, type: string}\n"
         "    - {name: repo-full-name, type: string}\n"
         "    - {name: event-type, type: string}\n"
         "    - {name: event-id, type: string}\n"
         "  tasks:\n"
         "    - name: say\n"
         "      taskSpec:\n"
         "        steps:\n"
         "          - name: say\n"
         "            image: registry.example.invalid/tools:1.0\n"
         "            script: echo " + message + "\n";
}

inline kube::Json repoBindingObject(const std::string& ns, const std::string& name, const std::string& org,
                                    const std::string& pipeline) {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "RepoBinding"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"aphexOrg", org},
            {"repoOrg", "gh-" + org},
            {"repoName", pipeline},
            {"pipelineName", pipeline},
            {"pipelineSpec", contractPipelineYaml()}}}};
}

}  // namespace aphex::testing
