// A stand-in for Cloudflare's API v4, for tests: the cfd_tunnel and dns_records endpoints the
// Aphex controller uses, in memory, on a random loopback port.
//
// It follows Cloudflare's published behaviour where that is documented or publicly observed — the
// response envelope (success, errors, messages, result, result_info), page/per_page pagination,
// bearer-token authentication, error codes such as 1013 (tunnel name taken), 1022 (tunnel has
// active connections), 10000 (authentication), 81044/81053/81054/81057 (DNS record missing or
// conflicting), 9207 (invalid body) — and says where it had to choose. Sources for each are cited
// next to the code in fake_cloudflare.cc and listed in docs/cloudflare.md.
//
// Test hooks add tunnels, DNS records and active connections, make connections come back after a
// clean-up (a cloudflared still running), and inject faults (429 with Retry-After, 5xx). Every
// request is logged as method, target (path and query) and status — never headers or bodies, so
// never the token or a tunnel secret.
//
// Thread safety: the server answers on its own threads; every method may be called concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace aphex::testing {

class FakeCloudflare {
 public:
  using Json = nlohmann::json;

  struct Options {
    std::string token = "cf-test-token-7f3a9c";
    std::string account_id = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
    std::string zone_id = "f9e8d7c6b5a4938271605f4e3d2c1b0a";
    std::string zone_name = "example.test";
  };

  // What an injected fault answers instead of the API.
  struct Fault {
    int status = 500;
    std::optional<int> retry_after_seconds;  // sent as Retry-After when set
    bool html_body = false;  // an edge error page instead of Cloudflare's JSON envelope
  };

  struct LoggedRequest {
    std::string method;
    std::string target;  // path and query as received
    int status = 0;
  };

  explicit FakeCloudflare(Options options);
  FakeCloudflare();
  ~FakeCloudflare();
  FakeCloudflare(const FakeCloudflare&) = delete;
  FakeCloudflare& operator=(const FakeCloudflare&) = delete;

  // http://127.0.0.1:<port>/client/v4
  std::string baseUrl() const;
  const Options& options() const;

  // --- Tunnels ---
  // A remotely-managed tunnel as if created earlier; returns its id.
  std::string addTunnel(const std::string& name);
  void setConnections(const std::string& tunnel_id, int count);
  // The next `times` connection clean-ups of the tunnel leave its connections in place, as when
  // a cloudflared replica still running reconnects at once.
  void reconnectAfterCleanup(const std::string& tunnel_id, int times);
  int connections(const std::string& tunnel_id) const;
  // The next `count` tunnel lists come back empty, as a listing that lags behind a create made
  // a moment ago by someone else (the race ensureTunnel must survive).
  void hideTunnelsFromListsNext(int count);
  // The tunnel as the API returns it (deleted ones too), if it ever existed.
  std::optional<Json> tunnel(const std::string& tunnel_id) const;
  std::vector<Json> tunnels() const;  // all, deleted included, in creation order
  // The token the API hands out for the tunnel: base64 of {"a": account, "t": id, "s": secret},
  // the shape cloudflared's --token takes. Empty for an unknown tunnel.
  std::string tunnelToken(const std::string& tunnel_id) const;
  // How many bytes the tunnel's secret decodes to (0 when it has none).
  int tunnelSecretBytes(const std::string& tunnel_id) const;
  // The stored configuration ({"ingress": […]}), null when never configured.
  Json configuration(const std::string& tunnel_id) const;

  // --- DNS records ---
  // Returns the record id. `name` may be relative to the zone.
  std::string addDnsRecord(const std::string& type, const std::string& name, const std::string& content,
                           const std::string& comment = {}, bool proxied = false);
  std::vector<Json> dnsRecords() const;

  // --- Faults and the request log ---
  // The next `count` requests (any endpoint, before authentication) answer with `fault`.
  void failNext(int count, Fault fault);
  std::vector<LoggedRequest> requests() const;
  // How many logged requests had this method and a target starting with `target_prefix`
  // (relative to /client/v4, e.g. "/accounts/<id>/cfd_tunnel").
  int requestCount(std::string_view method, std::string_view target_prefix) const;
  void clearRequests();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aphex::testing
