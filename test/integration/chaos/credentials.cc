#include "integration/chaos/credentials.h"

#include <fstream>
#include <stdexcept>

#include "integration/support/controller.h"
#include "kube/base64.h"

namespace aphex::chaos {

std::string tokenId(const std::string& token) {
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos) throw std::runtime_error("the token is not a JWT");
  // base64url without padding, as JWTs encode, to the standard alphabet with padding.
  std::string payload = token.substr(first + 1, second - first - 1);
  for (char& c : payload) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  payload.append((4 - payload.size() % 4) % 4, '=');
  const auto decoded = kube::base64Decode(payload);
  if (!decoded) throw std::runtime_error("the token's payload is not base64url");
  const kube::Json claims = kube::Json::parse(*decoded, nullptr, false);
  if (!claims.is_object() || !claims.contains("jti")) throw std::runtime_error("the token has no jti claim");
  return claims["jti"].get<std::string>();
}

ControllerCredentials controllerCredentials(kube::Client& admin, const std::filesystem::path& kubeconfig) {
  const kube::ClientConfig identity = testing::controllerIdentity(admin);
  std::ofstream file(kubeconfig);
  file << "apiVersion: v1\n"
          "kind: Config\n"
          "clusters:\n"
          "- name: local\n"
          "  cluster:\n"
          "    server: " << identity.server << "\n"
          "    certificate-authority-data: " << kube::base64Encode(identity.ca_pem) << "\n"
          "users:\n"
          "- name: aphex-controller\n"
          "  user:\n"
          "    token: " << identity.bearer_token << "\n"
          "contexts:\n"
          "- name: aphex-controller\n"
          "  context: {cluster: local, user: aphex-controller, namespace: platform-system}\n"
          "current-context: aphex-controller\n";
  if (!file.flush()) throw std::runtime_error("cannot write " + kubeconfig.string());
  return {.kubeconfig = kubeconfig, .token_id = tokenId(identity.bearer_token)};
}

}  // namespace aphex::chaos
