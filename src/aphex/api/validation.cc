#include "aphex/api/validation.h"

#include <array>
#include <vector>

namespace aphex::api {

namespace {

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlpha(char c) { return isLower(c) || (c >= 'A' && c <= 'Z'); }
bool isAlnum(char c) { return isAlpha(c) || isDigit(c); }
bool isControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// A DNS label of any case, as the domain part of an e-mail address has.
bool isDomainLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || !isAlnum(label.front()) || !isAlnum(label.back())) return false;
  for (char c : label) {
    if (!isAlnum(c) && c != '-') return false;
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// The platform's own namespaces (design.md §3, and those platform/ deploys into); pipeline
// namespaces must never be one of them. platform/crds/aphex.io_repobindings.yaml lists the same.
constexpr std::array<std::string_view, 13> kPlatformNamespaces{
    "default",          "argocd",        "platform-system", "tekton-pipelines", "tekton-pipelines-resolvers",
    "auth-system",      "cert-manager",  "external-secrets", "pipeline-catalog", "ingress-nginx",
    "gateway-system",   "external-dns",  "nvidia-device-plugin"};

}  // namespace

bool isDnsLabel(std::string_view name, std::size_t max_length) {
  if (name.empty() || name.size() > max_length) return false;
  if (!(isLower(name.front()) || isDigit(name.front())) || !(isLower(name.back()) || isDigit(name.back()))) {
    return false;
  }
  for (char c : name) {
    if (!isLower(c) && !isDigit(c) && c != '-') return false;
  }
  return true;
}

std::size_t characterCount(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) {
    // Count every byte that does not continue a multi-byte sequence (10xxxxxx).
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

bool isEmailAddress(std::string_view address) {
  static constexpr std::string_view kLocalSpecials = ".!#$%&'*+/=?^_`{|}~-";
  if (address.size() > 254) return false;
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  for (char c : address.substr(0, at)) {
    if (!isAlnum(c) && kLocalSpecials.find(c) == std::string_view::npos) return false;
  }
  const auto labels = split(address.substr(at + 1), '.');
  if (labels.size() < 2) return false;
  for (std::string_view label : labels) {
    if (!isDomainLabel(label)) return false;
  }
  return true;
}

bool isGitHubOwner(std::string_view owner) {
  if (owner.empty() || owner.size() > 39 || !isAlnum(owner.front()) || !isAlnum(owner.back())) return false;
  for (char c : owner) {
    if (!isAlnum(c) && c != '-') return false;
  }
  return true;
}

bool isGitHubRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name == "." || name == "..") return false;
  for (char c : name) {
    if (!isAlnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

std::optional<GitHubRepository> parseGitHubUrl(std::string_view url) {
  static constexpr std::string_view kPrefix = "https://github.com/";
  if (!url.starts_with(kPrefix)) return std::nullopt;
  const auto parts = split(url.substr(kPrefix.size()), '/');
  if (parts.size() != 2) return std::nullopt;
  std::string_view name = parts[1];
  if (name.ends_with(".git")) name.remove_suffix(4);
  if (!isGitHubOwner(parts[0]) || !isGitHubRepositoryName(name)) return std::nullopt;
  return GitHubRepository{.owner = std::string(parts[0]), .name = std::string(name)};
}

std::optional<std::string> branchNameProblem(std::string_view branch) {
  // The rules of git-check-ref-format(1), in its order, with --branch (no leading '-', not HEAD)
  // and one-level names allowed. Each message says what to change.
  if (branch.empty()) return "must not be empty";
  if (branch.size() > 255) return "must be at most 255 characters";
  for (char c : branch) {
    if (isControl(c) || c == ' ') return "must not contain spaces or control characters";
    if (c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[' || c == '\\') {
      return "must not contain any of ~ ^ : ? * [ \\";
    }
    if (c == '\'' || c == '"') return "must not contain quotes";
  }
  for (std::string_view part : split(branch, '/')) {
    if (part.empty()) return "must not start or end with '/' nor contain '//'";
    if (part.front() == '.') return "no '/'-separated part may start with '.'";
    if (part.ends_with(".lock")) return "no '/'-separated part may end with '.lock'";
  }
  if (branch.find("..") != std::string_view::npos) return "must not contain '..'";
  if (branch.back() == '.') return "must not end with '.'";
  if (branch.find("@{") != std::string_view::npos || branch == "@") return "must not contain '@{' nor be '@'";
  if (branch.front() == '-' || branch == "HEAD") return "must not start with '-' nor be HEAD";
  if (branch.starts_with("refs/")) return "is a short branch name such as main, without refs/heads/";
  return std::nullopt;
}

DocsPath normalizeDocsPath(std::string_view path) {
  DocsPath result;
  for (char c : path) {
    if (isControl(c) || c == '\\') {
      result.problem = "must not contain control characters or backslashes";
      return result;
    }
  }
  // Any "..", not only a ".." part, as the CRD refuses it: simpler to state, and a file name
  // with two dots in a row is not worth a rule that is harder to read.
  if (path.find("..") != std::string_view::npos) {
    result.problem = "must not contain '..': every path stays under .kiro/docs";
    return result;
  }
  std::vector<std::string_view> parts;
  for (std::string_view part : split(path, '/')) {
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  if (path.starts_with('/') || parts.size() < 2 || parts[0] != ".kiro" || parts[1] != "docs") {
    result.problem = "must be .kiro/docs or a path under it, relative to the repository root";
    return result;
  }
  for (std::string_view part : parts) {
    if (!result.normalized.empty()) result.normalized += '/';
    result.normalized += part;
  }
  return result;
}

bool isReservedOrganizationName(std::string_view name) {
  for (std::string_view reserved : kReservedOrganizationNames) {
    if (name == reserved) return true;
  }
  return false;
}

bool isReservedNamespace(std::string_view name, std::string_view platform_namespace) {
  if (name.starts_with("kube-") || name.starts_with("org-") || name == platform_namespace) return true;
  for (std::string_view reserved : kPlatformNamespaces) {
    if (name == reserved) return true;
  }
  return false;
}

}  // namespace aphex::api
