// How one step of a reconcile pass ended, as the condition that reports it says, and what a pass
// of any Aphex object records while it runs.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aphex/api/condition.h"
#include "runtime/controller.h"
#include "runtime/store.h"

namespace aphex {

struct StepResult {
  bool ok = true;
  std::string reason;
  std::string message;
  bool retry = false;  // a transient failure: retry with backoff (else wait for a change)
  static StepResult success(std::string reason, std::string message) {
    return {.ok = true, .reason = std::move(reason), .message = std::move(message), .retry = false};
  }
  static StepResult failure(std::string reason, std::string message, bool retry) {
    return {.ok = false, .reason = std::move(reason), .message = std::move(message), .retry = retry};
  }
};

// What one reconcile pass of `Object` (an API type with metadata, spec and status.conditions)
// learns and decides: the status it will write and whether a step failed.
template <class Object>
struct ReconcilePass {
  using Status = decltype(Object::status);

  ReconcilePass(kube::runtime::ObjectPtr live_object, Object parsed, std::chrono::system_clock::time_point at)
      : live(std::move(live_object)),
        object(std::move(parsed)),
        status(object.status),
        previous_conditions(object.status.conditions),
        now(at) {
    status.phase.reset();  // decided anew by every pass
  }

  // Records a step's condition; returns whether the step succeeded.
  bool set(std::string_view type, const StepResult& result) {
    api::setCondition(status.conditions,
                      {.type = std::string(type),
                       .status = result.ok ? api::ConditionStatus::kTrue : api::ConditionStatus::kFalse,
                       .reason = result.reason,
                       .message = result.message,
                       .last_transition_time = {},
                       .observed_generation = object.metadata.generation},
                      now);
    if (!result.ok && type != kReady) {
      failed = true;
      if (result.retry) {
        retry_reason = result.message;
      } else {
        permanent_failure = true;
      }
    }
    return result.ok;
  }

  bool allReady() const { return !failed; }

  // Ready summarises the steps; the outcome retries when a step failed transiently, and otherwise
  // waits for a change (a watch event) to try again.
  kube::runtime::Outcome outcome(std::string ready_message) {
    if (failed) {
      set(kReady, StepResult::failure("NotReady", firstFailure(), false));
    } else {
      set(kReady, StepResult::success("Ready", std::move(ready_message)));
    }
    if (retry_reason) return kube::runtime::Retry{*retry_reason};
    return kube::runtime::Done{};
  }

  std::string key() const { return object.metadata.ns + "/" + object.metadata.name; }

  static constexpr std::string_view kReady = "Ready";

  kube::runtime::ObjectPtr live;
  Object object;
  Status status;
  std::vector<api::Condition> previous_conditions;
  std::chrono::system_clock::time_point now;
  bool failed = false;
  bool permanent_failure = false;  // a step failed in a way only a change can fix
  std::optional<std::string> retry_reason;

 private:
  std::string firstFailure() const {
    for (const auto& condition : status.conditions) {
      if (condition.type != kReady && condition.status != api::ConditionStatus::kTrue) {
        return condition.type + ": " + condition.message;
      }
    }
    return "not ready";
  }
};

}  // namespace aphex
