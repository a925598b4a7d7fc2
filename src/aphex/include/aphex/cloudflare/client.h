// A client for the parts of Cloudflare's API v4 that expose an Organization's webhook endpoint:
// remotely-managed tunnels (cfd_tunnel) and the proxied CNAME that routes a host to one.
//
// Two layers. The plain operations map one-to-one onto documented endpoints (create, list, get,
// delete, configurations, token, connections; DNS records list/create/patch/delete). The ensure*
// and delete* operations on top are what a reconciler calls: idempotent, safe to repeat after a
// crash at any point, adopting what an earlier run created instead of duplicating it, and never
// touching a DNS record that another owner created.
//
// Every failure is a kube::Error. A Cloudflare answer with `"success": false` becomes kind kApi,
// its status carrying the HTTP code and, in `details.errors`, Cloudflare's own error objects; the
// message names the operation and quotes Cloudflare ("creating tunnel webhooks-acme: Cloudflare
// error 1013: You already have a tunnel with this name…"). No connection, TLS failure or timeout
// is kind kTransport. The API token never appears in a message.
//
// Waiting: a client sleeps between the attempts of one request (and between tunnel deletion
// attempts), never longer than RetryPolicy::max_total_sleep per request in all, and never once
// ClientOptions::stop is requested: then the call returns its last failure at once. A 429 whose
// Retry-After does not fit in what is left of that budget is returned, not slept through;
// retryAfter(error) reads the advised delay from it. So a reconcile blocks for seconds, not
// minutes, and shutdown does not wait for a rate limit.
//
// Thread safety: all methods may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kube/http.h"
#include "kube/result.h"

namespace aphex::cloudflare {

// How one request is repeated when Cloudflare says "not now".
//
// 429 is repeated for every method (the request was refused, not processed), after the server's
// Retry-After when it sends one, else after exponential backoff with jitter. 5xx answers and
// transport failures are repeated for GET, PUT, PATCH and DELETE only: a POST that failed that
// way may have been applied, and the ensure* operations recover from that by looking first.
struct RetryPolicy {
  int max_attempts = 5;  // tries of one request, the first included
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
  // A longer Retry-After is not slept through: Cloudflare's global limit blocks for up to five
  // minutes, and a controller worker is better given back to the workqueue, which requeues.
  std::chrono::milliseconds max_retry_after{std::chrono::seconds(60)};
  // All the sleeping one request may do between its attempts. A wait that would go beyond it
  // is not started: the call fails with its last answer instead (for a 429, with Retry-After).
  std::chrono::milliseconds max_total_sleep{std::chrono::seconds(10)};
};

struct ClientOptions {
  std::string base_url = "https://api.cloudflare.com/client/v4";  // no trailing slash
  std::string api_token;   // sent as a bearer token; never logged, never in a message
  std::string account_id;  // the account that owns the tunnels
  std::string zone_id;     // the zone of the public domain
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  RetryPolicy retry;
  int per_page = 50;  // page size for list requests (Cloudflare's tunnel list allows 1–1000)
  // Deleting a tunnel right after its connections were cleaned up can still meet error 1022
  // while a running cloudflared reconnects or the edge catches up: clean up and try again.
  int delete_attempts = 5;
  std::chrono::milliseconds delete_retry_delay{std::chrono::seconds(2)};
  // Cloudflare's Free plan allows 100 characters in a DNS record comment (paid plans 500).
  std::size_t max_comment_length = 100;
  // Interrupts every wait of this client: once stopped, calls return their last failure instead
  // of sleeping. Pass the reconcile's stop token, so that shutdown is not held up by a backoff.
  std::stop_token stop;
  // Test seams. Empty: an interruptible wait on `stop` and a seeded, thread-safe generator. The
  // `sleep` seam is not interrupted, but `stop` is checked before and after it.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<double()> random;  // uniformly distributed in [0, 1), for jitter
};

struct Tunnel {
  std::string id;  // a UUID
  std::string name;
  std::string status;      // inactive | degraded | healthy | down
  std::string config_src;  // "cloudflare": remotely managed, configured through the API
  std::string created_at;
  std::string deleted_at;  // empty while the tunnel exists
};

struct EnsuredTunnel {
  Tunnel tunnel;
  bool created = false;  // false: an existing tunnel of that name was adopted
};

// One ingress rule of a remotely-managed tunnel: requests for `hostname` go to `service`.
struct IngressRule {
  std::string hostname;  // empty only in the catch-all rule, which the client adds itself
  std::string service;   // e.g. http://el-github-listener.org-acme.svc:8080
  bool operator==(const IngressRule&) const = default;
};

struct DnsRecord {
  std::string id;
  std::string type;
  std::string name;  // fully qualified, as Cloudflare returns it
  std::string content;
  std::string comment;  // empty when the record has none
  bool proxied = false;
};

enum class CnameChange {
  kUnchanged,  // ours already, pointing at the target: no write
  kCreated,
  kAdopted,  // pointed at the target already; our comment was added so that we clean it up later
  kUpdated,  // ours, but it pointed elsewhere or was not proxied: corrected
};

struct EnsuredCname {
  DnsRecord record;
  CnameChange change = CnameChange::kUnchanged;
};

struct CnameDeletion {
  int deleted = 0;
  // CNAMEs of that host carrying another owner's comment (or none): left alone, reported so the
  // caller can say so in an Event.
  std::vector<DnsRecord> left_foreign;
};

class Client {
 public:
  // Fails when the options cannot work (no token, account or zone; a base URL that is not http(s)).
  static kube::Result<std::unique_ptr<Client>> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // --- Tunnels (POST/GET/DELETE /accounts/{account}/cfd_tunnel…) ---

  // A remotely-managed tunnel (config_src "cloudflare") with a fresh 32-byte secret. The secret is
  // not kept: cloudflared runs with the token from tunnelToken(), which works for adopted tunnels too.
  kube::Result<Tunnel> createTunnel(std::string_view name);
  // The live tunnels with exactly this name (empty: all of them), following pagination to the
  // last page. Deleted tunnels are left out (is_deleted=false).
  kube::Result<std::vector<Tunnel>> listTunnels(std::string_view name = {});
  // The live (not deleted) tunnel with exactly this name, if any.
  kube::Result<std::optional<Tunnel>> findTunnel(std::string_view name);
  kube::Result<Tunnel> getTunnel(std::string_view tunnel_id);
  // Replaces the tunnel's ingress with `rules` followed by the catch-all `http_status:404`.
  kube::Result<void> putTunnelConfiguration(std::string_view tunnel_id, const std::vector<IngressRule>& rules);
  // The ingress rules as stored, without the catch-all; empty when never configured.
  kube::Result<std::vector<IngressRule>> getTunnelConfiguration(std::string_view tunnel_id);
  // The token `cloudflared tunnel run --token` needs. A secret: store it in a Secret, never log it.
  kube::Result<std::string> tunnelToken(std::string_view tunnel_id);
  // Disconnects every connector of the tunnel.
  kube::Result<void> cleanupTunnelConnections(std::string_view tunnel_id);
  // One DELETE, nothing else: fails with error 1022 while connections exist. See deleteTunnel().
  kube::Result<void> deleteTunnelOnly(std::string_view tunnel_id);

  // --- DNS records (/zones/{zone}/dns_records…) ---

  kube::Result<std::vector<DnsRecord>> findDnsRecords(std::string_view type, std::string_view name);
  kube::Result<DnsRecord> createCname(std::string_view host, std::string_view target, std::string_view comment);
  // Points the record at `target`, proxied, with `comment` (PATCH: other fields stay).
  kube::Result<DnsRecord> updateCname(std::string_view record_id, std::string_view target, std::string_view comment);
  kube::Result<void> deleteDnsRecord(std::string_view record_id);

  // --- Idempotent operations for the reconciler ---

  // The live tunnel of that name, created only when there is none (also when a concurrent create
  // won the race: Cloudflare's error 1013 leads to adopting the winner).
  kube::Result<EnsuredTunnel> ensureTunnel(std::string_view name);
  // Writes the configuration only when it differs from the stored one; true when it wrote.
  kube::Result<bool> ensureTunnelConfiguration(std::string_view tunnel_id, const std::vector<IngressRule>& rules);
  // A proxied CNAME host → target carrying `owner_comment`. Adopts a record that already points
  // at the target; corrects one of ours that drifted; refuses, with an error saying why, to touch
  // a record pointing elsewhere that carries another comment (or none).
  kube::Result<EnsuredCname> ensureCname(std::string_view host, std::string_view target,
                                         std::string_view owner_comment);
  // Connections cleaned up, then the tunnel deleted; a tunnel already gone (404) is success, and
  // error 1022 after a cleanup is retried (delete_attempts, delete_retry_delay).
  kube::Result<void> deleteTunnel(std::string_view tunnel_id);
  // Deletes the CNAMEs of `host` that carry `owner_comment`, and only those.
  kube::Result<CnameDeletion> deleteCname(std::string_view host, std::string_view owner_comment);

  const ClientOptions& options() const { return options_; }

 private:
  struct Call;
  Client(ClientOptions options, std::unique_ptr<kube::HttpTransport> transport);
  // One request with the retry policy; the decoded envelope's `result` on success.
  kube::Result<kube::Json> call(const Call& call);
  // Every page of a list endpoint; `query` without page/per_page.
  kube::Result<std::vector<kube::Json>> listAll(std::string_view what, const std::string& path, std::string query);
  std::chrono::milliseconds backoff(int attempt);
  // How long to wait before repeating a request that got `response`, or nullopt: do not repeat.
  std::optional<std::chrono::milliseconds> retryDelay(const std::string& method,
                                                      const kube::Result<kube::HttpResponse>& response, int attempt);
  // Sleeps unless `stop` is (or gets) requested; false when stopped.
  bool sleepFor(std::chrono::milliseconds delay);
  std::string accountPath() const;
  std::string zonePath() const;

  ClientOptions options_;
  std::unique_ptr<kube::HttpTransport> transport_;
  struct Jitter;
  std::unique_ptr<Jitter> jitter_;
};

// --- Classifying errors (any kube::Error, from this client or its transport) ---

// Cloudflare's error codes in the answer, in order; empty for transport errors.
std::vector<int> cloudflareCodes(const kube::Error& error);
bool hasCloudflareCode(const kube::Error& error, int code);
bool isNotFound(const kube::Error& error);     // HTTP 404
bool isRateLimited(const kube::Error& error);  // HTTP 429 (still, after the retries)
bool isAuthenticationError(const kube::Error& error);  // 401/403, or Cloudflare code 10000
// Worth retrying later as it is: transport failures, 429 and 5xx.
bool isTransient(const kube::Error& error);
// The server's Retry-After on a 429, when it sent one.
std::optional<std::chrono::seconds> retryAfter(const kube::Error& error);

// Cloudflare error codes the client acts on (the stand-in server and docs/cloudflare.md cite their sources).
inline constexpr int kErrorAuthentication = 10000;
inline constexpr int kErrorTunnelNameExists = 1013;
inline constexpr int kErrorTunnelHasConnections = 1022;

}  // namespace aphex::cloudflare
