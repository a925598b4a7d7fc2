// The aphex.io/v1alpha1 types: parsing with field paths in errors, defaults, status JSON,
// validation (what the CRDs check, and what only the controller can), conditions and YAML.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "aphex/api/condition.h"
#include "aphex/api/knowledge_base.h"
#include "aphex/api/organization.h"
#include "aphex/api/repo_binding.h"
#include "aphex/api/time.h"
#include "aphex/api/validation.h"
#include "aphex/api/yaml.h"

namespace aphex::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = kube::Json;

constexpr const char* kPipelineYaml = R"(apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: app1
spec:
  params:
    - {name: git-url, type: string}
    - {name: git-revision, type: string}
    - {name: repo-full-name, type: string}
    - {name: event-type, type: string}
    - {name: event-id, type: string}
  tasks:
    - name: build
      taskRef:
        name: build
)";

Json organizationJson() {
  return Json::parse(R"({
    "apiVersion": "aphex.io/v1alpha1", "kind": "Organization",
    "metadata": {"name": "acme", "namespace": "platform-system", "uid": "u-1", "resourceVersion": "42",
                 "generation": 3, "creationTimestamp": "2024-05-01T12:00:00Z",
                 "deletionTimestamp": "2024-05-02T08:30:00Z", "finalizers": ["aphex.io/cleanup"],
                 "labels": {"team": "web"}, "annotations": {"aphex.io/rotate-webhook-secret": "1"}},
    "spec": {"displayName": "ACME", "adminUsers": ["alice@example.com", "bob@example.com"],
             "adminGroups": ["acme-admins"], "exposure": {"mode": "Ingress"}},
    "status": {"observedGeneration": 2, "phase": "Ready", "namespace": "org-acme",
               "webhookURL": "https://acme.example.com",
               "webhookSecretRef": {"namespace": "org-acme", "name": "github-webhook-secret", "key": "secret"},
               "tunnelID": "t-1", "repoBindings": 4,
               "conditions": [{"type": "Ready", "status": "True", "reason": "Provisioned", "message": "ok",
                               "lastTransitionTime": "2024-05-01T12:01:00Z", "observedGeneration": 2}]}})");
}

Json repoBindingJson() {
  Json binding = {{"apiVersion", "aphex.io/v1alpha1"},
                  {"kind", "RepoBinding"},
                  {"metadata", {{"name", "app1"}, {"namespace", "platform-system"}}},
                  {"spec",
                   {{"aphexOrg", "acme"},
                    {"repoOrg", "acme"},
                    {"repoName", "app1"},
                    {"pipelineName", "app1"},
                    {"pipelineSpec", kPipelineYaml}}}};
  return binding;
}

Json knowledgeBaseJson() {
  return Json::parse(R"({
    "apiVersion": "aphex.io/v1alpha1", "kind": "KnowledgeBase", "metadata": {"name": "docs"},
    "spec": {"displayName": "Docs", "description": "Platform docs",
             "repositories": [{"url": "https://github.com/acme/platform"},
                              {"url": "https://github.com/acme/web.git", "branch": "release/v2",
                               "paths": [".kiro/docs/runbooks", ".kiro/docs/*.md"]}]}})");
}

std::vector<std::string> paths(const std::vector<FieldError>& errors) {
  std::vector<std::string> result;
  for (const FieldError& error : errors) result.push_back(error.path);
  return result;
}

// --- parsing ---------------------------------------------------------------------------------

TEST(ApiOrganization, ParsesEveryField) {
  auto parsed = Organization::fromJson(organizationJson());
  ASSERT_TRUE(parsed) << parsed.error().message;
  const Organization& org = *parsed;
  EXPECT_EQ(org.metadata.name, "acme");
  EXPECT_EQ(org.metadata.ns, "platform-system");
  EXPECT_EQ(org.metadata.uid, "u-1");
  EXPECT_EQ(org.metadata.resource_version, "42");
  EXPECT_EQ(org.metadata.generation, 3);
  ASSERT_TRUE(org.metadata.deletion_timestamp);
  EXPECT_EQ(formatTime(*org.metadata.deletion_timestamp), "2024-05-02T08:30:00Z");
  EXPECT_TRUE(org.metadata.deleting());
  EXPECT_TRUE(org.metadata.hasFinalizer("aphex.io/cleanup"));
  EXPECT_EQ(org.metadata.labels.at("team"), "web");
  EXPECT_EQ(org.metadata.annotations.at(std::string(kRotateWebhookSecretAnnotation)), "1");
  EXPECT_EQ(org.spec.display_name, "ACME");
  EXPECT_THAT(org.spec.admin_users, ElementsAre("alice@example.com", "bob@example.com"));
  EXPECT_THAT(org.spec.admin_groups, ElementsAre("acme-admins"));
  EXPECT_EQ(org.spec.exposure_mode, ExposureMode::kIngress);
  EXPECT_EQ(org.status.observed_generation, 2);
  EXPECT_EQ(org.status.phase, Phase::kReady);
  EXPECT_EQ(org.status.ns, "org-acme");
  EXPECT_EQ(org.status.webhook_url, "https://acme.example.com");
  EXPECT_EQ(org.status.webhook_secret_ref,
            (SecretKeyRef{.ns = "org-acme", .name = "github-webhook-secret", .key = "secret"}));
  EXPECT_EQ(org.status.tunnel_id, "t-1");
  EXPECT_EQ(org.status.repo_bindings, 4);
  ASSERT_EQ(org.status.conditions.size(), 1U);
  EXPECT_EQ(org.status.conditions[0].status, ConditionStatus::kTrue);
  EXPECT_EQ(formatTime(org.status.conditions[0].last_transition_time), "2024-05-01T12:01:00Z");
  EXPECT_TRUE(validate(org).empty()) << describe(validate(org));
}

TEST(ApiOrganization, LeavesExposureUnsetSoTheControllersDefaultApplies) {
  Json object = organizationJson();
  object["spec"].erase("exposure");
  auto parsed = Organization::fromJson(object);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_FALSE(parsed->spec.exposure_mode.has_value());
  EXPECT_EQ(organizationNamespace("acme"), "org-acme");
}

TEST(ApiRepoBinding, FillsTheCrdDefaultsWhenAbsent) {
  auto parsed = RepoBinding::fromJson(repoBindingJson());
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->spec.template_ref, "run-pipeline-v1");
  EXPECT_EQ(parsed->spec.branch, "main");
  EXPECT_EQ(parsed->spec.deletion_policy, DeletionPolicy::kRetain);
  EXPECT_EQ(repositoryFullName(parsed->spec), "acme/app1");
  EXPECT_EQ(githubWebhookSettingsUrl(parsed->spec), "https://github.com/acme/app1/settings/hooks");
  EXPECT_THAT(validate(*parsed), IsEmpty()) << describe(validate(*parsed));
}

TEST(ApiRepoBinding, ParsesSetFields) {
  Json object = repoBindingJson();
  object["spec"]["branch"] = "release/v2";
  object["spec"]["deletionPolicy"] = "Delete";
  object["spec"]["templateRef"] = "run-pipeline-v2";
  object["status"] = Json::parse(R"({"phase": "Provisioning", "pipelineNamespace": "app1",
      "githubWebhookSettingsURL": "https://github.com/acme/app1/settings/hooks"})");
  auto parsed = RepoBinding::fromJson(object);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->spec.branch, "release/v2");
  EXPECT_EQ(parsed->spec.deletion_policy, DeletionPolicy::kDelete);
  EXPECT_EQ(parsed->spec.template_ref, "run-pipeline-v2");
  EXPECT_EQ(parsed->status.phase, Phase::kProvisioning);
  EXPECT_EQ(parsed->status.pipeline_namespace, "app1");
}

TEST(ApiKnowledgeBase, FillsBranchAndPathDefaults) {
  auto parsed = KnowledgeBase::fromJson(knowledgeBaseJson());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->spec.repositories.size(), 2U);
  EXPECT_EQ(parsed->spec.repositories[0].branch, "main");
  EXPECT_THAT(parsed->spec.repositories[0].paths, ElementsAre(".kiro/docs"));
  EXPECT_EQ(parsed->spec.repositories[1].branch, "release/v2");
  EXPECT_THAT(parsed->spec.repositories[1].paths, ElementsAre(".kiro/docs/runbooks", ".kiro/docs/*.md"));
  EXPECT_EQ(reposConfigMapName("docs"), "docs-repos");
  EXPECT_THAT(validate(*parsed), IsEmpty()) << describe(validate(*parsed));
}

struct WrongTypeCase {
  std::string name;
  std::string kind;  // which fromJson
  std::string pointer;  // JSON pointer of the field to replace
  Json value;
  std::string expected;  // the whole error message
};

std::string parseError(const std::string& kind, const Json& object) {
  if (kind == "Organization") {
    auto parsed = Organization::fromJson(object);
    return parsed ? "" : parsed.error().message;
  }
  if (kind == "RepoBinding") {
    auto parsed = RepoBinding::fromJson(object);
    return parsed ? "" : parsed.error().message;
  }
  auto parsed = KnowledgeBase::fromJson(object);
  return parsed ? "" : parsed.error().message;
}

TEST(ApiParsing, AWrongTypeIsReportedWithItsFieldPath) {
  const std::vector<WrongTypeCase> cases = {
      {"admin user not a string", "Organization", "/spec/adminUsers/1", 7,
       "spec.adminUsers[1]: expected a string, got a number"},
      {"admin users not a list", "Organization", "/spec/adminUsers", "alice@example.com",
       "spec.adminUsers: expected an array, got a string"},
      {"spec not an object", "Organization", "/spec", Json::array(), "spec: expected an object, got an array"},
      {"exposure mode unknown", "Organization", "/spec/exposure/mode", "Tunnel",
       "spec.exposure.mode: expected one of CloudflareTunnel, Ingress or None, not \"Tunnel\""},
      {"generation not an integer", "Organization", "/metadata/generation", 1.5,
       "metadata.generation: expected an integer, got a number"},
      {"label value not a string", "Organization", "/metadata/labels/team", true,
       "metadata.labels[team]: expected a string, got a boolean"},
      {"repoBindings beyond int32", "Organization", "/status/repoBindings", 5000000000LL,
       "status.repoBindings: expected a 32-bit integer, got a number"},
      {"condition status unknown", "Organization", "/status/conditions/0/status", "Yes",
       "status.conditions[0].status: expected one of True, False or Unknown, not \"Yes\""},
      {"condition time malformed", "Organization", "/status/conditions/0/lastTransitionTime", "yesterday",
       "status.conditions[0].lastTransitionTime: expected an RFC 3339 time such as 2024-05-01T12:00:00Z, not "
       "\"yesterday\""},
      {"phase unknown", "Organization", "/status/phase", "Active",
       "status.phase: expected one of Pending, Provisioning, Ready, Failed or Terminating, not \"Active\""},
      {"wrong kind", "Organization", "/kind", "RepoBinding", "kind: expected Organization, not \"RepoBinding\""},
      {"wrong apiVersion", "RepoBinding", "/apiVersion", "aphex.io/v1",
       "apiVersion: expected aphex.io/v1alpha1, not \"aphex.io/v1\""},
      {"pipelineName not a string", "RepoBinding", "/spec/pipelineName", Json::object(),
       "spec.pipelineName: expected a string, got an object"},
      {"deletion policy unknown", "RepoBinding", "/spec/deletionPolicy", "Keep",
       "spec.deletionPolicy: expected one of Retain or Delete, not \"Keep\""},
      {"finalizer not a string", "RepoBinding", "/metadata/finalizers", Json::array({"a", 1}),
       "metadata.finalizers[1]: expected a string, got a number"},
      {"repository not an object", "KnowledgeBase", "/spec/repositories/1", "https://github.com/acme/web",
       "spec.repositories[1]: expected an object, got a string"},
      {"path not a string", "KnowledgeBase", "/spec/repositories/1/paths/0", Json::array(),
       "spec.repositories[1].paths[0]: expected a string, got an array"},
      {"branch not a string", "KnowledgeBase", "/spec/repositories/0/branch", 3,
       "spec.repositories[0].branch: expected a string, got a number"},
  };
  for (const WrongTypeCase& c : cases) {
    Json object = c.kind == "Organization" ? organizationJson()
                  : c.kind == "RepoBinding" ? repoBindingJson()
                                            : knowledgeBaseJson();
    object[Json::json_pointer(c.pointer)] = c.value;
    EXPECT_EQ(parseError(c.kind, object), c.expected) << c.name;
  }
}

TEST(ApiParsing, ADocumentThatIsNotAnObjectIsRefused) {
  auto parsed = Organization::fromJson(Json::array());
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "expected an object, got an array");
  EXPECT_EQ(parsed.error().kind, kube::ErrorKind::kDecode);
}

TEST(ApiParsing, NullFieldsCountAsAbsent) {
  Json object = repoBindingJson();
  object["spec"]["branch"] = nullptr;
  object["status"] = nullptr;
  auto parsed = RepoBinding::fromJson(object);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->spec.branch, "main");
}

// --- status JSON -----------------------------------------------------------------------------

TEST(ApiStatus, OrganizationStatusRoundTripsAndHoldsNoSecret) {
  auto parsed = Organization::fromJson(organizationJson());
  ASSERT_TRUE(parsed) << parsed.error().message;
  const Json status = toJson(parsed->status);
  EXPECT_EQ(status, organizationJson()["status"]);
  EXPECT_FALSE(status.dump().find("webhookSecret\"") != std::string::npos);
}

TEST(ApiStatus, EmptyFieldsAreLeftOut) {
  RepoBindingStatus status;
  status.observed_generation = 5;
  status.phase = Phase::kPending;
  EXPECT_EQ(toJson(status), Json::parse(R"({"observedGeneration": 5, "phase": "Pending"})"));

  KnowledgeBaseStatus kb;
  kb.phase = Phase::kFailed;
  kb.message = "spec.repositories[0].url: not a GitHub URL";
  kb.last_reconcile_time = parseTime("2024-05-01T12:00:00Z");
  EXPECT_EQ(toJson(kb), Json::parse(R"({"observedGeneration": 0, "phase": "Failed",
      "message": "spec.repositories[0].url: not a GitHub URL", "lastReconcileTime": "2024-05-01T12:00:00Z"})"));
}

TEST(ApiStatus, RepoBindingStatusRoundTrips) {
  RepoBindingStatus status;
  status.observed_generation = 2;
  status.phase = Phase::kReady;
  status.pipeline_namespace = "app1";
  status.webhook_url = "https://acme.example.com";
  status.webhook_secret_ref = SecretKeyRef{.ns = "org-acme", .name = "github-webhook-secret", .key = "secret"};
  status.github_webhook_settings_url = "https://github.com/acme/app1/settings/hooks";
  setCondition(status.conditions,
               {.type = "Ready", .status = ConditionStatus::kTrue, .reason = "Provisioned", .message = "",
                .last_transition_time = {}, .observed_generation = 2},
               std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 19000));
  Json object = repoBindingJson();
  object["status"] = toJson(status);
  auto parsed = RepoBinding::fromJson(object);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(toJson(parsed->status), object["status"]);
  EXPECT_EQ(parsed->status.conditions, status.conditions);
}

// --- conditions ------------------------------------------------------------------------------

class ApiCondition : public ::testing::Test {
 protected:
  static Condition ready(ConditionStatus status, std::string reason, std::string message) {
    return {.type = "Ready", .status = status, .reason = std::move(reason), .message = std::move(message),
            .last_transition_time = {}, .observed_generation = 1};
  }
  const std::chrono::system_clock::time_point t0_ =
      std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 19800) + std::chrono::milliseconds(1500);
  const std::chrono::system_clock::time_point t1_ = t0_ + std::chrono::minutes(5);
  std::vector<Condition> conditions_;
};

TEST_F(ApiCondition, ANewConditionTransitionsNow) {
  EXPECT_TRUE(setCondition(conditions_, ready(ConditionStatus::kFalse, "Provisioning", "creating"), t0_));
  ASSERT_EQ(conditions_.size(), 1U);
  EXPECT_EQ(conditions_[0].last_transition_time, std::chrono::floor<std::chrono::seconds>(t0_));
  EXPECT_EQ(findCondition(conditions_, "Ready"), &conditions_[0]);
  EXPECT_EQ(findCondition(conditions_, "NamespaceReady"), nullptr);
  EXPECT_FALSE(isConditionTrue(conditions_, "Ready"));
}

TEST_F(ApiCondition, TheSameStatusKeepsTheTransitionTimeButTakesTheNewMessage) {
  setCondition(conditions_, ready(ConditionStatus::kFalse, "Provisioning", "creating"), t0_);
  EXPECT_TRUE(setCondition(conditions_, ready(ConditionStatus::kFalse, "WaitingForOrganization", "no org"), t1_));
  ASSERT_EQ(conditions_.size(), 1U);
  EXPECT_EQ(conditions_[0].reason, "WaitingForOrganization");
  EXPECT_EQ(conditions_[0].message, "no org");
  EXPECT_EQ(conditions_[0].last_transition_time, std::chrono::floor<std::chrono::seconds>(t0_));
}

TEST_F(ApiCondition, AnUnchangedConditionIsNoChange) {
  setCondition(conditions_, ready(ConditionStatus::kTrue, "Provisioned", "ok"), t0_);
  const auto before = conditions_;
  EXPECT_FALSE(setCondition(conditions_, ready(ConditionStatus::kTrue, "Provisioned", "ok"), t1_));
  EXPECT_EQ(conditions_, before);
}

TEST_F(ApiCondition, AStatusChangeMovesTheTransitionTime) {
  setCondition(conditions_, ready(ConditionStatus::kFalse, "Provisioning", "creating"), t0_);
  EXPECT_TRUE(setCondition(conditions_, ready(ConditionStatus::kTrue, "Provisioned", "ok"), t1_));
  EXPECT_EQ(conditions_[0].last_transition_time, std::chrono::floor<std::chrono::seconds>(t1_));
  EXPECT_TRUE(isConditionTrue(conditions_, "Ready"));
}

TEST_F(ApiCondition, ObservedGenerationAloneIsAChange) {
  setCondition(conditions_, ready(ConditionStatus::kTrue, "Provisioned", "ok"), t0_);
  Condition newer = ready(ConditionStatus::kTrue, "Provisioned", "ok");
  newer.observed_generation = 2;
  EXPECT_TRUE(setCondition(conditions_, newer, t1_));
  EXPECT_EQ(conditions_[0].observed_generation, 2);
  EXPECT_EQ(conditions_[0].last_transition_time, std::chrono::floor<std::chrono::seconds>(t0_));
}

TEST_F(ApiCondition, OneEntryPerTypeAndRemoval) {
  setCondition(conditions_, ready(ConditionStatus::kTrue, "Provisioned", "ok"), t0_);
  Condition ns = ready(ConditionStatus::kTrue, "Created", "");
  ns.type = "NamespaceReady";
  setCondition(conditions_, ns, t0_);
  setCondition(conditions_, ns, t1_);
  EXPECT_EQ(conditions_.size(), 2U);
  EXPECT_TRUE(removeCondition(conditions_, "NamespaceReady"));
  EXPECT_FALSE(removeCondition(conditions_, "NamespaceReady"));
  EXPECT_EQ(conditions_.size(), 1U);
}

TEST_F(ApiCondition, SerialisesAsMetav1Condition) {
  setCondition(conditions_, ready(ConditionStatus::kUnknown, "Starting", "looking"), t0_);
  EXPECT_EQ(toJson(conditions_[0]), Json::parse(R"({"type": "Ready", "status": "Unknown", "reason": "Starting",
      "message": "looking", "lastTransitionTime": ")" + formatTime(std::chrono::floor<std::chrono::seconds>(t0_)) +
                                                  R"(", "observedGeneration": 1})"));
}

// --- time ------------------------------------------------------------------------------------

TEST(ApiTime, FormatsAndParsesRfc3339) {
  const auto time = parseTime("2024-02-29T23:59:58Z");
  ASSERT_TRUE(time);
  EXPECT_EQ(formatTime(*time), "2024-02-29T23:59:58Z");
  EXPECT_EQ(parseTime("2024-02-29T23:59:58.123456Z"), time);
  EXPECT_EQ(parseTime("2024-03-01T01:59:58+02:00"), time);
  EXPECT_EQ(parseTime("2024-02-29T20:59:58-03:00"), time);
  EXPECT_EQ(formatTime(Time{}), "1970-01-01T00:00:00Z");
  for (const char* bad : {"", "2024-02-30T00:00:00Z", "2024-02-29 23:59:58Z", "2024-02-29T23:59:58",
                          "2024-02-29T24:00:00Z", "2024-02-29T23:59:58.Z", "2024-02-29T23:59:58+0200",
                          "2024-02-29T23:59:58Zjunk"}) {
    EXPECT_FALSE(parseTime(bad)) << bad;
  }
}

// --- validation ------------------------------------------------------------------------------

TEST(ApiValidation, BranchNamesFollowGitCheckRefFormat) {
  for (const char* good : {"main", "release/v2", "feature/JIRA-12_x", "v1.2.3", "a.b/c-d", "user@host", "ä-branch",
                           "x.locked", "HEADS"}) {
    EXPECT_EQ(branchNameProblem(good), std::nullopt) << good;
  }
  struct Bad {
    std::string branch;
    std::string problem;
  };
  const std::vector<Bad> bad = {
      {"", "must not be empty"},
      {"a..b", "must not contain '..'"},
      {"a@{1}", "must not contain '@{' nor be '@'"},
      {"@", "must not contain '@{' nor be '@'"},
      {"main.lock", "no '/'-separated part may end with '.lock'"},
      {"feature.lock/x", "no '/'-separated part may end with '.lock'"},
      {".hidden", "no '/'-separated part may start with '.'"},
      {"feature/.hidden", "no '/'-separated part may start with '.'"},
      {"/main", "must not start or end with '/' nor contain '//'"},
      {"main/", "must not start or end with '/' nor contain '//'"},
      {"a//b", "must not start or end with '/' nor contain '//'"},
      {"main.", "must not end with '.'"},
      {"with space", "must not contain spaces or control characters"},
      {std::string("tab\there"), "must not contain spaces or control characters"},
      {std::string("nul\x01"), "must not contain spaces or control characters"},
      {std::string("del\x7f"), "must not contain spaces or control characters"},
      {"a~1", "must not contain any of ~ ^ : ? * [ \\"},
      {"a^1", "must not contain any of ~ ^ : ? * [ \\"},
      {"a:b", "must not contain any of ~ ^ : ? * [ \\"},
      {"what?", "must not contain any of ~ ^ : ? * [ \\"},
      {"glob*", "must not contain any of ~ ^ : ? * [ \\"},
      {"a[1]", "must not contain any of ~ ^ : ? * [ \\"},
      {"back\\slash", "must not contain any of ~ ^ : ? * [ \\"},
      {"it's", "must not contain quotes"},
      {"say\"hi\"", "must not contain quotes"},
      {"-rf", "must not start with '-' nor be HEAD"},
      {"HEAD", "must not start with '-' nor be HEAD"},
      {"refs/heads/main", "is a short branch name such as main, without refs/heads/"},
      {std::string(256, 'a'), "must be at most 255 characters"},
  };
  for (const Bad& b : bad) EXPECT_EQ(branchNameProblem(b.branch), b.problem) << b.branch;
}

TEST(ApiValidation, GitHubUrls) {
  EXPECT_EQ(parseGitHubUrl("https://github.com/acme/web"), (GitHubRepository{.owner = "acme", .name = "web"}));
  EXPECT_EQ(parseGitHubUrl("https://github.com/acme/web.git"), (GitHubRepository{.owner = "acme", .name = "web"}));
  EXPECT_EQ(parseGitHubUrl("https://github.com/Acme-Corp/.github"),
            (GitHubRepository{.owner = "Acme-Corp", .name = ".github"}));
  for (const char* bad : {"http://github.com/acme/web", "https://gitlab.com/acme/web", "https://github.com/acme",
                          "https://github.com/acme/web/", "https://github.com/acme/web/tree/main",
                          "https://github.com/-acme/web", "https://github.com/acme/..",
                          "https://github.com/acme/.git", "https://user@github.com/acme/web",
                          "https://github.com/acme/web?x=1", "github.com/acme/web", "https://github.com//web"}) {
    EXPECT_FALSE(parseGitHubUrl(bad)) << bad;
  }
}

TEST(ApiValidation, DocsPathsAreNormalisedUnderKiroDocs) {
  EXPECT_EQ(normalizeDocsPath(".kiro/docs").normalized, ".kiro/docs");
  EXPECT_EQ(normalizeDocsPath(".kiro/docs/").normalized, ".kiro/docs");
  EXPECT_EQ(normalizeDocsPath("./.kiro//docs/./runbooks/").normalized, ".kiro/docs/runbooks");
  EXPECT_EQ(normalizeDocsPath(".kiro/docs/*.md").normalized, ".kiro/docs/*.md");
  EXPECT_THAT(normalizeDocsPath(".kiro/docs/../secrets").problem, HasSubstr("'..'"));
  EXPECT_THAT(normalizeDocsPath(".kiro/docs/a..b").problem, HasSubstr("'..'"));
  EXPECT_THAT(normalizeDocsPath(".kiro/docsx").problem, HasSubstr("under"));
  EXPECT_THAT(normalizeDocsPath("docs").problem, HasSubstr("under"));
  EXPECT_THAT(normalizeDocsPath("/.kiro/docs").problem, HasSubstr("under"));
  EXPECT_THAT(normalizeDocsPath(".kiro/docs\\x").problem, HasSubstr("backslash"));
  EXPECT_THAT(normalizeDocsPath(std::string(".kiro/docs/\n")).problem, HasSubstr("control"));
}

TEST(ApiValidation, NamesAndAddresses) {
  EXPECT_TRUE(isDnsLabel("acme-1"));
  EXPECT_FALSE(isDnsLabel("Acme"));
  EXPECT_FALSE(isDnsLabel("-acme"));
  EXPECT_FALSE(isDnsLabel("a.b"));
  EXPECT_FALSE(isDnsLabel(std::string(64, 'a')));
  EXPECT_FALSE(isDnsLabel(std::string(41, 'a'), 40));
  EXPECT_TRUE(isEmailAddress("alice.smith+ci@mail.example.com"));
  EXPECT_FALSE(isEmailAddress("alice"));
  EXPECT_FALSE(isEmailAddress("alice@localhost"));
  EXPECT_FALSE(isEmailAddress("alice@@example.com"));
  EXPECT_FALSE(isEmailAddress("al ice@example.com"));
  EXPECT_FALSE(isEmailAddress("alice@-example.com"));
  EXPECT_TRUE(isGitHubOwner("acme-corp"));
  EXPECT_FALSE(isGitHubOwner("acme_corp"));
  EXPECT_FALSE(isGitHubOwner(std::string(40, 'a')));
  EXPECT_TRUE(isGitHubRepositoryName("web.app_v2-x"));
  EXPECT_FALSE(isGitHubRepositoryName(".."));
  EXPECT_EQ(characterCount("héllo"), 5U);
  for (const char* reserved : {"kube-system", "kube-anything", "default", "argocd", "platform-system",
                               "tekton-pipelines", "tekton-pipelines-resolvers", "pipeline-catalog", "ingress-nginx", "auth-system", "cert-manager",
                               "external-secrets", "org-acme"}) {
    EXPECT_TRUE(isReservedNamespace(reserved)) << reserved;
  }
  EXPECT_FALSE(isReservedNamespace("app1"));
  EXPECT_FALSE(isReservedNamespace("argocd-app"));
  EXPECT_TRUE(isReservedNamespace("aphex-system", "aphex-system"));
}

struct InvalidCase {
  std::string name;
  std::string pointer;
  Json value;
  std::string path;     // the one FieldError expected
  std::string message;  // a part of its message
};

TEST(ApiValidation, OrganizationRules) {
  const std::vector<InvalidCase> cases = {
      {"long name", "/metadata/name", std::string(41, 'a'), "metadata.name", "at most 40"},
      {"dotted name", "/metadata/name", "acme.corp", "metadata.name", "DNS label"},
      {"blank display name", "/spec/displayName", "  ", "spec.displayName", "blank"},
      {"long display name", "/spec/displayName", std::string(257, 'x'), "spec.displayName", "256"},
      {"not an e-mail", "/spec/adminUsers/1", "bob", "spec.adminUsers[1]", "not an e-mail address"},
      {"same address, other case", "/spec/adminUsers/1", "ALICE@example.com", "spec.adminUsers[1]", "listed twice"},
      {"system group", "/spec/adminGroups/0", "system:masters", "spec.adminGroups[0]", "system group"},
      {"group with newline", "/spec/adminGroups/0", "admins\n", "spec.adminGroups[0]", "control characters"},
      {"empty group", "/spec/adminGroups/0", "", "spec.adminGroups[0]", "1 to 256"},
  };
  for (const InvalidCase& c : cases) {
    Json object = organizationJson();
    object[Json::json_pointer(c.pointer)] = c.value;
    auto parsed = Organization::fromJson(object);
    ASSERT_TRUE(parsed) << c.name << ": " << parsed.error().message;
    const auto errors = validate(*parsed);
    ASSERT_THAT(paths(errors), ElementsAre(c.path)) << c.name << ": " << describe(errors);
    EXPECT_THAT(errors[0].message, HasSubstr(c.message)) << c.name;
  }
}

TEST(ApiValidation, RepoBindingRules) {
  const std::vector<InvalidCase> cases = {
      {"org too long", "/spec/aphexOrg", std::string(41, 'a'), "spec.aphexOrg", "at most 40"},
      {"owner with underscore", "/spec/repoOrg", "acme_corp", "spec.repoOrg", "GitHub user"},
      {"repo dot-dot", "/spec/repoName", "..", "spec.repoName", "repository name"},
      {"repo with .git", "/spec/repoName", "app1.git", "spec.repoName", ".git"},
      {"pipeline uppercase", "/spec/pipelineName", "App1", "spec.pipelineName", "DNS label"},
      {"pipeline kube-system", "/spec/pipelineName", "kube-system", "spec.pipelineName", "reserved"},
      {"pipeline org-", "/spec/pipelineName", "org-acme", "spec.pipelineName", "reserved"},
      {"pipeline argocd", "/spec/pipelineName", "argocd", "spec.pipelineName", "reserved"},
      {"unknown contract", "/spec/templateRef", "run-pipeline-v2", "spec.templateRef", "use run-pipeline-v1"},
      {"pipelineSpec without the contract's params", "/spec/pipelineSpec",
       "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  params: [{name: git-url}]\n", "spec.pipelineSpec",
       "missing: git-revision, repo-full-name, event-type, event-id"},
      {"pipelineSpec params not a list", "/spec/pipelineSpec",
       "apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  params: {git-url: x}\n", "spec.pipelineSpec",
       "params must be a list"},
      {"branch with ..", "/spec/branch", "a..b", "spec.branch", "'..'"},
      {"branch ending .lock", "/spec/branch", "main.lock", "spec.branch", ".lock"},
      {"blank pipelineSpec", "/spec/pipelineSpec", " \n", "spec.pipelineSpec", "empty"},
      {"pipelineSpec not YAML", "/spec/pipelineSpec", "kind: [Pipeline", "spec.pipelineSpec", "not valid YAML"},
      {"pipelineSpec v1beta1", "/spec/pipelineSpec", "apiVersion: tekton.dev/v1beta1\nkind: Pipeline\nspec: {}\n",
       "spec.pipelineSpec", "tekton.dev/v1"},
      {"pipelineSpec a Task", "/spec/pipelineSpec", "apiVersion: tekton.dev/v1\nkind: Task\nspec: {}\n",
       "spec.pipelineSpec", "must be Pipeline"},
      {"pipelineSpec no spec", "/spec/pipelineSpec", "apiVersion: tekton.dev/v1\nkind: Pipeline\n",
       "spec.pipelineSpec", "spec must be an object"},
      {"pipelineSpec a list", "/spec/pipelineSpec", "- a\n- b\n", "spec.pipelineSpec", "Pipeline object"},
  };
  for (const InvalidCase& c : cases) {
    Json object = repoBindingJson();
    object[Json::json_pointer(c.pointer)] = c.value;
    auto parsed = RepoBinding::fromJson(object);
    ASSERT_TRUE(parsed) << c.name << ": " << parsed.error().message;
    const auto errors = validate(*parsed);
    ASSERT_THAT(paths(errors), ElementsAre(c.path)) << c.name << ": " << describe(errors);
    EXPECT_THAT(errors[0].message, HasSubstr(c.message)) << c.name;
  }
}

TEST(ApiValidation, PipelineSpecInJsonIsAccepted) {
  auto pipeline = parsePipelineSpec(R"({"apiVersion": "tekton.dev/v1", "kind": "Pipeline",
      "metadata": {"name": "app1"}, "spec": {"tasks": [{"name": "t", "taskRef": {"name": "x"}}],
      "params": [{"name": "git-url"}, {"name": "git-revision"}, {"name": "repo-full-name"},
                 {"name": "event-type"}, {"name": "event-id"}, {"name": "extra", "default": "x"}]}})");
  ASSERT_TRUE(pipeline) << pipeline.error().message;
  EXPECT_EQ((*pipeline)["spec"]["tasks"][0]["name"], "t");
}

TEST(ApiValidation, PipelineSpecProblemsListsEveryProblemWhereParsingStopsAtTheFirst) {
  const std::string text = "apiVersion: tekton.dev/v1beta1\nkind: Task\nspec:\n  params: [{name: git-url}]\n";
  const auto problems = pipelineSpecProblems(text);
  EXPECT_THAT(paths(problems),
              ElementsAre("pipelineSpec.apiVersion", "pipelineSpec.kind", "pipelineSpec.spec.params"));
  EXPECT_THAT(problems[2].message, HasSubstr("missing: git-revision, repo-full-name, event-type, event-id"));
  auto parsed = parsePipelineSpec(text);
  ASSERT_FALSE(parsed);
  // The controller's message is the first problem, worded as before.
  EXPECT_EQ(parsed.error().message, "pipelineSpec.apiVersion must be tekton.dev/v1, not \"tekton.dev/v1beta1\"");
  EXPECT_THAT(pipelineSpecProblems("apiVersion: tekton.dev/v1\nkind: Pipeline\nspec:\n  params: [{name: git-url}, "
                                   "{name: git-revision}, {name: repo-full-name}, {name: event-type}, "
                                   "{name: event-id}]\n"),
              IsEmpty());
}

TEST(ApiValidation, RepoBindingPlacement) {
  auto binding = RepoBinding::fromJson(repoBindingJson());
  ASSERT_TRUE(binding);
  EXPECT_EQ(placementProblem(*binding, "platform-system"), std::nullopt);
  binding->metadata.ns = "org-acme";
  EXPECT_EQ(placementProblem(*binding, "platform-system"), std::nullopt);
  binding->metadata.ns = "org-globex";
  const auto problem = placementProblem(*binding, "platform-system");
  ASSERT_TRUE(problem);
  EXPECT_EQ(problem->path, "metadata.namespace");
  EXPECT_THAT(problem->message, HasSubstr("platform-system or org-acme, not in \"org-globex\""));
}

TEST(ApiValidation, KnowledgeBaseRules) {
  const std::vector<InvalidCase> cases = {
      {"not GitHub", "/spec/repositories/0/url", "https://gitlab.com/acme/platform", "spec.repositories[0].url",
       "https://github.com/"},
      {"trailing slash", "/spec/repositories/0/url", "https://github.com/acme/platform/", "spec.repositories[0].url",
       "https://github.com/"},
      {"bad branch", "/spec/repositories/1/branch", "release/", "spec.repositories[1].branch", "'/'"},
      {"dot-dot path", "/spec/repositories/1/paths/0", ".kiro/docs/../../etc", "spec.repositories[1].paths[0]", "'..'"},
      {"path outside", "/spec/repositories/1/paths/0", "docs", "spec.repositories[1].paths[0]", "under it"},
      {"same path twice", "/spec/repositories/1/paths/1", ".kiro/docs/runbooks/", "spec.repositories[1].paths[1]",
       "repeats .kiro/docs/runbooks"},
      {"no paths", "/spec/repositories/1/paths", Json::array(), "spec.repositories[1].paths", "at least one"},
      {"duplicate repository", "/spec/repositories/1",
       Json::parse(R"({"url": "https://github.com/ACME/Platform.git", "branch": "main"})"), "spec.repositories[1]",
       "repeats"},
      {"no repositories", "/spec/repositories", Json::array(), "spec.repositories", "at least one"},
      {"blank display name", "/spec/displayName", "", "spec.displayName", "required"},
      {"long description", "/spec/description", std::string(4097, 'd'), "spec.description", "4096"},
  };
  for (const InvalidCase& c : cases) {
    Json object = knowledgeBaseJson();
    object[Json::json_pointer(c.pointer)] = c.value;
    auto parsed = KnowledgeBase::fromJson(object);
    ASSERT_TRUE(parsed) << c.name << ": " << parsed.error().message;
    const auto errors = validate(*parsed);
    ASSERT_THAT(paths(errors), ElementsAre(c.path)) << c.name << ": " << describe(errors);
    EXPECT_THAT(errors[0].message, HasSubstr(c.message)) << c.name;
  }
}

TEST(ApiValidation, TheSameRepositoryOnTwoBranchesIsFine) {
  Json object = knowledgeBaseJson();
  object["spec"]["repositories"].push_back({{"url", "https://github.com/acme/platform"}, {"branch", "docs"}});
  auto parsed = KnowledgeBase::fromJson(object);
  ASSERT_TRUE(parsed);
  EXPECT_THAT(validate(*parsed), IsEmpty());
}

TEST(ApiValidation, DescribeJoinsErrors) {
  EXPECT_EQ(describe({{.path = "spec.a", .message = "x"}, {.path = "", .message = "y"}}), "spec.a: x; y");
}

// --- YAML ------------------------------------------------------------------------------------

TEST(ApiYaml, ScalarsFollowTheCoreSchema) {
  auto json = yamlToJson(R"(
int: 42
negative: -7
octal: 0o17
hex: 0x1F
float: 1.5
exp: 2e3
quoted: "42"
single: 'true'
yes: yes
on: on
bool: true
False: False
null1: null
null2: ~
empty:
text: hello world
block: |
  line 1
  line 2
tagged: !!str 12
list: [1, "two", {three: 3}]
)");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(*json, Json::parse(R"({"int": 42, "negative": -7, "octal": 15, "hex": 31, "float": 1.5, "exp": 2000.0,
      "quoted": "42", "single": "true", "yes": "yes", "on": "on", "bool": true, "False": false,
      "null1": null, "null2": null, "empty": null, "text": "hello world", "block": "line 1\nline 2\n",
      "tagged": "12", "list": [1, "two", {"three": 3}]})"));
}

TEST(ApiYaml, JsonIsYaml) {
  auto json = yamlToJson(R"({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}})");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(*json, Json::parse(R"({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}})"));
}

TEST(ApiYaml, RefusesWhatWouldBeAmbiguousOrDangerous) {
  auto syntax = yamlToJson("a: [1, 2\nb: 3\n");
  ASSERT_FALSE(syntax);
  EXPECT_THAT(syntax.error().message, HasSubstr("line "));

  auto two = yamlToJson("a: 1\n---\nb: 2\n");
  ASSERT_FALSE(two);
  EXPECT_THAT(two.error().message, HasSubstr("one YAML document"));

  auto repeated = yamlToJson("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(repeated);
  EXPECT_THAT(repeated.error().message, HasSubstr("\"a\""));

  auto complex_key = yamlToJson("? [a, b]\n: 1\n");
  ASSERT_FALSE(complex_key);
  EXPECT_THAT(complex_key.error().message, HasSubstr("not a scalar"));

  // Nine levels of ten aliases each name 10^9 values in a few hundred bytes.
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char level = 'b'; level <= 'j'; ++level) {
    const char previous = static_cast<char>(level - 1);
    bomb += std::string(1, level) + ": &" + level + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + previous;
    bomb += "]\n";
  }
  auto expanded = yamlToJson(bomb);
  ASSERT_FALSE(expanded);
  EXPECT_THAT(expanded.error().message, HasSubstr("aliases are not allowed"));

  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  auto nested = yamlToJson(deep);
  ASSERT_FALSE(nested);
  EXPECT_THAT(nested.error().message, HasSubstr("nests deeper"));
}

TEST(ApiYaml, AnEmptyDocumentIsNull) {
  auto json = yamlToJson("");
  ASSERT_TRUE(json);
  EXPECT_TRUE(json->is_null());
}

}  // namespace
}  // namespace aphex::api
