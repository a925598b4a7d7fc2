// Pieces shared by the kinds' status toJson: the common fields, written the same way everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "aphex/api/condition.h"
#include "aphex/api/meta.h"
#include "kube/result.h"

namespace aphex::api::detail {

// observedGeneration, phase and conditions. Unset values are left out rather than written empty,
// so an apply of the status never claims fields the controller has nothing to say about.
inline void writeCommonStatus(kube::Json& out, std::int64_t observed_generation, const std::optional<Phase>& phase,
                              const std::vector<Condition>& conditions) {
  out["observedGeneration"] = observed_generation;
  if (phase) out["phase"] = std::string(toString(*phase));
  if (!conditions.empty()) out["conditions"] = toJson(conditions);
}

inline void writeIfSet(kube::Json& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}

inline kube::Json toJson(const SecretKeyRef& ref) {
  return {{"namespace", ref.ns}, {"name", ref.name}, {"key", ref.key}};
}

}  // namespace aphex::api::detail
