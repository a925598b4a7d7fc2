// Watches the Organizations' webhook Secrets from their first creation on: a second value would
// silently break every GitHub webhook configured with the first (docs/controller.md, "The webhook
// secret is made once"), so any change of value or uid after the first is a regeneration.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kube/client.h"
#include "runtime/informer.h"

namespace aphex::chaos {

class WebhookSecretWatch {
 public:
  // The github-webhook-secret of each of `organizations`; watching starts at once.
  WebhookSecretWatch(kube::Client& admin, const std::vector<std::string>& organizations);
  ~WebhookSecretWatch();
  WebhookSecretWatch(const WebhookSecretWatch&) = delete;
  WebhookSecretWatch& operator=(const WebhookSecretWatch&) = delete;

  // How many Secrets have been seen (captured at their first version).
  int captured() const;
  // Every regeneration or deletion seen, and every Secret whose live uid or value now differs
  // from its first version (a change the watch could have missed while it reconnected).
  std::vector<std::string> regenerations();

 private:
  struct Version {
    std::string uid, data;
  };
  void saw(const kube::Json& secret);

  kube::Client& admin_;
  kube::runtime::Informer informer_;
  mutable std::mutex mutex_;
  std::map<std::string, Version> first_;  // by namespace; guarded by mutex_
  std::vector<std::string> changes_;      // guarded by mutex_
  std::jthread thread_;                   // last: stopped first
};

}  // namespace aphex::chaos
