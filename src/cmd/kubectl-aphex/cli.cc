#include "kubectl-aphex/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <ostream>

namespace aphex::cli {
namespace {

constexpr const char* kGlobalFlagsNote =
    "\n\nGlobal flags (before or after the command): --kubeconfig FILE, --context NAME, -n/--namespace NS,\n"
    "--platform-namespace NS, -o/--output json|yaml. Run 'kubectl aphex --help' for them and the exit codes.";

constexpr const char* kExitCodes =
    "\nExit codes:\n"
    "  0  success\n"
    "  1  something is wrong: status found a problem, --wait saw a condition fail, no PipelineRun started\n"
    "  2  a flag or argument the command does not take\n"
    "  3  the input failed validation; nothing was sent\n"
    "  4  the Organization, RepoBinding or Secret does not exist\n"
    "  5  your identity may not do this (forbidden or unauthorized)\n"
    "  6  a --wait or rotation did not finish in time\n"
    "  7  no usable kubeconfig, or the API server or webhook URL did not answer\n"
    "  8  the object already exists";

std::string examples(std::string_view lines) { return "\nExamples:\n" + std::string(lines) + kGlobalFlagsNote; }

void addWaitFlags(CLI::App& command, bool& wait, int& timeout) {
  command.add_flag("--wait", wait, "follow the conditions until Ready; exit non-zero if it fails or times out");
  command.add_option("--timeout", timeout, "seconds --wait waits")->check(CLI::PositiveNumber)->capture_default_str();
}

}  // namespace

CommandLine::CommandLine() : app_(std::make_unique<CLI::App>()) {
  CLI::App& app = *app_;
  app.name("kubectl aphex");
  app.description("Operate the Aphex platform: its health, Organizations, onboarded repositories, webhooks and "
                  "pipeline runs.");
  app.fallthrough();  // global flags may follow the command, as kubectl's do
  app.require_subcommand(1);
  app.get_formatter()->column_width(36);
  GlobalFlags& g = parsed_.global;
  app.add_option("--kubeconfig", g.kubeconfig, "kubeconfig file; default $KUBECONFIG (a list of files), then "
                                               "in-cluster, then ~/.kube/config");
  app.add_option("--context", g.context, "kubeconfig context; default its current-context");
  app.add_option("-n,--namespace", g.ns, "namespace of RepoBindings (the platform namespace or org-<org>); "
                                         "default the platform namespace");
  app.add_option("--platform-namespace", g.platform_namespace, "namespace of Organizations")
      ->envname("APHEX_PLATFORM_NAMESPACE")->capture_default_str();
  app.add_option("-o,--output", g.output, "json or yaml instead of the human view")
      ->check(CLI::IsMember({"json", "yaml"}));
  addStatus();
  addOrg();
  addRepo();
  addWebhook();
  addRuns();
  addCompletion();
  app.footer(std::string("\nStart with 'kubectl aphex status'; each command has --help with examples.\n") + kExitCodes);
}

CommandLine::~CommandLine() = default;

void CommandLine::addStatus() {
  CLI::App* status = app_->add_subcommand("status", "the platform at a glance; exits 1 when something is wrong");
  status->add_flag("-w,--watch", parsed_.status.watch, "refresh until interrupted");
  status->add_option("--interval", parsed_.status.interval_seconds, "seconds between refreshes with --watch")
      ->check(CLI::PositiveNumber)->capture_default_str();
  status->footer(examples("  kubectl aphex status\n"
                          "  kubectl aphex status -o json | jq '.notReady'\n"
                          "  kubectl aphex status && ./deploy.sh     # only when the platform is healthy"));
  commands_[status] = Command::kStatus;
}

void CommandLine::addOrg() {
  CLI::App* org = app_->add_subcommand("org", "create and inspect Organizations");
  org->require_subcommand(1);
  OrgCreateFlags& f = parsed_.org_create;
  CLI::App* create = org->add_subcommand("create", "create an Organization, checked locally first");
  create->add_option("NAME", f.name, "the organization's name (a DNS label of at most 40 characters)")->required();
  create->add_option("--admin", f.admins, "e-mail address of an admin (repeatable)")->allow_extra_args(false);
  create->add_option("--admin-group", f.admin_groups, "OIDC group whose members are admins (repeatable)")
      ->allow_extra_args(false);
  create->add_option("--display-name", f.display_name, "a name for people; default NAME");
  create->add_option("--exposure", f.exposure, "how GitHub reaches the webhook; default the platform's")
      ->check(CLI::IsMember({"CloudflareTunnel", "Ingress", "None"}));
  create->add_option("--pod-security", f.pod_security, "Pod Security level of its pipelines; default restricted")
      ->check(CLI::IsMember({"restricted", "baseline"}));
  create->add_option("-l,--label", f.labels, "KEY=VALUE label on the object (repeatable)")->allow_extra_args(false);
  create->add_option("--dry-run", f.dry_run, "client: print the object (-o yaml or json) instead of creating it")
      ->check(CLI::IsMember({"client"}));
  addWaitFlags(*create, f.wait, f.timeout_seconds);
  create->footer(examples("  kubectl aphex org create acme --admin alice@example.com --admin bob@example.com\n"
                          "  kubectl aphex org create acme --admin-group acme-admins --exposure Ingress --wait\n"
                          "  kubectl aphex org create acme --admin alice@example.com --dry-run=client -o yaml"));
  commands_[create] = Command::kOrgCreate;

  CLI::App* get = org->add_subcommand("get", "one line: phase, readiness, namespace, bindings, webhook URL");
  get->add_option("NAME", parsed_.org_name, "the organization")->required();
  get->footer(examples("  kubectl aphex org get acme\n  kubectl aphex org get acme -o yaml"));
  commands_[get] = Command::kOrgGet;

  CLI::App* describe = org->add_subcommand("describe", "admins, exposure, webhook, RepoBindings and conditions");
  describe->add_option("NAME", parsed_.org_name, "the organization")->required();
  describe->footer(examples("  kubectl aphex org describe acme"));
  commands_[describe] = Command::kOrgDescribe;
}

void CommandLine::addRepo() {
  CLI::App* repo = app_->add_subcommand("repo", "onboard GitHub repositories");
  repo->require_subcommand(1);
  OnboardFlags& f = parsed_.onboard;
  CLI::App* onboard = repo->add_subcommand(
      "onboard", "create the RepoBinding of OWNER/REPO from a Tekton Pipeline file, checked locally with the "
                 "controller's own rules first, and print what to set on GitHub");
  onboard->add_option("OWNER/REPO", f.repository, "the GitHub repository")->required();
  onboard->add_option("--org", f.org, "the Aphex Organization it belongs to")->required();
  onboard->add_option("--pipeline", f.pipeline_file, "a tekton.dev/v1 Pipeline YAML file honouring the pipeline "
                                                     "contract (docs/pipeline-contract.md)")->required();
  onboard->add_option("--branch", f.branch, "the branch whose pushes run the pipeline; default main");
  onboard->add_option("--name", f.name, "the RepoBinding's name; default REPO as a DNS label");
  onboard->add_option("--pipeline-name", f.pipeline_name, "the pipeline and its namespace; default the binding's name");
  onboard->add_option("-l,--label", f.labels, "KEY=VALUE label on the object (repeatable)")->allow_extra_args(false);
  onboard->add_option("--dry-run", f.dry_run, "client: print the object (-o yaml or json) instead of creating it")
      ->check(CLI::IsMember({"client"}));
  addWaitFlags(*onboard, f.wait, f.timeout_seconds);
  onboard->footer(examples(
      "  kubectl aphex repo onboard acme/app1 --org acme --pipeline pipeline.yaml --wait\n"
      "  kubectl aphex repo onboard acme/app1 --org acme --pipeline pipeline.yaml -n org-acme --branch release\n"
      "  kubectl aphex repo onboard acme/app1 --org acme --pipeline pipeline.yaml --dry-run=client -o yaml"));
  commands_[onboard] = Command::kRepoOnboard;
}

void CommandLine::addWebhook() {
  CLI::App* webhook = app_->add_subcommand("webhook", "an organization's webhook URL and secret; test deliveries");
  webhook->require_subcommand(1);
  CLI::App* url = webhook->add_subcommand("url", "print the organization's webhook URL");
  url->add_option("ORG", parsed_.org_name, "the organization")->required();
  url->footer(examples("  kubectl aphex webhook url acme"));
  commands_[url] = Command::kWebhookUrl;

  CLI::App* secret = webhook->add_subcommand("secret", "where the webhook secret is; its value only with --show-secret");
  secret->add_option("ORG", parsed_.webhook_secret.org, "the organization")->required();
  secret->add_flag("--show-secret", parsed_.webhook_secret.show_secret, "print the secret's value");
  secret->footer(examples("  kubectl aphex webhook secret acme\n"
                          "  kubectl aphex webhook secret acme --show-secret | gh secret set ACME_WEBHOOK_SECRET"));
  commands_[secret] = Command::kWebhookSecret;

  WebhookRotateFlags& r = parsed_.webhook_rotate;
  CLI::App* rotate = webhook->add_subcommand("rotate", "ask the controller for a new webhook secret and wait for it");
  rotate->add_option("ORG", r.org, "the organization")->required();
  rotate->add_flag("--show-secret", r.show_secret, "print the new value");
  rotate->add_option("--timeout", r.timeout_seconds, "seconds to wait for the new value")
      ->check(CLI::PositiveNumber)->capture_default_str();
  rotate->footer(examples("  kubectl aphex webhook rotate acme"));
  commands_[rotate] = Command::kWebhookRotate;

  WebhookTestFlags& t = parsed_.webhook_test;
  CLI::App* test = webhook->add_subcommand(
      "test", "send a signed GitHub push of OWNER/REPO to its organization's listener and see whether a "
              "PipelineRun starts");
  test->add_option("OWNER/REPO", t.repository, "an onboarded repository")->required();
  test->add_option("--branch", t.branch, "the pushed branch; default the RepoBinding's");
  test->add_option("--url", t.url, "send to this URL instead of the organization's webhook URL");
  test->add_option("--timeout", t.timeout_seconds, "seconds to wait for a PipelineRun")
      ->check(CLI::PositiveNumber)->capture_default_str();
  test->footer(examples("  kubectl aphex webhook test acme/app1\n"
                        "  kubectl port-forward -n org-acme svc/el-github-listener 8080 &\n"
                        "  kubectl aphex webhook test acme/app1 --url http://127.0.0.1:8080"));
  commands_[test] = Command::kWebhookTest;
}

void CommandLine::addRuns() {
  CLI::App* runs = app_->add_subcommand("runs", "recent PipelineRuns of an onboarded repository");
  runs->add_option("OWNER/REPO", parsed_.runs.repository, "an onboarded repository")->required();
  runs->add_option("--branch", parsed_.runs.branch, "the RepoBinding's branch, when several bind the repository");
  runs->add_option("--limit", parsed_.runs.limit, "how many, newest first")->check(CLI::PositiveNumber)
      ->capture_default_str();
  runs->footer(examples("  kubectl aphex runs acme/app1\n  kubectl aphex runs acme/app1 --limit 3 -o json"));
  commands_[runs] = Command::kRuns;
}

void CommandLine::addCompletion() {
  CLI::App* completion = app_->add_subcommand("completion", "print a shell completion script");
  completion->add_option("SHELL", parsed_.shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  completion->footer(examples("  source <(kubectl-aphex completion bash)\n"
                              "  kubectl-aphex completion zsh > \"${fpath[1]}/_kubectl-aphex\""));
  commands_[completion] = Command::kCompletion;
}

std::optional<int> CommandLine::parse(const std::vector<std::string>& args, Io& io) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes them last first
  try {
    app_->parse(reversed);
  } catch (const CLI::ParseError& error) {
    const int code = app_->exit(error, io.out, io.err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const auto& [command, which] : commands_) {
    if (command->parsed()) parsed_.command = which;
  }
  return std::nullopt;
}

namespace {

struct CompletionNode {
  std::string path;  // " org create"
  std::vector<std::string> words;  // subcommands and flags offered there
};

void collect(const CLI::App& app, const std::string& path, std::vector<CompletionNode>& nodes,
             const std::vector<std::string>& inherited) {
  CompletionNode node{.path = path, .words = {}};
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) node.words.push_back(sub->get_name());
  std::vector<std::string> flags = inherited;
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& name : option->get_lnames()) {
      // Every command has its own --help; the others are inherited global flags.
      if (std::find(flags.begin(), flags.end(), "--" + name) == flags.end()) flags.push_back("--" + name);
    }
  }
  node.words.insert(node.words.end(), flags.begin(), flags.end());
  nodes.push_back(node);
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    collect(*sub, path + " " + sub->get_name(), nodes, flags);
  }
}

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

}  // namespace

std::optional<std::string> completionScript(const CLI::App& app, std::string_view shell) {
  if (shell != "bash" && shell != "zsh") return std::nullopt;
  std::vector<CompletionNode> nodes;
  collect(app, "", nodes, {});
  std::string paths;
  std::string cases;
  for (const auto& node : nodes) {
    if (!node.path.empty()) paths += (paths.empty() ? "" : "|") + ("\"" + node.path + "\"");
    cases += "    \"" + node.path + "\") words=\"" + join(node.words) + "\" ;;\n";
  }
  std::string script;
  if (shell == "zsh") script += "#compdef kubectl-aphex\nautoload -U +X bashcompinit && bashcompinit\n";
  script += "# " + std::string(shell) + " completion for kubectl-aphex (kubectl-aphex completion " + std::string(shell) +
            ")\n"
            "_kubectl_aphex() {\n"
            "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" words=\"\" i\n"
            "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
            "    case \"$path ${COMP_WORDS[i]}\" in\n"
            "      " + paths + ") path=\"$path ${COMP_WORDS[i]}\" ;;\n"
            "    esac\n"
            "  done\n"
            "  case \"$path\" in\n" + cases +
            "  esac\n"
            "  mapfile -t COMPREPLY < <(compgen -W \"$words\" -- \"$cur\")\n"
            "}\n"
            "complete -F _kubectl_aphex kubectl-aphex\n";
  return script;
}

namespace {

// Whether the command runs without a cluster: a client-side dry run prints what it would send.
bool needsCluster(const ParsedCommand& command) {
  if (command.command == Command::kCompletion) return false;
  if (command.command == Command::kOrgCreate) return command.org_create.dry_run != "client";
  if (command.command == Command::kRepoOnboard) return command.onboard.dry_run != "client";
  return true;
}

int dispatch(const ParsedCommand& c, Connection& conn, Io& io) {
  switch (c.command) {
    case Command::kStatus: return runStatus(conn, io, c.status);
    case Command::kOrgCreate: return runOrgCreate(conn, io, c.org_create);
    case Command::kOrgGet: return runOrgGet(conn, io, c.org_name);
    case Command::kOrgDescribe: return runOrgDescribe(conn, io, c.org_name);
    case Command::kRepoOnboard: return runRepoOnboard(conn, io, c.onboard);
    case Command::kWebhookUrl: return runWebhookUrl(conn, io, c.org_name);
    case Command::kWebhookSecret: return runWebhookSecret(conn, io, c.webhook_secret);
    case Command::kWebhookRotate: return runWebhookRotate(conn, io, c.webhook_rotate);
    case Command::kWebhookTest: return runWebhookTest(conn, io, c.webhook_test);
    case Command::kRuns: return runRuns(conn, io, c.runs);
    case Command::kCompletion: return kExitUsage;  // handled before connecting
  }
  return kExitUsage;
}

}  // namespace

int run(const ParsedCommand& command, const CLI::App& app, Io& io) {
  if (command.command == Command::kCompletion) {
    io.out << completionScript(app, command.shell).value_or("");
    return kExitOk;
  }
  int exit_code = kExitOk;
  std::unique_ptr<Connection> conn;
  if (needsCluster(command)) {
    conn = connect(command.global, io, exit_code);
    if (!conn) return exit_code;
  } else {
    conn = std::make_unique<Connection>();
    conn->flags = command.global;
    conn->format = parseOutputFormat(command.global.output).value_or(OutputFormat::kYaml);
  }
  return dispatch(command, *conn, io);
}

}  // namespace aphex::cli
