#include "aphex/pipelineruns/pruner.h"

#include <algorithm>
#include <random>

#include "aphex/api/repo_binding.h"
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"

namespace aphex::pipelineruns {
namespace {

std::string stringAt(const kube::Json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : std::string();
}

kube::Json objectAt(const kube::Json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_object() ? *found : kube::Json::object();
}

// 75–125% of `interval`: replicas and restarts do not line up their sweeps.
kube::Duration jittered(std::chrono::seconds interval) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(0.75, 1.25);
  return std::chrono::duration_cast<kube::Duration>(interval * factor(random));
}

}  // namespace

std::optional<PruneTarget> Pruner::targetOf(const kube::Json& ns) const {
  const kube::Json metadata = objectAt(ns, "metadata");
  const std::string name = stringAt(metadata, "name");
  // A pipeline namespace (an organization's own has no pipeline label) that a RepoBinding claims.
  if (!objectAt(metadata, "labels").contains(std::string(kPipelineLabel)) ||
      !metadata.value("deletionTimestamp", kube::Json()).is_null()) {
    return std::nullopt;
  }
  const std::string claimed_by = stringAt(objectAt(metadata, "annotations"), std::string(kRepoBindingAnnotation).c_str());
  const kube::runtime::ObjectPtr cached = claimed_by.empty() ? nullptr : deps_.repo_bindings.get(claimed_by);
  if (!cached) return std::nullopt;  // not a binding this controller serves
  auto binding = api::RepoBinding::fromJson(*cached);
  if (!binding || binding->spec.pipeline_name != name || binding->metadata.deletion_timestamp) return std::nullopt;
  int keep = deps_.config.pipeline_runs.keep_last;
  if (const auto override = binding->spec.keep_last_pipeline_runs) {
    if (*override < api::kMinKeepLast || *override > api::kMaxKeepLast) {
      // The CRD refuses this; a binding stored under an older schema is left alone, not guessed at.
      deps_.logger.warn("RepoBinding's spec.pipelineRuns.keepLast is out of range; its runs are not pruned",
                        {{"repo_binding", claimed_by}, {"keep_last", *override}});
      return std::nullopt;
    }
    keep = *override;
  }
  return PruneTarget{.ns = name, .keep = keep};
}

std::vector<PruneTarget> Pruner::targets() const {
  std::vector<PruneTarget> targets;
  for (const auto& ns : deps_.children.all(resources::kNamespaces)) {
    if (auto target = targetOf(*ns)) targets.push_back(std::move(*target));
  }
  std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) { return a.ns < b.ns; });
  return targets;
}

kube::Result<void> Pruner::remove(const std::string& ns, const RunSummary& run, std::stop_token stop) {
  auto removed = deps_.client.remove(
      kPipelineRuns, ns, run.name,
      {.propagation = kube::PropagationPolicy::kBackground, .precondition_uid = run.uid}, std::move(stop));
  // Gone already, or another run of that name now: either way not ours to delete any more.
  if (removed || removed.error().isNotFound() || removed.error().httpCode() == 409) return {};
  return removed.error();
}

PruneOutcome Pruner::prune(const PruneTarget& target, std::stop_token stop) {
  PruneOutcome outcome;
  Retention retention(target.keep);
  std::string continue_token;
  do {
    auto page = listPage(target.ns, continue_token, stop);
    ++outcome.requests;
    if (!page) {
      outcome.error = page.error();
      return outcome;
    }
    continue_token = std::move(page->continue_token);
    outcome.listed += static_cast<int>(page->runs.size());
    for (auto& run : page->runs) {
      const auto evicted = retention.offer(std::move(run));
      if (!evicted) continue;
      ++outcome.requests;
      if (auto removed = remove(target.ns, *evicted, stop); !removed) {
        outcome.error = removed.error();
        return outcome;
      }
      deps_.logger.info("deleted a finished PipelineRun beyond the namespace's retention",
                        {{"namespace", target.ns}, {"name", evicted->name}, {"keep", target.keep}});
      if (++outcome.deleted >= kMaxDeletesPerSweep) return outcome;
    }
  } while (!continue_token.empty() && !stop.stop_requested());
  return outcome;
}

kube::Result<Pruner::Page> Pruner::listPage(const std::string& ns, const std::string& continue_token,
                                             std::stop_token stop) {
  auto listed = deps_.client.list(kPipelineRuns, ns, {.limit = kPageSize, .continue_token = continue_token},
                                  std::move(stop));
  if (!listed) return listed.error();
  Page page{.continue_token = stringAt(objectAt(*listed, "metadata"), "continue")};
  if (const auto items = listed->find("items"); items != listed->end() && items->is_array()) {
    for (const auto& item : *items) page.runs.push_back(summarize(item));
  }
  return page;  // the page's JSON goes here; only the summaries stay
}

SweepOutcome Pruner::sweep(std::stop_token stop, kube::Duration spread) {
  SweepOutcome outcome;
  const std::vector<PruneTarget> all = targets();
  const kube::Duration pause = all.empty() ? kube::Duration{} : spread / static_cast<std::int64_t>(all.size());
  for (const auto& target : all) {
    if (stop.stop_requested()) break;
    const PruneOutcome pruned = prune(target, stop);
    ++outcome.namespaces;
    outcome.requests += pruned.requests;
    outcome.deleted += pruned.deleted;
    if (pruned.error) {
      ++outcome.failed;
      deps_.logger.warn("pruning PipelineRuns stopped early; the next sweep tries again",
                        {{"namespace", target.ns}, {"error", pruned.error->message}});
    }
    if (pause > kube::Duration{} && !deps_.clock.sleepFor(pause, stop)) break;
  }
  return outcome;
}

void Pruner::run(std::stop_token stop) {
  const std::chrono::seconds interval = deps_.config.pipeline_runs.interval;
  if (interval <= std::chrono::seconds{0}) return;
  while (deps_.clock.sleepFor(jittered(interval), stop)) {
    // Half the interval at most, so a sweep ends well before the next begins.
    const SweepOutcome outcome = sweep(stop, interval / 2);
    if (outcome.deleted > 0 || outcome.failed > 0) {
      deps_.logger.info("swept pipeline namespaces",
                        {{"namespaces", outcome.namespaces}, {"requests", outcome.requests},
                         {"deleted", outcome.deleted}, {"failed", outcome.failed}});
    }
  }
}

}  // namespace aphex::pipelineruns
