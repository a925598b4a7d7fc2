// `kubectl aphex runs OWNER/REPO`: the binding's recent PipelineRuns, newest first.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "kube/client.h"
#include "kubectl-aphex/output.h"
#include "kubectl-aphex/connection.h"

namespace aphex::cli {

inline const kube::ResourceType kPipelineRuns{
    .group = "tekton.dev", .version = "v1", .plural = "pipelineruns", .namespaced = true};
inline const kube::ResourceType kTaskRuns{.group = "tekton.dev", .version = "v1", .plural = "taskruns", .namespaced = true};

struct RunSummary {
  std::string name;
  std::string status;    // Succeeded, Failed, Running, Pending, Cancelled...
  Tone tone = Tone::kPlain;
  std::string started;   // "5m ago"
  std::string duration;  // "1m30s"; running ones count to now
  std::string reason;    // the failing TaskRun: "<taskrun>: <reason>: <message>"
  long long created = 0;  // seconds since the epoch, for ordering
};

// One PipelineRun and the TaskRuns of its namespace (those labelled tekton.dev/pipelineRun=<it>
// count). Pure.
RunSummary summarizeRun(const kube::Json& run, const std::vector<kube::Json>& task_runs,
                        std::chrono::system_clock::time_point now);

// NAME STATUS STARTED DURATION REASON, newest first, at most `limit`.
std::string renderRuns(std::vector<RunSummary> runs, std::size_t limit, const Style& style);

struct RunsFlags {
  std::string repository;
  std::string branch;
  int limit = 10;
};
int runRuns(Connection& conn, Io& io, const RunsFlags& flags);

}  // namespace aphex::cli
