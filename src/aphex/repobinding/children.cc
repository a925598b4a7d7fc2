#include "aphex/repobinding/children.h"

#include <cstdio>

#include "aphex/api/organization.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/resources.h"
#include "kube/base64.h"

namespace aphex::repobinding {
namespace {

using kube::Json;
namespace res = aphex::resources;
namespace rb_res = aphex::repobinding::resources;

constexpr std::string_view kRbacGroup = "rbac.authorization.k8s.io";

const std::string& pipelineName(const api::RepoBinding& binding) { return binding.spec.pipeline_name; }

Json labelsFor(const api::RepoBinding& binding) {
  return standardLabels(binding.spec.aphex_org, binding.spec.pipeline_name);
}

// metadata for an object in `ns` (the pipeline namespace unless said otherwise).
Json meta(const api::RepoBinding& binding, std::string_view name, std::string_view ns = {}) {
  Json metadata = childMetadata(name, ns.empty() ? std::string_view(pipelineName(binding)) : ns, labelsFor(binding));
  metadata["annotations"] = {{std::string(kRepoBindingAnnotation), bindingKey(binding)}};
  return metadata;
}

Json roleRef(std::string_view kind, std::string_view name) {
  return {{"apiGroup", std::string(kRbacGroup)}, {"kind", std::string(kind)}, {"name", std::string(name)}};
}

Json serviceAccountSubject(std::string_view name, std::string_view ns) {
  return {{"kind", "ServiceAccount"}, {"name", std::string(name)}, {"namespace", std::string(ns)}};
}

// Adds `key: quantity` unless the quantity is empty (configured away).
void putQuantity(Json& map, const char* key, const std::string& quantity) {
  if (!quantity.empty()) map[key] = quantity;
}

std::string repositoryUrl(const api::RepoBinding& binding) {
  return "https://github.com/" + api::repositoryFullName(binding.spec);
}

// The namespaces of the organization's pipelines: labelled for the organization by us and
// carrying a pipeline label. The organization's own namespace has no pipeline label, so it is not
// among them.
Json orgPipelineNamespaces(const api::RepoBinding& binding) {
  return {{"matchLabels",
           {{std::string(kManagedByLabel), std::string(kManagedByValue)},
            {std::string(kOrganizationLabel), binding.spec.aphex_org}}},
          {"matchExpressions", Json::array({{{"key", std::string(kPipelineLabel)}, {"operator", "Exists"}}})}};
}

// Ends in -<digits>.
bool hasNumericSuffix(std::string_view name) {
  const auto dash = name.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == name.size()) return false;
  return name.substr(dash + 1).find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

bool declaresSourceWorkspace(const Json& pipeline) {
  const auto spec = pipeline.find("spec");
  if (spec == pipeline.end() || !spec->is_object()) return false;
  const auto workspaces = spec->find("workspaces");
  if (workspaces == spec->end() || !workspaces->is_array()) return false;
  for (const auto& workspace : *workspaces) {
    if (workspace.is_object() && workspace.value("name", Json()) == kSourceWorkspace) return true;
  }
  return false;
}

std::string bindingKey(const api::RepoBinding& binding) {
  return binding.metadata.ns + "/" + binding.metadata.name;
}

const std::vector<kube::ResourceType>& childKinds() {
  static const std::vector<kube::ResourceType> kinds{
      res::kNamespaces,           res::kSecrets,           res::kServiceAccounts,      res::kRoleBindings,
      rb_res::kPipelines,         rb_res::kResourceQuotas, rb_res::kLimitRanges,       rb_res::kNetworkPolicies,
      rb_res::kAppProjects,       rb_res::kTriggers,       rb_res::kTriggerBindings,   rb_res::kTriggerTemplates};
  return kinds;
}

std::string organizationNamespace(const api::RepoBinding& binding) {
  return api::organizationNamespace(binding.spec.aphex_org);
}

std::string githubWebhookSettingsUrl(const api::RepoBinding& binding) {
  return api::githubWebhookSettingsUrl(binding.spec);
}

std::string celStringLiteral(std::string_view text) {
  std::string literal = "'";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '\'': literal += "\\'"; break;
      case '\\': literal += "\\\\"; break;
      case '\n': literal += "\\n"; break;
      case '\r': literal += "\\r"; break;
      case '\t': literal += "\\t"; break;
      default:
        if (u < 0x20 || u == 0x7f) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned>(u));
          literal += escaped;
        } else {
          literal += c;
        }
    }
  }
  literal += '\'';
  return literal;
}

std::string celFilter(const api::RepoBinding& binding) {
  // A push that deletes the branch has `deleted: true` and an all-zero revision: nothing to build.
  return "body.repository.full_name == " + celStringLiteral(api::repositoryFullName(binding.spec)) +
         " && body.ref == " + celStringLiteral("refs/heads/" + binding.spec.branch) +
         " && !(has(body.deleted) && body.deleted == true)";
}

std::string terraformSecretSuffix(const api::RepoBinding& binding) {
  if (hasNumericSuffix(pipelineName(binding))) return pipelineName(binding) + "-state";
  return pipelineName(binding);
}

std::string terraformBackendConfig(const api::RepoBinding& binding) {
  // Pipeline names are DNS labels, so they need no quoting inside an HCL string.
  return "terraform {\n"
         "  backend \"kubernetes\" {\n"
         "    secret_suffix     = \"" + terraformSecretSuffix(binding) + "\"\n"
         "    namespace         = \"" + pipelineName(binding) + "\"\n"
         "    in_cluster_config = true\n"
         "  }\n"
         "}\n";
}

// ---- NamespaceReady ---------------------------------------------------------------------------

Json namespaceObject(const api::RepoBinding& binding, std::string_view level) {
  Json ns = namespaceWithPodSecurity(pipelineName(binding), labelsFor(binding), level);
  ns["metadata"]["annotations"] = {{std::string(kRepoBindingAnnotation), bindingKey(binding)}};
  return ns;
}

std::vector<Child> namespaceChildren(const api::RepoBinding& binding, std::string_view level) {
  return {{res::kNamespaces, namespaceObject(binding, level)}};
}

// ---- PipelineReady ----------------------------------------------------------------------------

Json pipeline(const api::RepoBinding& binding, const Json& source) {
  // Only what the team may decide: its labels, annotations and spec. Server-owned metadata
  // (uid, resourceVersion, ownerReferences...) pasted from `kubectl get -o yaml`, another
  // name or namespace, and any status are left out.
  Json metadata = meta(binding, pipelineName(binding));
  const Json* source_meta = source.contains("metadata") && source["metadata"].is_object() ? &source["metadata"] : nullptr;
  if (source_meta != nullptr && source_meta->contains("labels") && (*source_meta)["labels"].is_object()) {
    Json labels = (*source_meta)["labels"];
    // Ours win: the organization and pipeline labels decide what the controller and the
    // EventListener select.
    labels.update(labelsFor(binding));
    metadata["labels"] = std::move(labels);
  }
  if (source_meta != nullptr && source_meta->contains("annotations") && (*source_meta)["annotations"].is_object()) {
    Json annotations = (*source_meta)["annotations"];
    annotations.update(metadata["annotations"]);  // ours win here too
    metadata["annotations"] = std::move(annotations);
  }
  Json result = object("tekton.dev/v1", "Pipeline", std::move(metadata));
  result["spec"] = source.value("spec", Json::object());
  return result;
}

std::vector<Child> pipelineChildren(const api::RepoBinding& binding, const Json& parsed_pipeline) {
  return {{rb_res::kPipelines, pipeline(binding, parsed_pipeline)}};
}

// ---- AccessReady ------------------------------------------------------------------------------

Json runnerBinding(const api::RepoBinding& binding) {
  Json result = object("rbac.authorization.k8s.io/v1", "RoleBinding", meta(binding, kRunnerBinding));
  // A RoleBinding grants a ClusterRole's rules in its own namespace only.
  result["roleRef"] = roleRef("ClusterRole", kRunnerClusterRole);
  result["subjects"] = Json::array({serviceAccountSubject(kRunnerServiceAccount, pipelineName(binding))});
  return result;
}

Json impersonationBinding(const api::RepoBinding& binding) {
  Json result = object("rbac.authorization.k8s.io/v1", "RoleBinding", meta(binding, kImpersonationBinding));
  // The shipped ClusterRole grants `impersonate` on ServiceAccount pipeline-runner by name; bound
  // here, it reaches pipeline-runner of this namespace only. Tekton's EventListener creates a
  // Trigger's resources as the Trigger's ServiceAccount, so the listener itself needs no right to
  // create PipelineRuns anywhere.
  result["roleRef"] = roleRef("ClusterRole", kImpersonatorClusterRole);
  result["subjects"] = Json::array(
      {serviceAccountSubject(organization::kEventListenerServiceAccount, organizationNamespace(binding))});
  return result;
}

std::vector<Child> accessChildren(const api::RepoBinding& binding) {
  return {{res::kServiceAccounts, object("v1", "ServiceAccount", meta(binding, kRunnerServiceAccount))},
          {res::kRoleBindings, runnerBinding(binding)},
          {res::kRoleBindings, impersonationBinding(binding)}};
}

// ---- GuardrailsReady --------------------------------------------------------------------------

Json resourceQuota(const api::RepoBinding& binding, const TenantLimits& limits) {
  Json hard = Json::object();
  putQuantity(hard, "requests.cpu", limits.requests_cpu);
  putQuantity(hard, "requests.memory", limits.requests_memory);
  putQuantity(hard, "limits.cpu", limits.limits_cpu);
  putQuantity(hard, "limits.memory", limits.limits_memory);
  putQuantity(hard, "requests.storage", limits.requests_storage);
  // Counts are quantities too; the API server returns them as strings.
  hard["pods"] = std::to_string(limits.pods);
  hard["persistentvolumeclaims"] = std::to_string(limits.persistent_volume_claims);
  hard["count/configmaps"] = std::to_string(limits.config_maps);
  hard["count/secrets"] = std::to_string(limits.secrets);
  Json quota = object("v1", "ResourceQuota", meta(binding, kQuotaName));
  quota["spec"] = {{"hard", std::move(hard)}};
  return quota;
}

Json limitRange(const api::RepoBinding& binding, const TenantLimits& limits) {
  Json container{{"type", "Container"}};
  Json default_limit = Json::object();
  putQuantity(default_limit, "cpu", limits.default_limit_cpu);
  putQuantity(default_limit, "memory", limits.default_limit_memory);
  Json default_request = Json::object();
  putQuantity(default_request, "cpu", limits.default_request_cpu);
  putQuantity(default_request, "memory", limits.default_request_memory);
  Json max = Json::object();
  putQuantity(max, "cpu", limits.max_cpu);
  putQuantity(max, "memory", limits.max_memory);
  if (!default_limit.empty()) container["default"] = std::move(default_limit);
  if (!default_request.empty()) container["defaultRequest"] = std::move(default_request);
  if (!max.empty()) container["max"] = std::move(max);
  Json range = object("v1", "LimitRange", meta(binding, kLimitRangeName));
  range["spec"] = {{"limits", Json::array({std::move(container)})}};
  return range;
}

Json networkPolicy(const api::RepoBinding& binding, const std::vector<ApiServerEndpoint>& api_servers,
                   const std::vector<std::string>& denied_egress) {
  // Who may talk to whom. A pipeline's pods and what the team deploys may reach each other and the
  // other pipeline namespaces of the same organization (one trust domain), in both directions, so
  // egress allows what ingress allows. The organization's own namespace is not a peer: its pods
  // (the EventListener and cloudflared, which face the internet) need no connection into a
  // pipeline namespace — the listener starts runs through the API server — so a compromised
  // listener reaches no tenant pod. Other tenants and platform namespaces are denied both ways.
  const Json peers = Json::array({{{"podSelector", Json::object()}},
                                  {{"namespaceSelector", orgPipelineNamespaces(binding)}}});
  Json egress = Json::array();
  egress.push_back({{"to", peers}});
  egress.push_back(dnsEgress());
  // The internet (Git hosts, registries, cloud APIs), none of the cluster's own networks.
  egress.push_back(internetEgress(denied_egress));
  // The API server, by its real addresses (a private address on most clusters, so the rule above
  // does not cover it): Terraform's backend and Argo CD Applications are written through it.
  addApiServerEgress(egress, api_servers);
  Json policy = object("networking.k8s.io/v1", "NetworkPolicy", meta(binding, kNetworkPolicyName));
  policy["spec"] = {{"podSelector", Json::object()},
                    {"policyTypes", Json::array({"Ingress", "Egress"})},
                    {"ingress", Json::array({{{"from", peers}}})},
                    {"egress", std::move(egress)}};
  return policy;
}

std::vector<Child> guardrailChildren(const api::RepoBinding& binding, const ControllerConfig& config,
                                     const std::vector<ApiServerEndpoint>& api_servers) {
  // The quota last: the API server refuses every Secret of a namespace whose quota exists but is
  // not counted yet, so a first pass that writes the Terraform backend Secret (GitOpsReady, at
  // the same time) before the quota lands does not wait for kube-controller-manager.
  return {{rb_res::kLimitRanges, limitRange(binding, config.tenant_limits)},
          {rb_res::kNetworkPolicies, networkPolicy(binding, api_servers, config.tenant_egress_deny)},
          {rb_res::kResourceQuotas, resourceQuota(binding, config.tenant_limits)}};
}

// ---- GitOpsReady ------------------------------------------------------------------------------

std::string appProjectName(const api::RepoBinding& binding) {
  return std::string(kAppProjectPrefix) + pipelineName(binding);
}

Json appProject(const api::RepoBinding& binding, const ControllerConfig& config) {
  const std::string& ns = pipelineName(binding);
  Json project = object("argoproj.io/v1alpha1", "AppProject", meta(binding, appProjectName(binding), config.argocd_namespace));
  Json kinds = Json::array();
  for (const auto& [group, kind] : kDeployableKinds) kinds.push_back({{"group", group}, {"kind", kind}});
  project["spec"] = {
      {"description", "Aphex pipeline " + ns + " of organization " + binding.spec.aphex_org + ": " +
                          api::repositoryFullName(binding.spec)},
      // This repository only, as GitHub spells its clone URL and without .git.
      {"sourceRepos", Json::array({repositoryUrl(binding) + ".git", repositoryUrl(binding)})},
      // This namespace of this cluster only.
      {"destinations", Json::array({{{"server", std::string(kInClusterServer)}, {"namespace", ns}}})},
      // Applications of this project live in the pipeline namespace and nowhere else.
      {"sourceNamespaces", Json::array({ns})},
      // Empty: no cluster-scoped kind at all.
      {"clusterResourceWhitelist", Json::array()},
      // Only the kinds an application is made of. Argo CD syncs with its own, powerful account,
      // so every other kind is refused: RBAC and the guardrails (which would undo isolation),
      // cert-manager objects (certificates for the platform's hosts), Ingresses and routes (which
      // could claim another team's or the platform's host), aphex.io kinds, and anything a CRD
      // adds later.
      {"namespaceResourceWhitelist", std::move(kinds)}};
  return project;
}

Json terraformBackendSecret(const api::RepoBinding& binding) {
  Json secret = object("v1", "Secret", meta(binding, kTerraformBackendSecret));
  secret["type"] = "Opaque";
  // `data`, not `stringData`: the server stores only `data`, and the comparison with the cached
  // Secret must see the same field.
  secret["data"] = {{std::string(kTerraformBackendKey), kube::base64Encode(terraformBackendConfig(binding))}};
  return secret;
}

std::vector<Child> gitOpsChildren(const api::RepoBinding& binding, const ControllerConfig& config) {
  // The Secret first: see guardrailChildren().
  return {{res::kSecrets, terraformBackendSecret(binding)}, {rb_res::kAppProjects, appProject(binding, config)}};
}

// ---- TriggerReady -----------------------------------------------------------------------------

Json triggerBindings(const api::RepoBinding& binding) {
  // From GitHub's push event. Header names as Go canonicalizes them (X-Github-Event, not
  // X-GitHub-Event): Tekton looks them up case-sensitively.
  const std::pair<const char*, std::string> values[] = {
      // The repository the binding names, never the payload's: anyone holding the organization's
      // webhook secret could otherwise sign a push of this repository that clones another.
      {"git-url", repositoryUrl(binding) + ".git"},
      {"git-revision", "$(body.after)"},
      {"repo-full-name", "$(body.repository.full_name)"},
      {"event-type", "$(header.X-Github-Event)"},
      {"event-id", "$(header.X-Github-Delivery)"},
      {"triggered-at", "$(body.head_commit.timestamp)"},
      {"org-name", binding.spec.aphex_org},
  };
  Json params = Json::array();
  for (const auto& [name, value] : values) params.push_back({{"name", name}, {"value", value}});
  return params;
}

std::string pipelineRunName(const api::RepoBinding& binding) {
  // A GitHub delivery ID is a 36-character GUID; a PipelineRun's name must fit a label value (63).
  std::string prefix = pipelineName(binding).substr(0, kRunNamePrefixLength);
  while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();
  return prefix + "-$(tt.params.event-id)";
}

Json triggerTemplateSpec(const api::RepoBinding& binding, bool source_workspace) {
  const std::string& name = pipelineName(binding);
  Json params = Json::array();
  Json run_params = Json::array();
  for (const std::string_view param : kContractParams) {
    const std::string p(param);
    Json declared{{"name", p}};
    // Not every event has them; a run must not fail for their absence.
    if (p == "triggered-at" || p == "org-name") declared["default"] = "";
    params.push_back(std::move(declared));
    run_params.push_back({{"name", p}, {"value", "$(tt.params." + p + ")"}});
  }
  // No namespace: Tekton creates it in the Trigger's namespace, as pipeline-runner, which may
  // create PipelineRuns there and nowhere else. The organization and pipeline labels (not
  // managed-by: runs are not the controller's to cache or prune) let them be found per pipeline.
  Json run_labels{{std::string(kOrganizationLabel), binding.spec.aphex_org}, {std::string(kPipelineLabel), name}};
  Json run{{"apiVersion", "tekton.dev/v1"},
           {"kind", "PipelineRun"},
           // Named after the delivery, not generated: a replayed delivery makes the same name, which
           // the API server refuses (AlreadyExists), so one delivery never starts two runs.
           {"metadata", {{"name", pipelineRunName(binding)}, {"labels", std::move(run_labels)}}},
           {"spec",
            {{"pipelineRef", {{"name", name}}},
             {"params", std::move(run_params)},
             {"taskRunTemplate", {{"serviceAccountName", std::string(kRunnerServiceAccount)}}}}}};
  if (source_workspace) {
    // A volume of the run's own, created with it and deleted with it: runs never share files.
    const Json claim{{"spec", {{"accessModes", Json::array({"ReadWriteOnce"})},
                               {"resources", {{"requests", {{"storage", std::string(kSourceWorkspaceSize)}}}}}}}};
    run["spec"]["workspaces"] =
        Json::array({{{"name", std::string(kSourceWorkspace)}, {"volumeClaimTemplate", claim}}});
  }
  return {{"params", std::move(params)}, {"resourcetemplates", Json::array({run})}};
}

Json trigger(const api::RepoBinding& binding, bool source_workspace) {
  const std::string& name = pipelineName(binding);
  // Labelled for the organization (standard labels), which is what the org's EventListener
  // selects; its trigger group has already verified GitHub's signature.
  Json result = object("triggers.tekton.dev/v1beta1", "Trigger", meta(binding, name));
  const Json cel{{"ref", {{"name", "cel"}, {"kind", "ClusterInterceptor"}}},
                 {"params", Json::array({{{"name", "filter"}, {"value", celFilter(binding)}}})}};
  result["spec"] = {{"serviceAccountName", std::string(kRunnerServiceAccount)},
                    {"interceptors", Json::array({cel})},
                    {"bindings", triggerBindings(binding)},
                    {"template", {{"spec", triggerTemplateSpec(binding, source_workspace)}}}};
  return result;
}

std::vector<Child> triggerChildren(const api::RepoBinding& binding, bool source_workspace) {
  return {{rb_res::kTriggers, trigger(binding, source_workspace)}};
}

std::vector<Child> retiredTriggerChildren(const api::RepoBinding& binding) {
  const Json metadata = meta(binding, pipelineName(binding));
  return {{rb_res::kTriggerBindings, object("triggers.tekton.dev/v1beta1", "TriggerBinding", metadata)},
          {rb_res::kTriggerTemplates, object("triggers.tekton.dev/v1beta1", "TriggerTemplate", metadata)}};
}

}  // namespace aphex::repobinding
