// The controller's HTTP endpoints: /metrics for Prometheus, /healthz and /readyz for the kubelet.
//
// As in controller-runtime, metrics and probes listen on separate addresses (":8080" and ":8081"
// by default) so that a NetworkPolicy can expose one without the other; when both name the same
// fixed port, one listener serves all three paths.
//
// /healthz and /readyz run their named checks on every request and answer like the API server:
// 200 "ok" when every check passes; otherwise 503 with one line per check, `[+]name ok` or
// `[-]name failed: reason withheld`, and a last line `readyz check failed`. `?verbose` asks for
// the listing on success too. A failing check's reason is logged, never sent: probe endpoints are
// often reachable by more people than the logs are.
//
// Slow clients: httplib's timeouts apply to each read, so a client that sends a byte just often
// enough can hold a worker far longer than io_timeout; worker_threads bounds how many such
// clients it takes to starve a listener. The probe port is meant for the kubelet: expose it to
// nothing else (NetworkPolicy) where tenants' pods share the network.
//
// Thread safety: all methods may be called from any thread; stop() may race with requests and
// with another stop(). Checks run on the server's worker threads, possibly several at once, and
// must be thread-safe themselves.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "kube/result.h"
#include "runtime/log.h"
#include "runtime/metrics.h"

namespace kube::runtime {

struct ProbeServerOptions {
  // "host:port", ":port" (every IPv4 interface) or "[v6addr]:port"; port 0 picks a free port.
  // Empty: that listener is off.
  std::string metrics_address = ":8080";
  std::string probe_address = ":8081";
  // Per listener. Requests are few and fast, but httplib gives a connection its worker from
  // accept until it closes, so idle or slow clients hold workers too: enough of them that a few
  // stalled connections cannot keep the kubelet's /healthz waiting (it restarts us after three
  // missed probes).
  int worker_threads = 8;
  // How long a worker waits for the next bytes of a request (each read), for a stalled write,
  // and for the next request on an idle keep-alive connection. Short, because a client silent
  // for this long is not the kubelet or Prometheus, and its worker is better given to them.
  std::chrono::seconds io_timeout{2};
  // Requests served on one connection before it is closed, so none holds a worker for ever.
  int keep_alive_max_requests = 10;
};

// A check passes by returning nullopt, and fails by returning why.
using HealthCheck = std::function<std::optional<std::string>()>;

// Turns a yes/no condition (e.g. "caches synced") into a HealthCheck.
HealthCheck checkThat(std::function<bool()> condition, std::string reason = "not yet");

struct ListenAddress {
  std::string host;  // "0.0.0.0" for ":port"
  int port = 0;
};
kube::Result<ListenAddress> parseListenAddress(std::string_view address);

class ProbeServer {
 public:
  explicit ProbeServer(MetricsRegistry& registry, ProbeServerOptions options = {},
                       Logger logger = defaultLogger().named("probes"));
  ~ProbeServer();  // stops
  ProbeServer(const ProbeServer&) = delete;
  ProbeServer& operator=(const ProbeServer&) = delete;

  // Checks may be added before or after start(). /healthz starts with "ping", which always passes.
  void addHealthzCheck(std::string name, HealthCheck check);
  void addReadyzCheck(std::string name, HealthCheck check);

  // Binds both listeners (an address in use or invalid is reported here) and serves in the
  // background. Call once.
  kube::Result<void> start();
  // Closes the listeners, finishes in-flight requests and joins the server threads. Idempotent.
  void stop();

  // The bound ports after start() (useful with port 0); 0 for a listener that is off.
  int metricsPort() const;
  int probePort() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kube::runtime
