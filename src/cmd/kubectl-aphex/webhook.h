// `kubectl aphex webhook url|secret|rotate|test`: an organization's webhook endpoint and secret,
// and a signed GitHub push delivered to it the way GitHub delivers one.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "aphex/api/validation.h"
#include "kube/result.h"
#include "kubectl-aphex/connection.h"

namespace aphex::cli {

// GitHub's X-Hub-Signature-256 value for `payload`: "sha256=" and the hex HMAC-SHA256 keyed by
// the webhook secret.
std::string githubSignature(std::string_view secret, std::string_view payload);

// A random RFC 4122 version 4 UUID, as GitHub's X-GitHub-Delivery carries.
std::string newDeliveryId();

struct PushEvent {
  api::GitHubRepository repository;
  std::string branch;
  std::string after;    // the pushed commit (40 hex digits)
  std::string pushed_at;  // RFC 3339
};

// The fields of GitHub's push event that Aphex's Trigger and the pipeline contract read
// (ref, after, repository.full_name/clone_url/html_url, head_commit), shaped as GitHub sends them.
kube::Json pushPayload(const PushEvent& event);

// The headers GitHub sends with a delivery (Content-Type, User-Agent, X-GitHub-Event,
// X-GitHub-Delivery, X-Hub-Signature-256).
std::map<std::string, std::string> deliveryHeaders(std::string_view event, std::string_view delivery_id,
                                                   std::string_view signature);

struct HttpAnswer {
  long status = 0;    // 0: no answer
  std::string body;
  std::string error;  // why there was no answer
};

// POSTs `body` to `url` with `headers` (libcurl; TLS verified against the system's trust store).
HttpAnswer postDelivery(const std::string& url, const std::string& body,
                        const std::map<std::string, std::string>& headers, std::chrono::seconds timeout);

struct WebhookSecretFlags {
  std::string org;
  bool show_secret = false;
};
struct WebhookRotateFlags {
  std::string org;
  bool show_secret = false;
  int timeout_seconds = 60;
};
struct WebhookTestFlags {
  std::string repository;
  std::string branch;  // empty: the binding's branch
  std::string url;     // empty: the binding's (the organization's) webhook URL
  int timeout_seconds = 30;
};

int runWebhookUrl(Connection& conn, Io& io, const std::string& org);
int runWebhookSecret(Connection& conn, Io& io, const WebhookSecretFlags& flags);
int runWebhookRotate(Connection& conn, Io& io, const WebhookRotateFlags& flags);
int runWebhookTest(Connection& conn, Io& io, const WebhookTestFlags& flags);

}  // namespace aphex::cli
