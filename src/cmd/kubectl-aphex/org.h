// `kubectl aphex org create|get|describe`: the Organization object built from flags and checked by
// the API's own validate() before it is sent, and read back as a table or a description.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "aphex/api/meta.h"
#include "kube/result.h"
#include "kubectl-aphex/output.h"
#include "kubectl-aphex/connection.h"

namespace aphex::cli {

struct OrgCreateFlags {
  std::string name;
  std::string display_name;  // empty: the name
  std::vector<std::string> admins;
  std::vector<std::string> admin_groups;
  std::string exposure;       // empty: the controller's default
  std::string pod_security;   // empty: restricted
  std::vector<std::string> labels;
  std::string dry_run;        // "" or "client"
  bool wait = false;
  int timeout_seconds = 120;
};

// The Organization the flags describe, in `ns`. Fails on a malformed --label.
kube::Result<kube::Json> organizationObject(const OrgCreateFlags& flags, const std::string& ns);

// Every problem the API's validate() finds (the same function the controller runs), plus
// fromJson's type errors such as an unknown exposure mode, each with its field path.
std::vector<api::FieldError> organizationProblems(const kube::Json& organization);

// "spec.adminUsers[1]" → "--admin": which flag sets a field, for error messages.
std::string flagOfField(const std::string& path);

// Field errors as lines "  <path> (<flag>): <message>".
std::string renderProblems(const std::vector<api::FieldError>& problems);

// One row per Organization: NAME PHASE READY NAMESPACE BINDINGS EXPOSURE WEBHOOK-URL.
std::string renderOrganizations(const std::vector<kube::Json>& organizations, const Style& style);

// A description: identity, admins, exposure, webhook URL and secret reference (never the secret),
// its RepoBindings, its conditions.
std::string describeOrganization(const kube::Json& organization, const std::vector<kube::Json>& bindings,
                                 std::chrono::system_clock::time_point now, const Style& style);

int runOrgCreate(Connection& conn, Io& io, const OrgCreateFlags& flags);
int runOrgGet(Connection& conn, Io& io, const std::string& name);
int runOrgDescribe(Connection& conn, Io& io, const std::string& name);

}  // namespace aphex::cli
