#include "aphex/organization/reconciler.h"

#include <algorithm>
#include <set>

#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "organization/pass.h"

namespace aphex::organization {
namespace {

using kube::Json;
using kube::runtime::Done;
using kube::runtime::Outcome;
using kube::runtime::Retry;
using kube::runtime::Terminal;
namespace res = aphex::resources;
namespace cond = api::organization_condition;

}  // namespace

CloudflareFactory defaultCloudflareFactory() {
  return [](cloudflare::ClientOptions options) { return cloudflare::Client::create(std::move(options)); };
}

Reconciler::Reconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)),
      writer_(deps_.client, deps_.children),
      applier_(writer_.applier()) {}

std::vector<kube::runtime::Request> Reconciler::organizationsOf(const Json& repo_binding) const {
  const auto spec = repo_binding.find("spec");
  if (spec == repo_binding.end() || !spec->is_object()) return {};
  const std::string org = spec->value("aphexOrg", "");
  if (org.empty()) return {};
  return {{.ns = deps_.config.platform_namespace, .name = org}};
}

std::vector<kube::runtime::Request> Reconciler::allOrganizations() const {
  return kube::runtime::requestsFor(deps_.organizations.store().list());
}

std::vector<kube::runtime::Request> Reconciler::organizationOfChild(const Json& child) const {
  const Json labels = child.value("metadata", Json::object()).value("labels", Json::object());
  const std::string org = labels.value(std::string(kOrganizationLabel), "");
  // Children of RepoBindings carry the pipeline label too; they are not the org's to repair.
  if (org.empty() || labels.contains(std::string(kPipelineLabel))) return {};
  return {{.ns = deps_.config.platform_namespace, .name = org}};
}

Outcome Reconciler::reconcile(const kube::runtime::Request& request, std::stop_token stop) {
  const auto live = deps_.organizations.store().get(request.key());
  if (!live) return Done{};  // deleted, and the finalizer already done
  auto org = api::Organization::fromJson(*live);
  if (!org) {
    // The API server's schema makes this unreachable for valid CRDs; never crash on it anyway.
    deps_.logger.error("cannot read Organization", {{"organization", request.key()}, {"error", org.error().message}});
    return Terminal{org.error().message};
  }
  Pass pass(live, std::move(*org), deps_.clock.wallNow());
  pass.stop = std::move(stop);
  if (pass.org.metadata.deleting()) return finalize(pass);
  if (!pass.org.metadata.hasFinalizer(kFinalizer)) {
    if (auto added = writer_.addFinalizer(api::kOrganizations, *live); !added) return Retry{added.error().message};
  }
  return provision(pass);
}

Outcome Reconciler::provision(Pass& pass) {
  const api::Organization& org = pass.org;
  pass.status.ns = api::organizationNamespace(org.metadata.name);
  pass.status.webhook_url = webhookUrl(org, deps_.config);
  const auto bindings = repoBindingsOf(org);
  pass.status.repo_bindings = static_cast<std::int32_t>(bindings.size());
  if (const auto errors = api::validate(org); !errors.empty()) {
    pass.set(cond::kReady, StepResult::failure("InvalidSpec", api::describe(errors), false));
    pass.status.phase = api::Phase::kFailed;
    return writeStatus(pass, Terminal{api::describe(errors)});
  }
  if (const StepResult ns = applyNamespace(pass); !pass.set(cond::kNamespaceReady, ns)) {
    // Nothing else can exist without the namespace.
    pass.status.phase = api::Phase::kProvisioning;
    pass.set(cond::kReady, StepResult::failure("NamespaceNotReady", ns.message, ns.retry));
    return writeStatus(pass, Retry{ns.message});
  }
  pass.set(cond::kWebhookReady, applyWebhook(pass, repoNamespaces(bindings)));
  pass.set(cond::kSecretStoreReady, applySecretStore(pass));
  pass.set(cond::kAccessReady, applyAccess(pass));
  pass.set(cond::kExposureReady, applyExposure(pass));
  return writeStatus(pass, pass.outcome("every part of the organization is ready"));
}

StepResult Reconciler::applyNamespace(Pass& pass) {
  const Json desired = namespaceObject(pass.org);
  const auto live = deps_.children.get(res::kNamespaces, "", desired["metadata"]["name"].get<std::string>());
  if (live && (*live)["metadata"].contains("deletionTimestamp")) {
    return StepResult::failure("NamespaceTerminating",
                               "namespace " + pass.status.ns + " is still being deleted; waiting for it to go", true);
  }
  auto applied = applier_.apply(res::kNamespaces, desired, live.get());
  if (!applied) return StepResult::failure("ApplyFailed", "namespace " + pass.status.ns + ": " + applied.error().message, true);
  return StepResult::success("Applied", "namespace " + pass.status.ns + " is ready");
}

StepResult Reconciler::applyWebhook(Pass& pass, const std::vector<std::string>& namespaces) {
  if (StepResult secret = ensureWebhookSecret(pass); !secret.ok) return secret;
  StepResult applied = applyAll(webhookChildren(pass.org, namespaces), "webhook listener");
  if (!applied.ok) return applied;
  const auto api_servers = apiServerEndpoints(deps_.api_server_endpoints.store().list());
  applied = applyAll(isolationChildren(pass.org, deps_.config, api_servers), "network policy");
  if (!applied.ok) return applied;
  pass.status.webhook_secret_ref = api::SecretKeyRef{.ns = pass.status.ns,
                                                     .name = std::string(kWebhookSecretName),
                                                     .key = std::string(kWebhookSecretKey)};
  return StepResult::success("ListenerReady", "EventListener " + std::string(kEventListenerName) + " verifies " +
                                                  "signatures and serves " + std::to_string(namespaces.size()) +
                                                  " repository namespace(s)");
}

StepResult Reconciler::applySecretStore(Pass& pass) {
  StepResult applied = applyAll(secretStoreChildren(pass.org), "secret store");
  if (!applied.ok) return applied;
  return StepResult::success("StoreReady", "ClusterSecretStore " + clusterSecretStoreName(pass.org) +
                                               " serves Secret " + std::string(kOrgSecretsName) + " to the org's namespaces");
}

// Applies the admin bindings and deletes those of admins no longer listed.
StepResult Reconciler::applyAccess(Pass& pass) {
  const auto desired = adminBindings(pass.org);
  StepResult applied = applyAll(desired, "admin access");
  if (!applied.ok) return applied;
  std::set<std::string> wanted;
  for (const auto& child : desired) wanted.insert(child.object["metadata"]["name"].get<std::string>());
  for (const auto& live : deps_.children.list(res::kRoleBindings, std::string(kComponentLabel), std::string(kAdminComponent))) {
    const auto& metadata = (*live)["metadata"];
    if (metadata.value("namespace", "") != pass.status.ns || wanted.contains(metadata.value("name", ""))) continue;
    if (auto removed = removeIfPresent(res::kRoleBindings, pass.status.ns, metadata.value("name", "")); !removed) {
      return StepResult::failure("PruneFailed", "removing a former admin's RoleBinding: " + removed.error().message, true);
    }
  }
  return StepResult::success("AccessGranted", std::to_string(pass.org.spec.admin_users.size()) + " admin user(s) and " +
                                                  std::to_string(pass.org.spec.admin_groups.size()) +
                                                  " admin group(s) bound to " + std::string(kAdminClusterRole));
}

std::vector<kube::runtime::ObjectPtr> Reconciler::repoBindingsOf(const api::Organization& org) const {
  std::vector<kube::runtime::ObjectPtr> bindings;
  for (const auto& binding : deps_.repo_bindings.store().list()) {
    const auto spec = binding->find("spec");
    if (spec != binding->end() && spec->is_object() && spec->value("aphexOrg", "") == org.metadata.name) {
      bindings.push_back(binding);
    }
  }
  return bindings;
}

// The pipeline namespaces of the org's Ready RepoBindings, sorted so that the EventListener's
// list (and so its hash) does not change with informer order.
std::vector<std::string> Reconciler::repoNamespaces(const std::vector<kube::runtime::ObjectPtr>& bindings) {
  std::set<std::string> namespaces;
  for (const auto& binding : bindings) {
    const auto status = binding->find("status");
    if (status == binding->end() || !status->is_object()) continue;
    // A binding being deleted takes no more pushes, whatever its last status said.
    if ((*binding)["metadata"].contains("deletionTimestamp")) continue;
    const std::string ns = status->value("pipelineNamespace", "");
    bool ready = false;
    for (const auto& condition : status->value("conditions", Json::array())) {
      if (condition.value("type", "") == "Ready" && condition.value("status", "") == "True") ready = true;
    }
    if (ready && !ns.empty()) namespaces.insert(ns);
  }
  return {namespaces.begin(), namespaces.end()};
}

Outcome Reconciler::writeStatus(Pass& pass, Outcome outcome) {
  pass.status.observed_generation = pass.org.metadata.generation;
  if (!pass.status.phase) pass.status.phase = pass.allReady() ? api::Phase::kReady : api::Phase::kProvisioning;
  auto written = applier_.applyStatus(api::kOrganizations, api::toJson(pass.status), *pass.live);
  if (!written) {
    deps_.logger.warn("status write failed", {{"organization", pass.key()}, {"error", written.error().message}});
    return Retry{"writing status: " + written.error().message};
  }
  if (written->written) recordTransitions(deps_.events, *pass.live, pass.previous_conditions, pass.status.conditions);
  return outcome;
}

}  // namespace aphex::organization
