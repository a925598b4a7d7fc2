#include "aphex/api/meta.h"

#include <algorithm>
#include <array>
#include <utility>

namespace aphex::api {

namespace {

constexpr std::array<std::pair<Phase, std::string_view>, 5> kPhases{{
    {Phase::kPending, "Pending"},
    {Phase::kProvisioning, "Provisioning"},
    {Phase::kReady, "Ready"},
    {Phase::kFailed, "Failed"},
    {Phase::kTerminating, "Terminating"},
}};

}  // namespace

bool ObjectMeta::hasFinalizer(std::string_view finalizer) const {
  return std::find(finalizers.begin(), finalizers.end(), finalizer) != finalizers.end();
}

std::string_view toString(Phase phase) {
  for (const auto& [value, name] : kPhases) {
    if (value == phase) return name;
  }
  return "Pending";
}

std::optional<Phase> parsePhase(std::string_view text) {
  for (const auto& [value, name] : kPhases) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::string describe(const std::vector<FieldError>& errors) {
  std::string text;
  for (const FieldError& error : errors) {
    if (!text.empty()) text += "; ";
    text += error.path.empty() ? error.message : error.path + ": " + error.message;
  }
  return text;
}

}  // namespace aphex::api
