#include "runtime/manager.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace kube::runtime {
namespace {

std::string typeName(const ResourceType& type) { return type.plural + "." + type.apiVersion(); }

double seconds(Duration duration) { return std::chrono::duration<double>(duration).count(); }

// Longer than the API server takes to answer its own /readyz even when busy, shorter than a
// kubelet's probe timeout (the shipped Deployment allows 5 s).
constexpr std::chrono::milliseconds kApiServerCheckTimeout{2000};

// The readiness check "api-server": the API server answers its own /readyz (which every client
// may read, through ClusterRole system:public-info-viewer). Once synced, the caches stay synced
// through an outage, but they go stale and no write can land: a replica that cannot reach the
// API server cannot do its work, and /readyz says so. It is asked on each probe, directly on the
// transport, so probes stay out of the client's request metrics. /healthz does not ask: a restart
// would not bring the API server back.
HealthCheck apiServerAnswers(kube::Client& client) {
  return [&client]() -> std::optional<std::string> {
    auto answer = client.transport().send(
        {.method = "GET", .path = "/readyz", .accept = "text/plain", .timeout = kApiServerCheckTimeout});
    if (!answer) return "API server unreachable: " + answer.error().message;
    if (answer->status != 200) return "API server answered /readyz with HTTP " + std::to_string(answer->status);
    return std::nullopt;
  };
}

}  // namespace

std::string informerScopeKey(const InformerOptions& options) {
  return options.type.apiVersion() + "/" + options.type.plural + "|ns=" + options.ns +
         "|labels=" + options.label_selector + "|fields=" + options.field_selector;
}

kube::Result<std::unique_ptr<Manager>> Manager::create(kube::Client& client, Clock& clock, MetricsRegistry& registry,
                                                       ManagerOptions options) {
  std::unique_ptr<Manager> manager(new Manager(client, clock, registry, std::move(options)));
  if (!manager->options_.leader_election) return manager;

  LeaderElectionOptions election = *manager->options_.leader_election;
  Manager* self = manager.get();
  election.on_started_leading = [self](std::stop_token leading) { self->lead(leading); };
  election.on_new_leader = [self](const std::string& identity) {
    self->options_.logger.info("new leader observed", {{"leader", identity}});
  };
  auto elector = LeaderElector::create(client, clock, std::move(election));
  if (!elector) return std::move(elector).error();
  manager->elector_ = std::move(*elector);
  client.setWriteGate(leaderWriteGate(*manager->options_.leader_election, [self] { return self->stillLeading(); }));
  return manager;
}

Manager::Manager(kube::Client& client, Clock& clock, MetricsRegistry& registry, ManagerOptions options)
    : client_(client), clock_(clock), options_(std::move(options)), metrics_(registry) {
  if (!options_.probes.metrics_address.empty() || !options_.probes.probe_address.empty()) {
    probes_ = std::make_unique<ProbeServer>(registry, options_.probes, options_.logger.named("probes"));
  }
}

Manager::~Manager() {
  if (elector_) client_.setWriteGate({});  // it refers to this manager
}

kube::WriteGate leaderWriteGate(const LeaderElectionOptions& election, std::function<bool()> still_leading) {
  const std::string leases = kube::resourcePath(kLeases, election.lease_namespace);  // create posts here
  const std::string lease = leases + "/" + election.lease_name;
  return [leases, lease, still_leading = std::move(still_leading)](std::string_view, std::string_view path) {
    const std::string_view target = path.substr(0, path.find('?'));
    return target == lease || target == leases || still_leading();
  };
}

Informer& Manager::informer(const InformerOptions& options) {
  auto& slot = informers_[informerScopeKey(options)];
  if (slot) return *slot;
  InformerOptions counted = options;
  if (counted.handler_panics == nullptr) counted.handler_panics = &metrics_.informer_handler_panics_total;
  slot = std::make_unique<Informer>(client_, clock_, std::move(counted));
  return *slot;
}

Controller& Manager::addController(ControllerOptions options, Reconciler reconciler) {
  options.metrics = &metrics_;
  if (!options.on_reconciled) options.on_reconciled = options_.on_reconciled;
  controllers_.push_back(std::make_unique<Controller>(clock_, std::move(options), std::move(reconciler)));
  return *controllers_.back();
}

void Manager::addRunnable(std::string name, RunWhen when, std::function<void(std::stop_token)> run) {
  runnables_.push_back({.name = std::move(name), .when = when, .run = std::move(run)});
}

bool Manager::isLeader() const { return elector_ ? elector_->isLeader() : leading_.load(); }

bool Manager::stillLeading() const { return elector_ ? elector_->holdsLease() : true; }

bool Manager::hasSynced() const { return synced_.load(); }

kube::Result<void> Manager::startProbes() {
  if (!probes_) return {};
  probes_->addReadyzCheck("informer-sync", checkThat([this] { return hasSynced(); }, "caches not yet synced"));
  probes_->addReadyzCheck("api-server", apiServerAnswers(client_));
  if (elector_) {
    probes_->addReadyzCheck("leader-election",
                            checkThat([this] { return elector_->leadershipKnown(); }, "lease not yet read"));
  }
  return probes_->start();
}

bool Manager::waitForCaches(std::stop_token stop) {
  const MonoTime started = clock_.now();
  const MonoTime deadline = started + options_.cache_sync_timeout;
  for (const auto& [key, informer] : informers_) {
    const Duration left = std::max(Duration::zero(), deadline - clock_.now());
    if (!informer->waitForSync(stop, left)) {
      if (!stop.stop_requested()) {
        options_.logger.error("cache did not sync", {{"informer", typeName(informer->options().type)},
                                                     {"scope", key},
                                                     {"timeout_seconds", seconds(options_.cache_sync_timeout)}});
      }
      return false;
    }
  }
  options_.logger.info("caches synced", {{"informers", informers_.size()}, {"seconds", seconds(clock_.now() - started)}});
  return true;
}

void Manager::startRunnables(RunWhen when, std::stop_token stop, std::vector<std::jthread>& threads) {
  for (const auto& runnable : runnables_) {
    if (runnable.when == when) threads.emplace_back([&runnable, stop] { runnable.run(stop); });
  }
}

// Runs the controllers and the leader-only runnables until `leading` stops, then waits for
// them: Controller::run returns only once its in-flight reconciles have finished.
void Manager::lead(std::stop_token leading) {
  const std::string lease = options_.leader_election ? options_.leader_election->lease_name : "";
  if (!lease.empty()) metrics_.leader_election_master_status.with({lease}).set(1);
  leading_ = true;
  options_.logger.info("leading: starting controllers", {{"controllers", controllers_.size()}});
  {
    std::vector<std::jthread> threads;
    for (const auto& controller : controllers_) {
      threads.emplace_back([&controller, leading] { controller->run(leading); });
    }
    startRunnables(RunWhen::kLeading, leading, threads);
    std::mutex mutex;
    std::condition_variable_any stopped;
    std::unique_lock lock(mutex);
    stopped.wait(lock, leading, [] { return false; });
    options_.logger.info("stopping controllers: waiting for in-flight reconciles");
  }  // joins
  leading_ = false;
  if (!lease.empty()) metrics_.leader_election_master_status.with({lease}).set(0);
  options_.logger.info("controllers stopped");
}

kube::Result<void> Manager::runElected(std::stop_token stop) {
  const auto& election = *options_.leader_election;
  metrics_.leader_election_master_status.with({election.lease_name}).set(0);
  options_.logger.info("standing for election", {{"lease", election.lease_namespace + "/" + election.lease_name},
                                                 {"identity", election.identity}});
  elector_->run(stop);
  if (stop.stop_requested()) return {};
  return Error{.kind = ErrorKind::kApi,
               .message = "lost leadership of Lease " + election.lease_namespace + "/" + election.lease_name +
                          ": exiting so that a restart starts from a fresh cache",
               .status = {}};
}

kube::Result<void> Manager::run(std::stop_token stop) {
  if (started_) return configError("Manager::run called twice");
  started_ = true;
  if (auto probes = startProbes(); !probes) return probes;

  kube::Result<void> result;
  {
    std::vector<std::jthread> informer_threads;  // declared first: stopped last
    options_.logger.info("starting informers", {{"informers", informers_.size()}});
    for (const auto& [key, informer] : informers_) {
      informer_threads.emplace_back([&informer](std::stop_token own) { informer->run(own); });
    }
    if (!waitForCaches(stop)) {
      if (!stop.stop_requested()) {
        result = Error{.kind = ErrorKind::kTransport,
                       .message = "caches did not sync within " +
                                  std::to_string(seconds(options_.cache_sync_timeout)) + " s: see the log for which",
                       .status = {}};
      }
    } else {
      synced_ = true;
      // The always-runnables also stop when leadership is lost, which `stop` does not cover.
      std::stop_source runnables_stop;
      std::stop_callback forward(stop, [&runnables_stop] { runnables_stop.request_stop(); });
      std::vector<std::jthread> always;
      startRunnables(RunWhen::kAlways, runnables_stop.get_token(), always);
      if (elector_) {
        result = runElected(stop);
      } else {
        lead(stop);
      }
      runnables_stop.request_stop();
    }  // always-runnables are joined here
    // Stop every informer before joining any: joined one by one, each would wait out its own
    // stream's cancellation in turn.
    for (auto& thread : informer_threads) thread.request_stop();
  }
  if (probes_) probes_->stop();
  options_.logger.info("manager stopped", {{"clean", result.ok()}});
  return result;
}

}  // namespace kube::runtime
