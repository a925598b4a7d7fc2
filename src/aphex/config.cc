#include "aphex/config.h"

#include <regex>

namespace aphex {
namespace {

kube::Error invalid(std::string message) {
  return kube::Error{.kind = kube::ErrorKind::kInvalidConfig, .message = std::move(message), .status = {}};
}

// The canonical forms the API server stores: an integer, milli-units, or a binary suffix. Other
// spellings of the same amount ("0.5", "4000m", "1G") would differ from the live object on every
// comparison and be rewritten on every pass.
bool canonicalQuantity(const std::string& quantity) {
  static const std::regex pattern("^[1-9][0-9]*(m|Ki|Mi|Gi|Ti|Pi)?$|^0$");
  return std::regex_match(quantity, pattern);
}

std::string* quantityField(TenantLimits& limits, std::string_view name) {
  if (name == "quota.requests.cpu") return &limits.requests_cpu;
  if (name == "quota.requests.memory") return &limits.requests_memory;
  if (name == "quota.limits.cpu") return &limits.limits_cpu;
  if (name == "quota.limits.memory") return &limits.limits_memory;
  if (name == "quota.requests.storage") return &limits.requests_storage;
  if (name == "container.defaultRequest.cpu") return &limits.default_request_cpu;
  if (name == "container.defaultRequest.memory") return &limits.default_request_memory;
  if (name == "container.default.cpu") return &limits.default_limit_cpu;
  if (name == "container.default.memory") return &limits.default_limit_memory;
  if (name == "container.max.cpu") return &limits.max_cpu;
  if (name == "container.max.memory") return &limits.max_memory;
  return nullptr;
}

int* countField(TenantLimits& limits, std::string_view name) {
  if (name == "quota.pods") return &limits.pods;
  if (name == "quota.persistentvolumeclaims") return &limits.persistent_volume_claims;
  if (name == "quota.configmaps") return &limits.config_maps;
  if (name == "quota.secrets") return &limits.secrets;
  if (name == "org.repobindings") return &limits.org_repo_bindings;
  if (name == "org.secrets") return &limits.org_secrets;
  if (name == "org.configmaps") return &limits.org_config_maps;
  return nullptr;
}

std::string knownNames() {
  std::string names;
  for (const auto name : kTenantLimitNames) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

}  // namespace

kube::Result<void> setTenantLimit(TenantLimits& limits, std::string_view assignment) {
  const auto equals = assignment.find('=');
  if (equals == std::string_view::npos) {
    return invalid("tenant limit \"" + std::string(assignment) + "\" must be <name>=<quantity>, e.g. quota.requests.cpu=8");
  }
  const std::string_view name = assignment.substr(0, equals);
  const std::string value(assignment.substr(equals + 1));
  if (int* count = countField(limits, name)) {
    static const std::regex digits("^[0-9]{1,9}$");
    if (!std::regex_match(value, digits)) {
      return invalid("tenant limit " + std::string(name) + " must be a whole number, not \"" + value + "\"");
    }
    *count = std::stoi(value);
    return {};
  }
  std::string* quantity = quantityField(limits, name);
  if (quantity == nullptr) {
    return invalid("unknown tenant limit \"" + std::string(name) + "\"; known: " + knownNames());
  }
  if (!value.empty() && !canonicalQuantity(value)) {
    return invalid("tenant limit " + std::string(name) + " = \"" + value +
                   "\" is not a quantity in canonical form: write 500m, 2, 512Mi or 8Gi (not 0.5, 2000m or 1G)");
  }
  *quantity = value;
  return {};
}

}  // namespace aphex
