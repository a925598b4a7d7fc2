// A manager runs a process's controllers: one metrics/probe server, one shared informer per watched
// scope, leader election, and an orderly start and stop.
//
// run() follows controller-runtime's lifecycle:
//  1. Start the probe server: /healthz passes at once, /readyz fails until step 3.
//  2. Start every informer, in every replica, so that a standby has a warm cache and takes over
//     without relisting.
//  3. Wait until every informer has synced (or fail after cache_sync_timeout); /readyz then
//     passes, once leadership is also known when leader election is on, and for as long as the
//     API server answers its own /readyz (asked on each probe): stale caches during an outage
//     are no reason to claim readiness. /healthz never asks the API server.
//  4. Run the "always" runnables; stand for election, and run the controllers and the "leading"
//     runnables only while leading. A standby's informers still enqueue keys (de-duplicated, so
//     at most one per object): on taking over, the new leader reconciles every object it saw
//     change, which plays the role of controller-runtime's initial replay.
//  5. On stop (SIGTERM): the controllers stop taking keys and finish the reconciles in flight,
//     then the Lease is released, then informers and the probe server stop.
//
// Losing leadership ends run() with an error: a former leader may hold stale assumptions, and a
// restart is the safe way back, as in client-go's OnStoppedLeading → exit.
//
// Writes after the Lease is lost: the controllers' stop token is requested as soon as the term
// ends, but reconciles in flight run on until they return. So that they cannot write beside the
// next leader, a manager with leader election installs a write gate on its client (see
// kube::Client::setWriteGate): every request but GET fails with "not the leader any more; write
// refused" unless stillLeading(), i.e. the renew deadline has not passed since the last
// successful renewal. Writes to the election's own Lease are exempt. This covers everything
// written through that client (reconcilers, Applier, Events), also by a standby's kAlways
// runnables, which must therefore not write through it. The gate replaces any the client had and
// is removed when the manager is destroyed; the client must outlive the manager.
//
// Thread safety: informer(), addController() and addRunnable() before run(), from one thread.
// isLeader(), stillLeading(), hasSynced() from any thread. run() once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <atomic>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/informer.h"
#include "runtime/leader_election.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "runtime/probe_server.h"

namespace kube::runtime {

struct ManagerOptions {
  // Off when both addresses are empty (tests that run several managers in one process).
  ProbeServerOptions probes;
  // nullopt: this process always leads (a single replica, or tests).
  std::optional<LeaderElectionOptions> leader_election;
  Duration cache_sync_timeout = std::chrono::minutes(2);
  Logger logger = defaultLogger().named("manager");
  // Given to every controller that sets none of its own (ControllerOptions::on_reconciled).
  std::function<void()> on_reconciled;
};

// When a runnable runs: in every replica, or only in the leader.
enum class RunWhen { kAlways, kLeading };

class Manager {
 public:
  // `client`, `clock` and `registry` must outlive the manager. Validates the leader election
  // options.
  static kube::Result<std::unique_ptr<Manager>> create(kube::Client& client, Clock& clock, MetricsRegistry& registry,
                                                       ManagerOptions options);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // The informer for this scope, shared: asking twice for the same type, namespace and selectors
  // returns the same informer (the first caller's other options win).
  Informer& informer(const InformerOptions& options);
  // A controller that runs while this process leads, with the manager's metrics.
  Controller& addController(ControllerOptions options, Reconciler reconciler);
  // Any other long-running work; it must return promptly once its token is stopped.
  void addRunnable(std::string name, RunWhen when, std::function<void(std::stop_token)> run);

  // Blocks until `stop` (success) or until the caches cannot sync, the probe server cannot bind,
  // or leadership is lost (an error saying which). Everything started is stopped before it returns.
  kube::Result<void> run(std::stop_token stop);

  bool isLeader() const;
  // Whether writes may go out: always without leader election; with it, only while this process
  // holds the Lease and its renew deadline has not passed (LeaderElector::holdsLease).
  bool stillLeading() const;
  bool hasSynced() const;
  // The probe server's bound ports once run() has started it; 0 before, or when it is off.
  int probePort() const { return probes_ ? probes_->probePort() : 0; }
  int metricsPort() const { return probes_ ? probes_->metricsPort() : 0; }
  ControllerMetrics& metrics() { return metrics_; }
  Clock& clock() { return clock_; }
  kube::Client& client() { return client_; }

 private:
  struct Runnable {
    std::string name;
    RunWhen when;
    std::function<void(std::stop_token)> run;
  };

  Manager(kube::Client& client, Clock& clock, MetricsRegistry& registry, ManagerOptions options);
  kube::Result<void> startProbes();
  bool waitForCaches(std::stop_token stop);
  void startRunnables(RunWhen when, std::stop_token stop, std::vector<std::jthread>& threads);
  void lead(std::stop_token leading);
  kube::Result<void> runElected(std::stop_token stop);

  kube::Client& client_;
  Clock& clock_;
  ManagerOptions options_;
  ControllerMetrics metrics_;
  std::unique_ptr<ProbeServer> probes_;
  std::unique_ptr<LeaderElector> elector_;
  std::map<std::string, std::unique_ptr<Informer>> informers_;  // by scope key
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::vector<Runnable> runnables_;
  std::atomic<bool> synced_ = false;
  std::atomic<bool> leading_ = false;  // without election: true while the controllers run
  bool started_ = false;
};

// The write gate a leader-elected manager installs: writes to the election's Lease always pass
// (a candidate must be able to take it), every other write only while `still_leading()`.
kube::WriteGate leaderWriteGate(const LeaderElectionOptions& election, std::function<bool()> still_leading);

// The key under which informers are shared: type, namespace and selectors.
std::string informerScopeKey(const InformerOptions& options);

}  // namespace kube::runtime
