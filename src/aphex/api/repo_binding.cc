#include "aphex/api/repo_binding.h"

#include <algorithm>
#include <set>

#include "aphex/api/group.h"
#include "aphex/api/organization.h"
#include "aphex/api/validation.h"
#include "aphex/api/yaml.h"
#include "json_reader.h"
#include "status_json.h"

namespace aphex::api {

std::string_view toString(DeletionPolicy policy) {
  return policy == DeletionPolicy::kDelete ? "Delete" : "Retain";
}

std::optional<DeletionPolicy> parseDeletionPolicy(std::string_view text) {
  if (text == "Retain") return DeletionPolicy::kRetain;
  if (text == "Delete") return DeletionPolicy::kDelete;
  return std::nullopt;
}

kube::Result<RepoBinding> RepoBinding::fromJson(const kube::Json& object) {
  detail::JsonReader reader;
  RepoBinding binding;
  const detail::Field root = reader.root(object);
  reader.expectKind(root, kRepoBindingKind);
  reader.read(reader.member(root, "metadata"), binding.metadata);

  const detail::Field spec = reader.member(root, "spec");
  RepoBindingSpec& in = binding.spec;
  reader.read(reader.member(spec, "aphexOrg"), in.aphex_org);
  reader.read(reader.member(spec, "repoOrg"), in.repo_org);
  reader.read(reader.member(spec, "repoName"), in.repo_name);
  reader.read(reader.member(spec, "pipelineName"), in.pipeline_name);
  reader.read(reader.member(spec, "templateRef"), in.template_ref);
  reader.read(reader.member(spec, "pipelineSpec"), in.pipeline_spec);
  reader.read(reader.member(spec, "branch"), in.branch);
  std::optional<DeletionPolicy> policy;
  reader.readEnum(reader.member(spec, "deletionPolicy"), policy, parseDeletionPolicy, "Retain or Delete");
  in.deletion_policy = policy.value_or(DeletionPolicy::kRetain);
  if (const detail::Field keep = reader.member(reader.member(spec, "pipelineRuns"), "keepLast"); keep.present()) {
    reader.read(keep, in.keep_last_pipeline_runs.emplace());
  }

  const detail::Field status = reader.member(root, "status");
  RepoBindingStatus& out = binding.status;
  reader.read(reader.member(status, "observedGeneration"), out.observed_generation);
  reader.read(reader.member(status, "phase"), out.phase);
  reader.read(reader.member(status, "pipelineNamespace"), out.pipeline_namespace);
  reader.read(reader.member(status, "webhookURL"), out.webhook_url);
  reader.read(reader.member(status, "webhookSecretRef"), out.webhook_secret_ref);
  reader.read(reader.member(status, "githubWebhookSettingsURL"), out.github_webhook_settings_url);
  reader.read(reader.member(status, "conditions"), out.conditions);

  if (!reader.ok()) return reader.error();
  return binding;
}

kube::Json toJson(const RepoBindingStatus& status) {
  kube::Json out = kube::Json::object();
  detail::writeCommonStatus(out, status.observed_generation, status.phase, status.conditions);
  detail::writeIfSet(out, "pipelineNamespace", status.pipeline_namespace);
  detail::writeIfSet(out, "webhookURL", status.webhook_url);
  if (status.webhook_secret_ref) out["webhookSecretRef"] = detail::toJson(*status.webhook_secret_ref);
  detail::writeIfSet(out, "githubWebhookSettingsURL", status.github_webhook_settings_url);
  return out;
}

namespace {

// What is wrong with spec.params against the contract, or nullopt when every required param is there.
std::optional<FieldError> contractParamsProblem(const kube::Json& spec) {
  std::set<std::string, std::less<>> declared;
  if (const auto params = spec.find("params"); params != spec.end()) {
    if (!params->is_array()) {
      return FieldError{.path = "pipelineSpec.spec.params", .message = "must be a list of {name, type} entries"};
    }
    for (const auto& param : *params) {
      if (param.is_object() && param.contains("name") && param["name"].is_string()) {
        declared.insert(param["name"].get<std::string>());
      }
    }
  }
  std::string missing;
  for (const std::string_view name : kRequiredPipelineParams) {
    if (declared.contains(name)) continue;
    missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  if (missing.empty()) return std::nullopt;
  return FieldError{.path = "pipelineSpec.spec.params",
                    .message = "must declare the parameters of the pipeline contract " +
                               std::string(kDefaultTemplateRef) + "; missing: " + missing};
}

// The parsed Pipeline and every problem found in it, in field order. Shared by the controller
// (which reports the first) and kubectl-aphex (which reports all before sending anything).
struct PipelineInspection {
  kube::Json pipeline;
  std::vector<FieldError> problems;
};

PipelineInspection inspectPipelineSpec(std::string_view text) {
  PipelineInspection result;
  const auto add = [&](std::string path, std::string message) {
    result.problems.push_back({.path = std::move(path), .message = std::move(message)});
  };
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    add("pipelineSpec", "is empty");
    return result;
  }
  if (text.size() > kMaxPipelineSpecLength) {
    add("pipelineSpec", "is longer than " + std::to_string(kMaxPipelineSpecLength) + " bytes");
    return result;
  }
  // JSON is YAML too, so one parser reads both.
  auto document = yamlToJson(text);
  if (!document) {
    add("pipelineSpec", "is not valid YAML or JSON: " + document.error().message);
    return result;
  }
  result.pipeline = std::move(document).value();
  const kube::Json& pipeline = result.pipeline;
  if (!pipeline.is_object()) {
    add("pipelineSpec", "must be a Pipeline object (a YAML or JSON map)");
    return result;
  }
  const auto text_of = [&](const char* key) {
    const auto found = pipeline.find(key);
    return found != pipeline.end() && found->is_string() ? found->get<std::string>() : std::string();
  };
  if (text_of("apiVersion") != "tekton.dev/v1") {
    add("pipelineSpec.apiVersion", "must be tekton.dev/v1, not " + detail::quote(text_of("apiVersion")));
  }
  if (text_of("kind") != "Pipeline") add("pipelineSpec.kind", "must be Pipeline, not " + detail::quote(text_of("kind")));
  const auto spec = pipeline.find("spec");
  if (spec == pipeline.end() || !spec->is_object()) {
    add("pipelineSpec.spec", "must be an object");
  } else if (auto params = contractParamsProblem(*spec)) {
    result.problems.push_back(std::move(*params));
  }
  return result;
}

}  // namespace

std::vector<FieldError> pipelineSpecProblems(std::string_view text) { return inspectPipelineSpec(text).problems; }

kube::Result<kube::Json> parsePipelineSpec(std::string_view text) {
  PipelineInspection inspection = inspectPipelineSpec(text);
  if (inspection.problems.empty()) return std::move(inspection.pipeline);
  const FieldError& first = inspection.problems.front();
  return kube::Error{.kind = kube::ErrorKind::kDecode, .message = first.path + " " + first.message, .status = {}};
}

std::optional<FieldError> placementProblem(const RepoBinding& binding, std::string_view platform_namespace) {
  const std::string org_namespace = organizationNamespace(binding.spec.aphex_org);
  if (binding.metadata.ns == platform_namespace || binding.metadata.ns == org_namespace) return std::nullopt;
  return FieldError{.path = "metadata.namespace",
                    .message = "a RepoBinding of organization " + detail::quote(binding.spec.aphex_org) +
                               " must be created in " + std::string(platform_namespace) + " or " +
                               detail::excerpt(org_namespace) + ", not in " + detail::quote(binding.metadata.ns)};
}

std::string repositoryFullName(const RepoBindingSpec& spec) { return spec.repo_org + "/" + spec.repo_name; }

std::string githubWebhookSettingsUrl(const RepoBindingSpec& spec) {
  return "https://github.com/" + repositoryFullName(spec) + "/settings/hooks";
}

std::vector<FieldError> validate(const RepoBinding& binding) {
  std::vector<FieldError> errors = validateExceptPipelineSpec(binding);
  if (auto pipeline = parsePipelineSpec(binding.spec.pipeline_spec); !pipeline) {
    // In field order: pipelineSpec comes before branch.
    const auto branch = std::find_if(errors.begin(), errors.end(),
                                     [](const FieldError& error) { return error.path == "spec.branch"; });
    errors.insert(branch, {.path = "spec.pipelineSpec", .message = pipeline.error().message});
  }
  return errors;
}

std::vector<FieldError> validateExceptPipelineSpec(const RepoBinding& binding) {
  std::vector<FieldError> errors;
  const auto add = [&](std::string path, std::string message) {
    errors.push_back({.path = std::move(path), .message = std::move(message)});
  };
  const RepoBindingSpec& spec = binding.spec;

  if (!isDnsLabel(spec.aphex_org, kMaxOrganizationNameLength)) {
    add("spec.aphexOrg",
        "must name an Organization: a DNS label of at most 40 characters, not " + detail::quote(spec.aphex_org));
  }
  if (!isGitHubOwner(spec.repo_org)) {
    add("spec.repoOrg", "must be a GitHub user or organization name (letters, digits and '-', at most 39 characters), "
                        "not " + detail::quote(spec.repo_org));
  }
  if (!isGitHubRepositoryName(spec.repo_name)) {
    add("spec.repoName", "must be a GitHub repository name (letters, digits, '.', '_' and '-', at most 100 characters), "
                         "not " + detail::quote(spec.repo_name));
  } else if (spec.repo_name.ends_with(".git")) {
    add("spec.repoName", "is the repository name without the .git suffix");
  }
  if (!isDnsLabel(spec.pipeline_name)) {
    add("spec.pipelineName",
        "must be a DNS label of at most 63 characters (it names a namespace), not " + detail::quote(spec.pipeline_name));
  } else if (isReservedNamespace(spec.pipeline_name)) {
    add("spec.pipelineName", "\"" + spec.pipeline_name + "\" is reserved: kube-*, org-* and the platform's namespaces "
                             "cannot be pipeline namespaces");
  }
  if (spec.template_ref != kDefaultTemplateRef) {
    add("spec.templateRef", detail::quote(spec.template_ref) +
                                " is not a pipeline contract this controller provides; use " +
                                std::string(kDefaultTemplateRef));
  }
  if (auto problem = branchNameProblem(spec.branch)) add("spec.branch", detail::quote(spec.branch) + " " + *problem);
  if (const auto keep = spec.keep_last_pipeline_runs; keep && (*keep < kMinKeepLast || *keep > kMaxKeepLast)) {
    add("spec.pipelineRuns.keepLast", "is how many finished PipelineRuns the pipeline namespace keeps: a number from " +
                                          std::to_string(kMinKeepLast) + " to " + std::to_string(kMaxKeepLast) +
                                          ", not " + std::to_string(*keep));
  }
  return errors;
}

}  // namespace aphex::api
