// metav1.Condition and the rules for keeping a list of them, as apimachinery's
// meta.SetStatusCondition keeps them: one entry per type, and lastTransitionTime changes only
// when the status does, so "Ready since" stays meaningful across reconciles.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/time.h"
#include "kube/result.h"

namespace aphex::api {

enum class ConditionStatus { kTrue, kFalse, kUnknown };

std::string_view toString(ConditionStatus status);
std::optional<ConditionStatus> parseConditionStatus(std::string_view text);

struct Condition {
  std::string type;  // CamelCase, e.g. "Ready"
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;   // CamelCase, required by the API server (non-empty)
  std::string message;  // for a person: what is wrong and what to do
  Time last_transition_time{};
  std::int64_t observed_generation = 0;

  bool operator==(const Condition&) const = default;
};

// The condition of `type`, or nullptr.
const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type);
bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type);

// The most a condition's message holds. The CRDs allow 32,768 characters, but a message may quote
// tenant input, and a status the API server refuses would be retried forever; 2 KiB tells what is
// wrong and stays well inside.
inline constexpr std::size_t kMaxConditionMessageBytes = 2048;
// `message` cut to kMaxConditionMessageBytes (at a UTF-8 boundary, ending in "...").
std::string boundedMessage(std::string message);

// Adds or updates the condition of condition.type (its message bounded by boundedMessage()).
// lastTransitionTime becomes `now` when the condition is new or its status changes, and is kept
// otherwise (whatever `condition` carries). Returns whether anything changed, so an unchanged
// status costs no write.
bool setCondition(std::vector<Condition>& conditions, Condition condition,
                  std::chrono::system_clock::time_point now);

// Removes the condition of `type`; returns whether there was one.
bool removeCondition(std::vector<Condition>& conditions, std::string_view type);

kube::Json toJson(const Condition& condition);
kube::Json toJson(const std::vector<Condition>& conditions);

}  // namespace aphex::api
