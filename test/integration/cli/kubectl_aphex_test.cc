// kubectl-aphex against the real local control plane: the binary as a child process, as a user
// runs it, with Aphex's controllers running in the test under their shipped RBAC (or not running,
// for the paths where nothing ever becomes Ready). Every command, and its failure paths: invalid
// input, unknown objects, a binding that never becomes Ready, an identity without permissions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aphex/api/group.h"
#include "integration/cli/cli_process.h"
#include "integration/support/aphex_objects.h"
#include "integration/support/controller_test.h"
#include "integration/support/identities.h"
#include "kube/base64.h"
#include "kubectl-aphex/runs.h"
#include "kubectl-aphex/webhook.h"
#include "support/temp_dir.h"

namespace {

using ::aphex::testing::clusterDir;
using ::aphex::testing::eventually;
using ::aphex::testing::runCli;
using ::aphex::testing::uniqueName;
using ::testing::HasSubstr;
using ::testing::Not;
using kube::Json;
using namespace std::chrono_literals;

class KubectlAphexTest : public aphex::testing::ControllerTest {
 protected:
  void TearDown() override {
    // Organizations go while the controller still runs, so that their finalizers can finish.
    if (controller_) {
      for (const auto& name : orgs_) (void)admin_->remove(aphex::api::kOrganizations, platform_.name(), name);
      (void)eventually([&] {
        for (const auto& name : orgs_) {
          if (!gone(aphex::api::kOrganizations, platform_.name(), name)) return false;
        }
        return true;
      }, 60s);
    }
    ControllerTest::TearDown();
  }

  // The CLI as the cluster's admin, pointed at this test's platform namespace.
  aphex::testing::CliResult cli(std::vector<std::string> args, const std::string& user = "admin") {
    args.insert(args.end(), {"--kubeconfig", clusterDir() + "/" + user + ".kubeconfig", "--platform-namespace",
                             platform_.name()});
    return runCli(args, {{"NO_COLOR", "1"}});
  }

  // `org create` of a new Organization labelled for this test's controller.
  std::string createOrg(const std::vector<std::string>& extra = {"--wait"}) {
    const std::string name = uniqueName("cli");
    orgs_.push_back(name);
    std::vector<std::string> args = {"org", "create", name, "--admin", "alice@example.com", "--label",
                                     std::string(aphex::testing::kTestRunLabel) + "=" + run_};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto result = cli(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return name;
  }

  std::string pipelineFile(const std::string& yaml) { return files_.write(uniqueName("pipeline") + ".yaml", yaml); }

  // `repo onboard` of a new repository of `org`; returns OWNER/REPO (the pipeline is REPO).
  std::string onboard(const std::string& org, const std::vector<std::string>& extra, aphex::testing::CliResult& result) {
    const std::string repo = uniqueName("p");
    pipelines_.push_back(repo);
    std::vector<std::string> args = {"repo", "onboard", "gh-" + org + "/" + repo, "--org", org, "--pipeline",
                                     pipelineFile(aphex::testing::contractPipelineYaml()), "--label",
                                     std::string(aphex::testing::kTestRunLabel) + "=" + run_};
    args.insert(args.end(), extra.begin(), extra.end());
    result = cli(args);
    return "gh-" + org + "/" + repo;
  }

  std::string secretValue(const std::string& org) {
    const Json secret = get(kube::resources::kSecrets, "org-" + org, "github-webhook-secret");
    return kube::base64Decode(secret.value("data", Json::object()).value("secret", "")).value_or("");
  }

  std::vector<std::string> orgs_;
  aphex::testing::TempDir files_;
};

TEST_F(KubectlAphexTest, OrgCreateGetDescribeAndTheWebhookUrlAndSecret) {
  start();
  const std::string org = createOrg();
  ASSERT_TRUE(aphex::testing::isReady(get(aphex::api::kOrganizations, platform_.name(), org)));

  const auto got = cli({"org", "get", org});
  EXPECT_EQ(got.exit_code, 0) << got.err;
  EXPECT_THAT(got.out, HasSubstr("NAME"));
  EXPECT_THAT(got.out, HasSubstr(org + "   Ready   True    org-" + org));
  EXPECT_THAT(got.out, Not(HasSubstr("\033[")));  // NO_COLOR, and not a terminal

  const auto described = cli({"org", "describe", org});
  EXPECT_EQ(described.exit_code, 0) << described.err;
  EXPECT_THAT(described.out, HasSubstr("Admin users:      alice@example.com"));
  EXPECT_THAT(described.out, HasSubstr("Webhook secret:   Secret org-" + org + "/github-webhook-secret, key secret"));
  EXPECT_THAT(described.out, HasSubstr("NamespaceReady"));

  const auto url = cli({"webhook", "url", org});
  EXPECT_EQ(url.exit_code, 0) << url.err;
  EXPECT_EQ(url.out, "http://el-github-listener.org-" + org + ".svc.cluster.local:8080/\n");

  const std::string value = secretValue(org);
  ASSERT_EQ(value.size(), 64u);
  const auto hidden = cli({"webhook", "secret", org});
  EXPECT_EQ(hidden.exit_code, 0) << hidden.err;
  EXPECT_THAT(hidden.out + hidden.err, Not(HasSubstr(value)));
  EXPECT_THAT(hidden.err, HasSubstr("--show-secret"));
  const auto shown = cli({"webhook", "secret", org, "--show-secret"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out, value + "\n");

  const auto yaml = cli({"org", "get", org, "-o", "yaml"});
  EXPECT_EQ(yaml.exit_code, 0);
  EXPECT_THAT(yaml.out, HasSubstr("kind: Organization"));
  EXPECT_THAT(yaml.out, Not(HasSubstr("managedFields")));
}

TEST_F(KubectlAphexTest, KubeconfigComesFromTheEnvironmentToo) {
  const auto result = runCli({"org", "get", "nobody-" + run_, "--platform-namespace", platform_.name()},
                             {{"KUBECONFIG", clusterDir() + "/admin.kubeconfig"}});
  EXPECT_EQ(result.exit_code, 4) << result.err;  // reached the cluster: NotFound, not "no configuration"
  EXPECT_THAT(result.err, HasSubstr("org create nobody-" + run_));
  const auto none = runCli({"status"}, {{"KUBECONFIG", "/nonexistent/kubeconfig"}, {"HOME", "/nonexistent"}});
  EXPECT_EQ(none.exit_code, 7) << none.err;
}

TEST_F(KubectlAphexTest, OrgCreateRefusesInvalidInputBeforeSendingAnything) {
  const std::string name = uniqueName("bad");
  const auto result = cli({"org", "create", name, "--admin", "not-an-address", "--admin-group", "system:masters"});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("spec.adminUsers[0] (--admin): \"not-an-address\" is not an e-mail address"));
  EXPECT_THAT(result.err, HasSubstr("spec.adminGroups[0] (--admin-group)"));
  EXPECT_THAT(result.err, HasSubstr("nothing was sent"));
  EXPECT_TRUE(gone(aphex::api::kOrganizations, platform_.name(), name));
}

TEST_F(KubectlAphexTest, AnIdentityWithoutPermissionIsToldSo) {
  const std::string name = uniqueName("denied");
  const auto created = cli({"org", "create", name, "--admin", "alice@example.com"}, "tester");
  EXPECT_EQ(created.exit_code, 5) << created.err;
  EXPECT_THAT(created.err, HasSubstr("forbidden"));
  EXPECT_THAT(created.err, HasSubstr("fix: your identity lacks this permission"));
  EXPECT_TRUE(gone(aphex::api::kOrganizations, platform_.name(), name));
  const auto secret = cli({"webhook", "secret", "acme", "--show-secret"}, "tester");
  EXPECT_EQ(secret.exit_code, 5) << secret.err;
  const auto runs = cli({"runs", "acme/app1"}, "tester");
  EXPECT_EQ(runs.exit_code, 5) << runs.err;
}

TEST_F(KubectlAphexTest, RepoOnboardWaitsUntilReadyAndPrintsTheGithubSettings) {
  start();
  const std::string org = createOrg();
  aphex::testing::CliResult result;
  const std::string repo = onboard(org, {"--wait", "--timeout", "60"}, result);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("PipelineReady=True"));
  EXPECT_THAT(result.err, HasSubstr("is Ready: pipeline namespace " + repo.substr(repo.find('/') + 1)));
  EXPECT_THAT(result.out, HasSubstr("  Payload URL:   http://el-github-listener.org-" + org));
  EXPECT_THAT(result.out, HasSubstr("  Content type:  application/json"));
  EXPECT_THAT(result.out, HasSubstr("  Events:        Just the push event"));
  EXPECT_THAT(result.out, HasSubstr("gh api repos/" + repo + "/hooks --method POST"));
  EXPECT_THAT(result.out, Not(HasSubstr(secretValue(org))));

  const auto described = cli({"org", "describe", org});
  EXPECT_THAT(described.out, HasSubstr(repo));
  const auto twice = cli({"repo", "onboard", repo, "--org", org, "--pipeline",
                          pipelineFile(aphex::testing::contractPipelineYaml())});
  EXPECT_EQ(twice.exit_code, 8) << twice.err;
}

// A kubeconfig file for `config` (a person's client certificate), for the binary to read.
std::string kubeconfigFile(const aphex::testing::TempDir& dir, const kube::ClientConfig& config) {
  const Json kubeconfig = {
      {"apiVersion", "v1"}, {"kind", "Config"}, {"current-context", "person"},
      {"clusters", {{{"name", "local"}, {"cluster", {{"server", config.server},
                                                     {"certificate-authority-data", kube::base64Encode(config.ca_pem)}}}}}},
      {"users", {{{"name", "person"}, {"user", {{"client-certificate-data", kube::base64Encode(config.client_cert_pem)},
                                                {"client-key-data", kube::base64Encode(config.client_key_pem)}}}}}},
      {"contexts", {{{"name", "person"}, {"context", {{"cluster", "local"}, {"user", "person"}}}}}}};
  return dir.write(uniqueName("person") + ".kubeconfig", kubeconfig.dump());  // JSON is YAML
}

TEST_F(KubectlAphexTest, AnOrganizationAdminOnboardsIntoTheOrganizationsNamespace) {
  start();
  const std::string org = createOrg();
  waitQuotaCounted(org);
  // alice@example.com, the admin createOrg names: no right in the platform namespace, only the
  // ones the controller bound for her in org-<org>.
  const std::string kubeconfig = kubeconfigFile(files_, aphex::testing::personIdentity("alice@example.com"));
  const std::string repo = uniqueName("p");
  pipelines_.push_back(repo);
  const std::vector<std::string> onboard = {
      "repo", "onboard", "gh-" + org + "/" + repo, "--org", org, "-n", "org-" + org, "--pipeline",
      pipelineFile(aphex::testing::contractPipelineYaml()), "--label",
      std::string(aphex::testing::kTestRunLabel) + "=" + run_, "--wait", "--timeout", "60",
      "--kubeconfig", kubeconfig, "--platform-namespace", platform_.name()};
  aphex::testing::CliResult result;
  // The authorizer may see her RoleBinding a moment after the Organization is Ready.
  ASSERT_TRUE(eventually([&] {
    result = runCli(onboard);
    return result.exit_code != 5;
  }, 10s)) << result.err;
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("repobinding org-" + org + "/" + repo + " created"));
  EXPECT_THAT(result.out, HasSubstr("gh api repos/gh-" + org + "/" + repo + "/hooks"));
  // Reading the Organization is not hers: the binding's status carries the webhook URL.
  EXPECT_THAT(result.out, HasSubstr("Payload URL:   http://el-github-listener.org-" + org));
  const auto org_read = runCli({"org", "get", org, "--kubeconfig", kubeconfig, "--platform-namespace", platform_.name()});
  EXPECT_EQ(org_read.exit_code, 5) << org_read.err;
}

TEST_F(KubectlAphexTest, RepoOnboardRefusesAnInvalidPipelineFileWithEveryProblem) {
  const std::string file = pipelineFile("apiVersion: tekton.dev/v1beta1\nkind: Task\nspec:\n  params: []\n");
  const std::string repo = uniqueName("p");
  const auto result = cli({"repo", "onboard", "acme/" + repo, "--org", "acme", "--pipeline", file});
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_THAT(result.err, HasSubstr("spec.pipelineSpec.apiVersion (--pipeline): must be tekton.dev/v1"));
  EXPECT_THAT(result.err, HasSubstr("spec.pipelineSpec.kind (--pipeline): must be Pipeline, not \"Task\""));
  EXPECT_THAT(result.err, HasSubstr("spec.pipelineSpec.spec.params (--pipeline): must declare"));
  EXPECT_TRUE(gone(aphex::api::kRepoBindings, platform_.name(), repo));

  const auto missing = cli({"repo", "onboard", "acme/" + repo, "--org", "acme", "--pipeline", "/nonexistent.yaml"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("--pipeline: cannot read \"/nonexistent.yaml\""));
}

TEST_F(KubectlAphexTest, RepoOnboardOfAnUnknownOrganizationSendsNothing) {
  const std::string repo = uniqueName("p");
  const auto result = cli({"repo", "onboard", "acme/" + repo, "--org", "no-such-org", "--pipeline",
                           pipelineFile(aphex::testing::contractPipelineYaml())});
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_THAT(result.err, HasSubstr("organization " + platform_.name() + "/no-such-org"));
  EXPECT_THAT(result.err, HasSubstr("org create no-such-org"));
  EXPECT_TRUE(gone(aphex::api::kRepoBindings, platform_.name(), repo));
}

TEST_F(KubectlAphexTest, ABindingThatNeverBecomesReadyEndsTheWaitWithItsCondition) {
  // No controller runs: nothing ever reports on the binding.
  const std::string org = uniqueName("idle");
  ASSERT_TRUE(admin_->create(aphex::api::kOrganizations, platform_.name(),
                             mine(aphex::testing::organizationObject(platform_.name(), org))));
  aphex::testing::CliResult result;
  onboard(org, {"--wait", "--timeout", "3"}, result);
  EXPECT_EQ(result.exit_code, 6) << result.err;
  EXPECT_THAT(result.err, HasSubstr("is not Ready after 3s: no condition reported yet: is aphex-controller running?"));
}

TEST_F(KubectlAphexTest, DryRunPrintsTheObjectWithoutACluster) {
  const auto result = runCli({"repo", "onboard", "acme/app1", "--org", "acme", "--pipeline",
                              pipelineFile(aphex::testing::contractPipelineYaml()), "--dry-run=client", "-o", "yaml",
                              "--kubeconfig", "/nonexistent"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("kind: RepoBinding"));
  EXPECT_THAT(result.out, HasSubstr("pipelineSpec: |"));
  EXPECT_THAT(result.out, HasSubstr("namespace: platform-system"));
}

TEST_F(KubectlAphexTest, StatusNamesTheFailingConditionAndExitsNonZero) {
  start();
  const std::string org = createOrg();
  Json binding = aphex::testing::repoBindingObject(platform_.name(), uniqueName("rb"), org, uniqueName("p"));
  pipelines_.push_back(binding["spec"]["pipelineName"]);
  binding["spec"]["pipelineSpec"] = "apiVersion: tekton.dev/v1\nkind: Task\nspec: {}\n";
  ASSERT_TRUE(admin_->create(aphex::api::kRepoBindings, platform_.name(), mine(binding)));
  const std::string name = binding["metadata"]["name"];
  ASSERT_TRUE(eventually([&] {
    return aphex::testing::conditionStatus(get(aphex::api::kRepoBindings, platform_.name(), name), "Ready") == "False";
  }, 30s));

  const auto json = cli({"status", "-o", "json"});
  EXPECT_EQ(json.exit_code, 1) << json.err;
  const Json report = Json::parse(json.out);
  EXPECT_EQ(report["healthy"], false);
  EXPECT_EQ(report["apis"][0]["state"], "installed");
  EXPECT_EQ(report["controller"]["state"], "not deployed");
  bool found = false;
  for (const auto& entry : report["notReady"]) {
    if (entry["name"] != name) continue;
    found = true;
    EXPECT_EQ(entry["kind"], "RepoBinding");
    EXPECT_EQ(entry["condition"], "PipelineReady");
    EXPECT_THAT(entry["message"].get<std::string>(), HasSubstr("must be Pipeline"));
  }
  EXPECT_TRUE(found) << json.out;

  const auto human = cli({"status"});
  EXPECT_EQ(human.exit_code, 1);
  EXPECT_THAT(human.out, HasSubstr("Tekton Pipelines   tekton.dev"));
  EXPECT_THAT(human.out, HasSubstr("PROBLEMS: see above"));
  EXPECT_THAT(human.out, HasSubstr(name));
}

TEST_F(KubectlAphexTest, WebhookRotateWaitsForTheNewValue) {
  start();
  const std::string org = createOrg();
  const std::string before = secretValue(org);
  const auto result = cli({"webhook", "rotate", org, "--timeout", "30"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.err, HasSubstr("has a new value"));
  const std::string after = secretValue(org);
  EXPECT_NE(after, before);
  EXPECT_THAT(result.out + result.err, Not(HasSubstr(after)));

  const auto unknown = cli({"webhook", "rotate", "no-such-org"});
  EXPECT_EQ(unknown.exit_code, 4);
}

Json pipelineRun(const std::string& name, const std::string& pipeline) {
  return {{"apiVersion", "tekton.dev/v1"}, {"kind", "PipelineRun"},
          {"metadata", {{"name", name}, {"labels", {{"tekton.dev/pipeline", pipeline}}}}},
          {"spec", {{"pipelineRef", {{"name", pipeline}}}}}};
}

// Where `webhook test` cannot reach the listener, it says how to. Deliveries to a real listener,
// and the PipelineRun they start, are tested on Tekton's own sink:
// test/integration/tekton/pipeline_path_test.cc, KubectlAphexWebhookTest.
TEST_F(KubectlAphexTest, WebhookTestSaysHowToReachAListenerItCannotReach) {
  start();
  const std::string org = createOrg();
  aphex::testing::CliResult onboarded;
  const std::string repo = onboard(org, {"--wait", "--timeout", "60"}, onboarded);
  ASSERT_EQ(onboarded.exit_code, 0) << onboarded.err;
  const auto unreachable = cli({"webhook", "test", repo});  // the in-cluster URL is not reachable from here
  EXPECT_EQ(unreachable.exit_code, 7) << unreachable.err;
  EXPECT_THAT(unreachable.err, HasSubstr("kubectl port-forward -n org-" + org + " svc/el-github-listener 8080"));
}

TEST_F(KubectlAphexTest, RunsListsTheBindingsPipelineRunsWithTheFailingTaskRun) {
  start();
  const std::string org = createOrg();
  aphex::testing::CliResult onboarded;
  const std::string repo = onboard(org, {"--wait", "--timeout", "60"}, onboarded);
  ASSERT_EQ(onboarded.exit_code, 0) << onboarded.err;
  const std::string ns = repo.substr(repo.find('/') + 1);

  const auto empty = cli({"runs", repo});
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_THAT(empty.err, HasSubstr("no PipelineRuns in " + ns + " yet"));

  // A failed run, its status written through the status subresource as Tekton's controller would.
  ASSERT_TRUE(admin_->create(aphex::cli::kPipelineRuns, ns, pipelineRun("build-1", ns)));
  auto patched = admin_->mergePatch(
      aphex::cli::kPipelineRuns, ns, "build-1",
      {{"status", {{"startTime", "2026-01-01T11:00:00Z"}, {"completionTime", "2026-01-01T11:02:00Z"},
                   {"conditions", {{{"type", "Succeeded"}, {"status", "False"}, {"reason", "Failed"},
                                    {"message", "Tasks Completed: 1 (Failed: 1)"}}}}}}},
      {.subresource = kube::Subresource::kStatus});
  ASSERT_TRUE(patched) << patched.error().message;
  const Json task_run = {{"apiVersion", "tekton.dev/v1"}, {"kind", "TaskRun"},
                         {"metadata", {{"name", "build-1-compile"}, {"labels", {{"tekton.dev/pipelineRun", "build-1"}}}}},
                         {"spec", {{"taskRef", {{"name", "compile"}}}}}};
  ASSERT_TRUE(admin_->create(aphex::cli::kTaskRuns, ns, task_run));
  patched = admin_->mergePatch(aphex::cli::kTaskRuns, ns, "build-1-compile",
                               {{"status", {{"podName", "build-1-compile-pod"},
                                            {"conditions", {{{"type", "Succeeded"}, {"status", "False"},
                                                             {"reason", "Failed"}, {"message", "step compile exited 2"}}}}}}},
                               {.subresource = kube::Subresource::kStatus});
  ASSERT_TRUE(patched) << patched.error().message;

  const auto runs = cli({"runs", repo, "--limit", "5"});
  EXPECT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_THAT(runs.out, HasSubstr("NAME      STATUS   STARTED"));
  EXPECT_THAT(runs.out, HasSubstr("build-1   Failed"));
  EXPECT_THAT(runs.out, HasSubstr("2m         build-1-compile: Failed: step compile exited 2"));
  const auto json = cli({"runs", repo, "-o", "json"});
  EXPECT_EQ(Json::parse(json.out)["items"][0]["metadata"]["name"], "build-1");

  const auto unknown = cli({"runs", "nobody/" + uniqueName("nothing")});
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_THAT(unknown.err, HasSubstr("repo onboard nobody/"));
}

TEST(KubectlAphexCompletion, BashScriptIsValidBash) {
  const auto result = runCli({"completion", "bash"});
  ASSERT_EQ(result.exit_code, 0);
  aphex::testing::TempDir dir;
  const std::string script = dir.write("completion.bash", result.out);
  EXPECT_EQ(std::system(("bash -n " + script).c_str()), 0);
  // Completing "kubectl-aphex org cr" offers "create".
  const std::string probe = dir.write("probe.bash", "source " + script + "\nCOMP_WORDS=(kubectl-aphex org cr)\n"
                                                    "COMP_CWORD=2\n_kubectl_aphex\necho \"${COMPREPLY[*]}\"\n");
  const auto offered = [&] {
    FILE* pipe = popen(("bash " + probe).c_str(), "r");
    std::string text(256, '\0');
    text.resize(fread(text.data(), 1, text.size(), pipe));
    pclose(pipe);
    return text;
  }();
  EXPECT_EQ(offered, "create\n");
}

}  // namespace
