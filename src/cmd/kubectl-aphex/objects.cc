#include "kubectl-aphex/objects.h"

#include <algorithm>
#include <cctype>
#include <ostream>
#include <thread>

#include "aphex/api/group.h"
#include "aphex/api/time.h"

namespace aphex::cli {

using kube::Json;

namespace {

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A request this tool refuses before asking the server: exit code kExitUsage.
kube::Error usage(std::string message) {
  return kube::Error{.kind = kube::ErrorKind::kApi, .message = message,
                     .status = kube::ApiStatus{.code = 400, .reason = "BadRequest", .message = message, .details = nullptr}};
}

const Json& conditionsOf(const Json& object) {
  static const Json kNone = Json::array();
  if (!object.is_object()) return kNone;
  const auto status = object.find("status");
  if (status == object.end() || !status->is_object()) return kNone;
  const auto conditions = status->find("conditions");
  return conditions != status->end() && conditions->is_array() ? *conditions : kNone;
}

std::string describeCondition(const Json& condition) {
  return condition.value("type", "") + "=" + condition.value("status", "") + " " + condition.value("reason", "") +
         ": " + condition.value("message", "");
}

// The condition that explains why the object is not Ready: the first other one not True, else Ready.
const Json* failingCondition(const Json& object) {
  const Json* ready = nullptr;
  for (const auto& condition : conditionsOf(object)) {
    if (condition.value("type", "") == "Ready") {
      ready = &condition;
    } else if (condition.value("status", "") != "True") {
      return &condition;
    }
  }
  return ready;
}

}  // namespace

std::string metadataOf(const Json& object, const char* field) {
  if (!object.is_object()) return "";
  return object.value("metadata", Json::object()).value(field, "");
}

kube::Result<api::GitHubRepository> parseRepository(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos) {
    return usage("\"" + std::string(text) + "\" is not OWNER/REPO (e.g. my-org/my-service)");
  }
  api::GitHubRepository repository{.owner = std::string(text.substr(0, slash)),
                                   .name = std::string(text.substr(slash + 1))};
  if (repository.name.ends_with(".git")) repository.name.resize(repository.name.size() - 4);
  if (!api::isGitHubOwner(repository.owner)) {
    return usage("OWNER \"" + repository.owner + "\" is not a GitHub user or organization name (letters, digits and "
                 "'-', at most 39 characters)");
  }
  if (!api::isGitHubRepositoryName(repository.name)) {
    return usage("REPO \"" + repository.name + "\" is not a GitHub repository name (letters, digits, '.', '_' and "
                 "'-', at most 100 characters)");
  }
  return repository;
}

kube::Result<std::map<std::string, std::string>> parseLabels(const std::vector<std::string>& assignments) {
  std::map<std::string, std::string> labels;
  for (const auto& assignment : assignments) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      return usage("--label \"" + assignment + "\" is not KEY=VALUE (e.g. --label team=payments)");
    }
    labels[assignment.substr(0, equals)] = assignment.substr(equals + 1);
  }
  return labels;
}

kube::Result<std::vector<Json>> listBindings(kube::Client& client, const std::vector<std::string>& namespaces) {
  auto all = client.list(api::kRepoBindings, "");
  if (all) return all->value("items", std::vector<Json>{});
  if (!all.error().isForbidden()) return std::move(all).error();
  std::vector<Json> items;
  std::optional<kube::Error> last_error;
  for (const auto& ns : namespaces) {
    auto some = client.list(api::kRepoBindings, ns);
    if (!some) {
      last_error = std::move(some).error();
      continue;
    }
    for (auto& item : (*some)["items"]) items.push_back(std::move(item));
  }
  if (items.empty() && last_error) return std::move(*last_error);
  return items;
}

kube::Result<Json> findBinding(kube::Client& client, const GlobalFlags& flags,
                               const api::GitHubRepository& repository, std::string_view branch) {
  std::vector<std::string> namespaces = {bindingNamespace(flags)};
  if (namespaces.front() != flags.platform_namespace) namespaces.push_back(flags.platform_namespace);
  auto bindings = listBindings(client, namespaces);
  if (!bindings) return std::move(bindings).error();
  std::vector<Json> matches;
  for (auto& binding : *bindings) {
    const Json spec = binding.value("spec", Json::object());
    if (lowercase(spec.value("repoOrg", "")) != lowercase(repository.owner) ||
        lowercase(spec.value("repoName", "")) != lowercase(repository.name)) {
      continue;
    }
    matches.push_back(std::move(binding));
  }
  // The branch picks among several bindings of one repository; alone, a binding is the one.
  if (matches.size() > 1 && !branch.empty()) {
    std::erase_if(matches, [&](const Json& b) {
      return b.value("spec", Json::object()).value("branch", "main") != branch;
    });
  }
  const std::string full_name = repository.owner + "/" + repository.name;
  if (matches.empty()) {
    return kube::Error{.kind = kube::ErrorKind::kApi,
                       .message = "no RepoBinding of " + full_name +
                                  (branch.empty() ? "" : " branch " + std::string(branch)) + " found",
                       .status = kube::ApiStatus{.code = 404, .reason = "NotFound", .message = {}, .details = nullptr}};
  }
  if (matches.size() > 1) {
    std::string names;
    for (const auto& match : matches) {
      names += "\n  " + metadataOf(match, "namespace") + "/" + metadataOf(match, "name") + " (branch " +
               match.value("spec", Json::object()).value("branch", "main") + ")";
    }
    return usage(std::to_string(matches.size()) + " RepoBindings bind " + full_name + "; pick one with --branch:" + names);
  }
  return std::move(matches.front());
}

std::optional<RepositoryBinding> resolveBinding(Connection& conn, Io& io, const std::string& repository,
                                                std::string_view branch, int& exit_code) {
  auto parsed = parseRepository(repository);
  if (!parsed) {
    exit_code = fail(io, kExitUsage, parsed.error().message);
    return std::nullopt;
  }
  auto binding = findBinding(*conn.client, conn.flags, *parsed, branch);
  if (!binding) {
    exit_code = reportError(io, "repository " + repository, binding.error(), onboardFix(repository));
    return std::nullopt;
  }
  const Json spec = binding->value("spec", Json::object());
  std::string ns = binding->value("status", Json::object()).value("pipelineNamespace", spec.value("pipelineName", ""));
  return RepositoryBinding{.repository = std::move(*parsed), .binding = std::move(*binding), .pipeline_namespace = std::move(ns)};
}

std::string onboardFix(std::string_view repository) {
  return "onboard it with: " + std::string(kCommandName) + " repo onboard " + std::string(repository) +
         " --org ORG --pipeline FILE; or look in another namespace with -n";
}

std::string conditionStatus(const Json& object, std::string_view type) {
  for (const auto& condition : conditionsOf(object)) {
    if (condition.value("type", "") == type) return condition.value("status", "");
  }
  return "";
}

bool isReady(const Json& object) {
  if (!object.is_object()) return false;
  const Json status = object.value("status", Json::object());
  const Json metadata = object.value("metadata", Json::object());
  return conditionStatus(object, "Ready") == "True" &&
         status.value("observedGeneration", 0LL) == metadata.value("generation", -1LL);
}

Table conditionsTable(const Json& object, std::chrono::system_clock::time_point now) {
  Table table({"TYPE", "STATUS", "REASON", "AGE", "MESSAGE"});
  std::vector<const Json*> ordered;
  for (const auto& condition : conditionsOf(object)) ordered.push_back(&condition);
  std::stable_partition(ordered.begin(), ordered.end(),
                        [](const Json* c) { return c->value("type", "") == "Ready"; });
  for (const Json* condition : ordered) {
    const std::string status = condition->value("status", "");
    std::string age;
    if (auto since = api::parseTime(condition->value("lastTransitionTime", ""))) {
      age = shortDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *since));
    }
    table.add({condition->value("type", ""), Cell(status, status == "True" ? Tone::kGood : Tone::kBad),
               condition->value("reason", ""), age, oneLine(condition->value("message", ""), 160)});
  }
  return table;
}

namespace {

// Prints each condition whose status or reason changed since `seen` (type → "status reason").
void printChangedConditions(const Json& object, std::map<std::string, std::string>& seen, Io& io) {
  for (const auto& condition : conditionsOf(object)) {
    const std::string state = condition.value("status", "") + " " + condition.value("reason", "");
    std::string& last = seen[condition.value("type", "")];
    if (last == state) continue;
    last = state;
    const bool good = condition.value("status", "") == "True";
    io.err << "  " << io.style.paint(good ? "✓" : "…", good ? Tone::kGood : Tone::kWarn) << " "
           << oneLine(describeCondition(condition), 200) << "\n";
  }
}

// Why the object is not Ready: its failing condition, or the absence of any.
std::string whyNotReady(const Json& object) {
  const Json* failing = failingCondition(object);
  return failing != nullptr ? describeCondition(*failing) : "no condition reported yet: is aphex-controller running?";
}

}  // namespace

int waitReady(kube::Client& client, const kube::ResourceType& type, const std::string& ns, const std::string& name,
              Io& io, const WaitOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::string> seen;
  // When the phase turned Failed; meaningful only while `in_failed_phase`.
  bool in_failed_phase = false;
  auto failed_since = start;
  for (;;) {
    auto object = client.get(type, ns, name);
    if (!object) return reportError(io, type.plural + " " + ns + "/" + name, object.error());
    printChangedConditions(*object, seen, io);
    if (isReady(*object)) return kExitOk;
    const auto now = std::chrono::steady_clock::now();
    const bool failed = object->value("status", Json::object()).value("phase", "") == "Failed";
    if (failed && !in_failed_phase) failed_since = now;
    in_failed_phase = failed;
    if (in_failed_phase && now - failed_since >= options.failed_for) {
      return fail(io, kExitUnhealthy, name + " failed: " + whyNotReady(*object));
    }
    if (now - start >= options.timeout) {
      return fail(io, kExitTimeout, name + " is not Ready after " + std::to_string(options.timeout.count()) +
                                        "s: " + whyNotReady(*object));
    }
    std::this_thread::sleep_for(options.poll);
  }
}

}  // namespace aphex::cli
