// Exec credential plugins (client-go's "client-go credential plugins"): a program named in
// kubeconfig's `users[].user.exec` prints a client.authentication.k8s.io ExecCredential holding a
// bearer token or a client certificate and key, and how long they are good for.
//
// The plugin runs without a shell and without a terminal (stdin is /dev/null, and
// KUBERNETES_EXEC_INFO says `interactive: false`), in its own process group so that a timeout
// kills whatever it started too. Its stdout holds secrets: it is parsed, never quoted in an error.
// Its stderr's tail is quoted, since that is where plugins explain what went wrong.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "kube/clock.h"
#include "kube/config.h"
#include "kube/result.h"

namespace kube {

// What a plugin returned. At least a token, or a certificate with its key (PEM), or both.
struct ExecCredential {
  std::string token;
  std::string client_cert_pem;
  std::string client_key_pem;
  std::optional<std::chrono::system_clock::time_point> expiry;  // none: good until a 401 says not
};

struct ExecOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // A credential is renewed this long before its stated expiry, so that a request does not set
  // off with a token that expires on the way.
  std::chrono::seconds expiry_margin{std::chrono::seconds(10)};
  std::size_t max_output = std::size_t{1} << 20;  // stdout beyond this is an error
  // Measures the timeout and judges expiry; must outlive whatever uses these options.
  Clock* clock = &realClock();
};

// Runs the plugin in `config.exec` once. `config` also supplies the cluster for
// `provideClusterInfo` and the source named in messages. Errors: kInvalidConfig when the command
// cannot be found or executed (with the installHint); kTransport when it exits non-zero, is killed
// or times out (often temporary, like an unreachable identity provider, so callers retry as they
// would a connection failure); kDecode when its output is not a usable ExecCredential.
Result<ExecCredential> runExecPlugin(const ClientConfig& config, const ExecOptions& options = {});

// Reads a plugin's stdout. `api_version` is the version the plugin was asked for; a plugin
// answering in another one is refused, as client-go does.
Result<ExecCredential> parseExecCredential(std::string_view json, std::string_view api_version);

// RFC 3339 as Kubernetes writes times ("2024-05-01T10:00:00Z", fractions and offsets allowed).
std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text);

// Runs the plugin when a credential is first needed and keeps the result until it is about to
// expire or the API server rejects it. Thread-safe: one thread runs the plugin while others
// needing a credential wait for its answer rather than starting plugins of their own.
class ExecCredentialSource {
 public:
  explicit ExecCredentialSource(ClientConfig config, ExecOptions options = {});

  Result<std::shared_ptr<const ExecCredential>> get();

  // The API server answered 401 to `rejected`: the next get() runs the plugin again. A no-op when
  // another thread has replaced that credential already, so that one 401 costs one plugin run.
  void invalidate(const std::shared_ptr<const ExecCredential>& rejected);

 private:
  bool fresh() const;  // mutex_ held

  const ClientConfig config_;
  const ExecOptions options_;
  std::mutex mutex_;
  std::shared_ptr<const ExecCredential> cached_;  // guarded by mutex_
};

}  // namespace kube
