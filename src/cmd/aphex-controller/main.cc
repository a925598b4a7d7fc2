// aphex-controller: connects to the API server, registers Aphex's controllers with a runtime
// Manager and runs it until SIGTERM.
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <string>

#include "aphex-controller/options.h"
#include "aphex/controllers.h"
#include "kube/client.h"
#include "kube/config.h"
#include "runtime/events.h"
#include "runtime/log.h"
#include "runtime/manager.h"
#include "runtime/metrics.h"
#include "runtime/quiet_housekeeping.h"
#include "runtime/signals.h"

namespace {

namespace rt = kube::runtime;

std::string defaultIdentity() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host = {'a', 'p', 'h', 'e', 'x'};
  return std::string(host.data()) + "_" + std::to_string(getpid());
}

void configureLogging(const aphex::cmd::ControllerFlags& flags) {
  rt::setDefaultLogger(rt::Logger({.level = rt::parseLogLevel(flags.log_level).value_or(rt::LogLevel::kInfo),
                                   .format = rt::parseLogFormat(flags.log_format).value_or(rt::LogFormat::kJson)}));
}

// Reconciles count as activity for `housekeeping`, as requests do: after a restart, the pass over
// every cached object makes no request, and the heap is trimmed only once it is over.
rt::ManagerOptions managerOptions(const aphex::cmd::ControllerFlags& flags, const std::string& identity,
                                  rt::QuietHousekeeping& housekeeping) {
  rt::ManagerOptions options{.probes = {.metrics_address = flags.metrics_address, .probe_address = flags.probe_address},
                             .on_reconciled = [&housekeeping] { housekeeping.noteActivity(); }};
  if (flags.leader_elect) {
    options.leader_election = rt::LeaderElectionOptions{.lease_namespace = flags.leader_election_namespace,
                                                        .lease_name = flags.leader_election_id,
                                                        .identity = identity};
  }
  return options;
}

// After a burst of reconciles, give back what only the burst needed: the connections of requests
// that ran at once (the watches keep theirs; a few stay pooled for the next reconcile), and the
// heap pages glibc keeps after the burst's JSON is freed (malloc_trim returns free pages inside
// the heap too, not only at its top).
void addReleaseAfterBursts(rt::QuietHousekeeping& housekeeping, kube::HttpTransport& transport) {
  constexpr std::size_t kPooledConnectionsKept = 4;
  housekeeping.addTask([&transport] { transport.closeIdleConnections(kPooledConnectionsKept); });
  housekeeping.addTask([] { malloc_trim(0); });
}

int run(const aphex::cmd::ControllerFlags& flags, std::stop_token stop) {
  const rt::Logger log = rt::defaultLogger().named("main");
  auto config = kube::loadDefaultConfig(flags.kubeconfig, flags.context);
  if (!config) {
    log.error("no usable cluster configuration", {{"error", config.error().message}});
    return 1;
  }
  rt::MetricsRegistry registry;
  rt::ControllerMetrics metrics(registry);
  rt::QuietHousekeeping housekeeping(rt::realClock(), {});
  auto count_request = rt::countRestRequests(metrics, rt::hostOfServer(config->server));
  auto client = kube::Client::create(*config, kube::ClientOptions{.on_request = [&](const kube::RequestRecord& record) {
                                       count_request(record);
                                       housekeeping.noteActivity();
                                     }});
  if (!client) {
    log.error("cannot create the API client", {{"error", client.error().message}});
    return 1;
  }
  addReleaseAfterBursts(housekeeping, (*client)->transport());
  const std::string identity = flags.identity.empty() ? defaultIdentity() : flags.identity;
  auto manager =
      rt::Manager::create(**client, rt::realClock(), registry, managerOptions(flags, identity, housekeeping));
  if (!manager) {
    log.error("invalid manager options", {{"error", manager.error().message}});
    return 1;
  }
  rt::Counter& events_dropped = registry
      .counter({.name = "event_recorder_dropped_total",
                .help = "Events not written because the queue was full or the process was stopping"})
      .with({});
  rt::Counter& events_failed =
      registry.counter({.name = "event_recorder_failed_total", .help = "Events the API server refused or never got"})
          .with({});
  rt::EventRecorder events(**client, rt::realClock(),
                           {.reporting_controller = "aphex.io/aphex-controller",
                            .reporting_instance = identity,
                            .dropped_total = &events_dropped,
                            .failed_total = &events_failed});
  const auto controllers = aphex::addControllers(**manager, flags.config, events,
                                                 {.organization_concurrency = flags.organization_concurrency,
                                                  .repo_binding_concurrency = flags.repo_binding_concurrency,
                                                  .knowledge_base_concurrency = flags.knowledge_base_concurrency});
  log.info("starting", {{"server", config->server}, {"identity", identity},
                        {"platform_namespace", flags.config.platform_namespace},
                        {"leader_election", flags.leader_elect}});
  (*manager)->addRunnable("quiet-housekeeping", rt::RunWhen::kAlways,
                          [&housekeeping](std::stop_token until) { housekeeping.run(until); });
  const auto result = (*manager)->run(stop);
  events.flush();
  if (!result) {
    log.error("stopped", {{"error", result.error().message}});
    return 1;
  }
  log.info("stopped cleanly");
  return 0;
}

// Blocks from 128 KB up (a list page's body, a big object's text) are mapped and unmapped on
// their own, never taken from the heap.
constexpr int kMmapThreshold = 128 * 1024;

}  // namespace

int main(int argc, char** argv) {
  // glibc gives threads up to 8 malloc arenas per core; informers and workers that build and drop
  // JSON on many threads then hold freed memory in each. Two arenas keep the resident size close
  // to what the caches really hold; the threads mostly wait on the network, so they seldom contend.
  mallopt(M_ARENA_MAX, 2);
  // A fixed mmap threshold: glibc otherwise raises it to the size of every big block freed, so
  // that after the first list the next pages' bodies (hundreds of KB each) are carved from the
  // heap, between the small blocks the caches keep, and leave holes it cannot give back.
  mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
  // Before any thread exists: every later thread inherits the blocked signals.
  rt::ShutdownSignals signals;
  int exit_code = 0;
  auto flags = aphex::cmd::parseFlags(argc, argv, exit_code);
  if (!flags) return exit_code;
  configureLogging(*flags);
  return run(*flags, signals.token());
}
