// How to reach and authenticate to an API server: kubeconfig files and in-cluster configuration.
//
// Loading resolves everything a request needs up front (server URL, CA bundle, client certificate
// and key as PEM text), so the transport never touches kubeconfig again. The exception is the
// service-account token, which rotates: the config keeps the file path and the transport re-reads
// it (see TokenSource in http.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"

namespace kube {

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
