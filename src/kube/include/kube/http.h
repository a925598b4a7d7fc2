// HTTP(S) to one API server over libcurl: TLS from ClientConfig, HTTP/2 where the server offers
// it, connections reused across requests.
//
// Every request takes a stop token: one in flight when it is requested is abandoned within about
// a second (libcurl asks a progress callback about once a second while it waits), so a shutdown
// never waits on a slow server. An exec credential plugin already running for the request is not
// interrupted (its own timeout bounds it).
//
// Thread safety: send() may be called from any number of threads at once. Each call borrows an
// idle curl handle from a pool (creating one when none is idle) and returns it afterwards, so
// connections and TLS sessions are reused without two threads ever sharing a handle.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <stop_token>
#include <string_view>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kube/clock.h"
#include "kube/config.h"
#include "kube/result.h"

namespace kube {

struct HttpRequest {
  std::string method = "GET";
  std::string path;          // absolute path with query, e.g. /api/v1/namespaces?limit=500
  std::string body;
  std::string content_type;  // set when body is non-empty
  std::string accept = "application/json";
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
};

class ExecCredentialSource;
struct ExecCredential;

// Supplies the bearer token, re-reading a token file at most once per refresh interval so that
// rotated service-account tokens are picked up (projected tokens rotate hourly). The interval is
// measured on `clock`, which must outlive the source.
class TokenSource {
 public:
  explicit TokenSource(const ClientConfig& config,
                       std::chrono::seconds refresh_interval = std::chrono::seconds(60), Clock& clock = realClock());
  // Empty when the configuration has no token.
  std::string token();

 private:
  std::mutex mutex_;
  std::string static_token_;
  std::string file_;
  std::string cached_;  // guarded by mutex_
  MonoTime next_read_{};  // guarded by mutex_
  std::chrono::seconds refresh_interval_;
  Clock& clock_;
};

class HttpTransport {
 public:
  // `clock` (token file refreshes, exec credential expiry and timeout) must outlive the transport.
  static Result<std::unique_ptr<HttpTransport>> create(const ClientConfig& config, Clock& clock = realClock());
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // A transport-level failure (no answer) is an Error of kind kTransport; any HTTP answer,
  // including 4xx/5xx, is a response for the caller to interpret. With an exec credential plugin,
  // a 401 makes the transport run the plugin again and repeat the request once; a plugin that
  // cannot give a credential is an Error (see exec_credential.h for the kinds). A request
  // abandoned because `stop` was requested is an Error of kind kTransport whose message ends in
  // "stopped before the server answered" (or "stopped before it was sent").
  Result<HttpResponse> send(const HttpRequest& request, std::stop_token stop = {});

  // A streaming request (a watch): `on_data` receives the body as it arrives, in arbitrary
  // pieces, and returns false to stop. Ends when the server closes the stream, `stop` is
  // requested (within about a second), nothing arrives for `idle_timeout`, or on_data says stop.
  // A non-2xx answer's body is returned whole in the response instead of going to on_data.
  struct StreamOptions {
    std::chrono::seconds idle_timeout{std::chrono::seconds(300)};
  };
  Result<HttpResponse> stream(const HttpRequest& request, const std::function<bool(std::string_view)>& on_data,
                              std::stop_token stop, StreamOptions options);

  const std::string& server() const { return config_.server; }

  // Closes pooled connections that no request is using, all but the `keep` used most recently,
  // and returns how many it closed. A burst of concurrent requests leaves one idle connection
  // (TLS and HTTP/2 state, about 140 KB) per request that ran at once; a long-running process
  // calls this when it goes quiet, as Go's transport closes connections idle too long.
  std::size_t closeIdleConnections(std::size_t keep);

 private:
  // What one request authenticates with, beyond the client certificate from the configuration.
  struct Auth {
    std::string token;
    std::shared_ptr<const ExecCredential> exec;  // set when an exec plugin supplied the credential
  };
  using Attempt = std::function<Result<HttpResponse>(const Auth&)>;

  HttpTransport(ClientConfig config, Clock& clock);
  Result<Auth> currentAuth();
  // Runs `attempt` with the current credential, and once more with a new one if an exec
  // plugin's credential was refused with 401.
  Result<HttpResponse> authenticated(const Attempt& attempt);
  void applyExecCertificate(void* handle, const Auth& auth) const;
  Result<HttpResponse> sendOnce(const HttpRequest& request, const std::stop_token& stop, const Auth& auth);
  Result<HttpResponse> streamOnce(const HttpRequest& request, const std::function<bool(std::string_view)>& on_data,
                                  const std::stop_token& stop, StreamOptions options, const Auth& auth);
  void* acquireHandle();            // CURL*, configured for this server
  void releaseHandle(void* handle);
  // Sets what every request needs (URL, method, headers, body, timeout) on a pooled handle.
  void prepare(void* handle, const HttpRequest& request, const void* headers);
  Error transportError(const HttpRequest& request, int curl_code) const;
  Error stoppedError(const HttpRequest& request, std::string_view when) const;

  ClientConfig config_;
  TokenSource tokens_;
  std::unique_ptr<ExecCredentialSource> exec_;  // null unless config_.exec is set
  std::mutex pool_mutex_;
  std::vector<void*> idle_handles_;  // guarded by pool_mutex_
  struct Share;                      // TLS sessions and DNS answers shared by all handles
  std::unique_ptr<Share> share_;
};

}  // namespace kube
