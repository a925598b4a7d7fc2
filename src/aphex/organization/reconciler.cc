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
namespace res = aphex::resources;
namespace cond = api::organization_condition;

}  // namespace

CloudflareFactory defaultCloudflareFactory() {
  return [](cloudflare::ClientOptions options) { return cloudflare::Client::create(std::move(options)); };
}

Reconciler::Reconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)),
      writer_(deps_.client, deps_.children),
      runner_(passRunnerDeps(deps_, deps_.organizations, writer_), kind()) {}

PassKind<Reconciler::Pass> Reconciler::kind() {
  return {.type = api::kOrganizations,
          .name = "organization",
          .finalizer = kFinalizer,
          .provision = [this](Pass& pass) { provision(pass); },
          .ready_message = [](const Pass&) { return "every part of the organization is ready"; },
          .cleanup = {{"repository bindings", [this](Pass& pass) { return deleteRepoBindings(pass); }},
                      {"outside the namespace", [this](Pass& pass) { return deleteOutsideTheNamespace(pass); }},
                      {"namespace", [this](Pass& pass) { return deleteNamespace(pass); }}},
          .complete_status = {},
          .idle = Done{}};
}

Outcome Reconciler::reconcile(const kube::runtime::Request& request, std::stop_token stop) {
  return runner_.run(request, std::move(stop));
}

void Reconciler::provision(Pass& pass) {
  const api::Organization& org = pass.org;
  pass.status.ns = api::organizationNamespace(org.metadata.name);
  pass.status.webhook_url = webhookUrl(org, deps_.config);
  const auto bindings = repoBindingsOf(org);
  pass.status.repo_bindings = static_cast<std::int32_t>(bindings.size());
  if (const auto errors = api::validate(org); !errors.empty()) {
    return pass.stopAt(StepResult::failed("InvalidSpec", api::describe(errors), Retryable::kNo));
  }
  if (!runner_.ensureFinalizer(pass)) return;
  // Nothing else can exist without the namespace.
  if (const StepResult ns = applyNamespace(pass); !pass.set(cond::kNamespaceReady, ns)) {
    return pass.stopAt(ns, "NamespaceNotReady");
  }
  pass.set(cond::kWebhookReady, applyWebhook(pass, repoNamespaces(bindings)));
  pass.set(cond::kSecretStoreReady, applySecretStore(pass));
  pass.set(cond::kAccessReady, applyAccess(pass));
  pass.set(cond::kExposureReady, applyExposure(pass));
}

StepResult Reconciler::applyNamespace(Pass& pass) {
  const Json desired = namespaceObject(pass.org);
  const auto live = deps_.children.get(res::kNamespaces, "", desired["metadata"]["name"].get<std::string>());
  if (live && (*live)["metadata"].contains("deletionTimestamp")) {
    return StepResult::waiting("NamespaceTerminating",
                               "namespace " + pass.status.ns + " is still being deleted; waiting for it to go",
                               kWaitInterval);
  }
  auto applied = writer_.applier().apply(res::kNamespaces, desired, live.get());
  if (!applied) return StepResult::failed("ApplyFailed", "namespace " + pass.status.ns + ": " + applied.error().message, Retryable::kYes);
  return StepResult::ok("Applied", "namespace " + pass.status.ns + " is ready");
}

StepResult Reconciler::applyWebhook(Pass& pass, const std::vector<std::string>& namespaces) {
  if (StepResult secret = ensureWebhookSecret(pass); !secret.succeeded()) return secret;
  StepResult applied = writer_.applyAll(webhookChildren(pass.org, namespaces), "webhook listener");
  if (!applied.succeeded()) return applied;
  const auto api_servers = apiServerEndpoints(deps_.api_server_endpoints.list());
  applied = writer_.applyAll(isolationChildren(pass.org, deps_.config, api_servers), "network policy");
  if (!applied.succeeded()) return applied;
  pass.status.webhook_secret_ref = api::SecretKeyRef{.ns = pass.status.ns,
                                                     .name = std::string(kWebhookSecretName),
                                                     .key = std::string(kWebhookSecretKey)};
  // No count of the namespaces here: a message that changed with every Ready binding would cost
  // the Organization a status write per binding (status.repoBindings counts them).
  return StepResult::ok("ListenerReady", "EventListener " + std::string(kEventListenerName) +
                                             " verifies signatures and serves the organization's Ready repositories");
}

StepResult Reconciler::applySecretStore(Pass& pass) {
  StepResult applied = writer_.applyAll(secretStoreChildren(pass.org), "secret store");
  if (!applied.succeeded()) return applied;
  return StepResult::ok("StoreReady", "ClusterSecretStore " + clusterSecretStoreName(pass.org) +
                                               " serves Secret " + std::string(kOrgSecretsName) + " to the org's namespaces");
}

// Applies the admin bindings and deletes those of admins no longer listed.
StepResult Reconciler::applyAccess(Pass& pass) {
  const auto desired = adminBindings(pass.org);
  StepResult applied = writer_.applyAll(desired, "admin access");
  if (!applied.succeeded()) return applied;
  std::set<std::string> wanted;
  for (const auto& child : desired) wanted.insert(child.object["metadata"]["name"].get<std::string>());
  // Looked up in this org's namespace only: walking every org's admin bindings made each pass
  // cost as much as all Organizations together (a fifth of the controller's CPU at 100 of them).
  for (const auto& live :
       deps_.children.list(res::kRoleBindings, pass.status.ns, std::string(kComponentLabel), std::string(kAdminComponent))) {
    const auto& metadata = (*live)["metadata"];
    if (wanted.contains(metadata.value("name", ""))) continue;
    if (auto removed = writer_.removeIfPresent(res::kRoleBindings, pass.status.ns, metadata.value("name", "")); !removed) {
      return StepResult::failed("PruneFailed", "removing a former admin's RoleBinding: " + removed.error().message, Retryable::kYes);
    }
  }
  return StepResult::ok("AccessGranted", std::to_string(pass.org.spec.admin_users.size()) + " admin user(s) and " +
                                                  std::to_string(pass.org.spec.admin_groups.size()) +
                                                  " admin group(s) bound to " + std::string(kAdminClusterRole));
}

std::vector<kube::runtime::ObjectPtr> Reconciler::repoBindingsOf(const api::Organization& org) const {
  return deps_.repo_bindings.byIndex(std::string(kBindingsByOrganization), org.metadata.name);
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

}  // namespace aphex::organization
