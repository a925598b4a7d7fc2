// GitHub webhook deliveries as GitHub sends them (event and delivery headers, a JSON body, the
// X-Hub-Signature-256 HMAC of the body), posted to a running EventListener sink.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kube/client.h"
#include "kubectl-aphex/webhook.h"

namespace aphex::testing {

struct GithubDelivery {
  std::string event = "push";  // X-GitHub-Event
  std::string id;              // X-GitHub-Delivery, a GUID
  std::string body;
  std::optional<std::string> signature;  // X-Hub-Signature-256; not sent when empty
};

struct DeliveryAnswer {
  long status = 0;
  std::string body;
};

// Signing and delivery ids are kubectl-aphex's (`webhook test`): the tests sign as it does.
using aphex::cli::githubSignature;
using aphex::cli::newDeliveryId;

// The fields of a push event that the pipeline contract reads: ref, after, deleted, the
// repository's full name and clone URL, and the head commit's timestamp.
kube::Json pushPayload(const std::string& repo_full_name, const std::string& ref, const std::string& after);

// A signed delivery of `event` with `payload`.
GithubDelivery signedDelivery(std::string_view secret, const kube::Json& payload, std::string event = "push");

// POSTs the delivery to `url`; throws when nothing answers.
DeliveryAnswer deliver(const std::string& url, const GithubDelivery& delivery);

}  // namespace aphex::testing
