// The fixture of the chaos tests: an admin client for the test's own doing and checking, a
// platform namespace and object selector of its own (so a test sees only its own objects), the
// fleet it onboards, its random source, and controller processes started under the
// controller's ServiceAccount.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "integration/chaos/audit_log.h"
#include "integration/chaos/controller_process.h"
#include "integration/chaos/credentials.h"
#include "integration/chaos/fleet.h"
#include "integration/chaos/report.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller.h"
#include "runtime/leader_election.h"

namespace aphex::chaos {

// How long a converged state may take to come about, at most: generous, for a loaded 2-core
// machine. The time it really took is printed.
inline constexpr std::chrono::seconds kConvergeLimit{300};
// How long a freshly started controller may take to answer /readyz with 200.
inline constexpr std::chrono::seconds kReadyLimit{60};

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ensureNamespace(*admin_, "argocd");  // where RepoBindings' AppProjects go
    testing::ensureNamespace(*admin_, platform_);
    figure("machine load (1, 5, 15 min)", loadAverage());
  }

  // A token of its own for the controller's ServiceAccount, in <output>/<name>.kubeconfig.
  ControllerCredentials newCredentials(const std::string& name) {
    return controllerCredentials(*admin_, output_ / (name + ".kubeconfig"));
  }

  // One more controller process: its log is <output>/<identity>-<n>.log, n counting its starts.
  std::unique_ptr<ControllerProcess> startController(const ControllerCredentials& credentials,
                                                     const std::string& identity, bool leader_elect = false) {
    const int start = ++starts_[identity];
    return std::make_unique<ControllerProcess>(
        ControllerFlags{.kubeconfig = credentials.kubeconfig,
                        .platform_namespace = platform_,
                        .object_selector = testing::testRunSelector(run_),
                        .identity = identity,
                        .leader_elect = leader_elect,
                        .lease_namespace = kLeaseNamespace,
                        .lease_name = leaseName()},
        output_ / (identity + "-" + std::to_string(start) + ".log"));
  }

  // `organizations` Organizations with `per_organization` RepoBindings each, created at once.
  void onboard(int organizations, int per_organization, Fleet::Policy policy = Fleet::Policy::kRetain) {
    for (const auto& org : fleet_.addOrganizations(organizations)) fleet_.addBindings(org, per_organization, policy);
  }

  // Waits for convergence and reports how long it took; the test fails with what is left if it
  // never came.
  void expectConverges(std::chrono::steady_clock::time_point since_when, const std::string& figure_name) {
    const Convergence converged = fleet_.waitConverged(kConvergeLimit);
    figure(figure_name, (converged.converged() ? "" : "NOT CONVERGED after ") + seconds(since(since_when)) +
                            "; duplicates " + std::to_string(converged.duplicates.size()) + ", leftovers " +
                            std::to_string(converged.leftovers.size()) + ", missing " +
                            std::to_string(converged.missing.size()));
    EXPECT_TRUE(converged.converged()) << converged.describe();
  }

  // This test's Lease, in the namespace the shipped RBAC allows.
  static constexpr const char* kLeaseNamespace = "platform-system";
  std::string leaseName() const { return "aphex-controller-" + run_; }

  // The Lease holder, "" when there is no Lease or no holder.
  std::string leaseHolder() {
    auto lease = admin_->get(kube::runtime::kLeases, kLeaseNamespace, leaseName());
    if (!lease) return "";
    return (*lease).value("spec", kube::Json::object()).value("holderIdentity", "");
  }

  // scripts/local-cluster restart-apiserver: SIGKILL, `down_seconds` without an API server,
  // then started again; returns once it is ready. The exit status of the script.
  static int restartApiServer(int down_seconds) {
    const std::filesystem::path dir = testing::clusterDir();
    const std::string command = "APHEX_STATE_DIR='" + dir.parent_path().parent_path().string() + "' '" +
                                APHEX_SOURCE_DIR "/scripts/local-cluster' --name '" + dir.filename().string() +
                                "' restart-apiserver --down " + std::to_string(down_seconds);
    return std::system(command.c_str());
  }

  static std::string loadAverage() {
    std::ifstream file("/proc/loadavg");
    std::string one, five, fifteen;
    file >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
  }

  std::unique_ptr<kube::Client> admin_ = testing::clientFor(testing::adminConfig());
  std::filesystem::path output_ = testOutputDir();
  ChaosRandom random_;
  std::string platform_ = testing::uniqueName("chaos-platform");
  std::string run_ = testing::uniqueName("run");
  Fleet fleet_{*admin_, platform_, run_};
  std::map<std::string, int> starts_;
};

}  // namespace aphex::chaos
