#include "runtime/controller.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace kube::runtime {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

WorkqueueOptions queueOptions(Clock& clock, const ControllerOptions& options) {
  WorkqueueOptions queue_options{.rate_limiter = defaultControllerRateLimiter(clock), .metrics = {}};
  if (options.metrics == nullptr) return queue_options;
  ControllerMetrics& metrics = *options.metrics;
  const std::string name = options.name;
  queue_options.metrics = {
      .depth = [&metrics, name](std::size_t depth) { metrics.workqueue_depth.with({name}).set(static_cast<double>(depth)); },
      .added = [&metrics, name] { metrics.workqueue_adds_total.with({name}).inc(); },
      .retried = [&metrics, name] { metrics.workqueue_retries_total.with({name}).inc(); },
      .queue_latency = [&metrics, name](Duration d) {
        metrics.workqueue_queue_duration_seconds.with({name}).observe(std::chrono::duration<double>(d).count());
      },
      .work_duration = [&metrics, name](Duration d) {
        metrics.workqueue_work_duration_seconds.with({name}).observe(std::chrono::duration<double>(d).count());
      }};
  return queue_options;
}

// A controller writes its primary objects' status and finalizers, never their spec, never their
// deletion, and never creates one. Whatever OwnWrites recorded, an add, a new generation or a
// deletion is someone else's: a write that changed nothing (made from a cache a step behind) is
// answered with the version of the object's last change, and that change may be a user's
// deletion or spec change, which must wake the object.
bool mayBeOwnPrimaryWrite(const Json* old_object, const Json& new_object) {
  static const Predicate kNotItsOwn = anyOf({generationChanged(), deletionChanged()});
  return old_object != nullptr && !kNotItsOwn(*old_object, new_object);
}

}  // namespace

std::vector<Request> requestsFor(const std::vector<ObjectPtr>& objects) {
  std::vector<Request> requests;
  requests.reserve(objects.size());
  for (const auto& object : objects) {
    const auto metadata = object->find("metadata");
    if (metadata == object->end() || !metadata->is_object()) continue;
    requests.push_back({.ns = metadata->value("namespace", ""), .name = metadata->value("name", "")});
  }
  return requests;
}

Request Request::fromKey(const std::string& key) {
  const auto slash = key.find('/');
  if (slash == std::string::npos) return {.ns = {}, .name = key};
  return {.ns = key.substr(0, slash), .name = key.substr(slash + 1)};
}

std::string_view applyOutcome(Workqueue& queue, const std::string& key, const Outcome& outcome) {
  return std::visit(Overloaded{
                        [&](const Done&) -> std::string_view {
                          queue.forget(key);
                          return "success";
                        },
                        [&](const RequeueAfter& requeue) -> std::string_view {
                          queue.forget(key);
                          queue.addAfter(key, requeue.delay);
                          return "requeue_after";
                        },
                        [&](const Retry&) -> std::string_view {
                          queue.addRateLimited(key);
                          return "error";
                        },
                        [&](const Terminal& terminal) -> std::string_view {
                          // Retrying cannot help; the next change to the object enqueues it again,
                          // and so does the recheck, if there is one.
                          queue.forget(key);
                          if (terminal.recheck) queue.addAfter(key, *terminal.recheck);
                          return "error";
                        },
                    },
                    outcome);
}

std::vector<Request> ownersOfKind(const Json& object, std::string_view owner_kind) {
  std::vector<Request> owners;
  const auto& metadata = object.contains("metadata") ? object["metadata"] : object;
  const auto references = metadata.find("ownerReferences");
  if (references == metadata.end() || !references->is_array()) return owners;
  for (const auto& reference : *references) {
    if (reference.value("controller", false) && reference.value("kind", "") == owner_kind) {
      owners.push_back({.ns = metadata.value("namespace", ""), .name = reference.value("name", "")});
    }
  }
  return owners;
}

Controller::Controller(Clock& clock, ControllerOptions options, Reconciler reconciler)
    : clock_(clock),
      options_(std::move(options)),
      reconciler_(std::move(reconciler)),
      queue_(clock, queueOptions(clock, options_)) {
  if (options_.metrics != nullptr) options_.metrics->initController(options_.name, options_.concurrency);
  if (options_.own_writes && options_.metrics != nullptr) {
    options_.own_writes->onEcho([&family = options_.metrics->own_write_echoes_total, name = options_.name] {
      family.with({name}).inc();
    });
  }
}

void Controller::watchPrimary(Informer& informer, Predicate predicate) {
  watch(
      informer, [](const Json& object) { return std::vector<Request>{Request::fromKey(objectKey(object))}; },
      std::move(predicate), Duration::zero(), mayBeOwnPrimaryWrite);
}

void Controller::watchOwned(Informer& informer, std::string owner_kind) {
  watchMapped(informer, [kind = std::move(owner_kind)](const Json& object) { return ownersOfKind(object, kind); });
}

// A child's echo needs no such filter: a write to a child is a forced apply of the controller's
// fields, so one that changed nothing found them as the controller wants them already, and the
// change whose version it was answered with left them alone. (A child someone deletes still wakes
// its owner when it goes: deletes are never echoes.)
void Controller::watchMapped(Informer& informer, MapFunction map, Predicate predicate, Duration batch) {
  watch(informer, std::move(map), std::move(predicate), batch, {});
}

void Controller::watch(Informer& informer, MapFunction map, Predicate predicate, Duration batch,
                       EchoFilter may_be_echo) {
  auto enqueue = [this, batch](const std::vector<Request>& requests) {
    for (const auto& request : requests) queue_.addAfter(request.key(), batch);
  };
  const ResourceType& type = informer.options().type;
  if (options_.own_writes) options_.own_writes->expectEchoesOf(type);
  // Every add and update goes past the own writes, even one the predicate drops, so that each
  // echo consumes its record; `wanted` says whether it would wake anything.
  auto deliver = [this, &type, enqueue, map](const ObjectPtr& object, bool wanted, bool echo_possible) {
    std::vector<Request> requests = wanted ? map(*object) : std::vector<Request>{};
    if (!options_.own_writes || !echo_possible) return enqueue(requests);
    options_.own_writes->deliver(type, *object, [enqueue, requests = std::move(requests)] { enqueue(requests); });
  };
  auto on_add = [deliver, may_be_echo](const ObjectPtr& object) {
    deliver(object, true, !may_be_echo || may_be_echo(nullptr, *object));
  };
  auto on_update = [deliver, predicate = std::move(predicate), may_be_echo](const ObjectPtr& old, const ObjectPtr& now) {
    deliver(now, !predicate || predicate(*old, *now), !may_be_echo || may_be_echo(old.get(), *now));
  };
  auto on_delete = [this, enqueue, map = std::move(map), &type](const ObjectPtr& object) {
    if (options_.own_writes) options_.own_writes->forget(type, *object);
    enqueue(map(*object));
  };
  informer.addHandler({.on_add = std::move(on_add), .on_update = std::move(on_update), .on_delete = std::move(on_delete)});
}

void Controller::run(std::stop_token stop) {
  std::vector<std::jthread> workers;
  for (int i = 0; i < options_.concurrency; ++i) {
    workers.emplace_back([this, stop] { work(stop); });
  }
  std::mutex mutex;
  std::condition_variable_any stopped;
  std::unique_lock lock(mutex);
  stopped.wait(lock, stop, [] { return false; });  // returns when stop is requested
  lock.unlock();
  // In-flight reconciles finish; nothing new starts.
  queue_.shutDown();
  workers.clear();
}

void Controller::work(std::stop_token stop) {
  while (auto item = queue_.get(stop)) reconcileOne(item->key(), stop);
}

void Controller::reconcileOne(const std::string& key, std::stop_token stop) {
  ControllerMetrics* metrics = options_.metrics;
  if (metrics != nullptr) metrics->active_workers.with({options_.name}).add(1);
  const MonoTime started = clock_.now();
  const Outcome outcome = reconcileGuarded(key, stop);
  const std::string_view result = applyOutcome(queue_, key, outcome);
  if (options_.on_reconciled) options_.on_reconciled();
  if (metrics == nullptr) return;
  metrics->active_workers.with({options_.name}).add(-1);
  metrics->reconcile_total.with({options_.name, result}).inc();
  if (result == "error") metrics->reconcile_errors_total.with({options_.name}).inc();
  if (std::holds_alternative<Terminal>(outcome)) metrics->terminal_reconcile_errors_total.with({options_.name}).inc();
  metrics->reconcile_time_seconds.with({options_.name}).observe(
      std::chrono::duration<double>(clock_.now() - started).count());
}

Outcome Controller::reconcileGuarded(const std::string& key, std::stop_token stop) {
  try {
    return reconciler_(Request::fromKey(key), stop);
  } catch (...) {
    // One object that makes the reconciler throw must not take every other object down with
    // the process; backoff keeps a key that always throws from spinning.
    const std::string what = currentExceptionSummary();
    options_.logger.error("reconciler threw; retrying with backoff",
                          {{"controller", options_.name}, {"key", key}, {"exception", what}});
    if (options_.metrics != nullptr) options_.metrics->reconcile_panics_total.with({options_.name}).inc();
    return Retry{"reconciler threw: " + what};
  }
}

}  // namespace kube::runtime
