#include "aphex/pipelineruns/retention.h"

#include <algorithm>
#include <utility>

namespace aphex::pipelineruns {
namespace {

const kube::Json& member(const kube::Json& object, const char* key) {
  static const kube::Json kNull;
  if (!object.is_object()) return kNull;
  const auto found = object.find(key);
  return found == object.end() ? kNull : *found;
}

std::string text(const kube::Json& value) { return value.is_string() ? value.get<std::string>() : std::string(); }

std::optional<api::Time> timeOf(const kube::Json& value) {
  return value.is_string() ? api::parseTime(value.get_ref<const std::string&>()) : std::nullopt;
}

// Tekton's Succeeded condition: True or False once the run is done, Unknown while it runs.
bool isFinished(const kube::Json& status) {
  const kube::Json& conditions = member(status, "conditions");
  if (!conditions.is_array()) return false;
  for (const auto& condition : conditions) {
    if (text(member(condition, "type")) != "Succeeded") continue;
    const std::string state = text(member(condition, "status"));
    return state == "True" || state == "False";
  }
  return false;
}

}  // namespace

RunSummary summarize(const kube::Json& run) {
  const kube::Json& metadata = member(run, "metadata");
  const kube::Json& status = member(run, "status");
  RunSummary summary{.name = text(member(metadata, "name")),
                     .uid = text(member(metadata, "uid")),
                     .finished = isFinished(status),
                     .finished_at = timeOf(member(status, "completionTime")),
                     .deleting = !member(metadata, "deletionTimestamp").is_null()};
  if (!summary.finished_at) summary.finished_at = timeOf(member(metadata, "creationTimestamp"));
  return summary;
}

bool olderThan(const RunSummary& a, const RunSummary& b) {
  return a.finished_at != b.finished_at ? a.finished_at < b.finished_at : a.name < b.name;
}

Retention::Retention(int keep) : keep_(static_cast<std::size_t>(std::max(keep, api::kMinKeepLast))) {}

std::optional<RunSummary> Retention::offer(RunSummary run) {
  if (!run.prunable()) return std::nullopt;
  if (newest_.size() < keep_) {
    newest_.insert(std::move(run));
    return std::nullopt;
  }
  // Full: the older of `run` and the oldest kept goes.
  if (!olderThan(*newest_.begin(), run)) return run;
  RunSummary evicted = *newest_.begin();
  newest_.erase(newest_.begin());
  newest_.insert(std::move(run));
  return evicted;
}

std::vector<RunSummary> runsToPrune(const std::vector<RunSummary>& runs, int keep) {
  Retention retention(keep);
  std::vector<RunSummary> pruned;
  for (const auto& run : runs) {
    if (auto evicted = retention.offer(run)) pruned.push_back(std::move(*evicted));
  }
  std::sort(pruned.begin(), pruned.end(), olderThan);
  return pruned;
}

}  // namespace aphex::pipelineruns
