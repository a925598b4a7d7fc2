#include "kubectl-aphex/runs.h"

#include <algorithm>
#include <ostream>

#include "aphex/api/time.h"
#include "kubectl-aphex/objects.h"

namespace aphex::cli {

using kube::Json;

namespace {

// Points into `object`.
const Json* succeededCondition(const Json& object) {
  const auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return nullptr;
  const auto conditions = status->find("conditions");
  if (conditions == status->end() || !conditions->is_array()) return nullptr;
  for (const auto& condition : *conditions) {
    if (condition.value("type", "") == "Succeeded") return &condition;
  }
  return nullptr;
}

std::optional<api::Time> timeAt(const Json& object, const char* section, const char* field) {
  return api::parseTime(object.value(section, Json::object()).value(field, ""));
}

// The first TaskRun of `run` that failed, as "<name>: <reason>: <message>"; "" when none did.
std::string failingTaskRun(const std::string& run, const std::vector<Json>& task_runs) {
  for (const auto& task_run : task_runs) {
    const Json labels = task_run.value("metadata", Json::object()).value("labels", Json::object());
    if (labels.value("tekton.dev/pipelineRun", "") != run) continue;
    const Json* succeeded = succeededCondition(task_run);
    if (succeeded == nullptr || succeeded->value("status", "") != "False") continue;
    return metadataOf(task_run, "name") + ": " + succeeded->value("reason", "") + ": " +
           succeeded->value("message", "");
  }
  return "";
}

}  // namespace

RunSummary summarizeRun(const Json& run, const std::vector<Json>& task_runs, std::chrono::system_clock::time_point now) {
  RunSummary summary{.name = metadataOf(run, "name")};
  const auto created = timeAt(run, "metadata", "creationTimestamp");
  const auto started = timeAt(run, "status", "startTime");
  const auto finished = timeAt(run, "status", "completionTime");
  summary.created = created ? created->time_since_epoch().count() : 0;
  const auto seconds = [](auto d) { return std::chrono::duration_cast<std::chrono::seconds>(d); };
  if (started) {
    summary.started = shortDuration(seconds(now - *started)) + " ago";
    summary.duration = shortDuration(seconds((finished ? std::chrono::system_clock::time_point(*finished) : now) - *started));
  }
  const Json* succeeded = succeededCondition(run);
  const std::string state = succeeded != nullptr ? succeeded->value("status", "") : "";
  const std::string reason = succeeded != nullptr ? succeeded->value("reason", "") : "";
  if (state == "True") {
    summary.status = "Succeeded";
    summary.tone = Tone::kGood;
  } else if (state == "False") {
    summary.status = reason.empty() ? "Failed" : reason;
    summary.tone = Tone::kBad;
    summary.reason = failingTaskRun(summary.name, task_runs);
    if (summary.reason.empty()) summary.reason = succeeded->value("message", "");
  } else {
    summary.status = reason.empty() ? "Pending" : reason;
    summary.tone = Tone::kWarn;
  }
  return summary;
}

std::string renderRuns(std::vector<RunSummary> runs, std::size_t limit, const Style& style) {
  std::stable_sort(runs.begin(), runs.end(), [](const RunSummary& a, const RunSummary& b) { return a.created > b.created; });
  if (runs.size() > limit) runs.resize(limit);
  Table table({"NAME", "STATUS", "STARTED", "DURATION", "REASON"});
  for (const auto& run : runs) {
    table.add({run.name, Cell(run.status, run.tone), run.started, run.duration, oneLine(run.reason, 160)});
  }
  return table.render(style);
}

int runRuns(Connection& conn, Io& io, const RunsFlags& flags) {
  int exit_code = kExitOk;
  const auto found = resolveBinding(conn, io, flags.repository, flags.branch, exit_code);
  if (!found) return exit_code;
  const std::string& ns = found->pipeline_namespace;
  auto runs = conn.client->list(kPipelineRuns, ns);
  if (!runs) return reportError(io, "pipelineruns in " + ns, runs.error());
  std::vector<Json> task_runs;
  if (auto listed = conn.client->list(kTaskRuns, ns)) task_runs = listed->value("items", std::vector<Json>{});
  if (conn.format != OutputFormat::kHuman) {
    Json items = Json::array();
    for (const auto& run : (*runs)["items"]) items.push_back(forDisplay(run));
    io.out << formatDocument({{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}, conn.format);
    return kExitOk;
  }
  if ((*runs)["items"].empty()) {
    io.err << "no PipelineRuns in " << ns << " yet; start one with a push, or with " << kCommandName
           << " webhook test " << flags.repository << "\n";
    return kExitOk;
  }
  std::vector<RunSummary> summaries;
  const auto now = std::chrono::system_clock::now();
  for (const auto& run : (*runs)["items"]) summaries.push_back(summarizeRun(run, task_runs, now));
  io.out << renderRuns(std::move(summaries), static_cast<std::size_t>(std::max(flags.limit, 1)), io.style);
  return kExitOk;
}

}  // namespace aphex::cli
