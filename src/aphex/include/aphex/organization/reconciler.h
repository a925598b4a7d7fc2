// The Organization controller: makes the cluster (and Cloudflare) match each Organization.
//
// A pass (common/pass_runner.h) reads the Organization and every child from informer caches,
// computes what should be (organization/children.h), applies only what differs (runtime/apply.h),
// and reports through conditions, phase and Events. Order: the spec is validated (a bad one ends
// the pass, Terminal), the finalizer is added, the namespace is applied (nothing else can exist
// without it), then the webhook, secret store, access and exposure steps, which are independent:
// a failing exposure does not stop admin access from being granted; each failure becomes its own
// condition.
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
#include "aphex/common/pass_runner.h"
#include "aphex/common/step.h"
#include "aphex/config.h"
#include "aphex/organization/children.h"
#include "kube/object_api.h"
#include "runtime/apply.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/store.h"
#include "runtime/log.h"

namespace aphex::organization {

// Makes a Cloudflare client from the options (token included); a seam for tests.
using CloudflareFactory =
    std::function<kube::Result<std::unique_ptr<cloudflare::Client>>(cloudflare::ClientOptions options)>;
CloudflareFactory defaultCloudflareFactory();

struct ReconcilerDeps {
  kube::ObjectApi& client;
  kube::runtime::Clock& clock;
  const ControllerConfig& config;
  const kube::runtime::Store& organizations;
  // Indexed by kBindingsByOrganization (common/labels.h).
  const kube::runtime::Store& repo_bindings;
  // EndpointSlices of the `default/kubernetes` Service: where the API server listens.
  const kube::runtime::Store& api_server_endpoints;
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


 private:
  struct Pass;  // what one reconcile pass learns and decides

  PassKind<Pass> kind();
  void provision(Pass& pass);
  // The steps of deleting an Organization, in order (a result ends the pass there).
  std::optional<StepResult> deleteRepoBindings(Pass& pass);
  std::optional<StepResult> deleteOutsideTheNamespace(Pass& pass);
  std::optional<StepResult> deleteNamespace(Pass& pass);

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

  // The pipeline namespaces of the Ready ones among `bindings`, sorted.
  static std::vector<std::string> repoNamespaces(const std::vector<kube::runtime::ObjectPtr>& bindings);
  std::vector<kube::runtime::ObjectPtr> repoBindingsOf(const api::Organization& org) const;

  ReconcilerDeps deps_;
  ChildWriter writer_;
  PassRunner<Pass> runner_;
};

}  // namespace aphex::organization
