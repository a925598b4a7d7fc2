// The Organization controller: makes the cluster (and Cloudflare) match each Organization.
//
// A pass reads the Organization and every child from informer caches, computes what should be
// (organization/children.h), applies only what differs (runtime/apply.h), and reports through
// conditions, phase and Events. Steps are independent where they can be: a failing exposure does
// not stop admin access from being granted; each failure becomes its own condition.
//
// Deletion (finalizer aphex.io/cleanup) runs in order and keeps the finalizer until everything is
// gone: the org's RepoBindings (their own finalizers run), then the DNS record and the tunnel,
// then the cluster-scoped objects, then the namespace.
//
// Thread safety: reconcile() may run concurrently for different Organizations (the workqueue
// never hands one key to two workers); the class holds no per-object mutable state.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "aphex/api/organization.h"
#include "aphex/cloudflare/client.h"
#include "aphex/common/child_cache.h"
#include "aphex/common/child_writer.h"
#include "aphex/common/step.h"
#include "aphex/config.h"
#include "aphex/organization/children.h"
#include "kube/client.h"
#include "runtime/apply.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/informer.h"
#include "runtime/log.h"

namespace aphex::organization {

// Makes a Cloudflare client from the options (token included); a seam for tests.
using CloudflareFactory =
    std::function<kube::Result<std::unique_ptr<cloudflare::Client>>(cloudflare::ClientOptions options)>;
CloudflareFactory defaultCloudflareFactory();

struct ReconcilerDeps {
  kube::Client& client;
  kube::runtime::Clock& clock;
  const ControllerConfig& config;
  const kube::runtime::Informer& organizations;
  const kube::runtime::Informer& repo_bindings;
  // EndpointSlices of the `default/kubernetes` Service: where the API server listens.
  const kube::runtime::Informer& api_server_endpoints;
  const ChildCache& children;
  kube::runtime::EventRecorder& events;
  CloudflareFactory cloudflare = defaultCloudflareFactory();
  kube::runtime::Logger logger = kube::runtime::defaultLogger().named("organization");
};

using aphex::StepResult;

class Reconciler {
 public:
  explicit Reconciler(ReconcilerDeps deps);

  kube::runtime::Outcome reconcile(const kube::runtime::Request& request, std::stop_token stop);

  // The Organizations that a RepoBinding concerns (its spec.aphexOrg, in the platform namespace).
  std::vector<kube::runtime::Request> organizationsOf(const kube::Json& repo_binding) const;
  // Every Organization (the API server's addresses changed: every NetworkPolicy follows).
  std::vector<kube::runtime::Request> allOrganizations() const;
  // The Organization a child labelled aphex.io/organization belongs to.
  std::vector<kube::runtime::Request> organizationOfChild(const kube::Json& child) const;

 private:
  struct Pass;  // what one reconcile pass learns and decides

  kube::runtime::Outcome provision(Pass& pass);
  kube::runtime::Outcome finalize(Pass& pass);
  // The steps of finalize(), in order; each returns an outcome when the pass must end there.
  std::optional<kube::runtime::Outcome> markTerminating(Pass& pass);
  std::optional<kube::runtime::Outcome> deleteRepoBindings(Pass& pass);
  std::optional<kube::runtime::Outcome> deleteOutsideTheNamespace(Pass& pass);
  std::optional<kube::runtime::Outcome> deleteNamespace(Pass& pass);

  StepResult applyNamespace(Pass& pass);
  StepResult applyWebhook(Pass& pass, const std::vector<std::string>& repo_namespaces);
  StepResult ensureWebhookSecret(Pass& pass);
  void recordNewSecret(const Pass& pass, bool replaced_existing);
  StepResult applySecretStore(Pass& pass);
  StepResult applyAccess(Pass& pass);
  StepResult applyExposure(Pass& pass);
  StepResult exposeByIngress(Pass& pass);
  StepResult exposeByTunnel(Pass& pass);
  StepResult removeOtherExposures(Pass& pass, api::ExposureMode keep);
  // A client whose waits end when `stop` is requested.
  kube::Result<std::unique_ptr<cloudflare::Client>> cloudflareClient(std::stop_token stop);
  kube::Result<void> deleteTunnel(Pass& pass, cloudflare::Client& cloudflare);

  StepResult applyAll(const std::vector<Child>& children, const std::string& what) {
    return writer_.applyAll(children, what);
  }
  kube::Result<void> removeIfPresent(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    return writer_.removeIfPresent(type, ns, name);
  }
  // The pipeline namespaces of the Ready ones among `bindings`, sorted.
  static std::vector<std::string> repoNamespaces(const std::vector<kube::runtime::ObjectPtr>& bindings);
  std::vector<kube::runtime::ObjectPtr> repoBindingsOf(const api::Organization& org) const;
  kube::runtime::Outcome writeStatus(Pass& pass, kube::runtime::Outcome outcome);

  ReconcilerDeps deps_;
  ChildWriter writer_;
  kube::runtime::Applier& applier_;  // writer_'s
};

}  // namespace aphex::organization
