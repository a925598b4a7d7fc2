#include "integration/chaos/webhook_secrets.h"

#include "aphex/common/resources.h"

namespace aphex::chaos {
namespace {

using namespace std::chrono_literals;

std::string selectorFor(const std::vector<std::string>& organizations) {
  std::string names;
  for (const auto& org : organizations) names += (names.empty() ? "" : ",") + org;
  return "aphex.io/organization in (" + names + ")";
}

}  // namespace

WebhookSecretWatch::WebhookSecretWatch(kube::Client& admin, const std::vector<std::string>& organizations)
    : admin_(admin),
      informer_(admin, kube::runtime::realClock(),
                {.type = aphex::resources::kSecrets,
                 .label_selector = selectorFor(organizations),
                 .field_selector = "metadata.name=github-webhook-secret",
                 .min_watch_timeout = 60s,
                 .backoff = {.initial = 100ms, .max = 1s, .factor = 2.0, .jitter = 0.2, .reset_after = 1min}}) {
  informer_.addHandler({.on_add = [this](const auto& secret) { saw(*secret); },
                        .on_update = [this](const auto&, const auto& secret) { saw(*secret); },
                        .on_delete = [this](const auto& secret) {
                          std::lock_guard lock(mutex_);
                          changes_.push_back("deleted: " + secret->at("metadata").value("namespace", ""));
                        }});
  thread_ = std::jthread([this](std::stop_token stop) { informer_.run(stop); });
}

WebhookSecretWatch::~WebhookSecretWatch() {
  thread_.request_stop();
  thread_.join();
}

void WebhookSecretWatch::saw(const kube::Json& secret) {
  const std::string ns = secret.at("metadata").value("namespace", "");
  const Version version{.uid = secret.at("metadata").value("uid", ""),
                        .data = secret.value("data", kube::Json::object()).dump()};
  std::lock_guard lock(mutex_);
  const auto [first, inserted] = first_.emplace(ns, version);
  if (inserted) return;
  if (first->second.uid != version.uid) changes_.push_back("recreated: " + ns + " (new uid " + version.uid + ")");
  if (first->second.data != version.data) changes_.push_back("new value: " + ns);
}

int WebhookSecretWatch::captured() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(first_.size());
}

std::vector<std::string> WebhookSecretWatch::regenerations() {
  std::map<std::string, Version> first;
  std::vector<std::string> found;
  {
    std::lock_guard lock(mutex_);
    first = first_;
    found = changes_;
  }
  for (const auto& [ns, version] : first) {
    auto live = admin_.get(aphex::resources::kSecrets, ns, "github-webhook-secret");
    if (!live) {
      found.push_back("unreadable now: " + ns + ": " + live.error().message);
    } else if ((*live)["metadata"].value("uid", "") != version.uid ||
               live->value("data", kube::Json::object()).dump() != version.data) {
      found.push_back("differs now from its first version: " + ns);
    }
  }
  return found;
}

}  // namespace aphex::chaos
