#include "aphex/repobinding/reconciler.h"

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/concurrent_steps.h"
#include "aphex/common/resources.h"
#include "repobinding/pass.h"

namespace aphex::repobinding {
namespace {

using kube::Json;
using kube::runtime::Done;
using kube::runtime::Outcome;
namespace res = aphex::resources;
namespace cond = api::repo_binding_condition;

bool conditionTrue(const std::vector<api::Condition>& conditions, std::string_view type) {
  const api::Condition* found = api::findCondition(conditions, type);
  return found != nullptr && found->status == api::ConditionStatus::kTrue;
}

// What namespaceOwnership() reports for a namespace that does not exist yet.
constexpr std::string_view kAbsent = "Absent";

}  // namespace

Reconciler::Reconciler(ReconcilerDeps deps)
    : deps_(std::move(deps)),
      writer_(deps_.client, deps_.children),
      runner_(passRunnerDeps(deps_, deps_.repo_bindings, writer_), kind()) {}

PassKind<Reconciler::Pass> Reconciler::kind() {
  return {.type = api::kRepoBindings,
          .name = "repobinding",
          .finalizer = kFinalizer,
          .provision = [this](Pass& pass) { provision(pass); },
          .ready_message =
              [](const Pass& pass) {
                const auto& spec = pass.binding.spec;
                return "repository " + api::repositoryFullName(spec) + " runs pipeline " + spec.pipeline_name +
                       " on pushes to " + spec.branch;
              },
          .cleanup = {{"Argo CD Applications", [this](Pass& pass) { return deleteApplications(pass); }},
                      {"children", [this](Pass& pass) { return deleteChildren(pass); }},
                      {"namespace", [this](Pass& pass) { return deleteOrReleaseNamespace(pass); }}},
          .complete_status = {},
          .idle = Done{}};
}

std::vector<kube::runtime::Request> Reconciler::bindingOfChild(const Json& child) {
  const std::string key = ChildWriter::annotationOf(child, kRepoBindingAnnotation);
  const auto slash = key.find('/');
  if (slash == std::string::npos) return {};
  return {{.ns = key.substr(0, slash), .name = key.substr(slash + 1)}};
}

Outcome Reconciler::reconcile(const kube::runtime::Request& request, std::stop_token stop) {
  return runner_.run(request, std::move(stop));
}

void Reconciler::provision(Pass& pass) {
  const api::RepoBinding& binding = pass.binding;
  pass.status.github_webhook_settings_url = githubWebhookSettingsUrl(binding);
  // pipelineSpec is checked by its own step below: a bad one fails PipelineReady only.
  std::vector<api::FieldError> errors = api::validateExceptPipelineSpec(binding);
  if (auto misplaced = api::placementProblem(binding, deps_.config.platform_namespace)) {
    errors.insert(errors.begin(), *misplaced);
  }
  if (!errors.empty()) {
    const std::string reason = errors.front().path == "metadata.namespace" ? "WrongNamespace" : "InvalidSpec";
    return pass.stopAt(StepResult::failed(reason, api::describe(errors), Retryable::kNo));
  }
  pass.status.pipeline_namespace = binding.spec.pipeline_name;
  if (!organizationAllows(pass)) return;  // the Organization's watch wakes this binding
  // Whose the namespace is comes before the finalizer: a binding that may not have it never holds
  // a finalizer, so deleting it cannot touch what belongs to someone else.
  const auto cached_namespace = deps_.children.get(res::kNamespaces, "", binding.spec.pipeline_name);
  const StepResult claim = namespaceOwnership(pass, cached_namespace.get());
  if (!claim.succeeded()) return namespaceFailed(pass, claim);
  if (!runner_.ensureFinalizer(pass)) return;
  const StepResult ns = applyNamespace(pass, cached_namespace.get(), claim);
  if (!ns.succeeded()) return namespaceFailed(pass, ns);  // nothing else can exist without it
  pass.set(cond::kNamespaceReady, ns);
  applyChildren(pass);
  const auto& org_status = pass.organization->status;
  pass.status.webhook_url = org_status.webhook_url;
  pass.status.webhook_secret_ref = org_status.webhook_secret_ref;
}

// Every group after the namespace, each reported by its condition. The groups are independent of
// each other (each needs only the namespace), so they are applied at once: a first pass waits for
// the slowest group's round trips instead of the sum of all of them. pipelineSpec is parsed here,
// once per pass: the Pipeline and the TriggerTemplate both read it.
void Reconciler::applyChildren(Pass& pass) {
  const api::RepoBinding& binding = pass.binding;
  Ownership owner = ownership(binding);
  if (pass.created_namespace) owner.fresh_namespace = binding.spec.pipeline_name;
  pass.pipeline = api::parsePipelineSpec(binding.spec.pipeline_spec);
  const std::vector<ApiServerEndpoint> api_servers = apiServerEndpoints(deps_.api_server_endpoints.list());
  const bool source_workspace = *pass.pipeline && declaresSourceWorkspace(**pass.pipeline);
  const std::vector<ConditionStep> groups{
      {cond::kPipelineReady, [&] { return applyPipeline(pass, owner); }},
      {cond::kAccessReady, [&] { return writer_.applyOwned(accessChildren(binding), "pipeline-runner access", owner); }},
      {cond::kGuardrailsReady,
       [&] {
         return writer_.applyOwned(guardrailChildren(binding, deps_.config, api_servers),
                                   "quota, limits and network policy", owner);
       }},
      {cond::kGitOpsReady,
       [&] { return writer_.applyOwned(gitOpsChildren(binding, deps_.config), "AppProject and Terraform backend", owner); }},
      {cond::kTriggerReady,
       [&] { return applyTrigger(binding, source_workspace, owner); }}};
  runConcurrently(pass, groups);
}

// The Trigger, then what earlier versions made beside it. Those are looked for in the cache
// only (they carry the managed-by label, so a missing one is gone): no request unless one is there.
StepResult Reconciler::applyTrigger(const api::RepoBinding& binding, bool source_workspace, const Ownership& owner) {
  StepResult applied = writer_.applyOwned(triggerChildren(binding, source_workspace), "Trigger", owner);
  if (!applied.succeeded()) return applied;
  for (const Child& retired : retiredTriggerChildren(binding)) {
    const std::string& ns = binding.spec.pipeline_name;
    const std::string name = retired.object["metadata"].value("name", "");
    if (!deps_.children.get(retired.type, ns, name)) continue;
    if (auto removed = writer_.removeIfOwned(retired.type, ns, name, owner); !removed) {
      return StepResult::failed("CleanupFailed", "removing the former " + retired.type.plural + " " + ns + "/" + name +
                                                     ": " + removed.error().message,
                                Retryable::kYes);
    }
  }
  return applied;
}

void Reconciler::namespaceFailed(Pass& pass, const StepResult& failure) {
  pass.set(cond::kNamespaceReady, failure);
  pass.stopAt(failure, "NamespaceNotReady");
}

Ownership Reconciler::ownership(const api::RepoBinding& binding) {
  return {.annotation = kRepoBindingAnnotation, .value = bindingKey(binding)};
}

// The Organization must be Ready for a binding to be provisioned the first time. Once provisioned
// (it holds the finalizer), a binding keeps going while its Organization's webhook works, so that
// a transient failure elsewhere in the Organization (say, Cloudflare) does not take every
// repository of the organization off the EventListener.
bool Reconciler::organizationAllows(Pass& pass) {
  const std::string& org_name = pass.binding.spec.aphex_org;
  const std::string where = "Organization " + org_name + " in " + deps_.config.platform_namespace;
  const auto live = deps_.organizations.get(kube::runtime::objectKey(deps_.config.platform_namespace, org_name));
  auto wait = [&](std::string reason, std::string message) {
    pass.stopAt(StepResult::waiting(std::move(reason), std::move(message)));
    return false;
  };
  if (!live) return wait("OrganizationNotFound", where + " does not exist; the binding waits for it");
  auto org = api::Organization::fromJson(*live);
  if (!org) return wait("OrganizationUnreadable", where + ": " + org.error().message);
  if (org->metadata.deleting()) return wait("OrganizationDeleting", where + " is being deleted");
  const bool ready = conditionTrue(org->status.conditions, api::organization_condition::kReady) &&
                     org->status.observed_generation == org->metadata.generation;
  const bool provisioned = pass.binding.metadata.hasFinalizer(kFinalizer);
  const bool webhook = conditionTrue(org->status.conditions, api::organization_condition::kWebhookReady);
  if (!ready && !(provisioned && webhook)) return wait("OrganizationNotReady", where + " is not Ready yet");
  pass.organization = std::move(*org);
  return true;
}

// `claim` is what namespaceOwnership() found. An absent namespace is created with a create-only
// write, so that of two bindings claiming one name at once only one gets it.
StepResult Reconciler::applyNamespace(Pass& pass, const Json* cached, const StepResult& claim) {
  const std::string& ns = pass.binding.spec.pipeline_name;
  const api::PodSecurityLevel level =
      pass.organization->spec.pipeline_pod_security.value_or(api::PodSecurityLevel::kRestricted);
  Json desired = namespaceObject(pass.binding, api::toString(level));
  auto written = claim.reason() == kAbsent ? writer_.applier().create(res::kNamespaces, std::move(desired))
                                         : writer_.applier().apply(res::kNamespaces, std::move(desired), cached);
  if (!written && written.error().isAlreadyExists()) {
    return StepResult::failed("NamespaceAppeared", "namespace " + ns + " appeared meanwhile; looking at whose it is", Retryable::kYes);
  }
  if (!written) return StepResult::failed("ApplyFailed", "namespace " + ns + ": " + written.error().message, Retryable::kYes);
  pass.created_namespace = claim.reason() == kAbsent;
  return StepResult::ok("Applied", "namespace " + ns + " is ready (Pod Security " +
                                            std::string(api::toString(level)) + " enforced)");
}

// A pipeline namespace is this binding's alone. One that another RepoBinding made, or that Aphex
// did not make, is refused — never taken over — unless it was retained from a binding of the same
// organization and pipeline.
StepResult Reconciler::namespaceOwnership(const Pass& pass, const Json* cached) {
  const std::string& ns = pass.binding.spec.pipeline_name;
  const std::string mine = bindingKey(pass.binding);
  Json live;
  if (cached != nullptr) {
    live = *cached;
  } else {
    // Not in the cache, which holds only what Aphex made: ask whether it exists at all.
    auto fetched = deps_.client.get(res::kNamespaces, "", ns, pass.stop);
    if (!fetched && fetched.error().isNotFound()) return StepResult::ok(std::string(kAbsent), "");
    if (!fetched) return StepResult::failed("ReadFailed", "namespace " + ns + ": " + fetched.error().message, Retryable::kYes);
    live = std::move(fetched).value();
  }
  if (live["metadata"].contains("deletionTimestamp")) {
    return StepResult::waiting("NamespaceTerminating", "namespace " + ns + " is still being deleted; waiting for it to go",
                               kWaitInterval);
  }
  const std::string owner = ChildWriter::annotationOf(live, kRepoBindingAnnotation);
  // Read from the server, a namespace may carry this binding's own annotation too: made by an
  // earlier pass whose namespace the cache has not received yet.
  if (owner == mine || (cached != nullptr && owner.empty())) return StepResult::ok("Owned", "");
  if (cached != nullptr) {
    return StepResult::failed("NamespaceConflict", "namespace " + ns + " belongs to RepoBinding " + owner +
                                                        "; choose another spec.pipelineName",
                             Retryable::kNo, kTakenNameRecheck);
  }
  if (ChildWriter::annotationOf(live, kRetainedAnnotation) == pass.binding.spec.aphex_org + "/" + ns) {
    return StepResult::ok("Adopted", "");
  }
  return StepResult::failed("NamespaceConflict", "namespace " + ns + " already exists and was not made by Aphex for "
                                                  "organization " + pass.binding.spec.aphex_org +
                                                  "; choose another spec.pipelineName",
                             Retryable::kNo, kTakenNameRecheck);
}

StepResult Reconciler::applyPipeline(Pass& pass, const Ownership& owner) {
  const kube::Result<Json>& parsed = *pass.pipeline;
  if (!parsed) return StepResult::failed("InvalidPipelineSpec", "spec." + parsed.error().message, Retryable::kNo);
  StepResult applied = writer_.applyOwned(pipelineChildren(pass.binding, *parsed), "Pipeline", owner);
  if (!applied.succeeded()) return applied;
  return StepResult::ok("Applied", "Pipeline " + pass.binding.spec.pipeline_name + " is in place");
}

}  // namespace aphex::repobinding
