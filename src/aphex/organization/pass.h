// What one Organization reconcile pass knows and decides (private to the controller).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/organization/reconciler.h"

namespace aphex::organization {

struct Reconciler::Pass {
  Pass(kube::runtime::ObjectPtr live_object, api::Organization organization, std::chrono::system_clock::time_point at)
      : live(std::move(live_object)),
        org(std::move(organization)),
        status(org.status),
        previous_conditions(org.status.conditions),
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
                       .observed_generation = org.metadata.generation},
                      now);
    if (!result.ok) {
      failed = true;
      if (result.retry) retry_reason = result.message;
    }
    return result.ok;
  }

  bool allReady() const { return !failed; }

  // Ready summarises the steps; the outcome retries when a step failed transiently.
  kube::runtime::Outcome outcome() {
    if (failed) {
      set(api::organization_condition::kReady, StepResult::failure("NotReady", firstFailure(), false));
    } else {
      set(api::organization_condition::kReady, StepResult::success("Ready", "every part of the organization is ready"));
    }
    if (retry_reason) return kube::runtime::Retry{*retry_reason};
    return kube::runtime::Done{};
  }

  std::string key() const { return org.metadata.ns + "/" + org.metadata.name; }

  kube::runtime::ObjectPtr live;
  api::Organization org;
  api::OrganizationStatus status;
  std::vector<api::Condition> previous_conditions;
  std::chrono::system_clock::time_point now;
  bool failed = false;
  std::optional<std::string> retry_reason;

 private:
  std::string firstFailure() const {
    for (const auto& condition : status.conditions) {
      if (condition.type != api::organization_condition::kReady && condition.status != api::ConditionStatus::kTrue) {
        return condition.type + ": " + condition.message;
      }
    }
    return "not ready";
  }
};

}  // namespace aphex::organization
