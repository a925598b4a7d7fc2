#include "integration/tekton/local_tekton.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "integration/support/cluster.h"

namespace aphex::testing {
namespace {

namespace fs = std::filesystem;

// A path for a shell command line, in single quotes.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string listenerRef(const std::string& org) { return "org-" + org + "/github-listener"; }

}  // namespace

bool tektonRuns() { return fs::exists(fs::path(clusterDir()) / "tekton" / "tekton.env"); }

std::string localCluster(const std::string& args) {
  // The cluster's folder is <state dir>/clusters/<name> (scripts/local-cluster).
  const fs::path dir = fs::path(clusterDir());
  const std::string command = "APHEX_STATE_DIR=" + quoted(dir.parent_path().parent_path().string()) + " " +
                              quoted(std::string(APHEX_SOURCE_DIR) + "/scripts/local-cluster") + " --name " +
                              quoted(dir.filename().string()) + " " + args;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 4096> buffer{};
  while (const std::size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("scripts/local-cluster " + args + " failed (status " + std::to_string(status) + ")");
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string startListener(const std::string& org) { return localCluster("tekton listener " + listenerRef(org)); }

void stopListener(const std::string& org) { (void)localCluster("tekton listener-down " + listenerRef(org)); }

}  // namespace aphex::testing
