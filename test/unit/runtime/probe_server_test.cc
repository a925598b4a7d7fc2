#include "runtime/probe_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

namespace kube::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Reply {
  int status = 0;  // 0: no connection
  std::string body;
  std::string content_type;
};

Reply get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto result = client.Get(path);
  if (!result) return {};
  return {result->status, result->body, result->get_header_value("Content-Type")};
}

Logger quietLogger() {
  return Logger({.level = LogLevel::kError, .sink = [](std::string_view) {}});
}

ProbeServerOptions localPorts() {
  return {.metrics_address = "127.0.0.1:0", .probe_address = "127.0.0.1:0"};
}

class ProbeServerTest : public ::testing::Test {
 protected:
  void start(ProbeServerOptions options = localPorts()) {
    server_ = std::make_unique<ProbeServer>(registry_, std::move(options), quietLogger());
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }

  MetricsRegistry registry_;
  std::unique_ptr<ProbeServer> server_;
};

TEST_F(ProbeServerTest, ServesTheRegistryAtMetricsWithThePrometheusContentType) {
  registry_.counter({.name = "served_total", .help = "Served."}).with({}).inc(3);
  start();
  ASSERT_NE(server_->metricsPort(), 0);
  const Reply reply = get(server_->metricsPort(), "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(reply.body, "# HELP served_total Served.\n# TYPE served_total counter\nserved_total 3\n");
}

TEST_F(ProbeServerTest, MetricsAndProbesListenOnSeparatePorts) {
  start();
  ASSERT_NE(server_->probePort(), 0);
  EXPECT_NE(server_->metricsPort(), server_->probePort());
  EXPECT_EQ(get(server_->probePort(), "/healthz").status, 200);
  EXPECT_EQ(get(server_->probePort(), "/metrics").status, 404);
  EXPECT_EQ(get(server_->metricsPort(), "/healthz").status, 404);
  EXPECT_EQ(get(server_->metricsPort(), "/readyz").status, 404);
}

// A port that was free a moment ago: good enough for a test on the loopback interface.
int freePort() {
  MetricsRegistry registry;
  ProbeServer probe(registry, {.metrics_address = "127.0.0.1:0", .probe_address = ""}, quietLogger());
  if (!probe.start()) return 0;
  return probe.metricsPort();
}

TEST_F(ProbeServerTest, OneAddressForBothServesEveryPath) {
  const std::string address = "127.0.0.1:" + std::to_string(freePort());
  start({.metrics_address = address, .probe_address = address, .worker_threads = 1});
  EXPECT_EQ(server_->metricsPort(), server_->probePort());
  EXPECT_EQ(get(server_->metricsPort(), "/metrics").status, 200);
  EXPECT_EQ(get(server_->metricsPort(), "/readyz").status, 200);
}

TEST_F(ProbeServerTest, HealthzPassesWithItsPingCheck) {
  start();
  const Reply reply = get(server_->probePort(), "/healthz");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "ok");
  EXPECT_EQ(reply.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(get(server_->probePort(), "/healthz?verbose").body, "[+]ping ok\nhealthz check passed\n");
}

TEST_F(ProbeServerTest, ReadyzIs503NamingTheFailingChecksUntilTheyPass) {
  std::atomic<bool> synced{false};
  start();
  server_->addReadyzCheck("informers-synced", checkThat([&synced] { return synced.load(); }));
  server_->addReadyzCheck("leader", [] { return std::optional<std::string>(); });

  const Reply failing = get(server_->probePort(), "/readyz");
  EXPECT_EQ(failing.status, 503);
  EXPECT_EQ(failing.body, "[-]informers-synced failed: reason withheld\n[+]leader ok\nreadyz check failed\n");

  synced = true;
  const Reply passing = get(server_->probePort(), "/readyz");
  EXPECT_EQ(passing.status, 200);
  EXPECT_EQ(passing.body, "ok");
}

TEST_F(ProbeServerTest, VerboseListsEveryCheckWhenAllPass) {
  start();
  server_->addReadyzCheck("informers-synced", checkThat([] { return true; }));
  server_->addReadyzCheck("webhooks", checkThat([] { return true; }));
  const Reply reply = get(server_->probePort(), "/readyz?verbose");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "[+]informers-synced ok\n[+]webhooks ok\nreadyz check passed\n");
}

TEST_F(ProbeServerTest, AFailingHealthzCheckMakesHealthz503) {
  start();
  server_->addHealthzCheck("deadlock", [] { return std::optional<std::string>("worker stuck"); });
  const Reply reply = get(server_->probePort(), "/healthz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body, "[+]ping ok\n[-]deadlock failed: reason withheld\nhealthz check failed\n");
}

TEST_F(ProbeServerTest, AThrowingCheckFailsInsteadOfBreakingTheEndpoint) {
  start();
  server_->addReadyzCheck("throws", []() -> std::optional<std::string> { throw std::runtime_error("boom"); });
  const Reply reply = get(server_->probePort(), "/readyz");
  EXPECT_EQ(reply.status, 503);
  EXPECT_THAT(reply.body, HasSubstr("[-]throws failed"));
}

TEST_F(ProbeServerTest, TheFailureReasonIsLoggedButNeverServed) {
  std::mutex mutex;
  std::vector<std::string> lines;
  Logger logger({.sink = [&](std::string_view line) {
    std::lock_guard guard(mutex);
    lines.emplace_back(line);
  }});
  ProbeServer server(registry_, localPorts(), logger);
  server.addReadyzCheck("db", [] { return std::optional<std::string>("password=hunter2 rejected"); });
  ASSERT_TRUE(server.start());
  const Reply reply = get(server.probePort(), "/readyz?verbose");
  server.stop();
  EXPECT_THAT(reply.body, Not(HasSubstr("hunter2")));
  std::lock_guard guard(mutex);
  bool logged = false;
  for (const auto& line : lines) logged = logged || line.find("password=hunter2 rejected") != std::string::npos;
  EXPECT_TRUE(logged);
}

TEST_F(ProbeServerTest, UnknownPathsAre404) {
  start();
  const Reply reply = get(server_->probePort(), "/livez/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body, "404 page not found\n");
  EXPECT_EQ(get(server_->metricsPort(), "/").status, 404);
}

TEST_F(ProbeServerTest, AnEmptyAddressTurnsThatListenerOff) {
  start({.metrics_address = "", .probe_address = "127.0.0.1:0"});
  EXPECT_EQ(server_->metricsPort(), 0);
  EXPECT_EQ(get(server_->probePort(), "/readyz").status, 200);
}

TEST_F(ProbeServerTest, AnAddressInUseIsReportedByStart) {
  start();
  ProbeServer second(registry_, {.metrics_address = "127.0.0.1:0",
                                 .probe_address = "127.0.0.1:" + std::to_string(server_->probePort())},
                     quietLogger());
  auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_THAT(started.error().message, HasSubstr("health probe address"));
  EXPECT_THAT(started.error().message, HasSubstr("in use"));
  // The first server is unaffected.
  EXPECT_EQ(get(server_->probePort(), "/healthz").status, 200);
}

TEST_F(ProbeServerTest, AnInvalidAddressIsReportedByStart) {
  ProbeServer server(registry_, {.metrics_address = "localhost", .probe_address = ""}, quietLogger());
  auto started = server.start();
  ASSERT_FALSE(started);
  EXPECT_THAT(started.error().message, HasSubstr("\"localhost\""));
}

TEST_F(ProbeServerTest, StopFromAnotherThreadClosesThePorts) {
  start();
  const int metrics_port = server_->metricsPort();
  const int probe_port = server_->probePort();
  ASSERT_EQ(get(probe_port, "/healthz").status, 200);
  std::thread stopper([this] { server_->stop(); });
  stopper.join();
  EXPECT_EQ(get(probe_port, "/healthz").status, 0);
  EXPECT_EQ(get(metrics_port, "/metrics").status, 0);
  server_->stop();  // idempotent
}

TEST_F(ProbeServerTest, StoppingRightAfterStartingNeverHangs) {
  for (int i = 0; i < 20; ++i) {
    ProbeServer server(registry_, localPorts(), quietLogger());
    ASSERT_TRUE(server.start());
    server.stop();
  }
}

TEST_F(ProbeServerTest, StartTwiceIsAnError) {
  start();
  EXPECT_FALSE(server_->start());
}

// A client that opens a connection, sends the start of a request line and then says nothing
// more: the slow-header pattern that ties up a server worker until a read times out.
class StalledConnection {
 public:
  StalledConnection(int port, std::string_view partial) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                 send(fd_, partial.data(), partial.size(), 0) == static_cast<ssize_t>(partial.size());
  }
  ~StalledConnection() {
    if (fd_ >= 0) close(fd_);
  }
  StalledConnection(const StalledConnection&) = delete;
  StalledConnection& operator=(const StalledConnection&) = delete;
  bool connected() const { return connected_; }

 private:
  int fd_;
  bool connected_ = false;
};

// The kubelet restarts a controller whose /healthz stops answering, so a handful of stalled
// connections to the probe port must not starve it. Liveness only: "answers at all within 10 s".
TEST_F(ProbeServerTest, StalledConnectionsDoNotStarveHealthz) {
  start();
  std::vector<std::unique_ptr<StalledConnection>> stalled;
  for (int i = 0; i < 10; ++i) {
    stalled.push_back(std::make_unique<StalledConnection>(server_->probePort(), "GET /hea"));
    ASSERT_TRUE(stalled.back()->connected());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the workers pick them up
  httplib::Client client("127.0.0.1", server_->probePort());
  client.set_connection_timeout(10);
  client.set_read_timeout(10);
  auto result = client.Get("/healthz");
  ASSERT_TRUE(result) << "no answer within 10 s: " << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
}

TEST(ProbeServerOptionsTest, DefaultsAreControllerRuntimes) {
  const ProbeServerOptions options;
  EXPECT_EQ(options.metrics_address, ":8080");
  EXPECT_EQ(options.probe_address, ":8081");
}

TEST(ProbeServerAddress, ParsesHostPortColonPortAndBracketedIpv6) {
  auto any = parseListenAddress(":8080");
  ASSERT_TRUE(any) << any.error().message;
  EXPECT_EQ(any->host, "0.0.0.0");
  EXPECT_EQ(any->port, 8080);

  auto local = parseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(local) << local.error().message;
  EXPECT_EQ(local->host, "127.0.0.1");
  EXPECT_EQ(local->port, 0);

  auto v6 = parseListenAddress("[::1]:9090");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9090);
}

TEST(ProbeServerAddress, RejectsAddressesWithoutAValidPort) {
  for (const char* bad : {"8080", "host:", "host:http", "host:70000", "host:-1", "::1:80", "[::1]8080", "[::1", ""}) {
    auto parsed = parseListenAddress(bad);
    EXPECT_FALSE(parsed) << bad;
    if (!parsed) {
      EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidConfig) << bad;
    }
  }
}

}  // namespace
}  // namespace kube::runtime
