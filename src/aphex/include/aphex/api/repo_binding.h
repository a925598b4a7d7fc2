// RepoBinding (aphex.io/v1alpha1): one GitHub repository onboarded for an Organization. See
// docs/api.md and platform/crds/aphex.io_repobindings.yaml; the three must agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/condition.h"
#include "aphex/api/meta.h"
#include "kube/result.h"

namespace aphex::api {

// What happens to the pipeline namespace when the RepoBinding goes. Retain is the default: a
// team's namespace is never wiped by surprise.
enum class DeletionPolicy { kRetain, kDelete };

std::string_view toString(DeletionPolicy policy);
std::optional<DeletionPolicy> parseDeletionPolicy(std::string_view text);

// Condition types a RepoBinding reports.
namespace repo_binding_condition {
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kNamespaceReady = "NamespaceReady";
inline constexpr std::string_view kPipelineReady = "PipelineReady";
inline constexpr std::string_view kAccessReady = "AccessReady";
inline constexpr std::string_view kGuardrailsReady = "GuardrailsReady";
inline constexpr std::string_view kGitOpsReady = "GitOpsReady";
inline constexpr std::string_view kTriggerReady = "TriggerReady";
}  // namespace repo_binding_condition

// The pipeline contract (docs/pipeline-contract.md): the only one this controller provides.
inline constexpr std::string_view kDefaultTemplateRef = "run-pipeline-v1";
// The parameters every Pipeline of the contract must declare; triggered-at and org-name are
// passed too and may be declared.
inline constexpr std::string_view kRequiredPipelineParams[] = {"git-url", "git-revision", "repo-full-name",
                                                               "event-type", "event-id"};
inline constexpr std::string_view kDefaultBranch = "main";
// The CRD's bound on pipelineSpec (256 KiB): far above any real Pipeline, far below etcd's limit.
inline constexpr std::size_t kMaxPipelineSpecLength = 262144;

// How many finished PipelineRuns a pipeline namespace keeps (spec.pipelineRuns.keepLast, and the
// controller's --keep-pipelineruns): at least one, so the last run's logs can be read, and at
// most 100, well inside the namespace's volume quota.
inline constexpr int kMinKeepLast = 1;
inline constexpr int kMaxKeepLast = 100;

struct RepoBindingSpec {
  std::string aphex_org;      // immutable
  std::string repo_org;       // GitHub owner
  std::string repo_name;      // GitHub repository, without .git
  std::string pipeline_name;  // also the pipeline namespace; immutable
  std::string template_ref{kDefaultTemplateRef};
  std::string pipeline_spec;  // a tekton.dev/v1 Pipeline as YAML or JSON
  std::string branch{kDefaultBranch};
  DeletionPolicy deletion_policy = DeletionPolicy::kRetain;
  // spec.pipelineRuns.keepLast; nullopt: the controller's default.
  std::optional<std::int32_t> keep_last_pipeline_runs;
};

struct RepoBindingStatus {
  std::int64_t observed_generation = 0;
  std::optional<Phase> phase;
  std::string pipeline_namespace;
  std::string webhook_url;
  std::optional<SecretKeyRef> webhook_secret_ref;
  std::string github_webhook_settings_url;
  std::vector<Condition> conditions;
};

struct RepoBinding {
  ObjectMeta metadata;
  RepoBindingSpec spec;
  RepoBindingStatus status;

  // Fails on the first field of the wrong type, naming its path. Absent fields with CRD defaults
  // (templateRef, branch, deletionPolicy) get those defaults, as the API server would give them.
  static kube::Result<RepoBinding> fromJson(const kube::Json& object);
};

// The status as the status subresource takes it; empty fields are left out.
kube::Json toJson(const RepoBindingStatus& status);

// Everything wrong with the object, in field order; empty when it is valid. Includes parsing
// pipelineSpec, which no CEL rule can do.
std::vector<FieldError> validate(const RepoBinding& binding);
// As validate(), without pipelineSpec: for callers that parse it once themselves.
std::vector<FieldError> validateExceptPipelineSpec(const RepoBinding& binding);

// A RepoBinding belongs in the platform namespace or in its organization's namespace
// (org-<aphexOrg>); CEL cannot see metadata.namespace, so the controller checks this. nullopt
// when the placement is right.
std::optional<FieldError> placementProblem(const RepoBinding& binding, std::string_view platform_namespace);

// pipelineSpec parsed: a JSON object that is a tekton.dev/v1 Pipeline (apiVersion, kind and a
// spec object) declaring the contract's required params, or an error saying what is wrong and where.
kube::Result<kube::Json> parsePipelineSpec(std::string_view text);
// Every problem parsePipelineSpec would refuse `text` for, not only the first, each located by a
// path relative to the RepoBinding's spec ("pipelineSpec.apiVersion"); empty when it accepts it.
// For tools that check a Pipeline file before sending it (kubectl-aphex repo onboard).
std::vector<FieldError> pipelineSpecProblems(std::string_view text);

// "acme/app1", as GitHub's push events carry it in repository.full_name.
std::string repositoryFullName(const RepoBindingSpec& spec);
// The repository's webhook settings page, where an org admin adds the webhook.
std::string githubWebhookSettingsUrl(const RepoBindingSpec& spec);

}  // namespace aphex::api
