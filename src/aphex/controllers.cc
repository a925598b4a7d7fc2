#include "aphex/controllers.h"

#include "aphex/api/group.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"

namespace aphex {
namespace {

namespace rt = kube::runtime;
namespace res = aphex::resources;

// Every kind the Organization controller makes, each cached only as far as the controller made it.
const std::vector<kube::ResourceType>& childKinds() {
  static const std::vector<kube::ResourceType> kinds{
      res::kNamespaces,   res::kSecrets,      res::kConfigMaps,          res::kServiceAccounts,
      res::kDeployments,  res::kRoles,        res::kRoleBindings,        res::kClusterRoleBindings,
      res::kIngresses,    res::kEventListeners, res::kClusterSecretStores};
  return kinds;
}

}  // namespace

std::unique_ptr<Controllers> addControllers(rt::Manager& manager, const ControllerConfig& config,
                                            rt::EventRecorder& events, ControllerOptions options) {
  auto controllers = std::make_unique<Controllers>();
  auto& organizations = manager.informer({.type = api::kOrganizations, .ns = config.platform_namespace});
  // RepoBindings live in the platform namespace and in org namespaces.
  auto& repo_bindings = manager.informer({.type = api::kRepoBindings});
  std::vector<rt::Informer*> child_informers;
  for (const auto& kind : childKinds()) {
    auto& informer = manager.informer({.type = kind, .label_selector = std::string(kManagedSelector)});
    controllers->children.add(kind, informer);
    child_informers.push_back(&informer);
  }

  controllers->organizations = std::make_unique<organization::Reconciler>(organization::ReconcilerDeps{
      .client = manager.client(),
      .clock = manager.clock(),
      .config = config,
      .organizations = organizations,
      .repo_bindings = repo_bindings,
      .children = controllers->children,
      .events = events,
      .cloudflare = std::move(options.cloudflare)});
  organization::Reconciler* reconciler = controllers->organizations.get();
  auto& controller = manager.addController(
      {.name = "organization", .concurrency = options.organization_concurrency},
      [reconciler](const rt::Request& request, std::stop_token stop) { return reconciler->reconcile(request, stop); });
  controller.watchPrimary(organizations);
  controller.watchMapped(repo_bindings, [reconciler](const kube::Json& binding) {
    return reconciler->organizationsOf(binding);
  });
  for (rt::Informer* informer : child_informers) {
    controller.watchMapped(*informer, [reconciler](const kube::Json& child) {
      return reconciler->organizationOfChild(child);
    });
  }
  return controllers;
}

}  // namespace aphex
