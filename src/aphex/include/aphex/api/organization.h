// Organization (aphex.io/v1alpha1): a team on the platform. See docs/api.md and
// platform/crds/aphex.io_organizations.yaml; the three must agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/condition.h"
#include "aphex/api/meta.h"
#include "kube/result.h"

namespace aphex::api {

// How GitHub reaches the organization's webhook endpoint.
enum class ExposureMode { kCloudflareTunnel, kIngress, kNone };

std::string_view toString(ExposureMode mode);
std::optional<ExposureMode> parseExposureMode(std::string_view text);

// The Pod Security Standard enforced in the organization's pipeline namespaces, where tenant
// code runs: restricted unless the organization opts into baseline (for build tools that need
// root). Tekton's set-security-context lets its own steps meet restricted.
enum class PodSecurityLevel { kRestricted, kBaseline };

std::string_view toString(PodSecurityLevel level);
std::optional<PodSecurityLevel> parsePodSecurityLevel(std::string_view text);

// Condition types an Organization reports.
namespace organization_condition {
inline constexpr std::string_view kReady = "Ready";
inline constexpr std::string_view kNamespaceReady = "NamespaceReady";
inline constexpr std::string_view kWebhookReady = "WebhookReady";
inline constexpr std::string_view kExposureReady = "ExposureReady";
inline constexpr std::string_view kSecretStoreReady = "SecretStoreReady";
inline constexpr std::string_view kAccessReady = "AccessReady";
}  // namespace organization_condition

// Annotating an Organization with a new value of this makes the controller generate a new
// webhook secret (the value itself means nothing; a change is the request).
inline constexpr std::string_view kRotateWebhookSecretAnnotation = "aphex.io/rotate-webhook-secret";

// Longest Organization name: org-<name> and webhooks-<name> must stay DNS labels (≤ 63).
inline constexpr std::size_t kMaxOrganizationNameLength = 40;

struct OrganizationSpec {
  std::string display_name;
  std::vector<std::string> admin_users;   // e-mail addresses
  std::vector<std::string> admin_groups;  // OIDC groups
  // Unset: the controller's configured default applies (deliberately no CRD default, so a
  // change of the platform's default reaches every Organization that did not choose).
  std::optional<ExposureMode> exposure_mode;
  // spec.pipelinePodSecurity; unset means restricted.
  std::optional<PodSecurityLevel> pipeline_pod_security;
};

struct OrganizationStatus {
  std::int64_t observed_generation = 0;
  std::optional<Phase> phase;
  std::string ns;  // status.namespace: org-<name>
  std::string webhook_url;
  std::optional<SecretKeyRef> webhook_secret_ref;
  std::string tunnel_id;
  std::int32_t repo_bindings = 0;
  std::vector<Condition> conditions;
};

struct Organization {
  ObjectMeta metadata;
  OrganizationSpec spec;
  OrganizationStatus status;

  // Fails on the first field of the wrong type, naming its path.
  static kube::Result<Organization> fromJson(const kube::Json& object);
};

// The status as the status subresource takes it; empty fields are left out.
kube::Json toJson(const OrganizationStatus& status);

// Everything wrong with the object, in field order; empty when it is valid.
std::vector<FieldError> validate(const Organization& organization);

// The organization's namespace, org-<name>.
std::string organizationNamespace(std::string_view organization_name);

}  // namespace aphex::api
