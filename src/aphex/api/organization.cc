#include "aphex/api/organization.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "aphex/api/group.h"
#include "aphex/api/validation.h"
#include "json_reader.h"
#include "status_json.h"

namespace aphex::api {

std::string_view toString(ExposureMode mode) {
  switch (mode) {
    case ExposureMode::kCloudflareTunnel: return "CloudflareTunnel";
    case ExposureMode::kIngress: return "Ingress";
    case ExposureMode::kNone: break;
  }
  return "None";
}

std::optional<ExposureMode> parseExposureMode(std::string_view text) {
  if (text == "CloudflareTunnel") return ExposureMode::kCloudflareTunnel;
  if (text == "Ingress") return ExposureMode::kIngress;
  if (text == "None") return ExposureMode::kNone;
  return std::nullopt;
}

std::string_view toString(PodSecurityLevel level) {
  return level == PodSecurityLevel::kBaseline ? "baseline" : "restricted";
}

std::optional<PodSecurityLevel> parsePodSecurityLevel(std::string_view text) {
  if (text == "restricted") return PodSecurityLevel::kRestricted;
  if (text == "baseline") return PodSecurityLevel::kBaseline;
  return std::nullopt;
}

std::string organizationNamespace(std::string_view organization_name) {
  return "org-" + std::string(organization_name);
}

kube::Result<Organization> Organization::fromJson(const kube::Json& object) {
  detail::JsonReader reader;
  Organization organization;
  const detail::Field root = reader.root(object);
  reader.expectKind(root, kOrganizationKind);
  reader.read(reader.member(root, "metadata"), organization.metadata);

  const detail::Field spec = reader.member(root, "spec");
  reader.read(reader.member(spec, "displayName"), organization.spec.display_name);
  reader.read(reader.member(spec, "adminUsers"), organization.spec.admin_users);
  reader.read(reader.member(spec, "adminGroups"), organization.spec.admin_groups);
  reader.readEnum(reader.member(reader.member(spec, "exposure"), "mode"), organization.spec.exposure_mode,
                  parseExposureMode, "CloudflareTunnel, Ingress or None");
  reader.readEnum(reader.member(spec, "pipelinePodSecurity"), organization.spec.pipeline_pod_security,
                  parsePodSecurityLevel, "restricted or baseline");

  const detail::Field status = reader.member(root, "status");
  OrganizationStatus& out = organization.status;
  reader.read(reader.member(status, "observedGeneration"), out.observed_generation);
  reader.read(reader.member(status, "phase"), out.phase);
  reader.read(reader.member(status, "namespace"), out.ns);
  reader.read(reader.member(status, "webhookURL"), out.webhook_url);
  reader.read(reader.member(status, "webhookSecretRef"), out.webhook_secret_ref);
  reader.read(reader.member(status, "tunnelID"), out.tunnel_id);
  reader.read(reader.member(status, "repoBindings"), out.repo_bindings);
  reader.read(reader.member(status, "conditions"), out.conditions);

  if (!reader.ok()) return reader.error();
  return organization;
}

kube::Json toJson(const OrganizationStatus& status) {
  kube::Json out = kube::Json::object();
  detail::writeCommonStatus(out, status.observed_generation, status.phase, status.conditions);
  detail::writeIfSet(out, "namespace", status.ns);
  detail::writeIfSet(out, "webhookURL", status.webhook_url);
  if (status.webhook_secret_ref) out["webhookSecretRef"] = detail::toJson(*status.webhook_secret_ref);
  detail::writeIfSet(out, "tunnelID", status.tunnel_id);
  out["repoBindings"] = status.repo_bindings;
  return out;
}

namespace {

std::string lowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

bool hasSpaceAtEnds(std::string_view text) {
  const auto blank = [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; };
  return !text.empty() && (blank(text.front()) || blank(text.back()));
}

bool hasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

std::vector<FieldError> validate(const Organization& organization) {
  std::vector<FieldError> errors;
  const auto add = [&](std::string path, std::string message) {
    errors.push_back({.path = std::move(path), .message = std::move(message)});
  };

  if (!isDnsLabel(organization.metadata.name, kMaxOrganizationNameLength)) {
    add("metadata.name", "must be a DNS label of at most 40 characters (lowercase letters, digits and '-'), so that "
                         "org-<name> and webhooks-<name> are valid names");
  }
  if (isReservedOrganizationName(organization.metadata.name)) {
    add("metadata.name", "\"" + organization.metadata.name + "\" is reserved for a platform host (<name>.<public domain>); "
                         "choose another name");
  }

  const std::string& display_name = organization.spec.display_name;
  if (display_name.find_first_not_of(" \t\r\n") == std::string::npos) {
    add("spec.displayName", "is required and must not be blank");
  } else if (characterCount(display_name) > 256) {
    add("spec.displayName", "must be at most 256 characters");
  }

  // Addresses are compared case-insensitively: identity providers disagree about case, and two
  // spellings of one person would make two RoleBindings.
  std::set<std::string> users;
  for (std::size_t i = 0; i < organization.spec.admin_users.size(); ++i) {
    const std::string& user = organization.spec.admin_users[i];
    const std::string path = "spec.adminUsers[" + std::to_string(i) + "]";
    if (!isEmailAddress(user)) {
      add(path, detail::quote(user) + " is not an e-mail address (name@example.com)");
    } else if (!users.insert(lowercase(user)).second) {
      add(path, detail::quote(user) + " is listed twice (addresses are compared case-insensitively)");
    }
  }

  std::set<std::string> groups;
  for (std::size_t i = 0; i < organization.spec.admin_groups.size(); ++i) {
    const std::string& group = organization.spec.admin_groups[i];
    const std::string path = "spec.adminGroups[" + std::to_string(i) + "]";
    if (group.empty() || characterCount(group) > 256) {
      add(path, "must be 1 to 256 characters");
    } else if (hasControlCharacter(group) || hasSpaceAtEnds(group)) {
      add(path, "must not contain control characters nor start or end with a space");
    } else if (group.starts_with("system:")) {
      add(path, "must not name a Kubernetes system group (system:*): that would make every member of it an "
                "administrator");
    } else if (!groups.insert(group).second) {
      add(path, detail::quote(group) + " is listed twice");
    }
  }
  return errors;
}

}  // namespace aphex::api
