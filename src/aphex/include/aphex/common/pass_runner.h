// The one reconcile pass every Aphex controller runs, so that the kinds cannot drift apart:
//
//   load the object from the informer's cache (gone: Done; its finalizer already ran)
//   → parse it (unreadable: Terminal, logged; the CRD schema makes this unreachable)
//   → being deleted?  cleanup: say Terminating once, then the kind's cleanup steps in order; a
//                     step that must wait or failed ends the pass (Ready says why); when all are
//                     done the finalizer goes
//   → otherwise       provision: the kind's named steps record their conditions on the pass
//                     (step.h); the kind adds its finalizer with ensureFinalizer() at the point
//                     where it knows the object may own what it is about to make
//   → one status write: observedGeneration, the phase by step.h's rule, Ready, the kind's own
//                     fields; nothing is sent when nothing changed; an object gone meanwhile is
//                     Done; an Event per condition that changed.
// The outcome follows step.h's rule, so a permanent failure is Terminal, never Done.
//
// Thread safety: run() may be called concurrently for different objects (the workqueue never
// hands one key to two workers); the runner holds no per-object state.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "aphex/common/child_writer.h"
#include "aphex/common/step.h"
#include "kube/object_api.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/log.h"
#include "runtime/store.h"

namespace aphex {

// One step of deleting an object: nullopt when its part is gone (the next step runs); a result
// when the pass must end there (waiting for something to go, or failed).
template <class Pass>
struct CleanupStep {
  std::string_view name;
  std::function<std::optional<StepResult>(Pass&)> run;
};

// What a kind brings to the runner.
template <class Pass>
struct PassKind {
  kube::ResourceType type;
  std::string_view name;       // "organization": log lines name the object by it
  std::string_view finalizer;  // empty: the kind holds none (its children go by owner reference)
  // Records every step's condition on the pass (pass.set, pass.stopAt).
  std::function<void(Pass&)> provision;
  // What Ready says when every step succeeded.
  std::function<std::string(const Pass&)> ready_message;
  std::vector<CleanupStep<Pass>> cleanup;
  // Optional: fills the kind's own status fields just before the status write.
  std::function<void(Pass&)> complete_status;
  // The outcome when nothing is wrong: Done, or RequeueAfter for a periodic revalidation.
  kube::runtime::Outcome idle = kube::runtime::Done{};
};

struct PassRunnerDeps {
  const kube::runtime::Store& objects;
  ChildWriter& writer;
  kube::runtime::Clock& clock;
  kube::runtime::EventRecorder& events;
  kube::runtime::Logger logger;
};

// The runner's dependencies from a reconciler's own (any struct with clock, events and logger).
template <class ReconcilerDeps>
PassRunnerDeps passRunnerDeps(ReconcilerDeps& deps, const kube::runtime::Store& objects, ChildWriter& writer) {
  return {.objects = objects, .writer = writer, .clock = deps.clock, .events = deps.events, .logger = deps.logger};
}

template <class Pass>
class PassRunner {
 public:
  PassRunner(PassRunnerDeps deps, PassKind<Pass> kind) : deps_(std::move(deps)), kind_(std::move(kind)) {}

  kube::runtime::Outcome run(const kube::runtime::Request& request, std::stop_token stop) const {
    const auto live = deps_.objects.get(request.key());
    if (!live) return kube::runtime::Done{};
    // Pass is complete here (a reconciler declares its runner before its Pass is defined).
    using Object = std::remove_cvref_t<decltype(std::declval<Pass&>().object)>;
    auto parsed = Object::fromJson(*live);
    if (!parsed) {
      deps_.logger.error("cannot read object", {{std::string(kind_.name), request.key()}, {"error", parsed.error().message}});
      return kube::runtime::Terminal{parsed.error().message};
    }
    Pass pass(live, std::move(*parsed), deps_.clock.wallNow(), std::move(stop));
    if (pass.object.metadata.deleting()) return cleanUp(pass);
    kind_.provision(pass);
    pass.summarise(kind_.ready_message(pass));
    return writeStatus(pass, pass.outcome(kind_.idle));
  }

  // Adds the kind's finalizer unless the object holds it; on failure the pass stops there.
  bool ensureFinalizer(Pass& pass) const {
    if (pass.object.metadata.hasFinalizer(kind_.finalizer)) return true;
    if (auto added = deps_.writer.addFinalizer(kind_.type, *pass.live); !added) {
      pass.stopAt(StepResult::failed("FinalizerNotAdded", "adding finalizer " + std::string(kind_.finalizer) + ": " +
                                                               added.error().message,
                                     Retryable::kYes));
      return false;
    }
    return true;
  }

 private:
  kube::runtime::Outcome cleanUp(Pass& pass) const {
    if (kind_.finalizer.empty() || !pass.object.metadata.hasFinalizer(kind_.finalizer)) return kube::runtime::Done{};
    if (auto failed = markTerminating(pass)) return *failed;
    for (const auto& step : kind_.cleanup) {
      if (auto ended = step.run(pass)) {
        pass.stopAt(*ended);
        return writeStatus(pass, pass.outcome());
      }
    }
    if (auto removed = deps_.writer.removeFinalizer(kind_.type, *pass.live); !removed) {
      return kube::runtime::Retry{"removing finalizer: " + removed.error().message};
    }
    deps_.logger.info("cleaned up", {{std::string(kind_.name), pass.key()}});
    return kube::runtime::Done{};
  }

  // Says so at once, before any step that may wait: Ready turns False with reason Deleting.
  std::optional<kube::runtime::Outcome> markTerminating(Pass& pass) const {
    if (pass.object.status.phase == api::Phase::kTerminating) return std::nullopt;
    pass.stopAt(StepResult::waiting("Deleting", "cleaning up before the object goes"));
    return sendStatus(pass);
  }

  kube::runtime::Outcome writeStatus(Pass& pass, kube::runtime::Outcome outcome) const {
    if (auto ended = sendStatus(pass)) return *ended;
    return outcome;
  }

  // Writes the pass's status; nullopt when it was written (or nothing changed), else the outcome
  // that ends the pass: Done when the object has gone meanwhile, Retry when the write failed.
  std::optional<kube::runtime::Outcome> sendStatus(Pass& pass) const {
    pass.status.observed_generation = pass.object.metadata.generation;
    pass.status.phase = pass.phase();
    if (kind_.complete_status) kind_.complete_status(pass);
    auto written = deps_.writer.applier().applyStatus(kind_.type, api::toJson(pass.status), *pass.live);
    if (!written) {
      if (written.error().isNotFound()) return kube::runtime::Done{};
      deps_.logger.warn("status write failed", {{std::string(kind_.name), pass.key()}, {"error", written.error().message}});
      return kube::runtime::Retry{"writing status: " + written.error().message};
    }
    if (!written->written) return std::nullopt;
    recordTransitions(deps_.events, *pass.live, pass.previous_conditions, pass.status.conditions);
    // The write moved the object's resourceVersion: later writes of this pass that are
    // conditional on it (the finalizer's removal after "Terminating") must see the new one, or
    // they fail with a conflict and cost another pass.
    if (written->object.is_object() && written->object.contains("metadata")) {
      pass.live = std::make_shared<const kube::Json>(std::move(written->object));
    }
    return std::nullopt;
  }

  PassRunnerDeps deps_;
  PassKind<Pass> kind_;
};

}  // namespace aphex
