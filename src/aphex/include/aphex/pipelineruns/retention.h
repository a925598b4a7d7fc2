// Which finished PipelineRuns of a pipeline namespace to delete so that only the newest `keep`
// remain: pure decisions, no cluster.
//
// A run is read into a RunSummary as soon as its LIST page arrives, and the page is dropped: a
// PipelineRun is large and its status is written by whoever may write it, so nothing of it but
// its name, uid, whether it is finished and when, is kept. Retention takes the summaries one at a
// time and holds only the `keep` newest finished ones, so a namespace of any number of runs costs
// `keep` summaries and one page.
//
// Finished means Tekton's `Succeeded` condition is True or False; anything else (Unknown, no
// condition, a status of the wrong shape) is running or pending and is never deleted. A run's age
// is its status.completionTime, or its metadata.creationTimestamp when that is missing or not a
// time; a run with neither, or without a uid, or already being deleted, is left alone.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aphex/api/repo_binding.h"
#include "aphex/api/time.h"
#include "kube/result.h"

namespace aphex::pipelineruns {

struct RunSummary {
  std::string name;
  std::string uid;
  bool finished = false;
  // completionTime, else creationTimestamp; nullopt when neither is a time.
  std::optional<api::Time> finished_at;
  bool deleting = false;  // metadata.deletionTimestamp is set

  // Whether retention may count it at all: a finished run with a uid and an age, not being deleted.
  bool prunable() const { return finished && !deleting && !uid.empty() && finished_at.has_value(); }
};

// What retention needs of a PipelineRun; never fails, whatever the object holds.
RunSummary summarize(const kube::Json& run);

// The order of age: finished earlier, or at the same second and named before.
bool olderThan(const RunSummary& a, const RunSummary& b);

// Keeps the `keep` newest finished runs offered so far; a run pushed out is returned by offer()
// to be deleted at once. A run pushed out is older than `keep` others already seen, so it is never
// among the `keep` newest of the whole namespace, whichever runs come later.
//
// Not thread-safe: one per namespace sweep.
class Retention {
 public:
  explicit Retention(int keep);

  // The run to delete now, if any: `run` itself or the oldest of those kept. Runs that are not
  // prunable() are ignored. Ties in age are broken by name, so the outcome does not depend on
  // the order runs arrive in.
  std::optional<RunSummary> offer(RunSummary run);

  std::size_t kept() const { return newest_.size(); }

 private:
  struct Older {
    bool operator()(const RunSummary& a, const RunSummary& b) const { return olderThan(a, b); }
  };
  std::size_t keep_;
  std::multiset<RunSummary, Older> newest_;  // at most keep_ entries; begin() is the oldest
};

// Every run of `runs` that retention deletes, oldest first: the finished runs beyond the `keep`
// newest.
std::vector<RunSummary> runsToPrune(const std::vector<RunSummary>& runs, int keep);

}  // namespace aphex::pipelineruns
