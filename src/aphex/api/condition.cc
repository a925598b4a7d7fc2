#include "aphex/api/condition.h"

#include <algorithm>

namespace aphex::api {

std::string_view toString(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue: return "True";
    case ConditionStatus::kFalse: return "False";
    case ConditionStatus::kUnknown: break;
  }
  return "Unknown";
}

std::optional<ConditionStatus> parseConditionStatus(std::string_view text) {
  if (text == "True") return ConditionStatus::kTrue;
  if (text == "False") return ConditionStatus::kFalse;
  if (text == "Unknown") return ConditionStatus::kUnknown;
  return std::nullopt;
}

const Condition* findCondition(const std::vector<Condition>& conditions, std::string_view type) {
  const auto found = std::find_if(conditions.begin(), conditions.end(),
                                  [&](const Condition& condition) { return condition.type == type; });
  return found == conditions.end() ? nullptr : &*found;
}

bool isConditionTrue(const std::vector<Condition>& conditions, std::string_view type) {
  const Condition* condition = findCondition(conditions, type);
  return condition != nullptr && condition->status == ConditionStatus::kTrue;
}

std::string boundedMessage(std::string message) {
  if (message.size() <= kMaxConditionMessageBytes) return message;
  std::size_t cut = kMaxConditionMessageBytes - 3;
  // Never in the middle of a UTF-8 sequence (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  message.resize(cut);
  return message + "...";
}

bool setCondition(std::vector<Condition>& conditions, Condition condition,
                  std::chrono::system_clock::time_point now) {
  condition.message = boundedMessage(std::move(condition.message));
  const Time now_seconds = std::chrono::floor<std::chrono::seconds>(now);
  const auto existing = std::find_if(conditions.begin(), conditions.end(),
                                     [&](const Condition& c) { return c.type == condition.type; });
  if (existing == conditions.end()) {
    condition.last_transition_time = now_seconds;
    conditions.push_back(std::move(condition));
    return true;
  }
  condition.last_transition_time =
      existing->status == condition.status ? existing->last_transition_time : now_seconds;
  if (*existing == condition) return false;
  *existing = std::move(condition);
  return true;
}

bool removeCondition(std::vector<Condition>& conditions, std::string_view type) {
  return std::erase_if(conditions, [&](const Condition& condition) { return condition.type == type; }) > 0;
}

kube::Json toJson(const Condition& condition) {
  return {
      {"type", condition.type},
      {"status", std::string(toString(condition.status))},
      {"reason", condition.reason},
      {"message", condition.message},
      {"lastTransitionTime", formatTime(condition.last_transition_time)},
      {"observedGeneration", condition.observed_generation},
  };
}

kube::Json toJson(const std::vector<Condition>& conditions) {
  kube::Json list = kube::Json::array();
  for (const Condition& condition : conditions) list.push_back(toJson(condition));
  return list;
}

}  // namespace aphex::api
