// The aphex.io CRDs (platform/crds) as the real API server enforces them: invalid objects are
// refused at admission with a 422 that names the field, immutable fields stay put, defaults are
// filled in, the status the C++ types write is accepted, and every example in docs/api.md is a
// valid object.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aphex/api/group.h"
#include "aphex/api/knowledge_base.h"
#include "aphex/api/organization.h"
#include "aphex/api/repo_binding.h"
#include "aphex/api/yaml.h"
#include "integration/support/cluster.h"

namespace {

using ::aphex::testing::adminConfig;
using ::aphex::testing::clientFor;
using ::aphex::testing::ScopedNamespace;
using ::testing::Contains;
using ::testing::HasSubstr;
using Json = kube::Json;
namespace api = ::aphex::api;

const kube::ResourceType kCrds{.group = "apiextensions.k8s.io", .version = "v1",
                               .plural = "customresourcedefinitions", .namespaced = false};
const kube::ResourceType kPipelines{.group = "tekton.dev", .version = "v1", .plural = "pipelines", .namespaced = true};

const char* const kPipelineSpec = R"(apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: app1
spec:
  tasks:
    - name: build
      taskSpec:
        steps:
          - name: build
            image: alpine:3.20
            script: echo build
)";

Json organization() {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "Organization"},
          {"metadata", {{"name", "acme"}}},
          {"spec",
           {{"displayName", "ACME"},
            {"adminUsers", {"alice@example.com", "bob@example.com"}},
            {"adminGroups", {"acme-admins"}},
            {"exposure", {{"mode", "Ingress"}}}}}};
}

Json repoBinding() {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "RepoBinding"},
          {"metadata", {{"name", "app1"}}},
          {"spec",
           {{"aphexOrg", "acme"},
            {"repoOrg", "acme"},
            {"repoName", "app1"},
            {"pipelineName", "app1"},
            {"pipelineSpec", kPipelineSpec}}}};
}

Json knowledgeBase() {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "KnowledgeBase"},
          {"metadata", {{"name", "docs"}}},
          {"spec",
           {{"displayName", "Docs"},
            {"repositories", Json::array({{{"url", "https://github.com/acme/platform"}},
                                          {{"url", "https://github.com/acme/web"}, {"branch", "release/v2"}}})}}}};
}

// `object` with the value at JSON pointer `pointer` replaced (or added).
Json with(Json object, const std::string& pointer, Json value) {
  object[Json::json_pointer(pointer)] = std::move(value);
  return object;
}

// `object` without the field at `pointer`.
Json without(Json object, const std::string& pointer) {
  const Json::json_pointer path(pointer);
  object[path.parent_pointer()].erase(path.back());
  return object;
}

const kube::ResourceType& resourceOf(const Json& object) {
  const std::string kind = object.value("kind", "");
  if (kind == "Organization") return api::kOrganizations;
  if (kind == "RepoBinding") return api::kRepoBindings;
  if (kind == "KnowledgeBase") return api::kKnowledgeBases;
  throw std::runtime_error("not an aphex.io kind: " + kind);
}

struct InvalidCase {
  std::string name;
  Json object;
  std::string field;  // the path the API server's message must name
};

std::vector<InvalidCase> invalidObjects() {
  const Json org = organization();
  const Json rb = repoBinding();
  const Json kb = knowledgeBase();
  std::vector<InvalidCase> cases = {
      // Organization
      {"org name over 40 characters", with(org, "/metadata/name", std::string(41, 'a')), "metadata.name"},
      {"org name with a dot", with(org, "/metadata/name", "acme.corp"), "metadata.name"},
      {"org without spec", without(org, "/spec"), "spec"},
      {"org without displayName", without(org, "/spec/displayName"), "spec.displayName"},
      {"org blank displayName", with(org, "/spec/displayName", "   "), "spec.displayName"},
      {"org displayName over 256", with(org, "/spec/displayName", std::string(257, 'x')), "spec.displayName"},
      {"org admin not an e-mail", with(org, "/spec/adminUsers/1", "bob"), "spec.adminUsers[1]"},
      {"org admin e-mail without domain dot", with(org, "/spec/adminUsers/0", "alice@localhost"), "spec.adminUsers[0]"},
      {"org duplicate admin", with(org, "/spec/adminUsers/1", "alice@example.com"), "spec.adminUsers[1]"},
      {"org admins not a list", with(org, "/spec/adminUsers", "alice@example.com"), "spec.adminUsers"},
      {"org system group", with(org, "/spec/adminGroups/0", "system:authenticated"), "spec.adminGroups[0]"},
      {"org group with newline", with(org, "/spec/adminGroups/0", "admins\nroot"), "spec.adminGroups[0]"},
      {"org unknown exposure mode", with(org, "/spec/exposure/mode", "Tunnel"), "spec.exposure.mode"},
      {"org too many admins", with(org, "/spec/adminUsers", [] {
         Json users = Json::array();
         for (int i = 0; i < 65; ++i) users.push_back("user" + std::to_string(i) + "@example.com");
         return users;
       }()), "spec.adminUsers"},
      // RepoBinding
      {"rb without aphexOrg", without(rb, "/spec/aphexOrg"), "spec.aphexOrg"},
      {"rb without pipelineSpec", without(rb, "/spec/pipelineSpec"), "spec.pipelineSpec"},
      {"rb aphexOrg uppercase", with(rb, "/spec/aphexOrg", "Acme"), "spec.aphexOrg"},
      {"rb aphexOrg over 40", with(rb, "/spec/aphexOrg", std::string(41, 'a')), "spec.aphexOrg"},
      {"rb repoOrg leading dash", with(rb, "/spec/repoOrg", "-acme"), "spec.repoOrg"},
      {"rb repoOrg over 39", with(rb, "/spec/repoOrg", std::string(40, 'a')), "spec.repoOrg"},
      {"rb repoName with slash", with(rb, "/spec/repoName", "app/one"), "spec.repoName"},
      {"rb repoName dot-dot", with(rb, "/spec/repoName", ".."), "spec.repoName"},
      {"rb repoName with .git", with(rb, "/spec/repoName", "app1.git"), "spec.repoName"},
      {"rb pipelineName uppercase", with(rb, "/spec/pipelineName", "App1"), "spec.pipelineName"},
      {"rb pipelineName over 63", with(rb, "/spec/pipelineName", std::string(64, 'a')), "spec.pipelineName"},
      {"rb pipelineName kube-system", with(rb, "/spec/pipelineName", "kube-system"), "spec.pipelineName"},
      {"rb pipelineName kube-public", with(rb, "/spec/pipelineName", "kube-public"), "spec.pipelineName"},
      {"rb pipelineName org- prefix", with(rb, "/spec/pipelineName", "org-acme"), "spec.pipelineName"},
      {"rb templateRef with underscore", with(rb, "/spec/templateRef", "run_pipeline"), "spec.templateRef"},
      {"rb pipelineSpec blank", with(rb, "/spec/pipelineSpec", " \n "), "spec.pipelineSpec"},
      {"rb pipelineSpec over 256 KiB", with(rb, "/spec/pipelineSpec", std::string(262145, '#')), "spec.pipelineSpec"},
      {"rb pipelineSpec an object", with(rb, "/spec/pipelineSpec", Json::parse(R"({"kind": "Pipeline"})")),
       "spec.pipelineSpec"},
      {"rb branch with ..", with(rb, "/spec/branch", "a..b"), "spec.branch"},
      {"rb branch ending .lock", with(rb, "/spec/branch", "main.lock"), "spec.branch"},
      {"rb branch part starting with dot", with(rb, "/spec/branch", "feature/.x"), "spec.branch"},
      {"rb branch with @{", with(rb, "/spec/branch", "main@{1}"), "spec.branch"},
      {"rb branch with space", with(rb, "/spec/branch", "my branch"), "spec.branch"},
      {"rb branch with colon", with(rb, "/spec/branch", "a:b"), "spec.branch"},
      {"rb branch with quote", with(rb, "/spec/branch", "it's"), "spec.branch"},
      {"rb branch with //", with(rb, "/spec/branch", "a//b"), "spec.branch"},
      {"rb branch trailing slash", with(rb, "/spec/branch", "main/"), "spec.branch"},
      {"rb branch ending with dot", with(rb, "/spec/branch", "main."), "spec.branch"},
      {"rb branch leading dash", with(rb, "/spec/branch", "-f"), "spec.branch"},
      {"rb branch HEAD", with(rb, "/spec/branch", "HEAD"), "spec.branch"},
      {"rb branch refs/heads", with(rb, "/spec/branch", "refs/heads/main"), "spec.branch"},
      {"rb branch a number", with(rb, "/spec/branch", 42), "spec.branch"},
      {"rb unknown deletionPolicy", with(rb, "/spec/deletionPolicy", "Keep"), "spec.deletionPolicy"},
      // KnowledgeBase
      {"kb name over 247", with(kb, "/metadata/name", std::string(248, 'k')), "metadata.name"},
      {"kb without displayName", without(kb, "/spec/displayName"), "spec.displayName"},
      {"kb without repositories", without(kb, "/spec/repositories"), "spec.repositories"},
      {"kb no repositories", with(kb, "/spec/repositories", Json::array()), "spec.repositories"},
      {"kb description over 4096", with(kb, "/spec/description", std::string(4097, 'd')), "spec.description"},
      {"kb repository without url", without(kb, "/spec/repositories/1/url"), "spec.repositories[1].url"},
      {"kb url not GitHub", with(kb, "/spec/repositories/0/url", "https://gitlab.com/acme/platform"),
       "spec.repositories[0].url"},
      {"kb url over http", with(kb, "/spec/repositories/0/url", "http://github.com/acme/platform"),
       "spec.repositories[0].url"},
      {"kb url with a tree path", with(kb, "/spec/repositories/0/url", "https://github.com/acme/platform/tree/main"),
       "spec.repositories[0].url"},
      {"kb url naming ..", with(kb, "/spec/repositories/0/url", "https://github.com/acme/.."),
       "spec.repositories[0].url"},
      {"kb duplicate repository", with(kb, "/spec/repositories/1", {{"url", "https://github.com/ACME/platform.git"}}),
       "spec.repositories"},
      {"kb branch with ..", with(kb, "/spec/repositories/1/branch", "release..v2"), "spec.repositories[1].branch"},
      {"kb path with ..", with(kb, "/spec/repositories/0/paths", {".kiro/docs/../../etc"}),
       "spec.repositories[0].paths[0]"},
      {"kb path outside .kiro/docs", with(kb, "/spec/repositories/0/paths", {".kiro/docsx"}),
       "spec.repositories[0].paths[0]"},
      {"kb absolute path", with(kb, "/spec/repositories/0/paths", {"/etc/passwd"}), "spec.repositories[0].paths[0]"},
      {"kb path with dot part", with(kb, "/spec/repositories/0/paths", {".kiro/docs/./a"}),
       "spec.repositories[0].paths[0]"},
      {"kb duplicate path", with(kb, "/spec/repositories/0/paths", {".kiro/docs", ".kiro/docs"}),
       "spec.repositories[0].paths[1]"},
      {"kb paths a string", with(kb, "/spec/repositories/0/paths", ".kiro/docs"), "spec.repositories[0].paths"},
  };
  // Every platform namespace, one case each: the CEL list must name them all.
  for (const char* reserved : {"default", "argocd", "platform-system", "tekton-pipelines", "tekton-pipelines-resolvers", "pipeline-catalog", "ingress-nginx",
                               "auth-system", "cert-manager", "external-secrets"}) {
    cases.push_back({std::string("rb pipelineName ") + reserved, with(rb, "/spec/pipelineName", reserved),
                     "spec.pipelineName"});
  }
  return cases;
}

class AphexCrds : public ::testing::Test {
 protected:
  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
};

TEST_F(AphexCrds, InvalidObjectsAreRefusedWithTheFieldNamed) {
  ScopedNamespace ns(*admin_, "it-aphex-invalid");
  const auto cases = invalidObjects();
  ASSERT_GE(cases.size(), 25U);
  int index = 0;
  for (const InvalidCase& c : cases) {
    Json object = c.object;
    // A fresh name per case unless the name is what the case is about, so that an object wrongly
    // accepted cannot make the next case fail for another reason.
    if (c.field != "metadata.name") object["metadata"]["name"] = "case-" + std::to_string(index);
    ++index;
    auto created = admin_->create(resourceOf(object), ns.name(), object);
    if (created) {
      ADD_FAILURE() << c.name << ": accepted, expected a 422 naming " << c.field;
      continue;
    }
    EXPECT_TRUE(created.error().isInvalid()) << c.name << ": " << created.error().message;
    EXPECT_THAT(created.error().message, HasSubstr(c.field + ": ")) << c.name;
  }
}

TEST_F(AphexCrds, TheValidObjectsTheCasesStartFromAreAccepted) {
  ScopedNamespace ns(*admin_, "it-aphex-valid");
  for (const Json& object : {organization(), repoBinding(), knowledgeBase()}) {
    auto created = admin_->create(resourceOf(object), ns.name(), object);
    EXPECT_TRUE(created) << object["kind"] << ": " << created.error().message;
  }
}

TEST_F(AphexCrds, DefaultsAreFilledInButExposureIsLeftToTheController) {
  ScopedNamespace ns(*admin_, "it-aphex-defaults");
  auto binding = admin_->create(api::kRepoBindings, ns.name(), repoBinding());
  ASSERT_TRUE(binding) << binding.error().message;
  EXPECT_EQ((*binding)["spec"]["templateRef"], "run-pipeline-v1");
  EXPECT_EQ((*binding)["spec"]["branch"], "main");
  EXPECT_EQ((*binding)["spec"]["deletionPolicy"], "Retain");

  auto knowledge_base = admin_->create(api::kKnowledgeBases, ns.name(), knowledgeBase());
  ASSERT_TRUE(knowledge_base) << knowledge_base.error().message;
  EXPECT_EQ((*knowledge_base)["spec"]["repositories"][0]["branch"], "main");
  EXPECT_EQ((*knowledge_base)["spec"]["repositories"][0]["paths"], Json::array({".kiro/docs"}));

  auto org = admin_->create(api::kOrganizations, ns.name(), without(organization(), "/spec/exposure"));
  ASSERT_TRUE(org) << org.error().message;
  EXPECT_FALSE((*org)["spec"].contains("exposure"));
}

TEST_F(AphexCrds, AWebhookSecretInTheSpecIsNeverStored) {
  // The original kept the secret in spec; this API has no such field, and the API server prunes it.
  ScopedNamespace ns(*admin_, "it-aphex-prune");
  auto org = admin_->create(api::kOrganizations, ns.name(),
                            with(organization(), "/spec/webhookSecret", "0123456789abcdef0123"));
  ASSERT_TRUE(org) << org.error().message;
  EXPECT_FALSE((*org)["spec"].contains("webhookSecret"));
}

TEST_F(AphexCrds, ImmutableFieldsCannotChange) {
  ScopedNamespace ns(*admin_, "it-aphex-immutable");
  auto created = admin_->create(api::kRepoBindings, ns.name(), repoBinding());
  ASSERT_TRUE(created) << created.error().message;

  const std::vector<InvalidCase> updates = {
      {"aphexOrg changed", with(*created, "/spec/aphexOrg", "globex"), "spec.aphexOrg"},
      {"pipelineName changed", with(*created, "/spec/pipelineName", "app2"), "spec.pipelineName"},
  };
  for (const InvalidCase& c : updates) {
    auto updated = admin_->update(api::kRepoBindings, ns.name(), c.object);
    ASSERT_FALSE(updated) << c.name << ": accepted";
    EXPECT_TRUE(updated.error().isInvalid()) << c.name << ": " << updated.error().message;
    EXPECT_THAT(updated.error().message, HasSubstr(c.field + ": ")) << c.name;
    EXPECT_THAT(updated.error().message, HasSubstr("immutable")) << c.name;
  }
  auto patched = admin_->mergePatch(api::kRepoBindings, ns.name(), "app1",
                                    {{"spec", {{"aphexOrg", "globex"}}}});
  ASSERT_FALSE(patched);
  EXPECT_THAT(patched.error().message, HasSubstr("spec.aphexOrg: "));

  // Everything else may change.
  auto branch = admin_->mergePatch(api::kRepoBindings, ns.name(), "app1",
                                   {{"spec", {{"branch", "release/v2"}, {"deletionPolicy", "Delete"}}}});
  ASSERT_TRUE(branch) << branch.error().message;
  EXPECT_EQ((*branch)["spec"]["branch"], "release/v2");
}

TEST_F(AphexCrds, TheStatusTheTypesWriteIsAcceptedAndReadBack) {
  ScopedNamespace ns(*admin_, "it-aphex-status");
  auto created = admin_->create(api::kOrganizations, ns.name(), organization());
  ASSERT_TRUE(created) << created.error().message;
  auto org = api::Organization::fromJson(*created);
  ASSERT_TRUE(org) << org.error().message;

  api::OrganizationStatus status;
  status.observed_generation = org->metadata.generation;
  status.phase = api::Phase::kReady;
  status.ns = api::organizationNamespace("acme");
  status.webhook_url = "https://acme.example.com";
  status.webhook_secret_ref = api::SecretKeyRef{.ns = "org-acme", .name = "github-webhook-secret", .key = "secret"};
  status.repo_bindings = 2;
  const auto now = std::chrono::system_clock::now();
  for (std::string_view type : {api::organization_condition::kNamespaceReady, api::organization_condition::kReady}) {
    api::setCondition(status.conditions,
                      {.type = std::string(type), .status = api::ConditionStatus::kTrue, .reason = "Provisioned",
                       .message = "", .last_transition_time = {}, .observed_generation = status.observed_generation},
                      now);
  }
  auto written = admin_->mergePatch(api::kOrganizations, ns.name(), "acme", {{"status", api::toJson(status)}},
                                    {.field_manager = "aphex-test", .subresource = kube::Subresource::kStatus});
  ASSERT_TRUE(written) << written.error().message;
  auto read = api::Organization::fromJson(*written);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(api::toJson(read->status), api::toJson(status));
}

TEST_F(AphexCrds, AStatusOutsideTheSchemaIsRefused) {
  ScopedNamespace ns(*admin_, "it-aphex-bad-status");
  auto created = admin_->create(api::kRepoBindings, ns.name(), repoBinding());
  ASSERT_TRUE(created) << created.error().message;
  const Json condition = {{"type", "Ready"}, {"status", "True"}, {"reason", "Provisioned"}, {"message", ""},
                          {"lastTransitionTime", "2024-05-01T12:00:00Z"}};
  const std::vector<InvalidCase> cases = {
      // The original controller wrote phase "Active", outside its own enum, and looped forever.
      {"phase outside the enum", {{"status", {{"phase", "Active"}}}}, "status.phase"},
      {"condition without reason", {{"status", {{"conditions", {without(condition, "/reason")}}}}},
       "status.conditions[0].reason"},
      {"condition status not True/False/Unknown", {{"status", {{"conditions", {with(condition, "/status", "Yes")}}}}},
       "status.conditions[0].status"},
      {"two conditions of one type", {{"status", {{"conditions", {condition, condition}}}}}, "status.conditions[1]"},
      {"negative observedGeneration", {{"status", {{"observedGeneration", -1}}}}, "status.observedGeneration"},
  };
  for (const InvalidCase& c : cases) {
    auto patched = admin_->mergePatch(api::kRepoBindings, ns.name(), "app1", c.object,
                                      {.field_manager = "aphex-test", .subresource = kube::Subresource::kStatus});
    ASSERT_FALSE(patched) << c.name << ": accepted";
    EXPECT_TRUE(patched.error().isInvalid()) << c.name << ": " << patched.error().message;
    EXPECT_THAT(patched.error().message, HasSubstr(c.field + ": ")) << c.name;
  }
}

// --- docs/api.md -----------------------------------------------------------------------------

// The text of every ```yaml block in a Markdown document.
std::vector<std::string> yamlBlocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::istringstream lines(markdown);
  std::string line;
  std::string* block = nullptr;
  while (std::getline(lines, line)) {
    if (block == nullptr && line == "```yaml") {
      block = &blocks.emplace_back();
    } else if (block != nullptr && line == "```") {
      block = nullptr;
    } else if (block != nullptr) {
      *block += line + "\n";
    }
  }
  return blocks;
}

std::string readFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The C++ types accept the object and find nothing to complain about.
std::string domainProblems(const Json& object) {
  const std::string kind = object.value("kind", "");
  if (kind == "Organization") {
    auto parsed = api::Organization::fromJson(object);
    return parsed ? api::describe(api::validate(*parsed)) : parsed.error().message;
  }
  if (kind == "RepoBinding") {
    auto parsed = api::RepoBinding::fromJson(object);
    return parsed ? api::describe(api::validate(*parsed)) : parsed.error().message;
  }
  auto parsed = api::KnowledgeBase::fromJson(object);
  return parsed ? api::describe(api::validate(*parsed)) : parsed.error().message;
}

TEST_F(AphexCrds, EveryExampleInTheApiReferenceIsAValidObject) {
  const auto blocks = yamlBlocks(readFile(std::string(APHEX_SOURCE_DIR) + "/docs/api.md"));
  ASSERT_GE(blocks.size(), 6U);
  ScopedNamespace ns(*admin_, "it-aphex-docs");
  std::set<std::string> kinds;
  std::set<std::string> exposure_modes;
  std::set<std::string> binding_namespaces;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    SCOPED_TRACE("docs/api.md yaml example " + std::to_string(i + 1) + ":\n" + blocks[i]);
    auto parsed = api::yamlToJson(blocks[i]);
    ASSERT_TRUE(parsed) << parsed.error().message;
    Json object = *parsed;
    const std::string kind = object.value("kind", "");
    kinds.insert(kind);
    EXPECT_EQ(domainProblems(object), "");
    if (kind == "Organization") {
      exposure_modes.insert(object["spec"].contains("exposure") ? object["spec"]["exposure"]["mode"].get<std::string>()
                                                                : "(default)");
    }
    if (kind == "RepoBinding") {
      binding_namespaces.insert(object["metadata"]["namespace"].get<std::string>());
      // The pipelineSpec is a Pipeline Tekton's own schema accepts.
      auto pipeline = api::parsePipelineSpec(object["spec"]["pipelineSpec"].get<std::string>());
      ASSERT_TRUE(pipeline) << pipeline.error().message;
      (*pipeline)["metadata"]["name"] = object["spec"]["pipelineName"];
      auto stored = admin_->create(kPipelines, ns.name(), *pipeline);
      EXPECT_TRUE(stored) << stored.error().message;
    }
    // Examples name their real namespaces (platform-system, org-acme); the test's own stands in.
    object["metadata"]["namespace"] = ns.name();
    auto created = admin_->create(resourceOf(object), ns.name(), object);
    EXPECT_TRUE(created) << created.error().message;
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"Organization", "RepoBinding", "KnowledgeBase"}));
  EXPECT_THAT(exposure_modes, Contains("CloudflareTunnel"));
  EXPECT_THAT(exposure_modes, Contains("Ingress"));
  EXPECT_THAT(exposure_modes, Contains("None"));
  EXPECT_THAT(binding_namespaces, Contains("platform-system"));
  EXPECT_THAT(binding_namespaces, Contains("org-acme"));
}

// --- the definitions themselves --------------------------------------------------------------

struct Column {
  std::string name;
  std::string json_path;
};

// Each property of the schema, recursively, with a description (kubectl explain shows it).
// metadata is the exception: the API server describes it and refuses anything but name rules.
void expectDescriptions(const Json& schema, const std::string& path) {
  if (!schema.contains("properties")) {
    if (schema.contains("items")) expectDescriptions(schema["items"], path + "[]");
    return;
  }
  for (const auto& [name, property] : schema["properties"].items()) {
    if (path.empty() && name == "metadata") continue;
    EXPECT_FALSE(property.value("description", "").empty()) << path + "." + name << " has no description";
    expectDescriptions(property, path + "." + name);
  }
}

TEST_F(AphexCrds, DefinitionsDeclarePrinterColumnsCategoriesAndDescriptions) {
  const std::vector<std::pair<std::string, std::vector<Column>>> expected = {
      {"organizations.aphex.io",
       {{"Display Name", ".spec.displayName"}, {"Namespace", ".status.namespace"},
        {"Webhook URL", ".status.webhookURL"}, {"Phase", ".status.phase"}, {"Age", ".metadata.creationTimestamp"}}},
      {"repobindings.aphex.io",
       {{"Org", ".spec.aphexOrg"}, {"Repository", ".spec.repoName"},
        {"Pipeline Namespace", ".status.pipelineNamespace"}, {"Phase", ".status.phase"},
        {"Age", ".metadata.creationTimestamp"}}},
      {"knowledgebases.aphex.io",
       {{"Display Name", ".spec.displayName"}, {"Phase", ".status.phase"}, {"Age", ".metadata.creationTimestamp"}}},
  };
  for (const auto& [crd_name, columns] : expected) {
    SCOPED_TRACE(crd_name);
    auto crd = admin_->get(kCrds, "", crd_name);
    ASSERT_TRUE(crd) << crd.error().message;
    EXPECT_EQ((*crd)["spec"]["scope"], "Namespaced");
    EXPECT_THAT((*crd)["spec"]["names"]["categories"].get<std::vector<std::string>>(), Contains("aphex"));
    bool established = false;
    for (const auto& condition : (*crd)["status"]["conditions"]) {
      established |= condition["type"] == "Established" && condition["status"] == "True";
    }
    EXPECT_TRUE(established);
    ASSERT_EQ((*crd)["spec"]["versions"].size(), 1U);
    const Json& version = (*crd)["spec"]["versions"][0];
    EXPECT_EQ(version["name"], "v1alpha1");
    EXPECT_TRUE(version["subresources"].contains("status"));

    // The columns shown by default (priority 0), in order.
    std::vector<std::pair<std::string, std::string>> shown;
    for (const auto& column : version["additionalPrinterColumns"]) {
      if (column.value("priority", 0) == 0) {
        shown.emplace_back(column["name"].get<std::string>(), column["jsonPath"].get<std::string>());
      }
    }
    std::vector<std::pair<std::string, std::string>> wanted;
    for (const Column& column : columns) wanted.emplace_back(column.name, column.json_path);
    EXPECT_EQ(shown, wanted);

    expectDescriptions(version["schema"]["openAPIV3Schema"], "");
  }
}

}  // namespace
