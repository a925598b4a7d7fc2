#include "aphex/controllers.h"

#include <set>

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "aphex/repobinding/children.h"
#include "aphex/repobinding/resources.h"

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

// Children are compared by what the controller sets, never by their status, so their cache keeps
// neither status nor managedFields: much of a live object's size, multiplied by every child of
// every Organization and RepoBinding.
void trimChild(kube::Json& object) {
  rt::dropManagedFields(object);
  object.erase("status");
}

const kube::ResourceType kEndpointSlices{
    .group = "discovery.k8s.io", .version = "v1", .plural = "endpointslices", .namespaced = true};

template <class Reconciler>
rt::Reconciler reconcileWith(Reconciler* reconciler) {
  return [reconciler](const rt::Request& request, std::stop_token stop) { return reconciler->reconcile(request, stop); };
}

void addOrganizationController(rt::Manager& manager, Controllers& controllers, rt::Informer& organizations,
                               rt::Informer& repo_bindings, rt::Informer& api_endpoints,
                               const std::vector<rt::Informer*>& child_informers, int concurrency) {
  organization::Reconciler* reconciler = controllers.organizations.get();
  auto& controller = manager.addController({.name = "organization", .concurrency = concurrency}, reconcileWith(reconciler));
  controller.watchPrimary(organizations);
  controller.watchMapped(repo_bindings, [reconciler](const kube::Json& binding) {
    return reconciler->organizationsOf(binding);
  });
  controller.watchMapped(api_endpoints, [reconciler](const kube::Json&) { return reconciler->allOrganizations(); });
  for (rt::Informer* informer : child_informers) {
    controller.watchMapped(*informer, [reconciler](const kube::Json& child) {
      return reconciler->organizationOfChild(child);
    });
  }
}

void addRepoBindingController(rt::Manager& manager, Controllers& controllers, rt::Informer& organizations,
                              rt::Informer& repo_bindings, rt::Informer& api_endpoints,
                              const std::vector<rt::Informer*>& child_informers, int concurrency) {
  repobinding::Reconciler* reconciler = controllers.repo_bindings.get();
  auto& controller = manager.addController({.name = "repobinding", .concurrency = concurrency}, reconcileWith(reconciler));
  controller.watchPrimary(repo_bindings);
  controller.watchMapped(organizations, [reconciler](const kube::Json& org) { return reconciler->bindingsOf(org); });
  controller.watchMapped(api_endpoints, [reconciler](const kube::Json&) { return reconciler->allBindings(); });
  for (rt::Informer* informer : child_informers) {
    controller.watchMapped(*informer, [](const kube::Json& child) { return repobinding::Reconciler::bindingOfChild(child); });
  }
}

}  // namespace

std::unique_ptr<Controllers> addControllers(rt::Manager& manager, const ControllerConfig& config,
                                            rt::EventRecorder& events, ControllerOptions options) {
  auto controllers = std::make_unique<Controllers>();
  auto& organizations = manager.informer(
      {.type = api::kOrganizations, .ns = config.platform_namespace, .label_selector = config.object_selector});
  // RepoBindings live in the platform namespace and in org namespaces; KnowledgeBases anywhere.
  auto& repo_bindings = manager.informer({.type = api::kRepoBindings, .label_selector = config.object_selector});
  auto& knowledge_bases = manager.informer({.type = api::kKnowledgeBases, .label_selector = config.object_selector});
  auto& api_endpoints = manager.informer(
      {.type = kEndpointSlices, .ns = "default", .label_selector = "kubernetes.io/service-name=kubernetes"});
  std::vector<rt::Informer*> child_informers;
  for (const auto& kind : childKinds()) {
    auto& informer = manager.informer({.type = kind,
                                       .ns = cacheNamespace(kind, config),
                                       .label_selector = std::string(kManagedSelector),
                                       .transform = trimChild});
    controllers->children.add(kind, informer);
    child_informers.push_back(&informer);
  }

  controllers->organizations = std::make_unique<organization::Reconciler>(organization::ReconcilerDeps{
      .client = manager.client(),
      .clock = manager.clock(),
      .config = config,
      .organizations = organizations,
      .repo_bindings = repo_bindings,
      .api_server_endpoints = api_endpoints,
      .children = controllers->children,
      .events = events,
      .cloudflare = std::move(options.cloudflare)});
  controllers->repo_bindings = std::make_unique<repobinding::Reconciler>(repobinding::ReconcilerDeps{
      .client = manager.client(),
      .clock = manager.clock(),
      .config = config,
      .repo_bindings = repo_bindings,
      .organizations = organizations,
      .api_server_endpoints = api_endpoints,
      .children = controllers->children,
      .events = events});
  controllers->knowledge_bases = std::make_unique<knowledgebase::Reconciler>(knowledgebase::ReconcilerDeps{
      .client = manager.client(),
      .clock = manager.clock(),
      .knowledge_bases = knowledge_bases,
      .children = controllers->children,
      .events = events});

  addOrganizationController(manager, *controllers, organizations, repo_bindings, api_endpoints, child_informers,
                            options.organization_concurrency);
  addRepoBindingController(manager, *controllers, organizations, repo_bindings, api_endpoints, child_informers,
                           options.repo_binding_concurrency);
  knowledgebase::Reconciler* kb = controllers->knowledge_bases.get();
  auto& kb_controller =
      manager.addController({.name = "knowledgebase", .concurrency = options.knowledge_base_concurrency}, reconcileWith(kb));
  kb_controller.watchPrimary(knowledge_bases);
  return controllers;
}

}  // namespace aphex
