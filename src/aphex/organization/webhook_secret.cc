// The org's webhook secret: made once, kept across passes, replaced only on request.
#include "aphex/common/labels.h"
#include "aphex/common/random.h"
#include "aphex/common/resources.h"
#include "organization/pass.h"
#include "kube/base64.h"

namespace aphex::organization {
namespace {

using kube::Json;

constexpr std::size_t kWebhookSecretBytes = 32;

std::string annotation(const Json& object, std::string_view key) {
  const auto& metadata = object.contains("metadata") ? object["metadata"] : Json::object();
  return metadata.value("annotations", Json::object()).value(std::string(key), "");
}

std::string secretValue(const Json& secret) {
  if (!secret.is_object()) return "";
  const std::string encoded = secret.value("data", Json::object()).value(std::string(kWebhookSecretKey), "");
  return kube::base64Decode(encoded).value_or("");
}

}  // namespace

// Says why there is a new value: GitHub's webhooks must be given it, so nobody may miss it.
void Reconciler::recordNewSecret(const Pass& pass, bool replaced_existing) {
  const std::string where = pass.status.ns + "/" + std::string(kWebhookSecretName);
  const bool had_one = replaced_existing || pass.org.status.webhook_secret_ref.has_value();
  std::string reason = "WebhookSecretCreated";
  std::string note = "Secret " + where + " created";
  if (replaced_existing) {
    reason = "WebhookSecretRotated";
    note = "Secret " + where + " has a new value as requested: update the GitHub webhooks";
  } else if (had_one) {
    reason = "WebhookSecretRecreated";
    note = "Secret " + where + " was deleted; a new value was made: update the GitHub webhooks";
  }
  deps_.events.normal(kube::runtime::ObjectReference::of(*pass.live), reason, "Reconcile", note);
  deps_.logger.info("webhook secret written", {{"organization", pass.key()}, {"secret", where}, {"reason", reason}});
}

StepResult Reconciler::ensureWebhookSecret(Pass& pass) {
  const std::string& ns = pass.status.ns;
  const std::string requested = annotation(*pass.live, api::kRotateWebhookSecretAnnotation);
  const auto needs_new_value = [&requested](const Json& secret) {
    return secretValue(secret).empty() || annotation(secret, kRotationAnnotation) != requested;
  };
  Json current = nullptr;
  if (const auto cached = deps_.children.get(resources::kSecrets, ns, kWebhookSecretName)) current = *cached;
  if (needs_new_value(current)) {
    // The cache may not have seen our own last write yet; making a second secret because of
    // that would break every webhook configured with the first. Ask the server.
    auto fetched = deps_.client.get(resources::kSecrets, ns, kWebhookSecretName);
    if (fetched) {
      current = std::move(*fetched);
    } else if (!fetched.error().isNotFound()) {
      return StepResult::failed("SecretUnreadable", "reading the webhook secret: " + fetched.error().message, Retryable::kYes);
    }
  }
  const bool generate = needs_new_value(current);
  const std::string value = generate ? randomHex(kWebhookSecretBytes) : secretValue(current);
  auto applied = writer_.applier().apply(resources::kSecrets, webhookSecret(pass.org, value, requested),
                                current.is_null() ? nullptr : &current);
  if (!applied) return StepResult::failed("ApplyFailed", "webhook secret: " + applied.error().message, Retryable::kYes);
  if (generate) recordNewSecret(pass, !current.is_null());
  return StepResult::ok("SecretReady", "webhook secret present");
}

}  // namespace aphex::organization
