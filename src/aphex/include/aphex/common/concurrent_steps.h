// Independent steps of a pass run at once, each reported by its own condition.
//
// A first pass of a RepoBinding applies five groups of children after its namespace; one after
// the other that is a dozen round trips to the API server in sequence, most of an idle
// create→Ready. The groups need nothing of each other, so each runs on its own thread (the first
// on the caller's) and the pass records their results in the order given, as if they had run in
// sequence: the conditions, the first problem and the outcome are the same.
//
// Thread safety: the steps run concurrently and must only read the pass; they may share
// thread-safe objects (the client, the caches, the Applier). The pass is written here, on the
// calling thread, after every step has ended. An exception in a step reaches the caller once
// every step has ended (the futures are waited for), so no step outlives what it refers to.
#pragma once

#include <functional>
#include <future>
#include <string_view>
#include <system_error>
#include <vector>

#include "aphex/common/step.h"

namespace aphex {

struct ConditionStep {
  std::string_view condition;
  std::function<StepResult()> run;
};

template <class Pass>
void runConcurrently(Pass& pass, const std::vector<ConditionStep>& steps) {
  if (steps.empty()) return;
  std::vector<std::future<StepResult>> others;
  others.reserve(steps.size() - 1);
  for (std::size_t i = 1; i < steps.size(); ++i) {
    try {
      others.push_back(std::async(std::launch::async, steps[i].run));
    } catch (const std::system_error&) {
      // No thread to be had: the step runs here, later, as it would have in sequence.
      others.push_back(std::async(std::launch::deferred, steps[i].run));
    }
  }
  const StepResult first = steps.front().run();
  std::vector<StepResult> results{first};
  for (auto& other : others) results.push_back(other.get());
  for (std::size_t i = 0; i < steps.size(); ++i) pass.set(steps[i].condition, results[i]);
}

}  // namespace aphex
