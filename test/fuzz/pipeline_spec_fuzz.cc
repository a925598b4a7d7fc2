// libFuzzer target: api::parsePipelineSpec, api::pipelineSpecProblems and the RepoBinding validators, on a binding whose
// pipelineSpec is the input, and on one whose other fields are pieces of it (split at NUL bytes),
// since a tenant writes all of them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/repo_binding.h"
#include "fuzz_checks.h"

namespace {

using aphex::api::RepoBinding;

void check(const RepoBinding& binding) {
  for (const auto& error : aphex::api::validate(binding)) aphex::fuzz::checkMessage(error.message);
  if (const auto problem = aphex::api::placementProblem(binding, "platform-system")) {
    aphex::fuzz::checkMessage(problem->message);
  }
  (void)aphex::api::githubWebhookSettingsUrl(binding.spec);
}

RepoBinding validBinding() {
  RepoBinding binding;
  binding.metadata.name = "app1";
  binding.metadata.ns = "platform-system";
  binding.spec.aphex_org = "acme";
  binding.spec.repo_org = "acme";
  binding.spec.repo_name = "app1";
  binding.spec.pipeline_name = "app1-ci";
  return binding;
}

// The API server stores only valid UTF-8 (JSON) text, so only such fields are worth trying.
bool isUtf8(const std::string& text) {
  try {
    (void)kube::Json(text).dump();
    return true;
  } catch (const kube::Json::exception&) {
    return false;
  }
}

std::vector<std::string> splitAtNul(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '\0') {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Every problem is listed (kubectl-aphex shows them all); the controller's parse fails exactly
  // when there is one, with the first as its message.
  const auto problems = aphex::api::pipelineSpecProblems(text);
  for (const auto& problem : problems) aphex::fuzz::checkMessage(problem.path + " " + problem.message);
  if (auto pipeline = aphex::api::parsePipelineSpec(text)) {
    if (!problems.empty()) std::abort();
    (void)pipeline->dump();
  } else {
    if (problems.empty() || pipeline.error().message != problems.front().path + " " + problems.front().message) {
      std::abort();
    }
    aphex::fuzz::checkMessage(pipeline.error().message);
  }

  RepoBinding binding = validBinding();
  binding.spec.pipeline_spec = std::string(text);
  check(binding);

  // The other fields, in CRD order, from the input's NUL-separated parts.
  const std::vector<std::string> parts = splitAtNul(text);
  if (parts.size() > 1) {
    RepoBinding fields = validBinding();
    std::string* const targets[] = {&fields.spec.aphex_org,    &fields.spec.repo_org, &fields.spec.repo_name,
                                    &fields.spec.pipeline_name, &fields.spec.template_ref, &fields.spec.branch,
                                    &fields.metadata.ns};
    bool utf8 = true;
    for (std::size_t i = 0; i < parts.size() && i < std::size(targets); ++i) {
      utf8 = utf8 && isUtf8(parts[i]);
      *targets[i] = parts[i];
    }
    if (utf8) check(fields);
  }
  return 0;
}
