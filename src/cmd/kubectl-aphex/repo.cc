#include "kubectl-aphex/repo.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <ostream>
#include <sstream>

#include "aphex/api/group.h"
#include "aphex/api/organization.h"
#include "aphex/api/repo_binding.h"
#include "kubectl-aphex/objects.h"
#include "kubectl-aphex/org.h"

namespace aphex::cli {

using kube::Json;

std::string defaultBindingName(std::string_view repository_name) {
  std::string name;
  for (const char c : repository_name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      name += static_cast<char>(std::tolower(u));
    } else if (!name.empty() && name.back() != '-') {
      name += '-';
    }
  }
  while (!name.empty() && name.back() == '-') name.pop_back();
  if (name.size() > 63) name.resize(63);
  while (!name.empty() && name.back() == '-') name.pop_back();
  return name;
}

kube::Result<Json> repoBindingObject(const OnboardFlags& flags, const api::GitHubRepository& repository,
                                     const std::string& pipeline_text, const std::string& ns) {
  auto labels = parseLabels(flags.labels);
  if (!labels) return std::move(labels).error();
  const std::string name = flags.name.empty() ? defaultBindingName(repository.name) : flags.name;
  Json spec = {{"aphexOrg", flags.org},
               {"repoOrg", repository.owner},
               {"repoName", repository.name},
               {"pipelineName", flags.pipeline_name.empty() ? name : flags.pipeline_name},
               {"pipelineSpec", pipeline_text}};
  if (!flags.branch.empty()) spec["branch"] = flags.branch;
  Json metadata = {{"name", name}, {"namespace", ns}};
  if (!labels->empty()) metadata["labels"] = *labels;
  return Json{{"apiVersion", api::kApiVersion}, {"kind", api::kRepoBindingKind}, {"metadata", metadata},
              {"spec", spec}};
}

std::vector<api::FieldError> repoBindingProblems(const Json& binding, const std::string& platform_namespace) {
  auto parsed = api::RepoBinding::fromJson(binding);
  if (!parsed) return {{.path = "spec", .message = parsed.error().message}};
  std::vector<api::FieldError> problems;
  if (!api::isDnsLabel(parsed->metadata.name)) {
    problems.push_back({.path = "metadata.name",
                        .message = "\"" + parsed->metadata.name + "\" is not a DNS label; choose one with --name"});
  }
  std::vector<api::FieldError> spec_problems = api::validateExceptPipelineSpec(*parsed);
  // In field order, as validate() reports them: pipelineSpec comes before branch.
  auto at = std::find_if(spec_problems.begin(), spec_problems.end(),
                         [](const api::FieldError& e) { return e.path == "spec.branch"; });
  for (auto& problem : api::pipelineSpecProblems(parsed->spec.pipeline_spec)) {
    problem.path = "spec." + problem.path;
    at = std::next(spec_problems.insert(at, std::move(problem)));
  }
  problems.insert(problems.end(), spec_problems.begin(), spec_problems.end());
  if (auto placement = api::placementProblem(*parsed, platform_namespace)) problems.push_back(std::move(*placement));
  return problems;
}

std::string githubInstructions(const api::GitHubRepository& repository, const WebhookTarget& target) {
  const std::string full_name = repository.owner + "/" + repository.name;
  const std::string read_secret = std::string(kCommandName) + " webhook secret " + target.org + " --show-secret";
  std::ostringstream out;
  out << "Add a webhook to " << full_name << " (https://github.com/" << full_name << "/settings/hooks/new):\n"
      << "  Payload URL:   " << (target.url.empty() ? "(not known yet: see " + std::string(kCommandName) +
                                                          " webhook url " + target.org + ")"
                                                    : target.url) << "\n"
      << "  Content type:  application/json\n"
      << "  Secret:        the value of Secret " << target.secret_namespace << "/" << target.secret_name << ", key "
      << target.secret_key << "; print it with: " << read_secret << "\n"
      << "  SSL:           enable verification\n"
      << "  Events:        Just the push event\n";
  if (target.url.find(".svc.cluster.local") != std::string::npos) {
    out << "  Note:          this URL is in-cluster (exposure None): GitHub cannot reach it. Choose exposure\n"
        << "                 Ingress or CloudflareTunnel for the organization, or test with: "
        << kCommandName << " webhook test " << full_name << " --url URL\n";
  }
  out << "\nOr with the GitHub CLI:\n"
      << "  gh api repos/" << full_name << "/hooks --method POST \\\n"
      << "    -f name=web -F active=true -f 'events[]=push' \\\n"
      << "    -f config[url]='" << target.url << "' -f config[content_type]=json -f config[insecure_ssl]=0 \\\n"
      << "    -f config[secret]=\"$(" << read_secret << ")\"\n";
  return out.str();
}

namespace {

kube::Result<std::string> readPipelineFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return kube::configError("--pipeline: cannot read \"" + path + "\"; give the path of a Tekton Pipeline YAML file");
  }
  std::string text;
  // One byte past the API's bound is enough to know it is too long, without reading a huge file.
  text.resize(api::kMaxPipelineSpecLength + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  return text;
}

WebhookTarget targetFrom(const Json& status, const std::string& org) {
  const Json ref = status.value("webhookSecretRef", Json::object());
  return WebhookTarget{.url = status.value("webhookURL", ""),
                       .secret_namespace = ref.value("namespace", api::organizationNamespace(org)),
                       .secret_name = ref.value("name", "github-webhook-secret"),
                       .secret_key = ref.value("key", "secret"),
                       .org = org};
}

}  // namespace

int runRepoOnboard(Connection& conn, Io& io, const OnboardFlags& flags) {
  auto repository = parseRepository(flags.repository);
  if (!repository) return fail(io, kExitUsage, repository.error().message);
  auto text = readPipelineFile(flags.pipeline_file);
  if (!text) return fail(io, kExitInvalid, text.error().message);
  const std::string ns = bindingNamespace(conn.flags);
  auto binding = repoBindingObject(flags, *repository, *text, ns);
  if (!binding) return fail(io, kExitUsage, binding.error().message);
  const std::string name = (*binding)["metadata"]["name"];
  if (const auto problems = repoBindingProblems(*binding, conn.flags.platform_namespace); !problems.empty()) {
    io.err << "error: RepoBinding " << ns << "/" << name << " is not valid; nothing was sent:\n"
           << renderProblems(problems);
    return kExitInvalid;
  }
  if (flags.dry_run == "client") {
    io.out << formatDocument(*binding, conn.format == OutputFormat::kJson ? OutputFormat::kJson : OutputFormat::kYaml);
    return kExitOk;
  }
  kube::Client& client = *conn.client;
  auto org = client.get(api::kOrganizations, conn.flags.platform_namespace, flags.org);
  if (!org && !org.error().isForbidden()) {
    return reportError(io, "organization " + conn.flags.platform_namespace + "/" + flags.org, org.error(),
                       "create it first (" + std::string(kCommandName) + " org create " + flags.org +
                           " --admin EMAIL), or check --org and --platform-namespace");
  }
  auto created = client.create(api::kRepoBindings, ns, *binding);
  if (!created) return reportError(io, "repobinding " + ns + "/" + name, created.error());
  io.err << "repobinding " << ns << "/" << name << " created\n";
  Json status = org ? org->value("status", Json::object()) : Json::object();
  if (flags.wait) {
    const int waited = waitReady(client, api::kRepoBindings, ns, name, io,
                                 {.timeout = std::chrono::seconds(flags.timeout_seconds)});
    if (waited != kExitOk) return waited;
    auto ready = client.get(api::kRepoBindings, ns, name);
    if (ready) {
      const Json bstatus = ready->value("status", Json::object());
      io.err << "repobinding " << name << " is Ready: pipeline namespace " << bstatus.value("pipelineNamespace", "")
             << "\n";
      if (bstatus.contains("webhookURL")) status = bstatus;
    }
  }
  if (conn.format != OutputFormat::kHuman) {
    auto current = client.get(api::kRepoBindings, ns, name);
    io.out << formatDocument(forDisplay(current ? *current : *created), conn.format);
    return kExitOk;
  }
  io.out << "\n" << githubInstructions(*repository, targetFrom(status, flags.org));
  return kExitOk;
}

}  // namespace aphex::cli
