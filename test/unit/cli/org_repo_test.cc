// org create and repo onboard before anything is sent: the objects the flags make and the
// problems the API's own validation finds in them, each named with its field and flag; the
// description and the GitHub instructions people read (golden). No cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kubectl-aphex/org.h"
#include "kubectl-aphex/repo.h"

namespace {

using aphex::cli::OnboardFlags;
using aphex::cli::OrgCreateFlags;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using kube::Json;

std::vector<std::string> paths(const std::vector<aphex::api::FieldError>& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(error.path);
  return out;
}

const std::string kContractPipeline =
    "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  params:\n"
    "    - {name: git-url}\n    - {name: git-revision}\n    - {name: repo-full-name}\n"
    "    - {name: event-type}\n    - {name: event-id}\n  tasks: []\n";

TEST(OrgCreate, BuildsTheOrganizationTheApiDocuments) {
  OrgCreateFlags flags{.name = "acme", .admins = {"alice@example.com"}, .admin_groups = {"leads"},
                       .exposure = "None", .labels = {"team=platform"}};
  auto org = aphex::cli::organizationObject(flags, "platform-system");
  ASSERT_TRUE(org);
  EXPECT_EQ((*org)["apiVersion"], "aphex.io/v1alpha1");
  EXPECT_EQ((*org)["metadata"]["namespace"], "platform-system");
  EXPECT_EQ((*org)["metadata"]["labels"]["team"], "platform");
  EXPECT_EQ((*org)["spec"]["displayName"], "acme");
  EXPECT_EQ((*org)["spec"]["exposure"]["mode"], "None");
  EXPECT_THAT(aphex::cli::organizationProblems(*org), IsEmpty());
  EXPECT_FALSE(aphex::cli::organizationObject({.name = "a", .labels = {"novalue"}}, "p"));
}

TEST(OrgCreate, ReportsEveryProblemWithItsFieldAndFlag) {
  OrgCreateFlags flags{.name = "www", .admins = {"not-an-address", "bob@example.com", "BOB@example.com"},
                       .admin_groups = {"system:masters"}};
  auto org = aphex::cli::organizationObject(flags, "platform-system");
  ASSERT_TRUE(org);
  const auto problems = aphex::cli::organizationProblems(*org);
  EXPECT_THAT(paths(problems), ElementsAre("metadata.name", "spec.adminUsers[0]", "spec.adminUsers[2]",
                                           "spec.adminGroups[0]"));
  const std::string text = aphex::cli::renderProblems(problems);
  EXPECT_THAT(text, HasSubstr("  metadata.name (NAME): \"www\" is reserved"));
  EXPECT_THAT(text, HasSubstr("  spec.adminUsers[0] (--admin): \"not-an-address\" is not an e-mail address"));
  EXPECT_THAT(text, HasSubstr("spec.adminGroups[0] (--admin-group): must not name a Kubernetes system group"));
}

TEST(OrgCreate, AnOrganizationWithoutAdminsIsRefusedLocally) {
  auto org = aphex::cli::organizationObject({.name = "acme"}, "platform-system");
  ASSERT_TRUE(org);
  EXPECT_THAT(paths(aphex::cli::organizationProblems(*org)), ElementsAre("spec.adminUsers"));
}

TEST(OrgDescribe, GoldenView) {
  const Json org = {
      {"metadata", {{"name", "acme"}, {"namespace", "platform-system"}}},
      {"spec", {{"displayName", "Acme"}, {"adminUsers", {"alice@example.com"}}, {"exposure", {{"mode", "None"}}}}},
      {"status",
       {{"phase", "Ready"},
        {"namespace", "org-acme"},
        {"webhookURL", "http://el-github-listener.org-acme.svc.cluster.local:8080"},
        {"webhookSecretRef", {{"namespace", "org-acme"}, {"name", "github-webhook-secret"}, {"key", "secret"}}},
        {"conditions",
         {{{"type", "NamespaceReady"}, {"status", "True"}, {"reason", "Created"}, {"message", "namespace org-acme"},
           {"lastTransitionTime", "2026-01-01T11:00:00Z"}},
          {{"type", "Ready"}, {"status", "True"}, {"reason", "Ready"}, {"message", "all set"},
           {"lastTransitionTime", "2026-01-01T11:58:00Z"}}}}}}};
  const Json binding = {{"metadata", {{"name", "app1"}, {"namespace", "platform-system"}, {"generation", 1}}},
                        {"spec", {{"repoOrg", "acme"}, {"repoName", "app1"}}},
                        {"status", {{"pipelineNamespace", "app1"}, {"observedGeneration", 1},
                                    {"conditions", {{{"type", "Ready"}, {"status", "True"}}}}}}};
  const auto now = std::chrono::sys_days(std::chrono::year{2026} / 1 / 1) + std::chrono::hours(12);
  EXPECT_EQ(aphex::cli::describeOrganization(org, {binding}, now, {}),
            "Name:             platform-system/acme\n"
            "Display name:     Acme\n"
            "Phase:            Ready\n"
            "Admin users:      alice@example.com\n"
            "Admin groups:     (none)\n"
            "Exposure:         None\n"
            "Pod security:     restricted\n"
            "Namespace:        org-acme\n"
            "Webhook URL:      http://el-github-listener.org-acme.svc.cluster.local:8080\n"
            "Webhook secret:   Secret org-acme/github-webhook-secret, key secret\n"
            "\n"
            "RepoBindings\n"
            "NAMESPACE         NAME   REPOSITORY   BRANCH   PIPELINE NAMESPACE   READY\n"
            "platform-system   app1   acme/app1    main     app1                 True\n"
            "\n"
            "Conditions\n"
            "TYPE             STATUS   REASON    AGE   MESSAGE\n"
            "Ready            True     Ready     2m    all set\n"
            "NamespaceReady   True     Created   60m   namespace org-acme\n");
}

TEST(RepoOnboard, DefaultNameIsTheRepositoryAsADnsLabel) {
  EXPECT_EQ(aphex::cli::defaultBindingName("app1"), "app1");
  EXPECT_EQ(aphex::cli::defaultBindingName("My_Service.api"), "my-service-api");
  EXPECT_EQ(aphex::cli::defaultBindingName("--x--"), "x");
  EXPECT_EQ(aphex::cli::defaultBindingName("___"), "");
}

TEST(RepoOnboard, AValidPipelineMakesAValidBinding) {
  OnboardFlags flags{.org = "acme", .branch = "release"};
  auto binding = aphex::cli::repoBindingObject(flags, {.owner = "acme", .name = "App1"}, kContractPipeline, "org-acme");
  ASSERT_TRUE(binding);
  EXPECT_EQ((*binding)["metadata"]["name"], "app1");
  EXPECT_EQ((*binding)["spec"]["pipelineName"], "app1");
  EXPECT_EQ((*binding)["spec"]["repoName"], "App1");
  EXPECT_EQ((*binding)["spec"]["branch"], "release");
  EXPECT_THAT(aphex::cli::repoBindingProblems(*binding, "platform-system"), IsEmpty());
}

TEST(RepoOnboard, EveryProblemOfThePipelineFileAndTheFlagsIsReportedInFieldOrder) {
  OnboardFlags flags{.org = "acme", .branch = "bad..branch", .pipeline_name = "kube-system"};
  const std::string pipeline = "apiVersion: tekton.dev/v1beta1\nkind: Task\nspec:\n  params: [{name: git-url}]\n";
  auto binding = aphex::cli::repoBindingObject(flags, {.owner = "acme", .name = "app1"}, pipeline, "team-space");
  ASSERT_TRUE(binding);
  const auto problems = aphex::cli::repoBindingProblems(*binding, "platform-system");
  EXPECT_THAT(paths(problems),
              ElementsAre("spec.pipelineName", "spec.pipelineSpec.apiVersion", "spec.pipelineSpec.kind",
                          "spec.pipelineSpec.spec.params", "spec.branch", "metadata.namespace"));
  const std::string text = aphex::cli::renderProblems(problems);
  EXPECT_THAT(text, HasSubstr("  spec.pipelineSpec.apiVersion (--pipeline): must be tekton.dev/v1, not "
                              "\"tekton.dev/v1beta1\"\n"));
  EXPECT_THAT(text, HasSubstr("spec.pipelineSpec.spec.params (--pipeline): must declare the parameters of the "
                              "pipeline contract run-pipeline-v1; missing: git-revision"));
  EXPECT_THAT(text, HasSubstr("spec.branch (--branch)"));
  EXPECT_THAT(text, HasSubstr("metadata.namespace (-n): a RepoBinding of organization \"acme\" must be created in "
                              "platform-system or org-acme"));
}

TEST(RepoOnboard, NotYamlIsOneProblem) {
  auto binding = aphex::cli::repoBindingObject({.org = "acme"}, {.owner = "acme", .name = "app1"}, "kind: [x", "platform-system");
  ASSERT_TRUE(binding);
  const auto problems = aphex::cli::repoBindingProblems(*binding, "platform-system");
  ASSERT_THAT(paths(problems), ElementsAre("spec.pipelineSpec"));
  EXPECT_THAT(problems[0].message, HasSubstr("is not valid YAML or JSON"));
}

TEST(RepoOnboard, GithubInstructionsGolden) {
  const std::string text = aphex::cli::githubInstructions(
      {.owner = "acme", .name = "app1"},
      {.url = "https://acme.example.org", .secret_namespace = "org-acme", .secret_name = "github-webhook-secret",
       .secret_key = "secret", .org = "acme"});
  EXPECT_EQ(text,
            "Add a webhook to acme/app1 (https://github.com/acme/app1/settings/hooks/new):\n"
            "  Payload URL:   https://acme.example.org\n"
            "  Content type:  application/json\n"
            "  Secret:        the value of Secret org-acme/github-webhook-secret, key secret; print it with: "
            "kubectl aphex webhook secret acme --show-secret\n"
            "  SSL:           enable verification\n"
            "  Events:        Just the push event\n"
            "\n"
            "Or with the GitHub CLI:\n"
            "  gh api repos/acme/app1/hooks --method POST \\\n"
            "    -f name=web -F active=true -f 'events[]=push' \\\n"
            "    -f config[url]='https://acme.example.org' -f config[content_type]=json -f config[insecure_ssl]=0 \\\n"
            "    -f config[secret]=\"$(kubectl aphex webhook secret acme --show-secret)\"\n");
}

TEST(RepoOnboard, AnInClusterUrlIsFlagged) {
  const std::string text = aphex::cli::githubInstructions(
      {.owner = "acme", .name = "app1"},
      {.url = "http://el-github-listener.org-acme.svc.cluster.local:8080", .secret_namespace = "org-acme",
       .secret_name = "github-webhook-secret", .secret_key = "secret", .org = "acme"});
  EXPECT_THAT(text, HasSubstr("GitHub cannot reach it"));
  EXPECT_THAT(text, Not(HasSubstr("SECRET_VALUE")));
}

}  // namespace
