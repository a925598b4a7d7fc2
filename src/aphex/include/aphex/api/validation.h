// The checks behind validate(): each mirrors a rule of the CRDs (so the controller never trusts
// stored objects blindly) or goes beyond what the schema and CEL can express (git's ref-name
// rules in full, path normalisation, duplicates after normalisation).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace aphex::api {

// RFC 1123 label: lowercase letters, digits and '-', starting and ending alphanumeric.
bool isDnsLabel(std::string_view name, std::size_t max_length = 63);

// Characters, not bytes, as the API server counts maxLength (UTF-8 code points).
std::size_t characterCount(std::string_view text);

// An address of the form local@domain, with a dotted domain of DNS labels (case-insensitive).
bool isEmailAddress(std::string_view address);

// A GitHub user or organization name: alphanumerics and '-', not starting or ending with '-',
// at most 39 characters.
bool isGitHubOwner(std::string_view owner);

// A GitHub repository name: alphanumerics, '.', '_' and '-', at most 100 characters, not "." or "..".
bool isGitHubRepositoryName(std::string_view name);

struct GitHubRepository {
  std::string owner;
  std::string name;  // without .git

  bool operator==(const GitHubRepository&) const = default;
};

// https://github.com/<owner>/<repo> with an optional ".git"; nullopt for anything else (other
// hosts, http, trailing slashes, extra path parts, credentials, query strings).
std::optional<GitHubRepository> parseGitHubUrl(std::string_view url);

// Why `branch` is not a branch name git accepts (`git check-ref-format --branch`), or nullopt.
// Quotes are refused as well, because the branch is embedded in a CEL filter expression.
std::optional<std::string> branchNameProblem(std::string_view branch);

// A documentation path in its plain form under .kiro/docs: "./", empty parts and a trailing '/'
// are dropped (".kiro//docs/./a/" is ".kiro/docs/a"). `problem` says why a path is refused: a
// ".." part, a backslash or a control character, or not .kiro/docs or below it.
struct DocsPath {
  std::string normalized;
  std::string problem;

  bool ok() const { return problem.empty(); }
};
DocsPath normalizeDocsPath(std::string_view path);

// Names an Organization may not take: its webhook host is <name>.<public domain>, beside the
// platform's own hosts there. platform/crds/aphex.io_organizations.yaml refuses the same list.
inline constexpr std::string_view kReservedOrganizationNames[] = {"argocd", "auth", "dex", "tekton", "www"};
bool isReservedOrganizationName(std::string_view name);

// Namespaces a pipeline must never take over: Kubernetes' own (kube-*, default), the platform's
// (argocd, platform-system, tekton-pipelines, ...), the configured platform namespace when it is
// another one, and the org- prefix that organization namespaces use.
bool isReservedNamespace(std::string_view name, std::string_view platform_namespace = "platform-system");

}  // namespace aphex::api
