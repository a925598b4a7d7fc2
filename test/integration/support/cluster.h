// Access to the local control plane that CTest's fixture started (scripts/local-cluster).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <functional>
#include <thread>

#include "kube/client.h"
#include "kube/config.h"

namespace aphex::testing {

// The local cluster's folder, from APHEX_TEST_CLUSTER_DIR (set by CTest). Helpers throw rather
// than return something unusable: GoogleTest reports the exception as the test's failure, and an
// integration test without a cluster must fail, never skip, since a test that silently does
// nothing proves nothing.
inline std::string clusterDir() {
  const char* dir = std::getenv("APHEX_TEST_CLUSTER_DIR");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error("APHEX_TEST_CLUSTER_DIR is not set: run integration tests through ctest "
                             "or ./test.sh, which start the local control plane");
  }
  return dir;
}

inline kube::ClientConfig loadConfig(const std::string& user) {
  auto config = kube::loadKubeconfig({.paths = {clusterDir() + "/" + user + ".kubeconfig"}, .context = {}});
  if (!config) throw std::runtime_error(config.error().message);
  return std::move(config).value();
}

// In system:masters.
inline kube::ClientConfig adminConfig() { return loadConfig("admin"); }
// Authenticated by a client certificate, granted nothing.
inline kube::ClientConfig testerConfig() { return loadConfig("tester"); }

inline std::unique_ptr<kube::Client> clientFor(const kube::ClientConfig& config) {
  auto client = kube::Client::create(config);
  if (!client) throw std::runtime_error(client.error().message);
  return std::move(client).value();
}

// A port recorded in the cluster's cluster.env (API_PORT, ETCD_PORT, ...).
inline std::uint16_t clusterPort(const std::string& variable) {
  std::ifstream env(clusterDir() + "/cluster.env");
  for (std::string line; std::getline(env, line);) {
    if (line.rfind(variable + "=", 0) == 0) return static_cast<std::uint16_t>(std::stoi(line.substr(variable.size() + 1)));
  }
  throw std::runtime_error(variable + " is not in " + clusterDir() + "/cluster.env");
}

// Polls `condition` every 20 ms until it holds or `limit` passes; true if it held.
inline bool eventually(const std::function<bool()>& condition, std::chrono::nanoseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// A DNS label unique to this run, so tests can share one cluster and run in parallel.
inline std::string uniqueName(std::string_view prefix) {
  static std::mt19937_64 random{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string name(prefix);
  name += '-';
  for (int i = 0; i < 8; ++i) name += kAlphabet[random() % (sizeof(kAlphabet) - 1)];
  return name;
}

inline kube::Json namespaceObject(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

// Creates a namespace for one test and deletes it (without waiting) when the test ends.
class ScopedNamespace {
 public:
  ScopedNamespace(kube::Client& client, std::string_view prefix) : client_(client), name_(uniqueName(prefix)) {
    auto created = client_.create(kube::resources::kNamespaces, "", namespaceObject(name_));
    if (!created) ADD_FAILURE() << created.error().message;
  }
  ~ScopedNamespace() { (void)client_.remove(kube::resources::kNamespaces, "", name_); }
  ScopedNamespace(const ScopedNamespace&) = delete;
  ScopedNamespace& operator=(const ScopedNamespace&) = delete;

  const std::string& name() const { return name_; }

 private:
  kube::Client& client_;
  std::string name_;
};

}  // namespace aphex::testing
