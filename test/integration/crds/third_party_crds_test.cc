// The third-party CRDs installed by `scripts/local-cluster crds` are the projects' published
// definitions, so the API server validates objects of those kinds as a real cluster would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "integration/support/cluster.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::ScopedNamespace;
using ::testing::HasSubstr;

const kube::ResourceType kCrds{.group = "apiextensions.k8s.io", .version = "v1",
                               .plural = "customresourcedefinitions", .namespaced = false};
const kube::ResourceType kPipelines{.group = "tekton.dev", .version = "v1", .plural = "pipelines", .namespaced = true};
const kube::ResourceType kAppProjects{.group = "argoproj.io", .version = "v1alpha1", .plural = "appprojects", .namespaced = true};

class ThirdPartyCrds : public ::testing::Test {
 protected:
  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
};

TEST_F(ThirdPartyCrds, EveryKindTheControllerWritesIsEstablished) {
  for (const char* name : {"pipelines.tekton.dev", "tasks.tekton.dev", "pipelineruns.tekton.dev",
                           "eventlisteners.triggers.tekton.dev", "triggers.triggers.tekton.dev",
                           "triggerbindings.triggers.tekton.dev", "triggertemplates.triggers.tekton.dev",
                           "applications.argoproj.io", "appprojects.argoproj.io",
                           "clustersecretstores.external-secrets.io", "externalsecrets.external-secrets.io",
                           "certificates.cert-manager.io", "clusterissuers.cert-manager.io"}) {
    auto crd = admin_->get(kCrds, "", name);
    ASSERT_TRUE(crd) << name << ": " << crd.error().message;
    bool established = false;
    for (const auto& condition : (*crd)["status"]["conditions"]) {
      established |= condition["type"] == "Established" && condition["status"] == "True";
    }
    EXPECT_TRUE(established) << name << " is not Established";
  }
}

TEST_F(ThirdPartyCrds, AValidTektonPipelineIsStored) {
  ScopedNamespace ns(*admin_, "it-tekton");
  const kube::Json pipeline = kube::Json::parse(R"json({
    "apiVersion": "tekton.dev/v1", "kind": "Pipeline", "metadata": {"name": "build"},
    "spec": {"params": [{"name": "git-url", "type": "string"}],
             "tasks": [{"name": "clone", "taskRef": {"name": "git-clone"},
                        "params": [{"name": "url", "value": "$(params.git-url)"}]}]}})json");
  auto created = admin_->create(kPipelines, ns.name(), pipeline);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ((*created)["spec"]["tasks"][0]["taskRef"]["name"], "git-clone");
}

TEST_F(ThirdPartyCrds, AnAppProjectThatBreaksArgoCdsSchemaIsRefused) {
  ScopedNamespace ns(*admin_, "it-argocd");
  const kube::Json project = kube::Json::parse(R"json({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "team"},
    "spec": {"destinations": "everywhere"}})json");
  auto refused = admin_->create(kAppProjects, ns.name(), project);
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().isInvalid()) << refused.error().message;
  EXPECT_THAT(refused.error().message, HasSubstr("spec.destinations"));
}

}  // namespace
