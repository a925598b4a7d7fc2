// The KnowledgeBase controller: validates documentation sources for the RAG ingester and hands
// them over as the ConfigMap <name>-repos.
//
// A pass (common/pass_runner.h) validates the spec (GitHub HTTPS URLs, git ref names by git's
// rules, paths under .kiro/docs without ..), writes the ConfigMap (owned by the KnowledgeBase, so
// garbage collection removes it with it; a change to it wakes the KnowledgeBase) and reports
// Ready or Failed with a message naming the bad field. Every five minutes a valid KnowledgeBase is
// validated again (rules may change with a controller upgrade) and status.lastReconcileTime moves
// on; between those, an unchanged KnowledgeBase costs no write. An invalid spec leaves the last
// valid ConfigMap in place: the ingester keeps working, and the status says what to fix.
//
// Thread safety: reconcile() may run concurrently for different KnowledgeBases; no mutable state.
#pragma once

#include <chrono>
#include <stop_token>

#include "aphex/api/knowledge_base.h"
#include "aphex/common/child_cache.h"
#include "aphex/common/child_writer.h"
#include "aphex/common/pass_runner.h"
#include "aphex/knowledgebase/children.h"
#include "kube/object_api.h"
#include "runtime/clock.h"
#include "runtime/controller.h"
#include "runtime/events.h"
#include "runtime/store.h"
#include "runtime/log.h"

namespace aphex::knowledgebase {

inline constexpr auto kRevalidationInterval = std::chrono::minutes(5);
struct ReconcilerDeps {
  kube::ObjectApi& client;
  kube::runtime::Clock& clock;
  const kube::runtime::Store& knowledge_bases;
  const ChildCache& children;
  kube::runtime::EventRecorder& events;
  kube::runtime::Logger logger = kube::runtime::defaultLogger().named("knowledgebase");
};

class Reconciler {
 public:
  explicit Reconciler(ReconcilerDeps deps);
  kube::runtime::Outcome reconcile(const kube::runtime::Request& request, std::stop_token stop);

 private:
  struct Pass;

  PassKind<Pass> kind();
  void provision(Pass& pass);
  static std::string publishedMessage(const api::KnowledgeBase& kb);
  static void completeStatus(Pass& pass);

  ReconcilerDeps deps_;
  ChildWriter writer_;
  PassRunner<Pass> runner_;
};

}  // namespace aphex::knowledgebase
