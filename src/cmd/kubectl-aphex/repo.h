// `kubectl aphex repo onboard`: a RepoBinding from a Tekton Pipeline file, checked locally with
// the controller's own validation before anything is sent, then (optionally) followed until
// Ready, ending with what to set on GitHub.
#pragma once

#include <string>
#include <vector>

#include "aphex/api/meta.h"
#include "aphex/api/validation.h"
#include "kube/result.h"
#include "kubectl-aphex/connection.h"

namespace aphex::cli {

struct OnboardFlags {
  std::string repository;     // OWNER/REPO
  std::string org;
  std::string pipeline_file;
  std::string branch;         // empty: the CRD's default (main)
  std::string name;           // the RepoBinding's name; empty: derived from REPO
  std::string pipeline_name;  // the pipeline (and its namespace); empty: the binding's name
  std::vector<std::string> labels;
  std::string dry_run;        // "" or "client"
  bool wait = false;
  int timeout_seconds = 120;
};

// REPO as a DNS label ("My_Service.api" → "my-service-api"), for the default binding name; empty
// when nothing usable remains.
std::string defaultBindingName(std::string_view repository_name);

// The RepoBinding the flags describe, in `ns`, with `pipeline_text` as its pipelineSpec.
kube::Result<kube::Json> repoBindingObject(const OnboardFlags& flags, const api::GitHubRepository& repository,
                                           const std::string& pipeline_text, const std::string& ns);

// Every problem the controller would find (validateExceptPipelineSpec, every problem of the
// Pipeline, the binding's namespace), in field order. Empty: the binding is valid.
std::vector<api::FieldError> repoBindingProblems(const kube::Json& binding, const std::string& platform_namespace);

// Where GitHub must send pushes, and where the secret is: the org's status, copied to the binding.
struct WebhookTarget {
  std::string url;
  std::string secret_namespace, secret_name, secret_key;
  std::string org;
};

// What to set on the repository's webhook page and the `gh api` command that does the same. The
// secret's value is never in it: the command reads it with `webhook secret --show-secret`.
std::string githubInstructions(const api::GitHubRepository& repository, const WebhookTarget& target);

int runRepoOnboard(Connection& conn, Io& io, const OnboardFlags& flags);

}  // namespace aphex::cli
