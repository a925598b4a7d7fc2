#include "runtime/probe_server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

namespace kube::runtime {
namespace {

constexpr std::string_view kProbeContentType = "text/plain; charset=utf-8";

struct NamedCheck {
  std::string name;
  HealthCheck check;
};

// What one /healthz or /readyz request answers.
struct CheckReport {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> failures;  // name, reason: for the log only
};

std::optional<std::string> runCheck(const HealthCheck& check) {
  try {
    return check();
  } catch (const std::exception& e) {
    return std::string("threw: ") + e.what();
  } catch (...) {
    return std::string("threw a non-standard exception");
  }
}

// The API server's format: "ok" alone when all is well and nobody asked for details, else one
// line per check. Reasons stay out of the body; the caller logs them.
CheckReport runChecks(std::string_view endpoint, const std::vector<NamedCheck>& checks, bool verbose) {
  CheckReport report;
  std::string listing;
  for (const auto& [name, check] : checks) {
    if (auto failure = runCheck(check)) {
      listing += "[-]" + name + " failed: reason withheld\n";
      report.failures.emplace_back(name, std::move(*failure));
    } else {
      listing += "[+]" + name + " ok\n";
    }
  }
  if (report.failures.empty() && !verbose) {
    report.body = "ok";
    return report;
  }
  report.status = report.failures.empty() ? 200 : 503;
  report.body = listing + std::string(endpoint) + (report.failures.empty() ? " check passed\n" : " check failed\n");
  return report;
}

Error listenError(std::string_view what, std::string_view address, std::string_view problem) {
  return Error{.kind = ErrorKind::kTransport,
               .message = std::string(what) + " address \"" + std::string(address) + "\": " + std::string(problem),
               .status = {}};
}

// One bound socket and the thread that accepts on it.
struct Listener {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> finished{false};
};

}  // namespace

HealthCheck checkThat(std::function<bool()> condition, std::string reason) {
  return [condition = std::move(condition), reason = std::move(reason)]() -> std::optional<std::string> {
    if (condition()) return std::nullopt;
    return reason;
  };
}

kube::Result<ListenAddress> parseListenAddress(std::string_view address) {
  const auto invalid = [address](std::string_view why) {
    return configError("listen address \"" + std::string(address) + "\": " + std::string(why) +
                       " (want host:port, :port or [v6addr]:port)");
  };
  ListenAddress parsed;
  std::string_view port_text;
  if (address.starts_with('[')) {
    const auto close = address.find(']');
    if (close == std::string_view::npos || address.substr(close + 1, 1) != ":") {
      return invalid("unclosed or portless [");
    }
    parsed.host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return invalid("no port");
    parsed.host = std::string(address.substr(0, colon));
    if (parsed.host.find(':') != std::string::npos) return invalid("an IPv6 host needs brackets");
    port_text = address.substr(colon + 1);
  }
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), parsed.port);
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || parsed.port < 0 ||
      parsed.port > 65535) {
    return invalid("the port must be a number from 0 to 65535");
  }
  if (parsed.host.empty()) parsed.host = "0.0.0.0";
  return parsed;
}

class ProbeServer::Impl {
 public:
  Impl(MetricsRegistry& registry, ProbeServerOptions options, Logger logger)
      : registry_(registry), options_(std::move(options)), logger_(std::move(logger)) {
    healthz_.push_back({"ping", [] { return std::optional<std::string>(); }});
  }

  void addCheck(bool ready, std::string name, HealthCheck check) {
    std::lock_guard guard(checks_mutex_);
    (ready ? readyz_ : healthz_).push_back({std::move(name), std::move(check)});
  }

  kube::Result<void> start();
  void stop();

  int metricsPort() const {
    std::lock_guard guard(lifecycle_mutex_);
    return metrics_ ? metrics_->port : 0;
  }
  int probePort() const {
    std::lock_guard guard(lifecycle_mutex_);
    if (probes_) return probes_->port;
    return shared_ && metrics_ ? metrics_->port : 0;
  }

 private:
  kube::Result<std::unique_ptr<Listener>> listen(std::string_view what, const std::string& address, bool metrics,
                                                 bool probes);
  void route(httplib::Server& server, bool metrics, bool probes);
  void answerChecks(std::string_view endpoint, bool ready, const httplib::Request& request,
                    httplib::Response& response);
  void stopLocked();

  MetricsRegistry& registry_;
  const ProbeServerOptions options_;
  const Logger logger_;

  std::mutex checks_mutex_;
  std::vector<NamedCheck> healthz_;  // guarded by checks_mutex_
  std::vector<NamedCheck> readyz_;   // guarded by checks_mutex_

  mutable std::mutex lifecycle_mutex_;
  bool started_ = false;               // guarded by lifecycle_mutex_
  bool shared_ = false;                // one listener serves metrics and probes
  std::unique_ptr<Listener> metrics_;  // guarded by lifecycle_mutex_
  std::unique_ptr<Listener> probes_;   // guarded by lifecycle_mutex_
};

kube::Result<void> ProbeServer::Impl::start() {
  std::lock_guard guard(lifecycle_mutex_);
  if (started_) return configError("probe server: start() called twice");
  started_ = true;
  // Two ":0" addresses ask for two free ports, not one shared listener.
  shared_ = !options_.metrics_address.empty() && options_.metrics_address == options_.probe_address &&
            !options_.metrics_address.ends_with(":0");
  if (!options_.metrics_address.empty()) {
    auto listener = listen("metrics", options_.metrics_address, true, shared_);
    if (!listener) return std::move(listener).error();
    metrics_ = std::move(listener).value();
  }
  if (!options_.probe_address.empty() && !shared_) {
    auto listener = listen("health probe", options_.probe_address, false, true);
    if (!listener) {
      stopLocked();  // the metrics listener may already be serving
      return std::move(listener).error();
    }
    probes_ = std::move(listener).value();
  }
  return {};
}

kube::Result<std::unique_ptr<Listener>> ProbeServer::Impl::listen(std::string_view what, const std::string& address,
                                                                  bool metrics, bool probes) {
  auto parsed = parseListenAddress(address);
  if (!parsed) return std::move(parsed).error();
  auto listener = std::make_unique<Listener>();
  auto& server = listener->server;
  const auto threads = static_cast<std::size_t>(std::max(1, options_.worker_threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's defaults (5 s per read, 5 s keep-alive idle, 5 requests) let two silent clients
  // hold both of the old two workers for 10 s; see ProbeServerOptions.
  const auto timeout = static_cast<time_t>(std::max<std::chrono::seconds::rep>(1, options_.io_timeout.count()));
  server.set_read_timeout(timeout, 0);
  server.set_write_timeout(timeout, 0);
  server.set_keep_alive_timeout(timeout);
  server.set_keep_alive_max_count(static_cast<std::size_t>(std::max(1, options_.keep_alive_max_requests)));
  // httplib's default also sets SO_REUSEPORT, which would let a second process share our port
  // silently; SO_REUSEADDR alone allows quick restarts and still refuses a port in use.
  server.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  route(server, metrics, probes);
  listener->port = parsed->port == 0 ? server.bind_to_any_port(parsed->host)
                                     : (server.bind_to_port(parsed->host, parsed->port) ? parsed->port : -1);
  if (listener->port < 0) {
    return listenError(what, address, "cannot listen (port in use, or not an address of this host)");
  }

  Listener& running = *listener;
  running.thread = std::thread([&running] {
    running.server.listen_after_bind();
    running.finished = true;
  });
  // httplib's stop() does nothing until the accept loop has started, so wait for it here: then a
  // stop() that follows start() at once cannot be lost.
  while (!running.server.is_running() && !running.finished) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  logger_.info("listening", {{"endpoint", what}, {"address", parsed->host + ":" + std::to_string(running.port)}});
  return listener;
}

void ProbeServer::Impl::route(httplib::Server& server, bool metrics, bool probes) {
  if (metrics) {
    server.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
      response.set_content(registry_.text(), std::string(kMetricsContentType));
    });
  }
  if (probes) {
    server.Get("/healthz", [this](const httplib::Request& request, httplib::Response& response) {
      answerChecks("healthz", false, request, response);
    });
    server.Get("/readyz", [this](const httplib::Request& request, httplib::Response& response) {
      answerChecks("readyz", true, request, response);
    });
  }
  // httplib answers an unknown path with an empty 404; say what it is, as Go's servers do.
  using Answer = httplib::Server::HandlerResponse;
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
        if (response.status != 404 || !response.body.empty()) return Answer::Unhandled;
        response.set_content("404 page not found\n", std::string(kProbeContentType));
        return Answer::Handled;
      }));
}

void ProbeServer::Impl::answerChecks(std::string_view endpoint, bool ready, const httplib::Request& request,
                                     httplib::Response& response) {
  std::vector<NamedCheck> checks;
  {
    std::lock_guard guard(checks_mutex_);
    checks = ready ? readyz_ : healthz_;  // run outside the lock: checks may be slow
  }
  const CheckReport report = runChecks(endpoint, checks, request.has_param("verbose"));
  for (const auto& [name, reason] : report.failures) {
    logger_.info("check failed", {{"endpoint", endpoint}, {"check", name}, {"reason", reason}});
  }
  response.status = report.status;
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_content(report.body, std::string(kProbeContentType));
}

void ProbeServer::Impl::stop() {
  std::lock_guard guard(lifecycle_mutex_);
  stopLocked();
}

void ProbeServer::Impl::stopLocked() {
  for (auto* listener : {metrics_.get(), probes_.get()}) {
    if (listener == nullptr || !listener->thread.joinable()) continue;
    listener->server.stop();  // closes the socket; the accept loop ends and drains its workers
    listener->thread.join();
  }
}

ProbeServer::ProbeServer(MetricsRegistry& registry, ProbeServerOptions options, Logger logger)
    : impl_(std::make_unique<Impl>(registry, std::move(options), std::move(logger))) {}

ProbeServer::~ProbeServer() { impl_->stop(); }

void ProbeServer::addHealthzCheck(std::string name, HealthCheck check) {
  impl_->addCheck(false, std::move(name), std::move(check));
}

void ProbeServer::addReadyzCheck(std::string name, HealthCheck check) {
  impl_->addCheck(true, std::move(name), std::move(check));
}

kube::Result<void> ProbeServer::start() { return impl_->start(); }
void ProbeServer::stop() { impl_->stop(); }
int ProbeServer::metricsPort() const { return impl_->metricsPort(); }
int ProbeServer::probePort() const { return impl_->probePort(); }

}  // namespace kube::runtime
