// The pipeline path on Tekton's own code: GitHub deliveries posted to the real EventListener sink
// of an Organization, checked by the real core interceptors (github, cel), turned into a
// PipelineRun by the real Triggers code as `pipeline-runner`, then into TaskRuns and Pods by the
// real Pipelines controller, each process under its own ServiceAccount (scripts/local-cluster
// tekton). The API server admits the Pods under the namespace's quota, LimitRange, Pod Security
// level and the platform's admission policies; no node runs them, so they stay Pending.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aphex/common/resources.h"
#include "integration/cli/cli_process.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/cluster.h"
#include "integration/support/controller_test.h"
#include "integration/tekton/github_delivery.h"
#include "integration/tekton/local_tekton.h"
#include "kube/base64.h"

namespace {

using ::aphex::testing::deliver;
using ::aphex::testing::eventually;
using ::aphex::testing::GithubDelivery;
using ::aphex::testing::githubSignature;
using ::aphex::testing::pushPayload;
using ::aphex::testing::signedDelivery;
using kube::Json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const kube::ResourceType kPipelineRuns{.group = "tekton.dev", .version = "v1", .plural = "pipelineruns", .namespaced = true};
const kube::ResourceType kTaskRuns{.group = "tekton.dev", .version = "v1", .plural = "taskruns", .namespaced = true};
const kube::ResourceType kPods{.group = "", .version = "v1", .plural = "pods", .namespaced = true};
const kube::ResourceType kEvents{.group = "", .version = "v1", .plural = "events", .namespaced = true};

constexpr char kRevision[] = "0123456789abcdef0123456789abcdef01234567";
// GitHub answers a delivery within 10 s; the sink accepts and then works asynchronously.
constexpr long kAccepted = 202;

// A Pipeline as the contract asks for one in a `restricted` namespace: its own step sets the
// security context Pod Security requires (Tekton's set-security-context covers only the
// containers Tekton adds), and parameters reach the script as environment variables.
constexpr char kRestrictedPipeline[] = R"(apiVersion: tekton.dev/v1
kind: Pipeline
spec:
  params:
    - {name: git-url, type: string}
    - {name: git-revision, type: string}
    - {name: repo-full-name, type: string}
    - {name: event-type, type: string}
    - {name: event-id, type: string}
  tasks:
    - name: report
      params:
        - {name: repo, value: $(params.repo-full-name)}
        - {name: revision, value: $(params.git-revision)}
      taskSpec:
        params:
          - {name: repo, type: string}
          - {name: revision, type: string}
        stepTemplate:
          securityContext:
            runAsNonRoot: true
            runAsUser: 65532
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
        steps:
          - name: report
            image: registry.example.invalid/tools:1.0
            env:
              - {name: REPO, value: $(params.repo)}
              - {name: REVISION, value: $(params.revision)}
            script: |
              echo "push to $REPO at $REVISION"
)";

long millisecondsSince(Clock::time_point start) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

class PipelinePathTest : public aphex::testing::ControllerTest {
 protected:
  // An Organization with one RepoBinding, its webhook secret and its running listener.
  struct Tenant {
    std::string org;
    Binding binding;
    std::string secret;
    std::string url;
    std::string repo() const { return "gh-" + org + "/" + binding.pipeline; }
  };

  void SetUp() override {
    if (!aphex::testing::tektonRuns()) {
      GTEST_SKIP() << "Tekton does not run beside the test cluster: build it with "
                      "'scripts/local-cluster tekton build' (./test.sh does)";
    }
    ControllerTest::SetUp();
    start();
  }
  void TearDown() override {
    for (const auto& org : listeners_) {
      try {
        aphex::testing::stopListener(org);
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    }
    ControllerTest::TearDown();
  }

  void onboard(const std::string& prefix, Tenant& tenant, const std::string& pipeline = kRestrictedPipeline) {
    tenant.org = createOrganization(prefix);
    tenant.binding = binding(tenant.org, "", {{"pipelineSpec", pipeline}});
    ASSERT_NO_FATAL_FAILURE(waitOrgReady(tenant.org));
    ASSERT_NO_FATAL_FAILURE(waitReady(tenant.binding, 60s));
    const Json secret = get(aphex::resources::kSecrets, "org-" + tenant.org, "github-webhook-secret");
    const auto value = kube::base64Decode(secret.value("data", Json::object()).value("secret", ""));
    ASSERT_TRUE(value && !value->empty()) << "no webhook secret in org-" << tenant.org;
    tenant.secret = *value;
    // Ready is the binding's; its namespace joins the Organization's EventListener a moment later
    // (the Organization takes in its bindings' changes a second at a time).
    ASSERT_TRUE(eventually([&] { return listenerServes(tenant.org, tenant.binding.pipeline); }, 30s))
        << "the EventListener of org-" << tenant.org << " does not list " << tenant.binding.pipeline;
    tenant.url = aphex::testing::startListener(tenant.org);
    listeners_.push_back(tenant.org);
  }

  bool listenerServes(const std::string& org, const std::string& ns) {
    const Json listener = get(aphex::resources::kEventListeners, "org-" + org, "github-listener");
    if (!listener.is_object()) return false;
    for (const auto& group : listener.value("spec", Json::object()).value("triggerGroups", Json::array())) {
      const Json selector = group.value("triggerSelector", Json::object()).value("namespaceSelector", Json::object());
      for (const auto& name : selector.value("matchNames", Json::array())) {
        if (name == ns) return true;
      }
    }
    return false;
  }

  // Posts the delivery and expects the sink to accept it for processing.
  void send(const Tenant& to, const GithubDelivery& delivery) {
    const auto answer = deliver(to.url, delivery);
    EXPECT_EQ(answer.status, kAccepted) << answer.body;
  }
  GithubDelivery push(const Tenant& signer, const std::string& repo, const std::string& ref = "refs/heads/main") {
    return signedDelivery(signer.secret, pushPayload(repo, ref, kRevision));
  }

  Json items(const kube::ResourceType& type, const std::string& ns, const std::string& selector = "") {
    auto list = admin_->list(type, ns, {.label_selector = selector});
    return list ? (*list)["items"] : Json::array();
  }
  Json runs(const Tenant& t) { return items(kPipelineRuns, t.binding.pipeline); }
  std::string runName(const Tenant& t, const GithubDelivery& d) { return t.binding.pipeline + "-" + d.id; }

  // Waits for the run of `delivery`, then a moment for anything sent before it: the sink handles
  // deliveries in the order it got them, each within milliseconds once its interceptors answer.
  void waitForRunOf(const Tenant& t, const GithubDelivery& d) {
    ASSERT_TRUE(eventually([&] { return exists(kPipelineRuns, t.binding.pipeline, runName(t, d)); }, 60s))
        << "no PipelineRun for delivery " << d.id << " in " << t.binding.pipeline;
    std::this_thread::sleep_for(2s);
  }

  std::vector<std::string> listeners_;
};

Json param(const Json& run, const std::string& name) {
  for (const auto& p : run["spec"].value("params", Json::array())) {
    if (p.value("name", "") == name) return p.value("value", Json());
  }
  return Json();
}

TEST_F(PipelinePathTest, ASignedPushBecomesOnePipelineRunWhoseTaskRunsGetAdmittedPods) {
  Tenant a;
  ASSERT_NO_FATAL_FAILURE(onboard("orga", a));
  const GithubDelivery delivery = push(a, a.repo());
  const auto pushed = Clock::now();
  send(a, delivery);

  const std::string ns = a.binding.pipeline;
  ASSERT_TRUE(eventually([&] { return !runs(a).empty(); }, 60s)) << "no PipelineRun in " << ns;
  const long to_run = millisecondsSince(pushed);
  const Json run = runs(a)[0];
  EXPECT_EQ(runs(a).size(), 1u);
  EXPECT_EQ(run["metadata"]["name"], runName(a, delivery));
  EXPECT_EQ(run["metadata"]["labels"].value("aphex.io/organization", ""), a.org);
  EXPECT_EQ(run["metadata"]["labels"].value("aphex.io/pipeline", ""), ns);
  EXPECT_EQ(run["spec"]["pipelineRef"]["name"], ns);
  EXPECT_EQ(run["spec"]["taskRunTemplate"]["serviceAccountName"], "pipeline-runner");
  EXPECT_EQ(param(run, "git-url"), "https://github.com/" + a.repo() + ".git");
  EXPECT_EQ(param(run, "git-revision"), kRevision);
  EXPECT_EQ(param(run, "repo-full-name"), a.repo());
  EXPECT_EQ(param(run, "event-type"), "push");
  EXPECT_EQ(param(run, "event-id"), delivery.id);
  EXPECT_EQ(param(run, "triggered-at"), "2026-01-02T03:04:05Z");
  EXPECT_EQ(param(run, "org-name"), a.org);

  // Tekton's controller accepts the run and makes a TaskRun for the Pipeline's task, and a Pod for
  // that, as pipeline-runner; the API server admits it.
  const std::string selector = "tekton.dev/pipelineRun=" + run["metadata"]["name"].get<std::string>();
  ASSERT_TRUE(eventually([&] { return !items(kPods, ns, selector).empty(); }, 90s))
      << "no Pod; PipelineRun: " << get(kPipelineRuns, ns, runName(a, delivery)).dump(2).substr(0, 4000)
      << "\nTaskRuns: " << items(kTaskRuns, ns).dump(2).substr(0, 4000);
  const long to_pod = millisecondsSince(pushed);
  EXPECT_EQ(items(kTaskRuns, ns, selector).size(), 1u);
  const Json pod = items(kPods, ns, selector)[0];
  EXPECT_EQ(pod["spec"]["serviceAccountName"], "pipeline-runner");
  EXPECT_EQ(pod["status"].value("phase", ""), "Pending");  // no node runs it
  // Admitted under the guardrails: the LimitRange gave the step its defaults, the quota counts it.
  for (const auto& container : pod["spec"]["containers"]) {
    EXPECT_FALSE(container.value("resources", Json::object()).value("limits", Json::object()).empty())
        << container.dump(2);
  }
  const kube::ResourceType quotas{.group = "", .version = "v1", .plural = "resourcequotas", .namespaced = true};
  EXPECT_TRUE(eventually([&] {
    const Json used = get(quotas, ns, "tenant-quota").value("status", Json::object()).value("used", Json::object());
    return used.value("pods", "0") != "0";
  }, 30s)) << get(quotas, ns, "tenant-quota").dump(2);
  // Nothing refused: the run has not failed, and no Warning event (FailedCreate, quota, Pod
  // Security, validation) was reported in the namespace.
  const Json current = get(kPipelineRuns, ns, runName(a, delivery));
  EXPECT_NE(aphex::testing::conditionStatus(current, "Succeeded"), "False") << current.dump(2);
  for (const auto& event : items(kEvents, ns)) {
    EXPECT_NE(event.value("type", ""), "Warning") << event.dump(2);
    EXPECT_NE(event.value("reason", ""), "FailedCreate") << event.dump(2);
  }
  std::printf("push to PipelineRun: %ld ms; push to first admitted Pod: %ld ms\n", to_run, to_pod);
}

// The guardrail holds on Tekton's real Pods: a step without the security context `restricted`
// asks for is refused by the API server, and the TaskRun says why.
TEST_F(PipelinePathTest, AStepWithoutTheRestrictedSecurityContextIsRefusedByPodSecurity) {
  Tenant a;
  ASSERT_NO_FATAL_FAILURE(onboard("orga", a, aphex::testing::contractPipelineYaml()));
  const GithubDelivery delivery = push(a, a.repo());
  send(a, delivery);
  const std::string ns = a.binding.pipeline;
  const auto reason = [&] {
    const Json list = items(kTaskRuns, ns);
    if (list.empty()) return std::string();
    for (const auto& c : list[0].value("status", Json::object()).value("conditions", Json::array())) {
      if (c.value("type", "") == "Succeeded" && c.value("status", "") == "False") {
        return c.value("reason", "") + ": " + c.value("message", "");
      }
    }
    return std::string();
  };
  ASSERT_TRUE(eventually([&] { return !reason().empty(); }, 90s)) << items(kTaskRuns, ns).dump(2).substr(0, 4000);
  EXPECT_THAT(reason(), ::testing::AllOf(::testing::HasSubstr("PodAdmissionFailed"),
                                         ::testing::HasSubstr("violates PodSecurity \"restricted")));
  EXPECT_TRUE(items(kPods, ns).empty());
}

TEST_F(PipelinePathTest, RefusedDeliveriesCreateNothing) {
  Tenant a;
  ASSERT_NO_FATAL_FAILURE(onboard("orga", a));
  const GithubDelivery accepted = push(a, a.repo());
  send(a, accepted);
  ASSERT_NO_FATAL_FAILURE(waitForRunOf(a, accepted));

  std::vector<std::pair<std::string, GithubDelivery>> refused;
  GithubDelivery unsigned_push = push(a, a.repo());
  unsigned_push.signature.reset();
  refused.emplace_back("no signature", unsigned_push);
  GithubDelivery wrong = push(a, a.repo());
  wrong.signature = githubSignature("not-the-secret", wrong.body);
  refused.emplace_back("a wrong signature", wrong);
  GithubDelivery changed = push(a, a.repo());
  changed.body = pushPayload(a.repo(), "refs/heads/main", std::string(40, 'f')).dump();  // signature of the old body
  refused.emplace_back("a body changed after signing", changed);
  refused.emplace_back("another repository", push(a, "gh-" + a.org + "/other"));
  refused.emplace_back("another branch", push(a, a.repo(), "refs/heads/develop"));
  refused.emplace_back("a tag named like the branch", push(a, a.repo(), "refs/tags/main"));
  refused.emplace_back("a ping", signedDelivery(a.secret, {{"zen", "Keep it logically awesome."}, {"hook_id", 1},
                                                           {"repository", {{"full_name", a.repo()}}}}, "ping"));
  refused.emplace_back("another event type", signedDelivery(a.secret, pushPayload(a.repo(), "refs/heads/main", kRevision),
                                                            "pull_request"));
  GithubDelivery replay = accepted;
  refused.emplace_back("a replay of the same delivery id", replay);
  for (const auto& [what, delivery] : refused) {
    SCOPED_TRACE(what);
    send(a, delivery);
  }
  // A good delivery after all of them: once its run exists, the refused ones have been handled.
  const GithubDelivery sentinel = push(a, a.repo());
  send(a, sentinel);
  ASSERT_NO_FATAL_FAILURE(waitForRunOf(a, sentinel));
  std::vector<std::string> names;
  for (const auto& run : runs(a)) names.push_back(run["metadata"]["name"]);
  EXPECT_THAT(names, ::testing::UnorderedElementsAre(runName(a, accepted), runName(a, sentinel)));
}

TEST_F(PipelinePathTest, OneOrganizationsSecretOrListenerCannotStartAnothersPipeline) {
  Tenant a;
  Tenant b;
  ASSERT_NO_FATAL_FAILURE(onboard("orga", a));
  ASSERT_NO_FATAL_FAILURE(onboard("orgb", b));
  // B's secret on a push of A's repository, to A's listener; and to B's own listener, which does
  // not serve A's pipeline namespace.
  send(a, push(b, a.repo()));
  send(b, push(b, a.repo()));
  // A's listener, with A's secret, on B's repository: B's Trigger is not A's to run.
  send(a, push(a, b.repo()));
  const GithubDelivery sentinel_a = push(a, a.repo());
  const GithubDelivery sentinel_b = push(b, b.repo());
  send(a, sentinel_a);
  send(b, sentinel_b);
  ASSERT_NO_FATAL_FAILURE(waitForRunOf(a, sentinel_a));
  ASSERT_NO_FATAL_FAILURE(waitForRunOf(b, sentinel_b));
  EXPECT_EQ(runs(a).size(), 1u) << runs(a).dump(2).substr(0, 4000);
  EXPECT_EQ(runs(b).size(), 1u) << runs(b).dump(2).substr(0, 4000);
}

// kubectl-aphex's `webhook test` against the real sink: its push, signed with the binding's
// Organization's secret, starts the pipeline, and the command says which run; sent to another
// Organization's listener, it starts nothing, and the command says that too.
TEST_F(PipelinePathTest, KubectlAphexWebhookTestStartsThePipelineThroughTheRealListener) {
  Tenant a;
  Tenant b;
  ASSERT_NO_FATAL_FAILURE(onboard("cli-a", a));
  ASSERT_NO_FATAL_FAILURE(onboard("cli-b", b));
  auto webhookTest = [&](const std::string& url, const std::string& timeout) {
    return aphex::testing::runCli({"webhook", "test", a.repo(), "--url", url, "--timeout", timeout, "--kubeconfig",
                                   aphex::testing::clusterDir() + "/admin.kubeconfig", "--platform-namespace",
                                   platform_.name()},
                                  {{"NO_COLOR", "1"}});
  };
  const auto started = webhookTest(a.url, "60");
  EXPECT_EQ(started.exit_code, 0) << started.out << started.err;
  EXPECT_THAT(started.out, ::testing::HasSubstr("listener answered HTTP 202"));
  EXPECT_THAT(started.out, ::testing::HasSubstr("PipelineRun " + a.binding.pipeline + "/" + a.binding.pipeline + "-"));
  EXPECT_EQ(runs(a).size(), 1u);

  const auto refused = webhookTest(b.url, "5");
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_THAT(refused.err, ::testing::HasSubstr("no PipelineRun appeared in " + a.binding.pipeline));
  EXPECT_EQ(runs(a).size(), 1u);
  EXPECT_EQ(runs(b).size(), 0u);
}

}  // namespace
