// kubectl-aphex's argument parsing: kubectl's global flags anywhere, each command's flags, help
// with examples for every command, usage errors with exit code 2. No cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "kubectl-aphex/cli.h"

namespace {

using aphex::cli::Command;
using aphex::cli::CommandLine;
using ::testing::HasSubstr;

struct Parse {
  std::ostringstream out, err;
  aphex::cli::Io io{.out = out, .err = err, .style = {}};
  CommandLine line;
  std::optional<int> exit_code;

  explicit Parse(const std::vector<std::string>& args) { exit_code = line.parse(args, io); }
  const aphex::cli::ParsedCommand& parsed() const { return line.parsed(); }
};

TEST(CommandLine, OrgCreateTakesRepeatedAdminsAndKubectlFlagsAfterTheCommand) {
  Parse p({"org", "create", "acme", "--admin", "alice@example.com", "--admin", "bob@example.com",
           "--admin-group", "leads", "--exposure", "Ingress", "--kubeconfig", "/tmp/k", "--context", "dev",
           "-n", "org-acme", "--dry-run=client", "-o", "yaml", "--wait", "--timeout", "30"});
  ASSERT_FALSE(p.exit_code) << p.err.str();
  EXPECT_EQ(p.parsed().command, Command::kOrgCreate);
  const auto& f = p.parsed().org_create;
  EXPECT_EQ(f.name, "acme");
  EXPECT_EQ(f.admins, (std::vector<std::string>{"alice@example.com", "bob@example.com"}));
  EXPECT_EQ(f.admin_groups, std::vector<std::string>{"leads"});
  EXPECT_EQ(f.exposure, "Ingress");
  EXPECT_EQ(f.dry_run, "client");
  EXPECT_TRUE(f.wait);
  EXPECT_EQ(f.timeout_seconds, 30);
  EXPECT_EQ(p.parsed().global.kubeconfig, "/tmp/k");
  EXPECT_EQ(p.parsed().global.context, "dev");
  EXPECT_EQ(p.parsed().global.ns, "org-acme");
  EXPECT_EQ(p.parsed().global.output, "yaml");
  EXPECT_EQ(p.parsed().global.platform_namespace, "platform-system");
}

TEST(CommandLine, GlobalFlagsMayComeFirst) {
  Parse p({"--context", "prod", "--platform-namespace", "aphex", "status", "--watch"});
  ASSERT_FALSE(p.exit_code) << p.err.str();
  EXPECT_EQ(p.parsed().command, Command::kStatus);
  EXPECT_TRUE(p.parsed().status.watch);
  EXPECT_EQ(p.parsed().global.context, "prod");
  EXPECT_EQ(p.parsed().global.platform_namespace, "aphex");
}

TEST(CommandLine, RepoOnboardNeedsOrgAndPipeline) {
  Parse missing({"repo", "onboard", "acme/app1"});
  EXPECT_EQ(missing.exit_code, aphex::cli::kExitUsage);
  EXPECT_THAT(missing.err.str(), HasSubstr("--org"));

  Parse p({"repo", "onboard", "acme/app1", "--org", "acme", "--pipeline", "p.yaml", "--branch", "release",
           "--name", "app1-release", "--label", "team=a", "--wait"});
  ASSERT_FALSE(p.exit_code) << p.err.str();
  EXPECT_EQ(p.parsed().command, Command::kRepoOnboard);
  const auto& f = p.parsed().onboard;
  EXPECT_EQ(f.repository, "acme/app1");
  EXPECT_EQ(f.org, "acme");
  EXPECT_EQ(f.pipeline_file, "p.yaml");
  EXPECT_EQ(f.branch, "release");
  EXPECT_EQ(f.name, "app1-release");
  EXPECT_EQ(f.labels, std::vector<std::string>{"team=a"});
  EXPECT_TRUE(f.wait);
}

TEST(CommandLine, WebhookAndRunsCommands) {
  Parse secret({"webhook", "secret", "acme"});
  ASSERT_FALSE(secret.exit_code);
  EXPECT_EQ(secret.parsed().command, Command::kWebhookSecret);
  EXPECT_FALSE(secret.parsed().webhook_secret.show_secret);

  Parse test({"webhook", "test", "acme/app1", "--url", "http://127.0.0.1:8080", "--timeout", "5"});
  ASSERT_FALSE(test.exit_code);
  EXPECT_EQ(test.parsed().command, Command::kWebhookTest);
  EXPECT_EQ(test.parsed().webhook_test.url, "http://127.0.0.1:8080");
  EXPECT_EQ(test.parsed().webhook_test.timeout_seconds, 5);

  Parse runs({"runs", "acme/app1", "--limit", "3"});
  ASSERT_FALSE(runs.exit_code);
  EXPECT_EQ(runs.parsed().command, Command::kRuns);
  EXPECT_EQ(runs.parsed().runs.limit, 3);
}

TEST(CommandLine, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Parse({}).exit_code, aphex::cli::kExitUsage);
  EXPECT_EQ(Parse({"frobnicate"}).exit_code, aphex::cli::kExitUsage);
  EXPECT_EQ(Parse({"status", "--no-such-flag"}).exit_code, aphex::cli::kExitUsage);
  EXPECT_EQ(Parse({"org", "create", "acme", "--exposure", "Carrier-Pigeon"}).exit_code, aphex::cli::kExitUsage);
  EXPECT_EQ(Parse({"status", "-o", "table"}).exit_code, aphex::cli::kExitUsage);
  EXPECT_EQ(Parse({"completion", "fish"}).exit_code, aphex::cli::kExitUsage);
}

// Every command, leaf or group, answers --help with exit 0; every leaf shows examples.
TEST(CommandLine, EveryCommandHasHelpWithExamples) {
  const std::vector<std::vector<std::string>> leaves = {
      {"status"}, {"org", "create"}, {"org", "get"}, {"org", "describe"}, {"repo", "onboard"},
      {"webhook", "url"}, {"webhook", "secret"}, {"webhook", "rotate"}, {"webhook", "test"}, {"runs"},
      {"completion"}};
  for (auto args : leaves) {
    args.push_back("--help");
    Parse p(args);
    EXPECT_EQ(p.exit_code, 0) << args[0];
    EXPECT_THAT(p.out.str(), HasSubstr("Examples:")) << args[0] << " " << (args.size() > 2 ? args[1] : "");
    EXPECT_THAT(p.out.str(), HasSubstr("kubectl aphex")) << args[0];
  }
  Parse root({"--help"});
  EXPECT_EQ(root.exit_code, 0);
  EXPECT_THAT(root.out.str(), HasSubstr("Exit codes:"));
  EXPECT_THAT(root.out.str(), HasSubstr("--kubeconfig"));
}

TEST(Completion, ScriptsOfferEveryCommandAndItsFlags) {
  CommandLine line;
  const auto bash = aphex::cli::completionScript(line.app(), "bash");
  ASSERT_TRUE(bash);
  EXPECT_THAT(*bash, HasSubstr("complete -F _kubectl_aphex kubectl-aphex"));
  EXPECT_THAT(*bash, HasSubstr("\" org create\") words=\""));
  EXPECT_THAT(*bash, HasSubstr("--admin-group"));
  EXPECT_THAT(*bash, HasSubstr("\"\") words=\"status org repo webhook runs completion"));
  const auto zsh = aphex::cli::completionScript(line.app(), "zsh");
  ASSERT_TRUE(zsh);
  EXPECT_THAT(*zsh, HasSubstr("#compdef kubectl-aphex"));
  EXPECT_FALSE(aphex::cli::completionScript(line.app(), "fish"));
}

}  // namespace
