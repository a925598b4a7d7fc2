// Tekton beside the test cluster: the processes `scripts/local-cluster tekton up` starts (CTest's
// fixture `tekton`), and the EventListener sinks a test starts for its Organizations.
#pragma once

#include <string>

namespace aphex::testing {

// Whether Tekton runs beside the test cluster. It does not when its binaries were not built
// (`scripts/local-cluster tekton build`, a step of ./test.sh); the fixture then skips.
bool tektonRuns();

// Runs `scripts/local-cluster --name <test cluster> ARGS` and returns what it printed; throws with
// its exit status when it fails. Its progress lines (stderr) go to the test's output.
std::string localCluster(const std::string& args);

// Starts the sink of Organization `org`'s EventListener and returns its URL.
std::string startListener(const std::string& org);
void stopListener(const std::string& org);

}  // namespace aphex::testing
