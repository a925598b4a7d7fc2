// What a RepoBinding should have, as pure functions: RepoBinding and configuration in, Kubernetes
// objects out. No I/O here; the reconciler compares these with the cluster and applies the
// difference, and unit tests check them without a cluster.
//
// The organization is the binding's spec.aphexOrg; the pipeline namespace is spec.pipelineName.
// Every object carries standardLabels(organization, pipeline). The *Children functions group the
// objects the way the RepoBinding's conditions report them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aphex/api/repo_binding.h"
#include "aphex/common/egress.h"
#include "aphex/config.h"
#include "aphex/organization/children.h"
#include "kube/client.h"
#include "kube/result.h"

namespace aphex::repobinding {

using Child = organization::Child;

// Names of what a RepoBinding owns, in one place.
inline constexpr std::string_view kRunnerServiceAccount = "pipeline-runner";
inline constexpr std::string_view kRunnerBinding = "pipeline-runner";
// Shipped in platform/base/controller/rbac.yaml: what pipelines may do, granted in their own
// namespace only by the RoleBinding pipeline-runner. A ClusterRole rather than a Role per
// namespace, so that the controller need not hold these rights itself (it only may `bind` this
// role) and operators tune them in one place.
inline constexpr std::string_view kRunnerClusterRole = "aphex-pipeline-runner";
inline constexpr std::string_view kQuotaName = "tenant-quota";
inline constexpr std::string_view kLimitRangeName = "tenant-limits";
inline constexpr std::string_view kNetworkPolicyName = "tenant-isolation";
inline constexpr std::string_view kTerraformBackendSecret = "terraform-backend-config";
inline constexpr std::string_view kTerraformBackendKey = "backend.tf";
inline constexpr std::string_view kImpersonationBinding = "aphex-eventlistener-impersonation";
// Shipped in platform/base/controller/rbac.yaml: impersonate ServiceAccount pipeline-runner only.
inline constexpr std::string_view kImpersonatorClusterRole = "aphex-pipeline-runner-impersonator";
inline constexpr std::string_view kInClusterServer = "https://kubernetes.default.svc";
// AppProjects live in Argo CD's namespace beside the platform's own: every pipeline's carries this
// prefix, which no platform project uses, so no pipeline name can collide with one of those.
inline constexpr std::string_view kAppProjectPrefix = "pipeline-";
// How much of the pipeline name starts a PipelineRun's name, before "-<delivery GUID>".
inline constexpr std::size_t kRunNamePrefixLength = 26;

// What a team's Argo CD Applications may deploy ({API group, kind}): the kinds an application is
// made of, and nothing that grants rights, changes the guardrails, claims a host or a certificate,
// or is one of Aphex's own kinds.
inline constexpr std::pair<std::string_view, std::string_view> kDeployableKinds[] = {
    {"", "ConfigMap"},          {"", "Secret"},           {"", "Service"},
    {"", "ServiceAccount"},     {"", "PersistentVolumeClaim"},
    {"apps", "Deployment"},     {"apps", "StatefulSet"},  {"apps", "DaemonSet"},
    {"batch", "Job"},           {"batch", "CronJob"},
    {"autoscaling", "HorizontalPodAutoscaler"},            {"policy", "PodDisruptionBudget"},
    {"external-secrets.io", "ExternalSecret"},             {"tekton.dev", "Task"}};


// The workspace every run binds to a fresh volume when the Pipeline declares it (the contract's
// only workspace; docs/pipeline-contract.md).
inline constexpr std::string_view kSourceWorkspace = "source";
inline constexpr std::string_view kSourceWorkspaceSize = "1Gi";

// The parameters every PipelineRun receives (the pipeline contract, docs/api.md); a Pipeline
// declares those it uses (Tekton ignores the others).
inline constexpr std::string_view kContractParams[] = {"git-url",  "git-revision", "repo-full-name", "event-type",
                                                       "event-id", "triggered-at", "org-name"};


// "<namespace>/<name>" of the RepoBinding, as kRepoBindingAnnotation carries it.
std::string bindingKey(const api::RepoBinding& binding);
// Every kind a RepoBinding may make, for caching and for cleaning up.
const std::vector<kube::ResourceType>& childKinds();

// The organization's namespace (org-<aphexOrg>), where its EventListener runs.
std::string organizationNamespace(const api::RepoBinding& binding);
// https://github.com/<repoOrg>/<repoName>/settings/hooks
std::string githubWebhookSettingsUrl(const api::RepoBinding& binding);

// `text` as a single-quoted CEL string literal, with quotes, backslashes and control characters
// escaped, so that no input can end the literal early.
std::string celStringLiteral(std::string_view text);
// The Trigger's filter: this repository, this branch.
std::string celFilter(const api::RepoBinding& binding);
// Terraform's Kubernetes backend stores state in Secrets tfstate-<workspace>-<suffix> and refuses
// a suffix ending in -<number> (it appends those itself when it splits a large state): the
// pipeline name, with "-state" added when it ends in -<number>.
std::string terraformSecretSuffix(const api::RepoBinding& binding);
// backend.tf: the Kubernetes backend in the pipeline namespace with in-cluster configuration.
std::string terraformBackendConfig(const api::RepoBinding& binding);

// NamespaceReady: the pipeline namespace, with Pod Security labels enforcing `level` (the
// Organization's choice, restricted by default).
kube::Json namespaceObject(const api::RepoBinding& binding, std::string_view level);
std::vector<Child> namespaceChildren(const api::RepoBinding& binding, std::string_view level);

// PipelineReady: the team's Pipeline from `parsed_pipeline` (pipelineSpec as api::parsePipelineSpec
// returned it), named and placed by pipelineName, with our labels over the team's.
kube::Json pipeline(const api::RepoBinding& binding, const kube::Json& parsed_pipeline);
std::vector<Child> pipelineChildren(const api::RepoBinding& binding, const kube::Json& parsed_pipeline);
// Whether the parsed Pipeline declares the contract's workspace `source`: runs bind it only then,
// so a Pipeline without it gets no volume it would not use.
bool declaresSourceWorkspace(const kube::Json& parsed_pipeline);

// AccessReady: ServiceAccount pipeline-runner and its RoleBinding to aphex-pipeline-runner, and the
// RoleBinding that lets the organization's EventListener impersonate pipeline-runner (and nothing
// else).
kube::Json runnerBinding(const api::RepoBinding& binding);
kube::Json impersonationBinding(const api::RepoBinding& binding);
std::vector<Child> accessChildren(const api::RepoBinding& binding);

// GuardrailsReady: ResourceQuota, LimitRange and NetworkPolicy.
kube::Json resourceQuota(const api::RepoBinding& binding, const TenantLimits& limits);
kube::Json limitRange(const api::RepoBinding& binding, const TenantLimits& limits);
kube::Json networkPolicy(const api::RepoBinding& binding, const std::vector<ApiServerEndpoint>& api_servers,
                         const std::vector<std::string>& denied_egress);
std::vector<Child> guardrailChildren(const api::RepoBinding& binding, const ControllerConfig& config,
                                     const std::vector<ApiServerEndpoint>& api_servers);

// GitOpsReady: what deploys use — the Argo CD AppProject that confines the team's Applications,
// and Terraform's backend configuration for the deploy task.
std::string appProjectName(const api::RepoBinding& binding);  // pipeline-<pipelineName>
kube::Json appProject(const api::RepoBinding& binding, const ControllerConfig& config);
kube::Json terraformBackendSecret(const api::RepoBinding& binding);
std::vector<Child> gitOpsChildren(const api::RepoBinding& binding, const ControllerConfig& config);

// TriggerReady: one Trigger named pipelineName that carries its bindings and its TriggerTemplate
// inline (Tekton's embedded forms of both): one object to write, watch and cache per binding
// instead of three, and nothing another object could be swapped in for by name.
// The contract's parameters, from the push event (bindings of name and value).
kube::Json triggerBindings(const api::RepoBinding& binding);
// The PipelineRun a push makes is named <pipelineName, cut to 26>-<X-GitHub-Delivery>, so that a
// replayed delivery cannot start a second run. `source_workspace`: declaresSourceWorkspace().
kube::Json triggerTemplateSpec(const api::RepoBinding& binding, bool source_workspace);
kube::Json trigger(const api::RepoBinding& binding, bool source_workspace);
std::vector<Child> triggerChildren(const api::RepoBinding& binding, bool source_workspace);
// What earlier versions made beside the Trigger: a TriggerBinding and a TriggerTemplate of the
// same name. Removed when met in the cache, and on deletion.
std::vector<Child> retiredTriggerChildren(const api::RepoBinding& binding);

}  // namespace aphex::repobinding
