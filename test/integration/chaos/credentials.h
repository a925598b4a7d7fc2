// The controller's own identity for a process the test starts: a kubeconfig holding a token of
// ServiceAccount platform-system/aphex-controller (bound by the shipped RBAC, in a cluster that
// enforces the shipped admission policies), as bootstrap.sh gives the local deployment.
#pragma once

#include <filesystem>
#include <string>

#include "kube/client.h"

namespace aphex::chaos {

struct ControllerCredentials {
  std::filesystem::path kubeconfig;
  // The token's ID (its `jti` claim): the API server's audit log names it in every event the
  // token authenticated (user.extra["authentication.kubernetes.io/credential-id"] = "JTI=<id>"),
  // which is how writes are attributed to one controller process when every process is the same
  // ServiceAccount running the same binary.
  std::string token_id;
};

// Installs the ServiceAccount, its RBAC and the admission policies (idempotent) and returns
// credentials with a fresh token of their own, written to `kubeconfig`.
ControllerCredentials controllerCredentials(kube::Client& admin, const std::filesystem::path& kubeconfig);

// The `jti` claim of a ServiceAccount token (a JWT).
std::string tokenId(const std::string& token);

}  // namespace aphex::chaos
