// kubectl-aphex's command line: every command, its flags, help and examples (CLI11), parsed into
// plain structs that the commands take; and the dispatch from a parsed command to its run
// function. Parsing needs no cluster, so unit tests drive it with argument lists.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubectl-aphex/org.h"
#include "kubectl-aphex/repo.h"
#include "kubectl-aphex/runs.h"
#include "kubectl-aphex/connection.h"
#include "kubectl-aphex/status.h"
#include "kubectl-aphex/webhook.h"

namespace CLI {
class App;
}

namespace aphex::cli {

enum class Command {
  kStatus, kOrgCreate, kOrgGet, kOrgDescribe, kRepoOnboard, kWebhookUrl, kWebhookSecret, kWebhookRotate,
  kWebhookTest, kRuns, kCompletion,
};

struct ParsedCommand {
  Command command = Command::kStatus;
  GlobalFlags global;
  StatusFlags status;
  OrgCreateFlags org_create;
  std::string org_name;  // org get|describe, webhook url
  OnboardFlags onboard;
  WebhookSecretFlags webhook_secret;
  WebhookRotateFlags webhook_rotate;
  WebhookTestFlags webhook_test;
  RunsFlags runs;
  std::string shell;  // completion
};

class CommandLine {
 public:
  CommandLine();
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Parses `args` (without the program name). On --help, or a usage error, writes the help or the
  // error to `io` and returns the exit code to leave with (0 or kExitUsage); nullopt when a
  // command is to run.
  std::optional<int> parse(const std::vector<std::string>& args, Io& io);
  const ParsedCommand& parsed() const { return parsed_; }
  const CLI::App& app() const { return *app_; }

 private:
  void addStatus();
  void addOrg();
  void addRepo();
  void addWebhook();
  void addRuns();
  void addCompletion();

  ParsedCommand parsed_;
  std::unique_ptr<CLI::App> app_;
  std::map<const CLI::App*, Command> commands_;
};

// The bash or zsh completion script of `app`'s commands and flags; nullopt for another shell.
std::optional<std::string> completionScript(const CLI::App& app, std::string_view shell);

// Runs a parsed command: connects (unless the command needs no cluster) and calls it.
int run(const ParsedCommand& command, const CLI::App& app, Io& io);

}  // namespace aphex::cli
