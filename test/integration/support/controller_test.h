// The fixture of tests that run Aphex's controllers against the local control plane: an admin
// client, the controller's own identity (shipped RBAC and admission policies), a platform
// namespace and a test-run label of its own, so that tests share one cluster without seeing each
// other's objects, and the pipeline namespaces a test made, removed after it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "aphex/api/group.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller.h"

namespace aphex::testing {

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ensureNamespace(*admin_, "argocd");  // where RepoBindings' AppProjects go
    config_.platform_namespace = platform_.name();
    config_.object_selector = testRunSelector(run_);
  }
  void TearDown() override {
    controller_.reset();
    // Pipeline namespaces are cluster-wide names: never leave one behind for the next test.
    for (const auto& ns : pipelines_) (void)admin_->remove(kube::resources::kNamespaces, "", ns);
  }

  void start() { controller_ = std::make_unique<RunningController>(config_, DomainControllerOptions{}, identity_); }

  // `object` labelled for this test's controller alone.
  kube::Json mine(const kube::Json& object) const { return labelledForRun(object, run_); }

  // The object, or null when it cannot be read.
  kube::Json get(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    auto object = admin_->get(type, ns, name);
    return object ? *object : kube::Json();
  }
  bool exists(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    auto object = admin_->get(type, ns, name);
    return object && !(*object)["metadata"].contains("deletionTimestamp");
  }
  bool gone(const kube::ResourceType& type, const std::string& ns, const std::string& name) {
    auto object = admin_->get(type, ns, name);
    return !object && object.error().isNotFound();
  }

  // Waits until the quota controller counts everything org-<org>'s ResourceQuota org-quota limits.
  // Until it does, the API server refuses every create the quota covers ("status unknown for
  // quota"); for count/repobindings.aphex.io that lasts until kube-controller-manager's next
  // discovery of the CRD (up to about 30 s), which matters only right after the CRDs are installed.
  void waitQuotaCounted(const std::string& org) {
    const kube::ResourceType quotas{.group = "", .version = "v1", .plural = "resourcequotas", .namespaced = true};
    const auto counted = [&] {
      const kube::Json quota = get(quotas, "org-" + org, "org-quota");
      if (!quota.is_object()) return false;
      const kube::Json hard = quota.value("spec", kube::Json::object()).value("hard", kube::Json::object());
      // Quota admission asks for usage: `used` is filled only once the controller can count it.
      const kube::Json known = quota.value("status", kube::Json::object()).value("used", kube::Json::object());
      for (const auto& [resource, limit] : hard.items()) {
        if (!known.contains(resource)) return false;
      }
      return !hard.empty();
    };
    ASSERT_TRUE(eventually(counted, std::chrono::seconds(90))) << get(quotas, "org-" + org, "org-quota").dump(2);
  }

  // A RepoBinding a test made: where it is, and its pipeline (namespace).
  struct Binding {
    std::string ns, name, pipeline;
  };
  kube::Json current(const Binding& b) { return get(api::kRepoBindings, b.ns, b.name); }

  // An Organization labelled for this test's controller, with a unique name starting `prefix`.
  std::string createOrganization(const std::string& prefix = "org", const kube::Json& admins = kube::Json()) {
    const std::string name = uniqueName(prefix);
    kube::Json org = organizationObject(platform_.name(), name);
    if (!admins.is_null()) org["spec"]["adminUsers"] = admins;
    auto created = admin_->create(api::kOrganizations, platform_.name(), mine(org));
    EXPECT_TRUE(created) << created.error().message;
    return name;
  }
  kube::Json org(const std::string& name) { return get(api::kOrganizations, platform_.name(), name); }
  void waitOrgReady(const std::string& name) {
    ASSERT_TRUE(eventually([&] { return isReady(org(name)); }, std::chrono::seconds(30))) << org(name).dump(2);
    waitQuotaCounted(name);
  }

  // A binding of `org` for a new pipeline namespace; returns {binding namespace, name, pipeline}.
  Binding binding(const std::string& org, const std::string& ns = "", kube::Json spec_changes = kube::Json::object()) {
    Binding b{.ns = ns.empty() ? platform_.name() : ns, .name = uniqueName("rb"), .pipeline = uniqueName("p")};
    pipelines_.push_back(b.pipeline);
    kube::Json object = repoBindingObject(b.ns, b.name, org, b.pipeline);
    object["spec"].update(spec_changes);
    auto created = admin_->create(api::kRepoBindings, b.ns, mine(object));
    EXPECT_TRUE(created) << created.error().message;
    return b;
  }
  // What a failed wait prints: managedFields alone would fill the 4,000 characters shown.
  static kube::Json withoutManagedFields(kube::Json object) {
    if (object.contains("metadata") && object["metadata"].is_object()) object["metadata"].erase("managedFields");
    return object;
  }
  void waitReady(const Binding& b, std::chrono::seconds limit = std::chrono::seconds(30)) {
    ASSERT_TRUE(eventually([&] { return isReady(current(b)); }, limit))
        << withoutManagedFields(current(b)).dump(2).substr(0, 4000);
  }

  std::unique_ptr<kube::Client> admin_ = clientFor(adminConfig());
  kube::ClientConfig identity_ = controllerIdentity(*admin_);
  ScopedNamespace platform_{*admin_, "it-platform"};
  std::string run_ = uniqueName("run");
  ControllerConfig config_;
  std::unique_ptr<RunningController> controller_;
  std::vector<std::string> pipelines_;
};

}  // namespace aphex::testing
