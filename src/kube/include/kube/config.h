// How to reach and authenticate to an API server: kubeconfig files and in-cluster configuration.
//
// Loading resolves everything a request needs up front (server URL, CA bundle, client certificate
// and key as PEM text), so the transport never touches kubeconfig again. The exception is the
// service-account token, which rotates: the config keeps the file path and the transport re-reads
// it (see TokenSource in http.h). The other exception is an exec credential plugin, which loading
// only validates: the transport runs it when it first needs a credential (see exec_credential.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"

namespace kube {

// `users[].user.exec`: a program that prints a client.authentication.k8s.io ExecCredential.
struct ExecConfig {
  struct EnvVar {
    std::string name;
    std::string value;
  };
  // A path with a slash (made absolute against the kubeconfig's folder when relative, as kubectl
  // does), or a bare name looked up in PATH.
  std::string command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;      // added to this process's environment
  std::string api_version;      // client.authentication.k8s.io/v1 or /v1beta1
  std::string interactive_mode; // Never or IfAvailable (empty: IfAvailable); Always is refused
  std::string install_hint;     // shown when the command cannot be found or fails
  bool provide_cluster_info = false;
};

inline constexpr std::string_view kExecApiV1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view kExecApiV1beta1 = "client.authentication.k8s.io/v1beta1";

struct ClientConfig {
  std::string server;              // https://host:port, no trailing slash
  std::string ca_pem;              // empty: the system trust store
  std::string client_cert_pem;     // with client_key_pem: mutual TLS
  std::string client_key_pem;
  std::string bearer_token;        // static token
  std::string bearer_token_file;   // re-read periodically; wins over bearer_token
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;     // SNI / certificate name override
  std::string default_namespace = "default";
  std::string source;              // where this came from, for messages ("kubeconfig /x (context y)")
  // Set only when the user has no static token or client certificate: like client-go, a static
  // credential wins and the plugin is not run.
  std::optional<ExecConfig> exec;
};

struct KubeconfigOptions {
  // Files to merge, first one wins for each named entry (as $KUBECONFIG's path list).
  std::vector<std::string> paths;
  std::string context;  // empty: the current-context of the merged files
};

// Reads and merges kubeconfig files.
Result<ClientConfig> loadKubeconfig(const KubeconfigOptions& options);

// One kubeconfig document, already read. `base_dir` resolves relative file references, as
// kubectl does (relative to the file that names them). Pure apart from reading referenced files.
Result<ClientConfig> parseKubeconfig(std::string_view yaml, std::string_view base_dir,
                                     std::string_view context, std::string_view source_name);

struct InClusterOptions {
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
};

// The pod's service account: KUBERNETES_SERVICE_HOST/PORT, its CA, token file and namespace.
Result<ClientConfig> loadInClusterConfig(const InClusterOptions& options = {});

// The usual precedence: an explicit path, then $KUBECONFIG, then in-cluster, then ~/.kube/config.
Result<ClientConfig> loadDefaultConfig(std::string_view explicit_path = {},
                                       std::string_view context = {});

}  // namespace kube
