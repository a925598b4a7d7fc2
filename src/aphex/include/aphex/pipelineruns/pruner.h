// Deletes finished PipelineRuns beyond what each pipeline namespace keeps (retention.h), so that
// old runs do not hold the namespace's volume quota.
//
// What it reads: the pipeline namespaces in the controller's Namespace cache that carry a
// RepoBinding's aphex.io/repo-binding annotation, and that RepoBinding from the RepoBinding cache
// (for spec.pipelineRuns.keepLast). A namespace no RepoBinding of this controller claims is never
// touched, whatever the PipelineRuns in it say. PipelineRuns themselves are never cached: a sweep
// lists each namespace in pages of kPageSize with one request per page, reduces each page to
// RunSummaries as it arrives and drops it, so its memory is one page plus `keep` summaries,
// however many runs a namespace holds.
//
// What it writes: nothing when every namespace is within its retention (a sweep at rest is only
// LISTs). Each delete carries the uid it listed as a precondition, so a run deleted and recreated
// under the same name meanwhile is not touched, and background propagation, so Tekton's TaskRuns
// and the workspace volume claims they own go with it. 404 and 409 mean someone else was first.
//
// Thread safety: sweep() and prune() may run on any thread, one at a time; run() once.
#pragma once

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "aphex/common/child_cache.h"
#include "aphex/config.h"
#include "aphex/pipelineruns/retention.h"
#include "kube/object_api.h"
#include "runtime/clock.h"
#include "runtime/log.h"
#include "runtime/store.h"

namespace aphex::pipelineruns {

inline const kube::ResourceType kPipelineRuns{
    .group = "tekton.dev", .version = "v1", .plural = "pipelineruns", .namespaced = true};

// PipelineRuns per LIST page. A run as Tekton writes it is a few KB (a page of 50, some 250 KB);
// a run's size is bounded only by the API server's object limit (about 1.5 MB), so a page made
// of the largest runs a tenant could write would be tens of MB for a moment. 50 keeps a
// namespace within its retention at one or two requests a sweep.
inline constexpr std::int64_t kPageSize = 50;
// Deletes per namespace in one sweep: a namespace that piled up thousands of runs is worked off
// over a few sweeps instead of holding up every other namespace.
inline constexpr int kMaxDeletesPerSweep = 100;

struct PrunerDeps {
  kube::ObjectApi& client;
  kube::runtime::Clock& clock;
  const ControllerConfig& config;
  const kube::runtime::Store& repo_bindings;
  const ChildCache& children;  // its Namespace store names the pipeline namespaces
  kube::runtime::Logger logger = kube::runtime::defaultLogger().named("pipelinerun-pruner");
};

// A pipeline namespace and the finished runs it keeps.
struct PruneTarget {
  std::string ns;
  int keep = 0;
};

struct PruneOutcome {
  int requests = 0;  // LIST pages and deletes sent
  int listed = 0;    // PipelineRuns seen
  int deleted = 0;   // deletes the API server accepted (or that found the run gone)
  std::optional<kube::Error> error;  // why the namespace was left early, if it was
};

struct SweepOutcome {
  int namespaces = 0;
  int requests = 0;
  int deleted = 0;
  int failed = 0;  // namespaces left early on an error
};

class Pruner {
 public:
  explicit Pruner(PrunerDeps deps) : deps_(std::move(deps)) {}

  // The namespaces a sweep visits, in name order.
  std::vector<PruneTarget> targets() const;
  // One namespace: deletes its finished runs beyond the `keep` newest.
  PruneOutcome prune(const PruneTarget& target, std::stop_token stop);
  // Every target once, spreading the namespaces over `spread` (zero: back to back), so that a
  // sweep of a thousand namespaces is a steady trickle of LISTs rather than a burst.
  SweepOutcome sweep(std::stop_token stop, kube::Duration spread = {});
  // Sweeps every config.pipeline_runs.interval (75–125% of it, at random) until `stop`; the first
  // sweep comes after one such wait, so a restart costs no requests at once.
  void run(std::stop_token stop);

 private:
  // The target for one namespace of the cache, or nullopt when no served RepoBinding claims it.
  std::optional<PruneTarget> targetOf(const kube::Json& ns) const;
  // One LIST page, reduced to summaries before it is returned.
  struct Page {
    std::vector<RunSummary> runs;
    std::string continue_token;  // empty: the last page
  };
  kube::Result<Page> listPage(const std::string& ns, const std::string& continue_token, std::stop_token stop);
  // Deletes `run` with its uid as precondition; 404 and 409 count as done.
  kube::Result<void> remove(const std::string& ns, const RunSummary& run, std::stop_token stop);

  PrunerDeps deps_;
};

}  // namespace aphex::pipelineruns
