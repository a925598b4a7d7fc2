#include "aphex/controllers.h"

#include <set>

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/children.h"
#include "aphex/repobinding/resources.h"
#include "runtime/builder.h"
#include "runtime/owned_fields.h"

namespace aphex {
namespace {

namespace rt = kube::runtime;
namespace res = aphex::resources;

// Every kind the controllers make, each cached only as far as the controller made it.
std::vector<kube::ResourceType> childKinds() {
  std::vector<kube::ResourceType> kinds{
      res::kNamespaces,   res::kSecrets,    res::kConfigMaps,          res::kServiceAccounts,
      res::kDeployments,  res::kRoles,      res::kRoleBindings,        res::kClusterRoleBindings,
      res::kIngresses,    res::kEventListeners, res::kClusterSecretStores};
  std::set<std::string> seen;
  for (const auto& kind : kinds) seen.insert(kind.apiVersion() + "/" + kind.plural);
  for (const auto& kind : repobinding::childKinds()) {
    if (seen.insert(kind.apiVersion() + "/" + kind.plural).second) kinds.push_back(kind);
  }
  return kinds;
}

// AppProjects are read by Argo CD in its own namespace only; the cache need not look elsewhere.
std::string cacheNamespace(const kube::ResourceType& kind, const ControllerConfig& config) {
  return kind.plural == repobinding::resources::kAppProjects.plural ? config.argocd_namespace : "";
}

// Children are cached compact (runtime/owned_fields.h): metadata and a digest of the fields the
// controller applied, not their bodies — 14,300 children at 100 Organizations x 1,000 bindings.
// Secrets keep their data: the webhook secret's value and the tunnel token are read from it.
// A child arrives whole, managedFields and all (3–5 KB), and leaves the page a few hundred bytes
// of text: smaller pages keep what 20-odd informers listing at once hold in flight small, and so
// the heap a restart leaves behind.
constexpr std::int64_t kChildPageSize = 100;

rt::Transform compactChild(const kube::ResourceType& kind) {
  std::vector<std::string> kept;
  if (kind.group.empty() && kind.plural == res::kSecrets.plural) kept = {"data", "type"};
  return rt::compactTransform({.field_manager = std::string(kFieldManager), .kept_fields = std::move(kept)});
}

template <class Reconciler>
rt::Reconciler reconcileWith(Reconciler* reconciler) {
  return [reconciler](const rt::Request& request, std::stop_token stop) { return reconciler->reconcile(request, stop); };
}

// RepoBindings by spec.aphexOrg.
std::vector<std::string> organizationOfBinding(const kube::Json& binding) {
  const auto spec = binding.find("spec");
  if (spec == binding.end() || !spec->is_object()) return {};
  const auto org = spec->find("aphexOrg");
  if (org == spec->end() || !org->is_string()) return {};
  return {org->get<std::string>()};
}

const kube::Json& at(const kube::Json& object, const char* key) {
  static const kube::Json kNull;
  const auto found = object.find(key);
  return found == object.end() ? kNull : *found;
}

// What an Organization reads of a RepoBinding: its organization, whether it is being deleted,
// and the namespace it serves once Ready (the EventListener's list).
kube::Json bindingAsTheOrganizationSeesIt(const kube::Json& binding) {
  const kube::Json& status = at(binding, "status");
  kube::Json ready;
  for (const auto& condition : status.is_object() ? at(status, "conditions") : kube::Json()) {
    if (condition.is_object() && condition.value("type", "") == "Ready") ready = at(condition, "status");
  }
  return {at(binding, "spec").is_object() ? at(at(binding, "spec"), "aphexOrg") : kube::Json(),
          at(at(binding, "metadata"), "deletionTimestamp"), status.is_object() ? at(status, "pipelineNamespace") : kube::Json(),
          ready};
}

// What a RepoBinding reads of its Organization: the spec (generation), deletion, and the status
// that says whether its webhook serves (conditions, webhook URL and Secret).
kube::Json organizationAsABindingSeesIt(const kube::Json& org) {
  const kube::Json& status = at(org, "status");
  const kube::Json& metadata = at(org, "metadata");
  if (!status.is_object()) return {at(metadata, "generation"), at(metadata, "deletionTimestamp")};
  kube::Json conditions = kube::Json::array();
  for (const auto& condition : at(status, "conditions")) {
    if (condition.is_object()) conditions.push_back({at(condition, "type"), at(condition, "status")});
  }
  return {at(metadata, "generation"), at(metadata, "deletionTimestamp"), at(status, "observedGeneration"),
          conditions, at(status, "webhookURL"), at(status, "webhookSecretRef")};
}

// An Organization follows its bindings (its EventListener lists their namespaces, its status counts
// them). Bindings change in bursts, a team onboarding several repositories or a restart: one
// Organization pass a second later takes in the whole burst, where one per binding change would
// rewrite the EventListener each time. Only the listener waits; no binding's Ready does.
constexpr kube::Duration kBindingChangesBatch = std::chrono::seconds(1);

rt::MapFunction organizationsOfBinding(std::string platform_namespace) {
  return [ns = std::move(platform_namespace)](const kube::Json& binding) {
    std::vector<rt::Request> requests;
    for (auto& org : organizationOfBinding(binding)) requests.push_back({.ns = ns, .name = std::move(org)});
    return requests;
  };
}

// Children that belong to a RepoBinding (they carry the pipeline label) are not the org's.
rt::MapFunction organizationOfChild(std::string platform_namespace) {
  return [ns = std::move(platform_namespace)](const kube::Json& child) -> std::vector<rt::Request> {
    const kube::Json labels = child.value("metadata", kube::Json::object()).value("labels", kube::Json::object());
    const std::string org = labels.value(std::string(kOrganizationLabel), "");
    if (org.empty() || labels.contains(std::string(kPipelineLabel))) return {};
    return {{.ns = ns, .name = org}};
  };
}

// A client for one reconciler that records its writes in `writes`, kept in `controllers`.
kube::ObjectApi& recordingClient(Controllers& controllers, rt::Manager& manager,
                                 const std::shared_ptr<rt::OwnWrites>& writes) {
  controllers.clients.push_back(std::make_unique<rt::OwnWritesClient>(manager.client(), writes));
  return *controllers.clients.back();
}

}  // namespace

std::unique_ptr<Controllers> addControllers(rt::Manager& manager, const ControllerConfig& config,
                                            rt::EventRecorder& events, DomainControllerOptions options) {
  auto controllers = std::make_unique<Controllers>();
  auto& organizations = manager.informer(
      {.type = api::kOrganizations, .ns = config.platform_namespace, .label_selector = config.object_selector});
  // RepoBindings live in the platform namespace and in org namespaces; KnowledgeBases anywhere.
  // RepoBindings and children are kept as compact text compressed against a dictionary of the
  // cache's first objects, decompressed and parsed on each read (runtime/store.h): a few
  // microseconds per read against a twentieth of the memory per object of a tree.
  auto& repo_bindings = manager.informer(
      {.type = api::kRepoBindings, .label_selector = config.object_selector, .encoding = rt::CacheEncoding::kCompressed});
  repo_bindings.addIndex(std::string(kBindingsByOrganization), organizationOfBinding);
  auto& knowledge_bases = manager.informer({.type = api::kKnowledgeBases, .label_selector = config.object_selector});
  auto& api_endpoints = manager.informer(
      {.type = res::kEndpointSlices, .ns = "default", .label_selector = "kubernetes.io/service-name=kubernetes"});
  // Children are cached compact (their metadata and the digest of the fields the controller set):
  // an update that moves only their resourceVersion changed nothing the reconcilers read, such as
  // kube-controller-manager counting a new namespace's ResourceQuota as its objects land (about
  // one binding pass each during an onboarding). Owned kinds pass updates through
  // changedApartFromStatus, which compares all the compact object holds but its version.
  std::vector<rt::Informer*> child_informers;
  for (const auto& kind : childKinds()) {
    auto& informer = manager.informer({.type = kind,
                                       .ns = cacheNamespace(kind, config),
                                       .label_selector = std::string(kManagedSelector),
                                       .page_size = kChildPageSize,
                                       .transform = compactChild(kind),
                                       .encoding = rt::CacheEncoding::kCompressed,
                                       .indexed_labels = {std::string(kComponentLabel)}});
    controllers->children.add(kind, informer.store());
    child_informers.push_back(&informer);
  }
  auto& config_maps = manager.informer({.type = res::kConfigMaps,
                                        .ns = cacheNamespace(res::kConfigMaps, config),
                                        .label_selector = std::string(kManagedSelector),
                                        .page_size = kChildPageSize,
                                        .transform = compactChild(res::kConfigMaps),
                                        .encoding = rt::CacheEncoding::kCompressed,
                                        .indexed_labels = {std::string(kComponentLabel)}});

  const auto organization_writes = std::make_shared<rt::OwnWrites>(manager.clock());
  const auto repo_binding_writes = std::make_shared<rt::OwnWrites>(manager.clock());
  const auto knowledge_base_writes = std::make_shared<rt::OwnWrites>(manager.clock());
  controllers->organizations = std::make_unique<organization::Reconciler>(organization::ReconcilerDeps{
      .client = recordingClient(*controllers, manager, organization_writes),
      .clock = manager.clock(),
      .config = config,
      .organizations = organizations.store(),
      .repo_bindings = repo_bindings.store(),
      .api_server_endpoints = api_endpoints.store(),
      .children = controllers->children,
      .events = events,
      .cloudflare = std::move(options.cloudflare)});
  controllers->repo_bindings = std::make_unique<repobinding::Reconciler>(repobinding::ReconcilerDeps{
      .client = recordingClient(*controllers, manager, repo_binding_writes),
      .clock = manager.clock(),
      .config = config,
      .repo_bindings = repo_bindings.store(),
      .organizations = organizations.store(),
      .api_server_endpoints = api_endpoints.store(),
      .children = controllers->children,
      .events = events});
  controllers->knowledge_bases = std::make_unique<knowledgebase::Reconciler>(knowledgebase::ReconcilerDeps{
      .client = recordingClient(*controllers, manager, knowledge_base_writes),
      .clock = manager.clock(),
      .knowledge_bases = knowledge_bases.store(),
      .children = controllers->children,
      .events = events});

  controllers->pipeline_runs = std::make_unique<pipelineruns::Pruner>(pipelineruns::PrunerDeps{
      .client = manager.client(),
      .clock = manager.clock(),
      .config = config,
      .repo_bindings = repo_bindings.store(),
      .children = controllers->children});
  // Only the leader deletes, as only the leader reconciles.
  manager.addRunnable("pipelinerun-pruner", rt::RunWhen::kLeading,
                      [pruner = controllers->pipeline_runs.get()](std::stop_token stop) { pruner->run(stop); });

  rt::ControllerBuilder(manager, "organization")
      .forKind(organizations)
      .owns(child_informers, organizationOfChild(config.platform_namespace), rt::changedApartFromStatus())
      .watches(repo_bindings, organizationsOfBinding(config.platform_namespace),
               rt::projectionChanged(bindingAsTheOrganizationSeesIt), kBindingChangesBatch)
      .watches(api_endpoints, rt::toAll(organizations))
      .concurrency(options.organization_concurrency)
      .ownWrites(organization_writes)
      .complete(reconcileWith(controllers->organizations.get()));
  rt::ControllerBuilder(manager, "repobinding")
      .forKind(repo_bindings)
      .owns(child_informers, rt::byAnnotation(std::string(kRepoBindingAnnotation)), rt::changedApartFromStatus())
      .watches(organizations, rt::byIndex(repo_bindings, std::string(kBindingsByOrganization), rt::nameOf),
               rt::projectionChanged(organizationAsABindingSeesIt))
      .watches(api_endpoints, rt::toAll(repo_bindings))
      .concurrency(options.repo_binding_concurrency)
      .ownWrites(repo_binding_writes)
      .complete(reconcileWith(controllers->repo_bindings.get()));
  rt::ControllerBuilder(manager, "knowledgebase")
      .forKind(knowledge_bases)
      .owns(config_maps, rt::byOwnerReference(std::string(api::kKnowledgeBaseKind)), rt::changedApartFromStatus())
      .concurrency(options.knowledge_base_concurrency)
      .ownWrites(knowledge_base_writes)
      .complete(reconcileWith(controllers->knowledge_bases.get()));
  return controllers;
}

}  // namespace aphex
