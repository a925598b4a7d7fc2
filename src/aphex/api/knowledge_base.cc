#include "aphex/api/knowledge_base.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>

#include "aphex/api/group.h"
#include "aphex/api/validation.h"
#include "json_reader.h"
#include "status_json.h"

namespace aphex::api {

namespace {

constexpr std::size_t kMaxRepositories = 32;
constexpr std::size_t kMaxPaths = 32;

std::string lowercase(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

}  // namespace

std::string reposConfigMapName(std::string_view knowledge_base_name) {
  return std::string(knowledge_base_name) + "-repos";
}

kube::Result<KnowledgeBase> KnowledgeBase::fromJson(const kube::Json& object) {
  detail::JsonReader reader;
  KnowledgeBase knowledge_base;
  const detail::Field root = reader.root(object);
  reader.expectKind(root, kKnowledgeBaseKind);
  reader.read(reader.member(root, "metadata"), knowledge_base.metadata);

  const detail::Field spec = reader.member(root, "spec");
  KnowledgeBaseSpec& in = knowledge_base.spec;
  reader.read(reader.member(spec, "displayName"), in.display_name);
  reader.read(reader.member(spec, "description"), in.description);
  for (const detail::Field& item : reader.items(reader.member(spec, "repositories"))) {
    DocumentationRepository& repository = in.repositories.emplace_back();
    if (!item.present()) reader.fail(item, "an object");
    reader.read(reader.member(item, "url"), repository.url);
    reader.read(reader.member(item, "branch"), repository.branch);
    reader.read(reader.member(item, "paths"), repository.paths);
  }

  const detail::Field status = reader.member(root, "status");
  KnowledgeBaseStatus& out = knowledge_base.status;
  reader.read(reader.member(status, "observedGeneration"), out.observed_generation);
  reader.read(reader.member(status, "phase"), out.phase);
  reader.read(reader.member(status, "lastReconcileTime"), out.last_reconcile_time);
  reader.read(reader.member(status, "message"), out.message);
  reader.read(reader.member(status, "conditions"), out.conditions);

  if (!reader.ok()) return reader.error();
  return knowledge_base;
}

kube::Json toJson(const KnowledgeBaseStatus& status) {
  kube::Json out = kube::Json::object();
  detail::writeCommonStatus(out, status.observed_generation, status.phase, status.conditions);
  if (status.last_reconcile_time) out["lastReconcileTime"] = formatTime(*status.last_reconcile_time);
  detail::writeIfSet(out, "message", status.message);
  return out;
}

std::vector<FieldError> validate(const KnowledgeBase& knowledge_base) {
  std::vector<FieldError> errors;
  const auto add = [&](std::string path, std::string message) {
    errors.push_back({.path = std::move(path), .message = std::move(message)});
  };
  const KnowledgeBaseSpec& spec = knowledge_base.spec;

  if (knowledge_base.metadata.name.size() > 247) {
    add("metadata.name", "must be at most 247 characters, so that the ConfigMap <name>-repos has a valid name");
  }
  if (spec.display_name.find_first_not_of(" \t\r\n") == std::string::npos) {
    add("spec.displayName", "is required and must not be blank");
  } else if (characterCount(spec.display_name) > 256) {
    add("spec.displayName", "must be at most 256 characters");
  }
  if (characterCount(spec.description) > 4096) add("spec.description", "must be at most 4096 characters");
  if (spec.repositories.empty()) {
    add("spec.repositories", "must list at least one repository");
  } else if (spec.repositories.size() > kMaxRepositories) {
    add("spec.repositories", "must list at most " + std::to_string(kMaxRepositories) + " repositories");
  }

  // owner/name in lowercase plus the branch: GitHub names are case-insensitive and ".git" is
  // optional, so these spellings are one source and would be ingested twice.
  std::set<std::pair<std::string, std::string>> sources;
  for (std::size_t i = 0; i < spec.repositories.size(); ++i) {
    const DocumentationRepository& repository = spec.repositories[i];
    const std::string path = "spec.repositories[" + std::to_string(i) + "]";
    const auto github = parseGitHubUrl(repository.url);
    if (!github) {
      add(path + ".url", "must be https://github.com/<owner>/<repository>, optionally ending in .git, not " +
                             detail::quote(repository.url));
    }
    const auto branch_problem = branchNameProblem(repository.branch);
    if (branch_problem) add(path + ".branch", detail::quote(repository.branch) + " " + *branch_problem);
    if (github && !branch_problem &&
        !sources.insert({lowercase(github->owner + "/" + github->name), repository.branch}).second) {
      add(path, "repeats " + github->owner + "/" + github->name + " at branch " + repository.branch +
                    " (URLs are compared case-insensitively, with or without .git)");
    }

    if (repository.paths.empty()) add(path + ".paths", "must list at least one path (default: .kiro/docs)");
    if (repository.paths.size() > kMaxPaths) {
      add(path + ".paths", "must list at most " + std::to_string(kMaxPaths) + " paths");
    }
    std::set<std::string> normalized_paths;
    for (std::size_t j = 0; j < repository.paths.size(); ++j) {
      const std::string path_path = path + ".paths[" + std::to_string(j) + "]";
      const DocsPath docs_path = normalizeDocsPath(repository.paths[j]);
      if (!docs_path.ok()) {
        add(path_path, detail::quote(repository.paths[j]) + " " + docs_path.problem);
      } else if (!normalized_paths.insert(docs_path.normalized).second) {
        add(path_path, detail::quote(repository.paths[j]) + " repeats " + detail::excerpt(docs_path.normalized));
      }
    }
  }
  return errors;
}

}  // namespace aphex::api
