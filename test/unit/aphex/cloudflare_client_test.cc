#include "aphex/cloudflare/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_cloudflare.h"

namespace aphex::cloudflare {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;
using aphex::testing::FakeCloudflare;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kTunnelName = "webhooks-acme";
constexpr const char* kHost = "acme.example.test";
constexpr const char* kOwner = "managed by aphex-controller: organization platform-system/acme";

class CloudflareClientTest : public ::testing::Test {
 protected:
  // Short, recorded waits: nothing in these tests really sleeps.
  ClientOptions options() {
    return {.base_url = fake_.baseUrl(),
            .api_token = fake_.options().token,
            .account_id = fake_.options().account_id,
            .zone_id = fake_.options().zone_id,
            .request_timeout = seconds(5),
            .retry = {.max_attempts = 4, .initial_backoff = milliseconds(100), .max_backoff = seconds(1),
                      .max_retry_after = seconds(60)},
            .per_page = 20,
            .delete_attempts = 3,
            .delete_retry_delay = milliseconds(250),
            .sleep = [this](milliseconds delay) { sleeps_.push_back(delay); },
            .random = [] { return 0.5; }};
  }

  std::unique_ptr<Client> makeClient(ClientOptions with) {
    auto created = Client::create(std::move(with));
    EXPECT_TRUE(created) << created.error().message;
    return created ? std::move(*created) : nullptr;
  }

  std::unique_ptr<Client> makeClient() { return makeClient(options()); }

  std::string tunnels() const { return "/accounts/" + fake_.options().account_id + "/cfd_tunnel"; }
  std::string records() const { return "/zones/" + fake_.options().zone_id + "/dns_records"; }
  int writes() const {
    return fake_.requestCount("POST", "/") + fake_.requestCount("PUT", "/") + fake_.requestCount("PATCH", "/") +
           fake_.requestCount("DELETE", "/");
  }
  static std::string target(const std::string& tunnel_id) { return tunnel_id + ".cfargotunnel.com"; }

  FakeCloudflare fake_;
  std::vector<milliseconds> sleeps_;
};

// --- Tunnels ---

TEST_F(CloudflareClientTest, EnsureTunnelCreatesARemotelyManagedTunnelWithA32ByteSecret) {
  auto client = makeClient();
  auto ensured = client->ensureTunnel(kTunnelName);
  ASSERT_TRUE(ensured) << ensured.error().message;
  EXPECT_TRUE(ensured->created);
  EXPECT_EQ(ensured->tunnel.name, kTunnelName);
  EXPECT_EQ(ensured->tunnel.config_src, "cloudflare");
  const auto stored = fake_.tunnel(ensured->tunnel.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)["config_src"], "cloudflare");
  EXPECT_EQ(fake_.tunnelSecretBytes(ensured->tunnel.id), 32);
}

TEST_F(CloudflareClientTest, EnsureTunnelAdoptsTheExistingTunnelInsteadOfCreatingADuplicate) {
  auto client = makeClient();
  auto first = client->ensureTunnel(kTunnelName);
  ASSERT_TRUE(first) << first.error().message;
  auto second = client->ensureTunnel(kTunnelName);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->tunnel.id, first->tunnel.id);
  EXPECT_THAT(fake_.tunnels(), SizeIs(1));
  EXPECT_EQ(fake_.requestCount("POST", tunnels()), 1);
}

TEST_F(CloudflareClientTest, EnsureTunnelAdoptsTheWinnerWhenACreateRaceIsLost) {
  const std::string existing = fake_.addTunnel(kTunnelName);
  fake_.hideTunnelsFromListsNext(1);  // our lookup misses the tunnel another replica just made
  auto client = makeClient();
  auto ensured = client->ensureTunnel(kTunnelName);
  ASSERT_TRUE(ensured) << ensured.error().message;
  EXPECT_FALSE(ensured->created);
  EXPECT_EQ(ensured->tunnel.id, existing);
  EXPECT_THAT(fake_.tunnels(), SizeIs(1));
}

TEST_F(CloudflareClientTest, ConcurrentEnsuresFromSeveralReplicasEndWithOneTunnel) {
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kReplicas; ++i) clients.push_back(makeClient());
  std::vector<std::string> ids(kReplicas);
  std::vector<std::string> failures(kReplicas);
  {
    std::vector<std::jthread> replicas;
    for (int i = 0; i < kReplicas; ++i) {
      replicas.emplace_back([&, i] {
        auto ensured = clients[static_cast<std::size_t>(i)]->ensureTunnel(kTunnelName);
        auto& slot = ensured ? ids[static_cast<std::size_t>(i)] : failures[static_cast<std::size_t>(i)];
        slot = ensured ? ensured->tunnel.id : ensured.error().message;
      });
    }
  }
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  EXPECT_THAT(fake_.tunnels(), SizeIs(1));
  for (const std::string& id : ids) EXPECT_EQ(id, ids.front());
}

TEST_F(CloudflareClientTest, EnsureTunnelCreatesANewTunnelWhenTheOldOneWasDeleted) {
  const std::string old = fake_.addTunnel(kTunnelName);
  auto client = makeClient();
  ASSERT_TRUE(client->deleteTunnel(old));
  auto ensured = client->ensureTunnel(kTunnelName);
  ASSERT_TRUE(ensured) << ensured.error().message;
  EXPECT_TRUE(ensured->created);
  EXPECT_NE(ensured->tunnel.id, old);
}

TEST_F(CloudflareClientTest, ListTunnelsFollowsPaginationBeyondOnePage) {
  for (int i = 0; i < 60; ++i) fake_.addTunnel("tunnel-" + std::to_string(i));
  auto client = makeClient();
  auto listed = client->listTunnels();
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_THAT(*listed, SizeIs(60));
  EXPECT_EQ(listed->front().name, "tunnel-0");
  EXPECT_EQ(listed->back().name, "tunnel-59");
  EXPECT_EQ(fake_.requestCount("GET", tunnels()), 3);
  EXPECT_EQ(fake_.requestCount("GET", tunnels() + "?is_deleted=false&page=3&per_page=20"), 1);
}

TEST_F(CloudflareClientTest, ConfigurationEndsWithACatchAllAndIsWrittenOnlyWhenItChanges) {
  const std::string id = fake_.addTunnel(kTunnelName);
  auto client = makeClient();
  const std::vector<IngressRule> rules = {{.hostname = kHost, .service = "http://el-github-listener.org-acme:8080"}};

  auto first = client->ensureTunnelConfiguration(id, rules);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(*first);
  const auto stored = fake_.configuration(id);
  ASSERT_THAT(stored["ingress"], SizeIs(2));
  EXPECT_EQ(stored["ingress"][0]["hostname"], kHost);
  EXPECT_EQ(stored["ingress"][1], (nlohmann::json{{"service", "http_status:404"}}));

  auto again = client->ensureTunnelConfiguration(id, rules);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(*again);
  EXPECT_EQ(fake_.requestCount("PUT", tunnels()), 1);
  auto read = client->getTunnelConfiguration(id);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, rules);
}

TEST_F(CloudflareClientTest, AnIngressRuleWithoutHostnameIsRefusedBeforeAnyRequest) {
  const std::string id = fake_.addTunnel(kTunnelName);
  auto client = makeClient();
  auto put = client->putTunnelConfiguration(id, {{.hostname = "", .service = "http://x:80"}});
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().kind, kube::ErrorKind::kInvalidConfig);
  EXPECT_THAT(put.error().message, HasSubstr("hostname"));
  EXPECT_THAT(fake_.requests(), SizeIs(0));
}

TEST_F(CloudflareClientTest, TunnelTokenIsWhatCloudflaredRunsWith) {
  const std::string id = fake_.addTunnel(kTunnelName);
  auto client = makeClient();
  auto token = client->tunnelToken(id);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(*token, fake_.tunnelToken(id));
}

TEST_F(CloudflareClientTest, DeleteTunnelCleansUpConnectionsThenDeletes) {
  const std::string id = fake_.addTunnel(kTunnelName);
  fake_.setConnections(id, 2);
  auto client = makeClient();
  auto deleted = client->deleteTunnel(id);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_FALSE((*fake_.tunnel(id))["deleted_at"].is_null());
  std::vector<std::string> calls;
  for (const auto& request : fake_.requests()) calls.push_back(request.method + " " + request.target);
  const std::string path = "/client/v4" + tunnels() + "/" + id;
  EXPECT_THAT(calls, ElementsAre("GET " + path, "DELETE " + path + "/connections", "DELETE " + path));
}

TEST_F(CloudflareClientTest, DeleteTunnelRetriesWhenCloudflareStillSeesConnections) {
  const std::string id = fake_.addTunnel(kTunnelName);
  fake_.setConnections(id, 2);
  fake_.reconnectAfterCleanup(id, 1);  // the first clean-up is undone by a running connector
  auto client = makeClient();
  auto deleted = client->deleteTunnel(id);
  ASSERT_TRUE(deleted) << deleted.error().message;
  EXPECT_EQ(fake_.requestCount("DELETE", tunnels() + "/" + id + "/connections"), 2);
  EXPECT_THAT(sleeps_, ElementsAre(milliseconds(250)));
  EXPECT_FALSE((*fake_.tunnel(id))["deleted_at"].is_null());
}

TEST_F(CloudflareClientTest, DeleteTunnelGivesUpWithCloudflaresMessageWhenConnectionsKeepComingBack) {
  const std::string id = fake_.addTunnel(kTunnelName);
  fake_.setConnections(id, 1);
  fake_.reconnectAfterCleanup(id, 100);
  auto client = makeClient();
  auto deleted = client->deleteTunnel(id);
  ASSERT_FALSE(deleted);
  EXPECT_TRUE(hasCloudflareCode(deleted.error(), kErrorTunnelHasConnections));
  EXPECT_THAT(deleted.error().message,
              HasSubstr("deleting tunnel " + id + ": Cloudflare error 1022: Cannot delete tunnel because it has "
                        "active connections"));
  EXPECT_THAT(deleted.error().message, HasSubstr("stop its Deployment"));
  EXPECT_EQ(fake_.requestCount("DELETE", tunnels() + "/" + id + "/connections"), 3);
}

TEST_F(CloudflareClientTest, DeletingATunnelThatIsGoneSucceeds) {
  auto client = makeClient();
  EXPECT_TRUE(client->deleteTunnel("3f2504e0-4f89-41d3-9a0c-0305e82c3301"));
  const std::string id = fake_.addTunnel(kTunnelName);
  ASSERT_TRUE(client->deleteTunnel(id));
  EXPECT_TRUE(client->deleteTunnel(id));  // again: already deleted
}

TEST_F(CloudflareClientTest, AnUnknownTunnelIsNotFoundAndNotTransient) {
  auto client = makeClient();
  auto got = client->getTunnel("3f2504e0-4f89-41d3-9a0c-0305e82c3301");
  ASSERT_FALSE(got);
  EXPECT_TRUE(isNotFound(got.error()));
  EXPECT_FALSE(isTransient(got.error()));
}

// --- DNS ---

TEST_F(CloudflareClientTest, EnsureCnameCreatesAProxiedRecordWithOurCommentThenLeavesItAlone) {
  auto client = makeClient();
  auto created = client->ensureCname(kHost, target("t1"), kOwner);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->change, CnameChange::kCreated);
  EXPECT_TRUE(created->record.proxied);
  EXPECT_EQ(created->record.comment, kOwner);
  const int writes_after_create = writes();

  auto again = client->ensureCname(kHost, target("t1"), kOwner);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->change, CnameChange::kUnchanged);
  EXPECT_EQ(again->record.id, created->record.id);
  EXPECT_EQ(writes(), writes_after_create);
  EXPECT_THAT(fake_.dnsRecords(), SizeIs(1));
}

TEST_F(CloudflareClientTest, EnsureCnameAdoptsARecordThatAlreadyPointsAtTheTunnel) {
  const std::string id = fake_.addDnsRecord("CNAME", kHost, target("t1"), "", true);
  auto client = makeClient();
  auto ensured = client->ensureCname(kHost, target("t1"), kOwner);
  ASSERT_TRUE(ensured) << ensured.error().message;
  EXPECT_EQ(ensured->change, CnameChange::kAdopted);
  EXPECT_EQ(ensured->record.id, id);
  EXPECT_EQ(fake_.dnsRecords().front()["comment"], kOwner);  // so that deletion cleans it up
}

TEST_F(CloudflareClientTest, EnsureCnameCorrectsOurRecordWhenItDrifted) {
  fake_.addDnsRecord("CNAME", kHost, target("old-tunnel"), kOwner, false);
  auto client = makeClient();
  auto ensured = client->ensureCname(kHost, target("t1"), kOwner);
  ASSERT_TRUE(ensured) << ensured.error().message;
  EXPECT_EQ(ensured->change, CnameChange::kUpdated);
  const auto stored = fake_.dnsRecords();
  ASSERT_THAT(stored, SizeIs(1));
  EXPECT_EQ(stored.front()["content"], target("t1"));
  EXPECT_EQ(stored.front()["proxied"], true);
}

TEST_F(CloudflareClientTest, EnsureCnameRefusesToOverwriteARecordItDidNotCreate) {
  fake_.addDnsRecord("CNAME", kHost, "pages.example.net", "hand-made by ops", true);
  auto client = makeClient();
  auto ensured = client->ensureCname(kHost, target("t1"), kOwner);
  ASSERT_FALSE(ensured);
  EXPECT_EQ(ensured.error().httpCode(), 409);
  EXPECT_FALSE(isTransient(ensured.error()));
  EXPECT_THAT(ensured.error().message, HasSubstr("did not create"));
  EXPECT_THAT(ensured.error().message, HasSubstr("hand-made by ops"));
  EXPECT_EQ(fake_.dnsRecords().front()["content"], "pages.example.net");
  EXPECT_EQ(writes(), 0);
}

TEST_F(CloudflareClientTest, ACnameBesideAnARecordFailsWithCloudflaresOwnMessage) {
  fake_.addDnsRecord("A", kHost, "192.0.2.10");
  auto client = makeClient();
  auto ensured = client->ensureCname(kHost, target("t1"), kOwner);
  ASSERT_FALSE(ensured);
  EXPECT_TRUE(hasCloudflareCode(ensured.error(), 81053));
  EXPECT_THAT(ensured.error().message,
              HasSubstr("Cloudflare error 81053: An A, AAAA, or CNAME record with that host already exists."));
}

TEST_F(CloudflareClientTest, DeleteCnameDeletesOnlyRecordsCarryingOurComment) {
  fake_.addDnsRecord("CNAME", kHost, target("t1"), kOwner, true);
  fake_.addDnsRecord("CNAME", "www.example.test", "pages.example.net", "hand-made by ops", true);
  auto client = makeClient();
  auto ours = client->deleteCname(kHost, kOwner);
  ASSERT_TRUE(ours) << ours.error().message;
  EXPECT_EQ(ours->deleted, 1);
  auto foreign = client->deleteCname("www.example.test", kOwner);
  ASSERT_TRUE(foreign) << foreign.error().message;
  EXPECT_EQ(foreign->deleted, 0);
  ASSERT_THAT(foreign->left_foreign, SizeIs(1));
  ASSERT_THAT(fake_.dnsRecords(), SizeIs(1));
  EXPECT_EQ(fake_.dnsRecords().front()["name"], "www.example.test");
}

TEST_F(CloudflareClientTest, FindDnsRecordsFollowsPagination) {
  for (int i = 0; i < 12; ++i) fake_.addDnsRecord("TXT", "_verify.example.test", "token-" + std::to_string(i));
  auto with = options();
  with.per_page = 5;
  auto client = makeClient(with);
  auto found = client->findDnsRecords("TXT", "_verify.example.test");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_THAT(*found, SizeIs(12));
  EXPECT_EQ(fake_.requestCount("GET", records()), 3);
}

// --- Retries ---

TEST_F(CloudflareClientTest, A429IsRetriedAfterTheServersRetryAfter) {
  fake_.addTunnel(kTunnelName);
  fake_.failNext(2, {.status = 429, .retry_after_seconds = 3});
  auto client = makeClient();
  auto found = client->findTunnel(kTunnelName);
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_TRUE(found->has_value());
  EXPECT_THAT(sleeps_, ElementsAre(milliseconds(3000), milliseconds(3000)));
  EXPECT_EQ(fake_.requestCount("GET", tunnels()), 3);
}

TEST_F(CloudflareClientTest, A429WithoutRetryAfterBacksOffExponentiallyWithJitter) {
  fake_.failNext(2, {.status = 429});
  auto client = makeClient();
  ASSERT_TRUE(client->listTunnels());
  // 100 ms then 200 ms, each half fixed and half jittered (the test's random() is 0.5).
  EXPECT_THAT(sleeps_, ElementsAre(milliseconds(75), milliseconds(150)));
}

TEST_F(CloudflareClientTest, ALongRetryAfterIsHandedBackToTheCallerInsteadOfSleptThrough) {
  fake_.failNext(1, {.status = 429, .retry_after_seconds = 300});
  auto client = makeClient();
  auto listed = client->listTunnels();
  ASSERT_FALSE(listed);
  EXPECT_TRUE(isRateLimited(listed.error()));
  EXPECT_TRUE(isTransient(listed.error()));
  EXPECT_EQ(retryAfter(listed.error()), seconds(300));
  EXPECT_THAT(listed.error().message, HasSubstr("Cloudflare error 10100"));
  EXPECT_THAT(sleeps_, SizeIs(0));
}

TEST_F(CloudflareClientTest, AWaitBeyondThePerCallSleepBudgetIsNotTakenAndTheAdviceIsHandedBack) {
  fake_.failNext(2, {.status = 429, .retry_after_seconds = 8});
  ClientOptions with = options();
  with.retry.max_total_sleep = seconds(10);
  auto client = makeClient(with);
  auto listed = client->listTunnels();
  ASSERT_FALSE(listed);
  // 8 s fits in the 10 s budget; another 8 s would not, so the second 429 is the answer.
  EXPECT_THAT(sleeps_, ElementsAre(milliseconds(8000)));
  EXPECT_TRUE(isRateLimited(listed.error()));
  EXPECT_EQ(retryAfter(listed.error()), seconds(8));
  EXPECT_EQ(fake_.requestCount("GET", tunnels()), 2);
}

TEST_F(CloudflareClientTest, AStoppedClientDoesNotWaitAndReturnsItsLastAnswer) {
  fake_.failNext(1, {.status = 429, .retry_after_seconds = 3});
  std::stop_source stop;
  stop.request_stop();
  ClientOptions with = options();
  with.stop = stop.get_token();
  auto client = makeClient(with);
  auto listed = client->listTunnels();
  ASSERT_FALSE(listed);
  EXPECT_TRUE(isRateLimited(listed.error()));
  EXPECT_THAT(sleeps_, SizeIs(0));
  EXPECT_EQ(fake_.requestCount("GET", tunnels()), 1);
}

TEST_F(CloudflareClientTest, AStopInterruptsARealWaitAtOnce) {
  fake_.failNext(1, {.status = 429, .retry_after_seconds = 8});
  std::stop_source stop;
  ClientOptions with = options();
  with.sleep = nullptr;  // really wait, on the stop token
  with.stop = stop.get_token();
  auto client = makeClient(with);
  std::jthread stopper([&stop] {
    std::this_thread::sleep_for(milliseconds(200));
    stop.request_stop();
  });
  const auto started = std::chrono::steady_clock::now();
  auto listed = client->listTunnels();
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(listed);
  EXPECT_TRUE(isRateLimited(listed.error()));
  EXPECT_EQ(fake_.requestCount("GET", tunnels()), 1);
  EXPECT_LT(waited, seconds(6)) << "the 8 s Retry-After was slept through despite the stop";
}

TEST_F(CloudflareClientTest, ServerErrorsAreRetriedThenReported) {
  const std::string id = fake_.addTunnel(kTunnelName);
  fake_.failNext(100, {.status = 500});
  auto client = makeClient();
  auto got = client->getTunnel(id);
  ASSERT_FALSE(got);
  EXPECT_TRUE(isTransient(got.error()));
  EXPECT_THAT(got.error().message, StartsWith("reading tunnel " + id + ": Cloudflare error"));
  EXPECT_THAT(got.error().message, HasSubstr("(HTTP 500)"));
  EXPECT_EQ(fake_.requestCount("GET", tunnels()), 4);
  EXPECT_THAT(sleeps_, SizeIs(3));
}

TEST_F(CloudflareClientTest, AServerErrorThenSuccessIsInvisibleToTheCaller) {
  const std::string id = fake_.addTunnel(kTunnelName);
  fake_.failNext(2, {.status = 502, .html_body = true});
  auto client = makeClient();
  auto got = client->getTunnel(id);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->id, id);
}

TEST_F(CloudflareClientTest, AnEdgeErrorPageIsReportedWithItsStatus) {
  fake_.failNext(100, {.status = 502, .html_body = true});
  auto client = makeClient();
  auto listed = client->listTunnels();
  ASSERT_FALSE(listed);
  EXPECT_THAT(listed.error().message, HasSubstr("listing tunnels: HTTP 502 from Cloudflare: <html>"));
}

TEST_F(CloudflareClientTest, APostIsNotRepeatedAfterAServerErrorItMayHaveApplied) {
  fake_.failNext(1, {.status = 500});
  auto client = makeClient();
  auto created = client->createTunnel(kTunnelName);
  ASSERT_FALSE(created);
  EXPECT_EQ(fake_.requestCount("POST", tunnels()), 1);
  // The reconciler's next ensureTunnel looks first, so a create that did land is adopted.
  auto ensured = client->ensureTunnel(kTunnelName);
  ASSERT_TRUE(ensured) << ensured.error().message;
}

// --- Errors ---

TEST_F(CloudflareClientTest, ErrorEnvelopesSurfaceCloudflaresCodeAndMessage) {
  fake_.addTunnel(kTunnelName);
  auto client = makeClient();
  auto created = client->createTunnel(kTunnelName);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, kube::ErrorKind::kApi);
  EXPECT_EQ(created.error().httpCode(), 409);
  EXPECT_THAT(cloudflareCodes(created.error()), ElementsAre(1013));
  EXPECT_THAT(created.error().message,
              StartsWith("creating tunnel \"webhooks-acme\": Cloudflare error 1013: You already have a tunnel with "
                         "this name"));
}

TEST_F(CloudflareClientTest, AValidationErrorKeepsCloudflaresErrorChain) {
  auto client = makeClient();
  auto created = client->createCname(kHost, "not a host name", kOwner);
  ASSERT_FALSE(created);
  EXPECT_THAT(cloudflareCodes(created.error()), ElementsAre(1004, 9007));
  EXPECT_THAT(created.error().message,
              HasSubstr("Cloudflare error 1004: DNS Validation Error (9007: Content for CNAME record is invalid.)"));
}

TEST_F(CloudflareClientTest, AWrongTokenIsAnAuthenticationErrorThatSaysWhatToCheck) {
  auto with = options();
  with.api_token = "wrong-token-4d2e";
  auto client = makeClient(with);
  auto found = client->findTunnel(kTunnelName);
  ASSERT_FALSE(found);
  EXPECT_TRUE(isAuthenticationError(found.error()));
  EXPECT_FALSE(isTransient(found.error()));
  EXPECT_THAT(found.error().message, HasSubstr("Cloudflare error 10000: Authentication error"));
  EXPECT_THAT(found.error().message, HasSubstr("check that the API token"));
  EXPECT_THAT(found.error().message, Not(HasSubstr("wrong-token-4d2e")));
}

TEST_F(CloudflareClientTest, AnUnreachableServerIsATransportError) {
  auto with = options();
  with.base_url = "http://127.0.0.1:1/client/v4";  // nothing listens on port 1
  auto client = makeClient(with);
  auto listed = client->listTunnels();
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().kind, kube::ErrorKind::kTransport);
  EXPECT_TRUE(isTransient(listed.error()));
  EXPECT_THAT(listed.error().message, StartsWith("listing tunnels: "));
  EXPECT_THAT(sleeps_, SizeIs(3));  // a GET is retried
}

TEST_F(CloudflareClientTest, CreateRefusesIncompleteOptions) {
  auto with = options();
  with.zone_id.clear();
  auto created = Client::create(with);
  ASSERT_FALSE(created);
  EXPECT_THAT(created.error().message, HasSubstr("zone id"));
}

TEST_F(CloudflareClientTest, ACommentLongerThanCloudflareAcceptsIsRefusedBeforeAnyWrite) {
  auto client = makeClient();
  auto created = client->ensureCname(kHost, target("t1"), std::string(101, 'x'));
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, kube::ErrorKind::kInvalidConfig);
  EXPECT_THAT(created.error().message, HasSubstr("at most 100"));
  EXPECT_EQ(writes(), 0);
}

TEST_F(CloudflareClientTest, TheTokenAppearsInNoErrorMessageAndNotInTheRequestLog) {
  const std::string token = fake_.options().token;
  auto client = makeClient();
  std::vector<std::string> messages;
  const auto collect = [&messages](const auto& result) {
    if (!result) messages.push_back(result.error().message);
  };
  fake_.addTunnel(kTunnelName);
  collect(client->createTunnel(kTunnelName));                 // 1013
  collect(client->getTunnel("00000000-0000-4000-8000-000000000000"));  // 404
  fake_.failNext(1, {.status = 429, .retry_after_seconds = 600});
  collect(client->listTunnels());                            // 429 handed back
  fake_.failNext(100, {.status = 503});
  collect(client->listTunnels());                            // 5xx after retries
  fake_.failNext(0, {});
  fake_.addDnsRecord("CNAME", kHost, "pages.example.net", "hand-made", true);
  collect(client->ensureCname(kHost, target("t1"), kOwner));  // foreign record
  auto unreachable = options();
  unreachable.base_url = "http://127.0.0.1:1/client/v4";
  collect(makeClient(unreachable)->listTunnels());           // transport
  ASSERT_THAT(messages, SizeIs(6));
  for (const std::string& message : messages) EXPECT_THAT(message, Not(HasSubstr(token)));
  for (const auto& request : fake_.requests()) EXPECT_THAT(request.target, Not(HasSubstr(token)));
}

}  // namespace
}  // namespace aphex::cloudflare
