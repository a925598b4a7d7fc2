// The KnowledgeBase controller: validates documentation sources for the RAG ingester and hands
// them over as the ConfigMap <name>-repos.
//
// A pass validates the spec (GitHub HTTPS URLs, git ref names by git's rules, paths under
// .kiro/docs without ..), writes the ConfigMap (owned by the KnowledgeBase, so garbage collection
// removes it with it) and reports Ready or Failed with a message naming the bad field. Every five
// minutes the KnowledgeBase is validated again (rules may change with a controller upgrade) and
// status.lastReconcileTime moves on; between those, an unchanged KnowledgeBase costs no write.
// An invalid spec leaves the last valid ConfigMap in place: the ingester keeps working, and the
// status says what to fix.
//
// Thread safety: reconcile() may run concurrently for different KnowledgeBases; no mutable state.
#pragma once

#include <chrono>
#include <stop_token>

#include "aphex/api/knowledge_base.h"
#include "aphex/common/child_cache.h"
#include "aphex/common/child_writer.h"
#include "kube/client.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/informer.h"
#include "runtime/log.h"

namespace aphex::knowledgebase {

inline constexpr auto kRevalidationInterval = std::chrono::minutes(5);
inline constexpr std::string_view kReposKey = "repositories.json";

// The ConfigMap <name>-repos: key repositories.json, a JSON list of {url, branch, paths}, owned by
// the KnowledgeBase (`live`, for its uid).
kube::Json reposConfigMap(const api::KnowledgeBase& knowledge_base);

struct ReconcilerDeps {
  kube::Client& client;
  kube::runtime::Clock& clock;
  const kube::runtime::Informer& knowledge_bases;
  const ChildCache& children;
  kube::runtime::EventRecorder& events;
  kube::runtime::Logger logger = kube::runtime::defaultLogger().named("knowledgebase");
};

class Reconciler {
 public:
  explicit Reconciler(ReconcilerDeps deps);
  kube::runtime::Outcome reconcile(const kube::runtime::Request& request, std::stop_token stop);

 private:
  ReconcilerDeps deps_;
  ChildWriter writer_;
};

}  // namespace aphex::knowledgebase
