// A controller: informers feed keys into a workqueue, workers hand each key to a reconciler,
// and the reconciler's outcome decides what happens to the key next.
//
// The reconciler reads the world (from informers' stores), compares it with what should be,
// writes the difference and reports one of four outcomes — never a bool plus a duration plus an
// error, which could contradict each other:
//   Done          the object is as it should be; forget its failure history
//   RequeueAfter  look again after a delay (periodic revalidation, waiting on something)
//   Retry         a transient failure; try again with per-key exponential backoff
//   Terminal      a failure retrying cannot fix (bad input); counted and logged, not requeued
//                 until the object changes, or until its `recheck` (a failure that someone
//                 else's change the watches cannot see may end, such as a name someone holds)
// Only applyOutcome() touches the queue on a reconciler's behalf.
//
// A reconciler that throws (anything: a JSON type_error on a tenant's odd object, bad_alloc) does
// not end the process: the exception is caught, logged with the key and its what(), counted in
// controller_runtime_reconcile_panics_total and as result="error", and the key is retried with
// backoff as if the reconciler had returned Retry. Mapping functions run on the informer's
// thread, which guards them the same way (see informer.h).
//
// Thread safety: watch*() before run(); enqueue() from any thread. The workqueue guarantees that
// one key is never reconciled by two workers at once, so a reconciler needs no per-object lock.
#pragma once

#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <variant>
#include <vector>

#include "runtime/clock.h"
#include "runtime/informer.h"
#include "runtime/log.h"
#include "runtime/metrics.h"
#include "runtime/own_writes.h"
#include "runtime/predicates.h"
#include "runtime/workqueue.h"

namespace kube::runtime {

struct Request {
  std::string ns;  // empty for cluster-scoped objects
  std::string name;

  std::string key() const { return objectKey(ns, name); }
  static Request fromKey(const std::string& key);
  bool operator==(const Request&) const = default;
};

struct Done {};
struct RequeueAfter {
  Duration delay;
};
struct Retry {
  std::string reason;
};
struct Terminal {
  std::string reason;
  std::optional<Duration> recheck;  // look again after this long, without backoff
};
using Outcome = std::variant<Done, RequeueAfter, Retry, Terminal>;

using Reconciler = std::function<Outcome(const Request&, std::stop_token)>;

// Maps a secondary object to the primary objects it concerns.
using MapFunction = std::function<std::vector<Request>(const Json& object)>;

// Applies a reconcile outcome to the key's place in the queue; returns the result label
// controller-runtime's reconcile_total uses (success, requeue_after, error; Terminal is an error
// that is not retried, also counted in terminal_reconcile_errors_total).
std::string_view applyOutcome(Workqueue& queue, const std::string& key, const Outcome& outcome);

// One request per object (its namespace and name): every cached object of a kind, when something
// they all depend on changed.
std::vector<Request> requestsFor(const std::vector<ObjectPtr>& objects);

// The owners of `object` named by a controller ownerReference of `owner_kind` (same namespace).
std::vector<Request> ownersOfKind(const Json& object, std::string_view owner_kind);

struct ControllerOptions {
  std::string name;  // the `controller` label of every metric and log line
  int concurrency = 1;
  ControllerMetrics* metrics = nullptr;  // optional
  Logger logger = defaultLogger().named("controller");
  // Optional: called after every reconcile, on its worker thread (say, to count activity for
  // QuietHousekeeping: a pass over cached objects makes no request, yet allocates).
  std::function<void()> on_reconciled;
  // Optional: the writes of this controller's reconciler (made through an OwnWritesClient over the
  // same record). An add or update that is one of them coming back wakes nothing; see own_writes.h.
  std::shared_ptr<OwnWrites> own_writes;
};

class Controller {
 public:
  Controller(Clock& clock, ControllerOptions options, Reconciler reconciler);

  // Every change to an object of the primary kind enqueues that object (updates only when
  // `predicate` passes, if one is given; adds and deletes always). Of the controller's own writes
  // coming back, only those that could be its own are dropped: see mayBeOwnPrimaryWrite.
  void watchPrimary(Informer& informer, Predicate predicate = {});
  // Changes to objects controlled by an owner of `owner_kind` enqueue the owner.
  void watchOwned(Informer& informer, std::string owner_kind);
  // Changes to any object enqueue whatever `map` returns (by label, by name, ...); updates only
  // when `predicate` passes, if one is given; never the controller's own writes coming back
  // (ControllerOptions::own_writes). With a `batch` delay, a change enqueues its keys that much
  // later, and the changes that come meanwhile ride along (Workqueue::addAfter keeps the earlier
  // due time): for an object that follows many others, which change in bursts.
  void watchMapped(Informer& informer, MapFunction map, Predicate predicate = {}, Duration batch = Duration::zero());

  void enqueue(const Request& request) { queue_.add(request.key()); }
  // Runs `concurrency` workers until `stop`; then stops handing out keys and waits for the
  // reconciles in flight to finish.
  void run(std::stop_token stop);

  const std::string& name() const { return options_.name; }
  Workqueue& queue() { return queue_; }

 private:
  // Whether an add (no `old_object`) or update may be one of the controller's own writes coming
  // back; one that may not wakes its owner whatever OwnWrites recorded.
  using EchoFilter = std::function<bool(const Json* old_object, const Json& new_object)>;
  void watch(Informer& informer, MapFunction map, Predicate predicate, Duration batch, EchoFilter may_be_echo);
  void work(std::stop_token stop);
  void reconcileOne(const std::string& key, std::stop_token stop);
  // The reconciler's outcome, or Retry when it threw.
  Outcome reconcileGuarded(const std::string& key, std::stop_token stop);

  Clock& clock_;
  ControllerOptions options_;
  Reconciler reconciler_;
  Workqueue queue_;
};

}  // namespace kube::runtime
