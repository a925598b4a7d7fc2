// What a RepoBinding should have, as pure functions: RepoBinding and configuration in, Kubernetes
// objects out. No I/O here; the reconciler compares these with the cluster and applies the
// difference, and unit tests check them without a cluster.
//
// The organization is the binding's spec.aphexOrg; the pipeline namespace is spec.pipelineName.
// Every object carries standardLabels(organization, pipeline). The *Children functions group the
// objects the way the RepoBinding's conditions report them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/repo_binding.h"
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

// The workspace every run binds to a fresh volume when the Pipeline declares it (the contract's
// only workspace; docs/pipeline-contract.md).
inline constexpr std::string_view kSourceWorkspace = "source";
inline constexpr std::string_view kSourceWorkspaceSize = "1Gi";

// The parameters every PipelineRun receives (the pipeline contract, docs/api.md); a Pipeline
// declares those it uses (Tekton ignores the others).
inline constexpr std::string_view kContractParams[] = {"git-url",  "git-revision", "repo-full-name", "event-type",
                                                       "event-id", "triggered-at", "org-name"};

// Where the Kubernetes API server really listens: the endpoints of the `default/kubernetes`
// Service. Network policies see traffic after the Service's address is translated, so pods that
// talk to the API server (Terraform's backend, Argo CD Applications) need these allowed.
struct ApiServerEndpoint {
  std::string ip;  // IPv4 or IPv6 address
  int port = 443;
};

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

// NamespaceReady: the pipeline namespace, with Pod Security labels.
kube::Json namespaceObject(const api::RepoBinding& binding);
std::vector<Child> namespaceChildren(const api::RepoBinding& binding);

// PipelineReady: the team's Pipeline from pipelineSpec, named and placed by pipelineName, with
// our labels over the team's. An error (what is wrong with pipelineSpec) when it cannot be parsed.
kube::Result<kube::Json> pipeline(const api::RepoBinding& binding);
kube::Result<std::vector<Child>> pipelineChildren(const api::RepoBinding& binding);

// AccessReady: ServiceAccount pipeline-runner and its RoleBinding to aphex-pipeline-runner, and the
// RoleBinding that lets the organization's EventListener impersonate pipeline-runner (and nothing
// else).
kube::Json runnerBinding(const api::RepoBinding& binding);
kube::Json impersonationBinding(const api::RepoBinding& binding);
std::vector<Child> accessChildren(const api::RepoBinding& binding);

// GuardrailsReady: ResourceQuota, LimitRange and NetworkPolicy.
kube::Json resourceQuota(const api::RepoBinding& binding, const TenantLimits& limits);
kube::Json limitRange(const api::RepoBinding& binding, const TenantLimits& limits);
kube::Json networkPolicy(const api::RepoBinding& binding, const std::vector<ApiServerEndpoint>& api_servers);
std::vector<Child> guardrailChildren(const api::RepoBinding& binding, const ControllerConfig& config,
                                     const std::vector<ApiServerEndpoint>& api_servers);

// GitOpsReady: what deploys use — the Argo CD AppProject that confines the team's Applications,
// and Terraform's backend configuration for the deploy task.
kube::Json appProject(const api::RepoBinding& binding, const ControllerConfig& config);
kube::Json terraformBackendSecret(const api::RepoBinding& binding);
std::vector<Child> gitOpsChildren(const api::RepoBinding& binding, const ControllerConfig& config);

// TriggerReady: TriggerBinding, TriggerTemplate and Trigger, all named pipelineName, in that order
// (the Trigger refers to the other two).
kube::Json triggerBinding(const api::RepoBinding& binding);
kube::Json triggerTemplate(const api::RepoBinding& binding);
kube::Json trigger(const api::RepoBinding& binding);
std::vector<Child> triggerChildren(const api::RepoBinding& binding);

}  // namespace aphex::repobinding
