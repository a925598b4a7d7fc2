// Runs Aphex's controllers in the test process against the local control plane, under the
// identity and RBAC the platform ships (platform/base/controller/rbac.yaml), so that a missing
// permission fails a test.
#pragma once

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "aphex/api/yaml.h"
#include "aphex/controllers.h"
#include "integration/support/cluster.h"
#include "integration/support/identities.h"
#include "kube/client.h"
#include "kube/discovery.h"
#include "runtime/events.h"
#include "runtime/manager.h"

namespace aphex::testing {

inline std::string readSourceFile(const std::string& relative) {
  std::ifstream file(std::string(APHEX_SOURCE_DIR) + "/" + relative);
  if (!file) throw std::runtime_error("cannot read " + relative);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The documents of a multi-document YAML file, as JSON (empty documents skipped).
inline std::vector<kube::Json> yamlDocuments(const std::string& text) {
  std::vector<kube::Json> documents;
  std::string current;
  std::istringstream lines(text);
  const auto flush = [&] {
    auto parsed = api::yamlToJson(current);
    if (!parsed) throw std::runtime_error("YAML: " + parsed.error().message);
    if (parsed->is_object() && !parsed->empty()) documents.push_back(std::move(*parsed));
    current.clear();
  };
  for (std::string line; std::getline(lines, line);) {
    if (line == "---") {
      flush();
    } else {
      current += line + "\n";
    }
  }
  flush();
  return documents;
}

// Server-side applies every object of a manifest in the source tree, as `client`.
inline void applyManifest(kube::Client& client, const std::string& relative) {
  kube::Discovery discovery(client);
  for (const auto& object : yamlDocuments(readSourceFile(relative))) {
    auto type = discovery.resourceFor(object);
    if (!type) throw std::runtime_error(relative + ": " + type.error().message);
    auto applied = client.apply(*type, object, {.field_manager = "aphex-tests", .force = true});
    if (!applied) throw std::runtime_error(relative + ": " + applied.error().message);
  }
}

// The admission policies that confine tenants (platform/base/admission, docs/admission.md),
// server-side applied as `admin`: every YAML file there but kustomization.yaml, in name order.
// The API server enforces a policy about a second after it is stored (its admission plugin
// watches them), so a test that needs one in force waits until it sees a denial.
inline void installAdmissionPolicies(kube::Client& admin) {
  const std::string folder = "platform/base/admission";
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(APHEX_SOURCE_DIR) + "/" + folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".yaml" && name != "kustomization.yaml") files.push_back(folder + "/" + name);
  }
  if (files.empty()) throw std::runtime_error(folder + " holds no policies");
  std::sort(files.begin(), files.end());
  for (const auto& file : files) applyManifest(admin, file);
}

inline void ensureNamespace(kube::Client& client, const std::string& name) {
  auto created = client.create(kube::resources::kNamespaces, "", namespaceObject(name));
  if (!created && !created.error().isAlreadyExists()) throw std::runtime_error(created.error().message);
}

// A client authenticated as ServiceAccount platform-system/aphex-controller, whose only rights
// are those of the shipped manifests, in a cluster that enforces the shipped admission policies:
// a write the policies would refuse fails a test, as a missing permission does.
inline kube::ClientConfig controllerIdentity(kube::Client& admin) {
  ensureNamespace(admin, "platform-system");
  applyManifest(admin, "platform/base/controller/rbac.yaml");
  installAdmissionPolicies(admin);
  const kube::ResourceType accounts{.group = "", .version = "v1", .plural = "serviceaccounts", .namespaced = true};
  auto account = admin.create(accounts, "platform-system",
                              {{"apiVersion", "v1"}, {"kind", "ServiceAccount"},
                               {"metadata", {{"name", "aphex-controller"}, {"namespace", "platform-system"}}}});
  if (!account && !account.error().isAlreadyExists()) throw std::runtime_error(account.error().message);
  return serviceAccountIdentity(admin, "platform-system", "aphex-controller");
}

// Aphex's controllers on a Manager, on a thread of their own, counting the writes they send.
class RunningController {
 public:
  RunningController(ControllerConfig config, DomainControllerOptions options, kube::ClientConfig identity)
      : config_(std::move(config)) {
    // Every line the controller logs is kept, so tests can check that no secret is among them.
    kube::runtime::setDefaultLogger(kube::runtime::Logger(
        {.level = kube::runtime::LogLevel::kDebug, .format = kube::runtime::LogFormat::kJson,
         .sink = [this](std::string_view line) {
           std::lock_guard lock(log_mutex_);
           log_ += line;
           log_ += '\n';
         }}));
    auto client = kube::Client::create(identity, kube::ClientOptions{.on_request = [this](const kube::RequestRecord& r) {
      if (r.method != "GET") ++writes_;
    }});
    if (!client) throw std::runtime_error(client.error().message);
    client_ = std::move(client).value();
    auto manager = kube::runtime::Manager::create(*client_, kube::runtime::realClock(), registry_,
                                                  {.probes = {.metrics_address = "", .probe_address = ""},
                                                   .cache_sync_timeout = std::chrono::seconds(30)});
    if (!manager) throw std::runtime_error(manager.error().message);
    manager_ = std::move(manager).value();
    events_ = std::make_unique<kube::runtime::EventRecorder>(
        *client_, kube::runtime::realClock(),
        kube::runtime::EventRecorderOptions{.reporting_controller = "aphex.io/aphex-controller",
                                            .reporting_instance = "integration-test"});
    controllers_ = addControllers(*manager_, config_, *events_, std::move(options));
    thread_ = std::jthread([this](std::stop_token stop) { result_ = manager_->run(stop); });
    if (!eventually([this] { return manager_->hasSynced(); }, std::chrono::seconds(30))) {
      throw std::runtime_error("the controller's caches did not sync");
    }
  }
  ~RunningController() {
    thread_.request_stop();
    thread_.join();
    events_->flush();
    kube::runtime::setDefaultLogger(kube::runtime::Logger());
  }

  std::string log() const {
    std::lock_guard lock(log_mutex_);
    return log_;
  }

  // Requests other than GET (watches are GETs): creates, patches, applies, deletes, Events.
  int writes() const { return writes_.load(); }
  const ControllerConfig& config() const { return config_; }
  // The controllers, for tests that drive one part directly (a PipelineRun pruning sweep).
  Controllers& controllers() { return *controllers_; }
  void flushEvents() { events_->flush(); }

 private:
  ControllerConfig config_;
  mutable std::mutex log_mutex_;
  std::string log_;  // guarded by log_mutex_
  std::atomic<int> writes_ = 0;
  std::unique_ptr<kube::Client> client_;
  kube::runtime::MetricsRegistry registry_;
  std::unique_ptr<kube::runtime::Manager> manager_;
  std::unique_ptr<kube::runtime::EventRecorder> events_;
  std::unique_ptr<Controllers> controllers_;
  kube::Result<void> result_;
  std::jthread thread_;  // last: stopped first
};

}  // namespace aphex::testing
