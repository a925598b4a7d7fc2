// Reading Aphex's objects the way several commands need them: a repository named OWNER/REPO, the
// RepoBindings of a repository or an organization, a conditions table, and waiting for Ready with
// progress per condition.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/validation.h"
#include "kube/client.h"
#include "kubectl-aphex/output.h"
#include "kubectl-aphex/connection.h"

namespace aphex::cli {

// metadata.<field> of an object ("name", "namespace"), or "" when absent.
std::string metadataOf(const kube::Json& object, const char* field);

// "owner/repo" (a trailing .git dropped) checked with the API's own GitHub name rules; the error
// says which part is wrong.
kube::Result<api::GitHubRepository> parseRepository(std::string_view text);

// "key=value" labels (--label, repeatable), or what is wrong with the first bad one.
kube::Result<std::map<std::string, std::string>> parseLabels(const std::vector<std::string>& assignments);

// The RepoBindings `client` may list, cluster-wide when allowed, else in `namespaces`.
kube::Result<std::vector<kube::Json>> listBindings(kube::Client& client, const std::vector<std::string>& namespaces);

// The one RepoBinding of `repository` (and `branch`, when several bind it): in -n (default the
// platform namespace), else anywhere this identity may list. Errors name the fix (--branch,
// -n, repo onboard).
kube::Result<kube::Json> findBinding(kube::Client& client, const GlobalFlags& flags,
                                     const api::GitHubRepository& repository, std::string_view branch);

// A repository's RepoBinding as `runs` and `webhook test` need it.
struct RepositoryBinding {
  api::GitHubRepository repository;
  kube::Json binding;
  std::string pipeline_namespace;  // status.pipelineNamespace, else spec.pipelineName
};

// Parses OWNER/REPO and finds its binding (findBinding); on failure says why on io.err and sets
// `exit_code`.
std::optional<RepositoryBinding> resolveBinding(Connection& conn, Io& io, const std::string& repository,
                                                std::string_view branch, int& exit_code);

// The advice when a repository has no RepoBinding: the command that onboards it.
std::string onboardFix(std::string_view repository);

// TYPE STATUS REASON AGE MESSAGE of status.conditions, Ready first.
Table conditionsTable(const kube::Json& object, std::chrono::system_clock::time_point now);

// Status of the condition `type` ("True", "False", "Unknown"), or "" when absent.
std::string conditionStatus(const kube::Json& object, std::string_view type);

// Ready=True for the object's current generation.
bool isReady(const kube::Json& object);

struct WaitOptions {
  std::chrono::seconds timeout{std::chrono::minutes(2)};
  std::chrono::milliseconds poll{std::chrono::milliseconds(500)};
  // A phase of Failed that lasts this long ends the wait: a retryable failure (a quota not yet
  // counted) often clears within a pass or two.
  std::chrono::seconds failed_for{std::chrono::seconds(10)};
};

// Polls the object until it is Ready, printing to io.err each condition as it changes. Returns
// kExitOk, kExitUnhealthy (Failed), kExitTimeout (with the failing condition printed) or the
// exit code of a read that failed.
int waitReady(kube::Client& client, const kube::ResourceType& type, const std::string& ns, const std::string& name,
              Io& io, const WaitOptions& options);

}  // namespace aphex::cli
