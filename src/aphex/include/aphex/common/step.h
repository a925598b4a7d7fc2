// How one step of a reconcile pass ended, and what a pass of any Aphex object records while it
// runs: the conditions it will write, the phase, and the outcome for the workqueue.
//
// A step ends in one of three states, a sum type rather than flags that could contradict each
// other (the shape runtime/controller.h's Outcome has):
//   Ok        the step's part is as it should be
//   Waiting   something outside the pass must happen first (an Organization becoming Ready, a
//             namespace finishing its deletion); a watch wakes the object, or a recheck does
//   Failed    the step could not do its part; retryable (the API server refused, a conflict) or
//             not (a bad spec, a name someone else holds: only a change to an object fixes it)
// From every step of a pass follow, by one rule for every kind:
//   outcome  Retry if a step failed retryably, else Terminal if one failed for good (with the
//            soonest recheck such failures ask for), else
//            RequeueAfter(the soonest recheck) if one waits with a recheck, else Done
//   phase    Failed if a step failed for good, else Provisioning if one failed retryably, else
//            Pending if one waits, else Ready (Terminating while the object is being deleted)
// so that a permanent failure counts as Terminal in the metrics, never as success.
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "aphex/api/condition.h"
#include "aphex/api/meta.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/store.h"

namespace aphex {

enum class Retryable { kNo, kYes };

// How often a pass that waits for something to go looks again (its watch may also wake it).
inline constexpr auto kWaitInterval = std::chrono::seconds(5);
// How often a pass that failed because a name is someone else's looks again: the name may be
// freed by a change no watch of the controller sees (an object without Aphex's label removed, or
// another binding's namespace deleted), and then the object should not stay Failed.
inline constexpr auto kTakenNameRecheck = std::chrono::seconds(10);

struct StepOk {
  std::string reason;
  std::string message;
};
struct StepWaiting {
  std::string reason;
  std::string message;
  std::optional<kube::runtime::Duration> recheck;  // none: a watch event wakes the object
};
struct StepFailed {
  std::string reason;
  std::string message;
  Retryable retryable = Retryable::kYes;
  // For a failure not retried: look again after this long all the same, because what would end
  // it may make no event the controller sees (an object without Aphex's label removed).
  std::optional<kube::runtime::Duration> recheck;
};

class StepResult {
 public:
  using State = std::variant<StepOk, StepWaiting, StepFailed>;

  static StepResult ok(std::string reason, std::string message) {
    return StepResult(StepOk{std::move(reason), std::move(message)});
  }
  static StepResult waiting(std::string reason, std::string message,
                            std::optional<kube::runtime::Duration> recheck = std::nullopt) {
    return StepResult(StepWaiting{std::move(reason), std::move(message), recheck});
  }
  static StepResult failed(std::string reason, std::string message, Retryable retryable,
                           std::optional<kube::runtime::Duration> recheck = std::nullopt) {
    return StepResult(StepFailed{std::move(reason), std::move(message), retryable, recheck});
  }

  bool succeeded() const { return std::holds_alternative<StepOk>(state_); }
  bool retryable() const {
    const auto* failed = std::get_if<StepFailed>(&state_);
    return failed != nullptr && failed->retryable == Retryable::kYes;
  }
  const std::string& reason() const {
    return std::visit([](const auto& state) -> const std::string& { return state.reason; }, state_);
  }
  const std::string& message() const {
    return std::visit([](const auto& state) -> const std::string& { return state.message; }, state_);
  }
  const State& state() const { return state_; }

 private:
  explicit StepResult(State state) : state_(std::move(state)) {}
  State state_;
};

// What one reconcile pass of `Object` (an API type with metadata, spec and status with
// conditions, phase and observedGeneration) learns and decides.
template <class Object>
struct ReconcilePass {
  using Status = decltype(Object::status);
  static constexpr std::string_view kReady = "Ready";

  ReconcilePass(kube::runtime::ObjectPtr live_object, Object parsed, kube::runtime::WallTime at, std::stop_token token)
      : live(std::move(live_object)),
        object(std::move(parsed)),
        status(object.status),
        previous_conditions(object.status.conditions),
        now(at),
        stop(std::move(token)) {
    status.phase.reset();  // decided anew by every pass
  }

  // Records a step's condition `type`; returns whether the step succeeded.
  bool set(std::string_view type, const StepResult& result) {
    setCondition(type, result);
    note(result);
    if (!result.succeeded() && !first_problem) first_problem = std::string(type) + ": " + result.message();
    return result.succeeded();
  }

  // The pass ends at a step that gates the rest (validation, the Organization, the namespace):
  // Ready says why, with `ready_reason` (the result's own reason when empty).
  void stopAt(const StepResult& result, std::string_view ready_reason = {}) {
    note(result);
    stopped = true;
    setCondition(kReady, result, ready_reason.empty() ? result.reason() : std::string(ready_reason));
  }

  // Ready summarises the steps, unless stopAt() already said why the pass ended.
  void summarise(std::string ready_message) {
    if (stopped) return;
    if (!problem()) {
      setCondition(kReady, StepResult::ok("Ready", std::move(ready_message)));
    } else {
      setCondition(kReady, StepResult::failed("NotReady", first_problem.value_or("not ready"), Retryable::kNo));
    }
  }

  bool problem() const { return retry || terminal || waiting; }

  // The outcome by the rule in the header's comment; `idle` when nothing is wrong (Done, or a
  // periodic revalidation).
  kube::runtime::Outcome outcome(kube::runtime::Outcome idle = kube::runtime::Done{}) const {
    if (retry) return kube::runtime::Retry{*retry};
    if (terminal) return kube::runtime::Terminal{*terminal, terminal_recheck};
    if (recheck) return kube::runtime::RequeueAfter{*recheck};
    if (waiting) return kube::runtime::Done{};  // a watch event wakes the object
    return idle;
  }

  api::Phase phase() const {
    if (object.metadata.deleting()) return api::Phase::kTerminating;
    if (terminal) return api::Phase::kFailed;
    if (retry) return api::Phase::kProvisioning;
    if (waiting) return api::Phase::kPending;
    return api::Phase::kReady;
  }

  std::string key() const { return kube::runtime::objectKey(object.metadata.ns, object.metadata.name); }

  kube::runtime::ObjectPtr live;
  Object object;
  Status status;
  std::vector<api::Condition> previous_conditions;
  kube::runtime::WallTime now;
  // The reconcile's stop token: long waits (Cloudflare) end when the controller stops.
  std::stop_token stop;

 private:
  void setCondition(std::string_view type, const StepResult& result, std::string reason = {}) {
    api::setCondition(status.conditions,
                      {.type = std::string(type),
                       .status = result.succeeded() ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
                       .reason = reason.empty() ? result.reason() : std::move(reason),
                       .message = result.message(),
                       .last_transition_time = {},
                       .observed_generation = object.metadata.generation},
                      now);
  }

  static void soonest(std::optional<kube::runtime::Duration>& slot, std::optional<kube::runtime::Duration> candidate) {
    if (candidate && (!slot || *candidate < *slot)) slot = candidate;
  }

  void note(const StepResult& result) {
    if (const auto* failed = std::get_if<StepFailed>(&result.state())) {
      auto& slot = failed->retryable == Retryable::kYes ? retry : terminal;
      if (!slot) slot = failed->message;
      if (failed->retryable == Retryable::kNo) soonest(terminal_recheck, failed->recheck);
    } else if (const auto* wait = std::get_if<StepWaiting>(&result.state())) {
      waiting = true;
      soonest(recheck, wait->recheck);
    }
  }

  std::optional<std::string> retry;     // the first retryable failure's message
  std::optional<std::string> terminal;  // the first permanent failure's message
  bool waiting = false;
  std::optional<kube::runtime::Duration> recheck;           // the soonest wait's
  std::optional<kube::runtime::Duration> terminal_recheck;  // the soonest permanent failure's
  std::optional<std::string> first_problem;  // "Condition: message"
  bool stopped = false;
};

}  // namespace aphex
