#include "support/fake_cloudflare.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include <httplib.h>

// Which Cloudflare documentation and observed answers this stand-in follows.
//
// Endpoints, request and result shapes: the API reference at developers.cloudflare.com/api —
// "Cloudflare Tunnel" (resources/zero_trust/subresources/tunnels/subresources/cloudflared: create,
// list with name/is_deleted/page/per_page, get, delete, configurations, token, connections) and
// "DNS Records for a Zone" (resources/dns/subresources/records: list with type/name/page/per_page,
// create, patch, overwrite, delete; "A/AAAA records cannot exist on the same name as CNAME
// records"), and the guide "Create a tunnel (API)" (cloudflare-one/connections/connect-networks/
// get-started/create-remote-tunnel-api) for the create answer with credentials_file and token.
// List endpoints exclude deleted tunnels unless is_deleted is given: changelog "Cloudflare Tunnel
// and Networks API will no longer return deleted resources by default starting December 1, 2025".
// Rate limit: "1200 requests per five minutes … HTTP 429" (fundamentals/api/reference/limits) and
// "Retry-After: Number of Seconds until more capacity is available" (changelog "Introducing new
// headers for rate limiting on Cloudflare's API", 2025).
//
// Error codes come from Cloudflare answers quoted in public threads, as the API reference does not
// list them; each constant below names its source. Where no source was found the stand-in chose a
// code and says so: the client under test must not depend on those.
namespace aphex::testing {

namespace {

using Json = nlohmann::json;

constexpr std::string_view kPrefix = "/client/v4";

// "code: 10000, reason: Authentication error" (homeassistant-apps/app-cloudflared#510).
constexpr int kAuthenticationError = 10000;
// "Unauthorized to access requested resource", the answer for an account the token cannot reach.
constexpr int kUnauthorizedResource = 9109;
// "No route for that URI" / "Method DELETE not available for that URI."
// (cloudflare-api/python-cloudflare-v4#17).
constexpr int kNoRoute = 7000;
constexpr int kMethodNotAllowed = 7001;
// "Could not route to …, perhaps your object identifier is invalid?" for an unknown zone.
constexpr int kBadIdentifier = 7003;
// "More than 1200 requests per 300 seconds reached…" (community.cloudflare.com thread 109192).
constexpr int kRateLimited = 10100;
// "You already have a tunnel with this name…" (linuxserver/docker-mods#280).
constexpr int kTunnelNameTaken = 1013;
// "Cannot delete tunnel because it has active connections"
// (cloudflare/terraform-provider-cloudflare#5255, tuanngocptn/nport#16).
constexpr int kTunnelHasConnections = 1022;
// Stand-in choices (no published source found): tunnel not found, invalid tunnel request, 5xx.
constexpr int kTunnelNotFound = 1003;
constexpr int kTunnelBadRequest = 1001;
constexpr int kInternalError = 10001;
// "Request body is invalid." for a body that is not a JSON object.
constexpr int kInvalidBody = 9207;
// "DNS Validation Error", with the cause in error_chain, e.g. 9005 for bad A content
// (simplesurance/cfdns#17); 9007 is the CNAME counterpart.
constexpr int kDnsValidation = 1004;
constexpr int kBadAContent = 9005;
constexpr int kBadCnameContent = 9007;
// "Record does not exist." (zanjie1999/cloudflare-api-v4-ddns#5).
constexpr int kRecordMissing = 81044;
// "An A, AAAA, or CNAME record with that host already exists." (cloudflare/cloudflare-docs#4833).
constexpr int kHostTaken = 81053;
// "A CNAME record with that host already exists." (joshuaavalon/SynologyCloudflareDDNS#29).
constexpr int kCnameTaken = 81054;
// "Record already exists." for an identical record (NewFuture/DDNS#21, timothymiller/cloudflare-ddns#50).
constexpr int kRecordExists = 81057;

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::optional<int> retry_after;
};

Json envelope(bool success, Json errors, Json result) {
  return {{"success", success}, {"errors", std::move(errors)}, {"messages", Json::array()}, {"result", std::move(result)}};
}

Reply ok(Json result) { return {.status = 200, .body = envelope(true, Json::array(), std::move(result)).dump()}; }

Reply fail(int status, int code, const std::string& message, Json chain = nullptr) {
  Json error = {{"code", code}, {"message", message}};
  if (!chain.is_null()) error["error_chain"] = std::move(chain);
  return {.status = status, .body = envelope(false, Json::array({error}), nullptr).dump()};
}

Reply dnsInvalid(int cause, const std::string& message) {
  return fail(400, kDnsValidation, "DNS Validation Error", Json::array({{{"code", cause}, {"message", message}}}));
}

Reply methodNotAllowed(const httplib::Request& request) {
  return fail(405, kMethodNotAllowed, "Method " + request.method + " not available for that URI.");
}

Reply tunnelNotFound() { return fail(404, kTunnelNotFound, "Tunnel not found"); }
Reply recordMissing() { return fail(404, kRecordMissing, "Record does not exist."); }

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(std::max(length, 0)));
  return out;
}

// Bytes that a padded base64 text decodes to, or -1 when it is not base64.
int decodedLength(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return -1;
  std::string out(text.size(), '\0');
  const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                     reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (length < 0) return -1;
  const auto padding = static_cast<int>(std::count(text.end() - 2, text.end(), '='));
  return length - padding;
}

std::string nowRfc3339() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> segments;
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (end > start) segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

int intParam(const httplib::Request& request, const char* name, int fallback) {
  if (!request.has_param(name)) return fallback;
  const std::string value = request.get_param_value(name);
  if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos) return fallback;
  return std::stoi(value);
}

// page/per_page as Cloudflare's list endpoints take them, per_page clamped to the endpoint's range.
Reply page(const std::vector<Json>& items, const httplib::Request& request, int default_per_page, int min_per_page,
           int max_per_page) {
  const int per_page = std::clamp(intParam(request, "per_page", default_per_page), min_per_page, max_per_page);
  const int number = std::max(1, intParam(request, "page", 1));
  const auto total = static_cast<int>(items.size());
  const int total_pages = std::max(1, (total + per_page - 1) / per_page);  // an empty list has one page
  const auto first = std::min(items.size(), static_cast<std::size_t>(number - 1) * static_cast<std::size_t>(per_page));
  const auto last = std::min(items.size(), first + static_cast<std::size_t>(per_page));
  Json result = Json::array();
  for (std::size_t i = first; i < last; ++i) result.push_back(items[i]);
  Json body = envelope(true, Json::array(), result);
  body["result_info"] = {{"page", number}, {"per_page", per_page}, {"count", result.size()},
                         {"total_count", total}, {"total_pages", total_pages}};
  return {.status = 200, .body = body.dump()};
}

Json parseBody(const httplib::Request& request) {
  Json body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  return body.is_object() ? body : Json();
}

}  // namespace

class FakeCloudflare::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) { start(); }
  ~Impl() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(kPrefix); }
  const Options& options() const { return options_; }

  std::string addTunnel(const std::string& name);
  void setConnections(const std::string& id, int count);
  void reconnectAfterCleanup(const std::string& id, int times);
  int connections(const std::string& id) const;
  void hideTunnelsFromListsNext(int count);
  std::optional<Json> tunnel(const std::string& id) const;
  std::vector<Json> tunnels() const;
  std::string tunnelToken(const std::string& id) const;
  int tunnelSecretBytes(const std::string& id) const;
  Json configuration(const std::string& id) const;
  std::string addDnsRecord(const std::string& type, const std::string& name, const std::string& content,
                           const std::string& comment, bool proxied);
  std::vector<Json> dnsRecords() const;
  void failNext(int count, Fault fault);
  std::vector<LoggedRequest> requests() const;
  void clearRequests();

 private:
  struct TunnelState {
    Json object;
    std::string secret;  // base64, as sent or generated
    int connections = 0;
    int reconnects = 0;
    bool ever_connected = false;
    Json config;  // null until configured
    int config_version = 0;
  };

  void start();
  void serve(const httplib::Request& request, httplib::Response& response);
  Reply route(const httplib::Request& request);
  Reply routeTunnels(const httplib::Request& request, const std::vector<std::string>& rest);
  Reply routeTunnel(const httplib::Request& request, TunnelState& tunnel, const std::vector<std::string>& rest);
  Reply routeDns(const httplib::Request& request, const std::vector<std::string>& rest);

  Reply listTunnels(const httplib::Request& request);
  Reply createTunnel(const httplib::Request& request);
  Reply deleteTunnel(TunnelState& tunnel);
  Reply putConfiguration(const httplib::Request& request, TunnelState& tunnel);
  Reply configurationOf(const TunnelState& tunnel) const;
  Reply tokenOf(const TunnelState& tunnel) const;
  std::string tokenFor(const TunnelState& tunnel) const;
  Reply cleanupConnections(TunnelState& tunnel);

  Reply listRecords(const httplib::Request& request);
  Reply createRecord(const httplib::Request& request);
  Reply patchRecord(const httplib::Request& request, Json& record, bool overwrite);
  Reply deleteRecord(const std::string& id);
  std::optional<Reply> validateRecord(const Json& record, const std::string& ignore_id) const;

  TunnelState& newTunnel(const std::string& name, const std::string& config_src, std::string secret);
  TunnelState* findTunnel(const std::string& id);
  const TunnelState* findTunnel(const std::string& id) const;
  Json tunnelView(const TunnelState& tunnel) const;
  Json* findRecord(const std::string& id);
  std::string qualify(const std::string& name) const;
  std::string uuid();
  std::string hexId();
  std::string randomBytes(std::size_t count);

  Options options_;
  mutable std::mutex mutex_;  // guards everything below; every request is handled under it
  std::vector<TunnelState> tunnels_;
  std::vector<Json> records_;
  int faults_left_ = 0;
  int hidden_lists_left_ = 0;
  Fault fault_;
  std::vector<LoggedRequest> log_;
  std::mt19937_64 random_{std::random_device{}()};

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// --- Serving ---

void FakeCloudflare::Impl::start() {
  server_.new_task_queue = [] { return new httplib::ThreadPool(4); };
  // Headers and body leave in separate writes; without this, Nagle's algorithm and delayed ACKs
  // add some 40 ms to every answer on loopback.
  server_.set_tcp_nodelay(true);
  // One handler per method for every path: routing is done here, after httplib read the body.
  const auto handler = [this](const httplib::Request& request, httplib::Response& response) { serve(request, response); };
  server_.Get(".*", handler);
  server_.Post(".*", handler);
  server_.Put(".*", handler);
  server_.Patch(".*", handler);
  server_.Delete(".*", handler);
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // stop() is lost if it comes before the accept loop starts; wait for it.
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FakeCloudflare::Impl::serve(const httplib::Request& request, httplib::Response& response) {
  std::lock_guard lock(mutex_);
  Reply reply;
  if (faults_left_ > 0) {
    --faults_left_;
    reply = fault_.status == 429
                ? fail(429, kRateLimited, "More than 1200 requests per 300 seconds reached. Please wait and "
                                          "consider throttling your request speed")
                : fail(fault_.status, kInternalError, "Internal server error");
    if (fault_.html_body) {
      reply.body = "<html><head><title>" + std::to_string(fault_.status) + "</title></head><body>cloudflare</body></html>";
      reply.content_type = "text/html";
    }
    reply.retry_after = fault_.retry_after_seconds;
  } else if (request.get_header_value("Authorization") != "Bearer " + options_.token) {
    reply = fail(403, kAuthenticationError, "Authentication error");
  } else {
    reply = route(request);
  }
  log_.push_back({.method = request.method, .target = request.target, .status = reply.status});
  response.status = reply.status;
  if (reply.retry_after) response.set_header("Retry-After", std::to_string(*reply.retry_after));
  response.set_content(reply.body, reply.content_type.c_str());
}

Reply FakeCloudflare::Impl::route(const httplib::Request& request) {
  if (request.path.rfind(kPrefix, 0) != 0) return fail(404, kNoRoute, "No route for that URI");
  const std::vector<std::string> segments = split(std::string_view(request.path).substr(kPrefix.size()));
  if (segments.size() >= 3 && segments[0] == "accounts") {
    if (segments[1] != options_.account_id) return fail(403, kUnauthorizedResource, "Unauthorized to access requested resource");
    return routeTunnels(request, {segments.begin() + 2, segments.end()});
  }
  if (segments.size() >= 3 && segments[0] == "zones") {
    if (segments[1] != options_.zone_id) {
      return fail(404, kBadIdentifier, "Could not route to " + request.path + ", perhaps your object identifier is invalid?");
    }
    return routeDns(request, {segments.begin() + 2, segments.end()});
  }
  return fail(404, kNoRoute, "No route for that URI");
}

// --- Tunnels ---

Reply FakeCloudflare::Impl::routeTunnels(const httplib::Request& request, const std::vector<std::string>& rest) {
  if (rest[0] != "cfd_tunnel") return fail(404, kNoRoute, "No route for that URI");
  if (rest.size() == 1) {
    if (request.method == "GET") return listTunnels(request);
    if (request.method == "POST") return createTunnel(request);
    return methodNotAllowed(request);
  }
  TunnelState* tunnel = findTunnel(rest[1]);
  // A deleted tunnel can still be read, as Cloudflare lists it with deleted_at; nothing else.
  if (tunnel == nullptr || (!tunnel->object["deleted_at"].is_null() && !(rest.size() == 2 && request.method == "GET"))) {
    return tunnelNotFound();
  }
  return routeTunnel(request, *tunnel, {rest.begin() + 2, rest.end()});
}

Reply FakeCloudflare::Impl::routeTunnel(const httplib::Request& request, TunnelState& tunnel,
                                        const std::vector<std::string>& rest) {
  const std::string sub = rest.empty() ? "" : rest[0];
  if (rest.size() > 1) return fail(404, kNoRoute, "No route for that URI");
  if (sub.empty() && request.method == "GET") return ok(tunnelView(tunnel));
  if (sub.empty() && request.method == "DELETE") return deleteTunnel(tunnel);
  if (sub == "configurations" && request.method == "GET") return configurationOf(tunnel);
  if (sub == "configurations" && request.method == "PUT") return putConfiguration(request, tunnel);
  if (sub == "token" && request.method == "GET") return tokenOf(tunnel);
  if (sub == "connections" && request.method == "DELETE") return cleanupConnections(tunnel);
  if (sub == "connections" && request.method == "GET") {
    Json connectors = Json::array();
    for (int i = 0; i < tunnel.connections; ++i) connectors.push_back({{"id", "connector-" + std::to_string(i)}});
    return ok(connectors);
  }
  if (sub.empty() || sub == "configurations" || sub == "token" || sub == "connections") return methodNotAllowed(request);
  return fail(404, kNoRoute, "No route for that URI");
}

Reply FakeCloudflare::Impl::listTunnels(const httplib::Request& request) {
  const std::string is_deleted = request.has_param("is_deleted") ? request.get_param_value("is_deleted") : "false";
  std::vector<Json> matching;
  if (hidden_lists_left_ > 0) {
    --hidden_lists_left_;
    return page(matching, request, 20, 1, 1000);
  }
  for (const TunnelState& tunnel : tunnels_) {
    const bool deleted = !tunnel.object["deleted_at"].is_null();
    if (is_deleted == "true" && !deleted) continue;
    if (is_deleted == "false" && deleted) continue;
    if (request.has_param("name") && tunnel.object["name"] != request.get_param_value("name")) continue;
    if (request.has_param("uuid") && tunnel.object["id"] != request.get_param_value("uuid")) continue;
    matching.push_back(tunnelView(tunnel));
  }
  return page(matching, request, 20, 1, 1000);
}

Reply FakeCloudflare::Impl::createTunnel(const httplib::Request& request) {
  const Json body = parseBody(request);
  if (body.is_null()) return fail(400, kInvalidBody, "Request body is invalid.");
  if (!body.contains("name") || !body["name"].is_string() || body["name"].get<std::string>().empty()) {
    return fail(400, kTunnelBadRequest, "Tunnel name is required");
  }
  const std::string name = body["name"].get<std::string>();
  std::string config_src = "local";  // the API's default
  if (body.contains("config_src")) config_src = body["config_src"].is_string() ? body["config_src"].get<std::string>() : "";
  if (config_src != "local" && config_src != "cloudflare") {
    return fail(400, kTunnelBadRequest, "config_src must be \"local\" or \"cloudflare\"");
  }
  std::string secret;
  if (body.contains("tunnel_secret")) {
    secret = body["tunnel_secret"].is_string() ? body["tunnel_secret"].get<std::string>() : "";
    if (decodedLength(secret) < 32) return fail(400, kTunnelBadRequest, "tunnel_secret must be at least 32 bytes, base64 encoded");
  } else if (config_src == "local") {
    return fail(400, kTunnelBadRequest, "tunnel_secret is required for a locally-managed tunnel");
  }
  for (const TunnelState& tunnel : tunnels_) {
    if (tunnel.object["name"] == name && tunnel.object["deleted_at"].is_null()) {
      return fail(409, kTunnelNameTaken, "You already have a tunnel with this name. Delete the existing tunnel, "
                                         "or choose a different name for your new tunnel");
    }
  }
  TunnelState& created = newTunnel(name, config_src, std::move(secret));
  Json result = tunnelView(created);
  // As in the "Create a tunnel (API)" guide: the create answer also carries credentials and token.
  result["credentials_file"] = {{"AccountTag", options_.account_id}, {"TunnelID", created.object["id"]},
                                {"TunnelName", name}, {"TunnelSecret", created.secret}};
  if (config_src == "cloudflare") result["token"] = tokenFor(created);
  return ok(result);
}

Reply FakeCloudflare::Impl::deleteTunnel(TunnelState& tunnel) {
  if (tunnel.connections > 0) {
    return fail(400, kTunnelHasConnections, "Cannot delete tunnel because it has active connections");
  }
  tunnel.object["deleted_at"] = nowRfc3339();
  return ok(tunnelView(tunnel));
}

Reply FakeCloudflare::Impl::putConfiguration(const httplib::Request& request, TunnelState& tunnel) {
  const Json body = parseBody(request);
  if (body.is_null() || !body.contains("config") || !body["config"].is_object()) {
    return fail(400, kInvalidBody, "Request body is invalid.");
  }
  const Json& config = body["config"];
  if (!config.contains("ingress") || !config["ingress"].is_array() || config["ingress"].empty()) {
    return fail(400, kTunnelBadRequest, "Validation failed: config.ingress must list at least one rule");
  }
  const Json& ingress = config["ingress"];
  for (const Json& rule : ingress) {
    if (!rule.is_object() || !rule.contains("service") || !rule["service"].is_string()) {
      return fail(400, kTunnelBadRequest, "Validation failed: every ingress rule needs a service");
    }
  }
  // cloudflared's own rule: the last rule must match every request.
  if (ingress.back().contains("hostname") || ingress.back().contains("path")) {
    return fail(400, kTunnelBadRequest, "Validation failed: the last ingress rule must match all URLs (no "
                                        "hostname or path)");
  }
  tunnel.config = config;
  ++tunnel.config_version;
  return configurationOf(tunnel);
}

Reply FakeCloudflare::Impl::configurationOf(const TunnelState& tunnel) const {
  return ok({{"tunnel_id", tunnel.object["id"]}, {"account_id", options_.account_id},
             {"version", tunnel.config_version}, {"config", tunnel.config}, {"source", "cloudflare"},
             {"created_at", tunnel.object["created_at"]}});
}

// The token cloudflared runs with: base64 of {"a": account, "t": tunnel id, "s": secret}.
std::string FakeCloudflare::Impl::tokenFor(const TunnelState& tunnel) const {
  const Json token = {{"a", options_.account_id}, {"t", tunnel.object["id"]}, {"s", tunnel.secret}};
  return base64(token.dump());
}

Reply FakeCloudflare::Impl::tokenOf(const TunnelState& tunnel) const { return ok(tokenFor(tunnel)); }

Reply FakeCloudflare::Impl::cleanupConnections(TunnelState& tunnel) {
  if (tunnel.reconnects > 0) {
    --tunnel.reconnects;  // cleaned up, and the running connector came straight back
  } else {
    tunnel.connections = 0;
  }
  return ok(nullptr);
}

// --- DNS records ---

Reply FakeCloudflare::Impl::routeDns(const httplib::Request& request, const std::vector<std::string>& rest) {
  if (rest[0] != "dns_records" || rest.size() > 2) return fail(404, kNoRoute, "No route for that URI");
  if (rest.size() == 1) {
    if (request.method == "GET") return listRecords(request);
    if (request.method == "POST") return createRecord(request);
    return methodNotAllowed(request);
  }
  Json* record = findRecord(rest[1]);
  if (record == nullptr) return recordMissing();
  if (request.method == "GET") return ok(*record);
  if (request.method == "PATCH") return patchRecord(request, *record, false);
  if (request.method == "PUT") return patchRecord(request, *record, true);
  if (request.method == "DELETE") return deleteRecord(rest[1]);
  return methodNotAllowed(request);
}

Reply FakeCloudflare::Impl::listRecords(const httplib::Request& request) {
  std::string name = request.has_param("name.exact") ? request.get_param_value("name.exact")
                                                     : request.get_param_value("name");
  name = name.empty() ? name : qualify(name);
  std::vector<Json> matching;
  for (const Json& record : records_) {
    if (request.has_param("type") && record["type"] != request.get_param_value("type")) continue;
    if (!name.empty() && record["name"] != name) continue;
    matching.push_back(record);
  }
  // DNS lists page by 100 by default and accept 5 to 5,000,000 per page (API reference).
  return page(matching, request, 100, 5, 5000000);
}

Reply FakeCloudflare::Impl::createRecord(const httplib::Request& request) {
  Json body = parseBody(request);
  if (body.is_null()) return fail(400, kInvalidBody, "Request body is invalid.");
  Json record = {{"id", hexId()}, {"zone_id", options_.zone_id}, {"zone_name", options_.zone_name},
                 {"type", body.value("type", Json())}, {"name", body.value("name", Json())},
                 {"content", body.value("content", Json())}, {"proxiable", true},
                 {"proxied", body.value("proxied", Json(false))}, {"ttl", body.value("ttl", Json(1))},
                 {"comment", body.value("comment", Json())}, {"tags", Json::array()}, {"meta", Json::object()},
                 {"created_on", nowRfc3339()}, {"modified_on", nowRfc3339()}};
  if (auto invalid = validateRecord(record, ""); invalid) return *invalid;
  record["name"] = qualify(record["name"].get<std::string>());
  records_.push_back(record);
  return ok(record);
}

Reply FakeCloudflare::Impl::patchRecord(const httplib::Request& request, Json& record, bool overwrite) {
  const Json body = parseBody(request);
  if (body.is_null()) return fail(400, kInvalidBody, "Request body is invalid.");
  Json updated = record;
  if (overwrite) updated["comment"] = nullptr;  // PUT replaces; omitted optional fields are cleared
  for (const char* field : {"type", "name", "content", "proxied", "ttl", "comment"}) {
    if (body.contains(field)) updated[field] = body[field];
  }
  if (auto invalid = validateRecord(updated, record["id"].get<std::string>()); invalid) return *invalid;
  updated["name"] = qualify(updated["name"].get<std::string>());
  updated["modified_on"] = nowRfc3339();
  record = updated;
  return ok(record);
}

Reply FakeCloudflare::Impl::deleteRecord(const std::string& id) {
  std::erase_if(records_, [&id](const Json& record) { return record["id"] == id; });
  return ok({{"id", id}});
}

// Field checks and the same-name rules: one CNAME per name, and no A/AAAA beside a CNAME.
std::optional<Reply> FakeCloudflare::Impl::validateRecord(const Json& record, const std::string& ignore_id) const {
  const auto text = [&record](const char* field) {
    return record[field].is_string() ? record[field].get<std::string>() : std::string();
  };
  const std::string type = text("type");
  if (type != "A" && type != "AAAA" && type != "CNAME" && type != "TXT") return dnsInvalid(9004, "Invalid record type.");
  if (text("name").empty() || text("name").size() > 255) return dnsInvalid(9000, "DNS name is invalid.");
  const std::string content = text("content");
  if (type == "CNAME" && (content.empty() || content.find_first_of(" /:") != std::string::npos)) {
    return dnsInvalid(kBadCnameContent, "Content for CNAME record is invalid.");
  }
  if (type == "A" && std::count(content.begin(), content.end(), '.') != 3) {
    return dnsInvalid(kBadAContent, "Content for A record must be a valid IPv4 address.");
  }
  if (!record["proxied"].is_boolean()) return fail(400, kInvalidBody, "Request body is invalid.");
  const std::string name = qualify(text("name"));
  for (const Json& other : records_) {
    if (other["id"] == ignore_id || other["name"] != name) continue;
    const std::string other_type = other["type"].get<std::string>();
    if (other_type == type && other["content"] == content) return fail(400, kRecordExists, "Record already exists.");
    if (type == "CNAME" && (other_type == "A" || other_type == "AAAA" || other_type == "CNAME")) {
      return fail(400, kHostTaken, "An A, AAAA, or CNAME record with that host already exists.");
    }
    if ((type == "A" || type == "AAAA") && other_type == "CNAME") {
      return fail(400, kCnameTaken, "A CNAME record with that host already exists.");
    }
  }
  return std::nullopt;
}

// --- State helpers ---

FakeCloudflare::Impl::TunnelState& FakeCloudflare::Impl::newTunnel(const std::string& name,
                                                                   const std::string& config_src, std::string secret) {
  TunnelState tunnel;
  // A remotely-managed tunnel created without a secret gets one from Cloudflare.
  tunnel.secret = secret.empty() ? base64(randomBytes(32)) : std::move(secret);
  const std::string created = nowRfc3339();
  tunnel.object = {{"id", uuid()}, {"account_tag", options_.account_id}, {"name", name},
                   {"created_at", created}, {"deleted_at", nullptr}, {"connections", Json::array()},
                   {"conns_active_at", nullptr}, {"conns_inactive_at", created}, {"tun_type", "cfd_tunnel"},
                   {"metadata", Json::object()}, {"config_src", config_src},
                   {"remote_config", config_src == "cloudflare"}};
  tunnels_.push_back(std::move(tunnel));
  return tunnels_.back();
}

FakeCloudflare::Impl::TunnelState* FakeCloudflare::Impl::findTunnel(const std::string& id) {
  for (TunnelState& tunnel : tunnels_) {
    if (tunnel.object["id"] == id) return &tunnel;
  }
  return nullptr;
}

const FakeCloudflare::Impl::TunnelState* FakeCloudflare::Impl::findTunnel(const std::string& id) const {
  return const_cast<Impl*>(this)->findTunnel(id);
}

// The tunnel as the API shows it; status follows the connections (inactive: never connected).
Json FakeCloudflare::Impl::tunnelView(const TunnelState& tunnel) const {
  Json view = tunnel.object;
  view["status"] = tunnel.connections > 0 ? "healthy" : tunnel.ever_connected ? "down" : "inactive";
  return view;
}

Json* FakeCloudflare::Impl::findRecord(const std::string& id) {
  for (Json& record : records_) {
    if (record["id"] == id) return &record;
  }
  return nullptr;
}

// Record names are stored fully qualified and in lower case, as Cloudflare returns them.
std::string FakeCloudflare::Impl::qualify(const std::string& name) const {
  std::string fqdn = lowercase(name);
  if (!fqdn.empty() && fqdn.back() == '.') fqdn.pop_back();
  const std::string zone = lowercase(options_.zone_name);
  if (fqdn == "@") return zone;
  const bool in_zone = fqdn == zone || (fqdn.size() > zone.size() && fqdn.ends_with("." + zone));
  return in_zone ? fqdn : fqdn + "." + zone;
}

std::string FakeCloudflare::Impl::randomBytes(std::size_t count) {
  std::string bytes(count, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random_() & 0xffU);
  return bytes;
}

std::string FakeCloudflare::Impl::uuid() {
  std::string bytes = randomBytes(16);
  bytes[6] = static_cast<char>((static_cast<unsigned char>(bytes[6]) & 0x0fU) | 0x40U);  // version 4
  bytes[8] = static_cast<char>((static_cast<unsigned char>(bytes[8]) & 0x3fU) | 0x80U);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    const auto byte = static_cast<unsigned char>(bytes[i]);
    text += kHex[byte >> 4U];
    text += kHex[byte & 0x0fU];
  }
  return text;
}

std::string FakeCloudflare::Impl::hexId() {
  std::string id = uuid();
  std::erase(id, '-');
  return id;  // 32 hex digits, like Cloudflare's record ids
}

// --- Test hooks ---

std::string FakeCloudflare::Impl::addTunnel(const std::string& name) {
  std::lock_guard lock(mutex_);
  return newTunnel(name, "cloudflare", "").object["id"].get<std::string>();
}

void FakeCloudflare::Impl::setConnections(const std::string& id, int count) {
  std::lock_guard lock(mutex_);
  if (TunnelState* tunnel = findTunnel(id)) {
    tunnel->connections = count;
    tunnel->ever_connected = tunnel->ever_connected || count > 0;
  }
}

void FakeCloudflare::Impl::reconnectAfterCleanup(const std::string& id, int times) {
  std::lock_guard lock(mutex_);
  if (TunnelState* tunnel = findTunnel(id)) tunnel->reconnects = times;
}

int FakeCloudflare::Impl::connections(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const TunnelState* tunnel = findTunnel(id);
  return tunnel ? tunnel->connections : 0;
}

void FakeCloudflare::Impl::hideTunnelsFromListsNext(int count) {
  std::lock_guard lock(mutex_);
  hidden_lists_left_ = count;
}

std::optional<Json> FakeCloudflare::Impl::tunnel(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const TunnelState* tunnel = findTunnel(id);
  if (tunnel == nullptr) return std::nullopt;
  return tunnelView(*tunnel);
}

std::vector<Json> FakeCloudflare::Impl::tunnels() const {
  std::lock_guard lock(mutex_);
  std::vector<Json> all;
  for (const TunnelState& tunnel : tunnels_) all.push_back(tunnelView(tunnel));
  return all;
}

std::string FakeCloudflare::Impl::tunnelToken(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const TunnelState* tunnel = findTunnel(id);
  return tunnel ? tokenFor(*tunnel) : std::string();
}

int FakeCloudflare::Impl::tunnelSecretBytes(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const TunnelState* tunnel = findTunnel(id);
  return tunnel ? std::max(0, decodedLength(tunnel->secret)) : 0;
}

Json FakeCloudflare::Impl::configuration(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const TunnelState* tunnel = findTunnel(id);
  return tunnel ? tunnel->config : Json();
}

std::string FakeCloudflare::Impl::addDnsRecord(const std::string& type, const std::string& name,
                                               const std::string& content, const std::string& comment, bool proxied) {
  std::lock_guard lock(mutex_);
  Json record = {{"id", hexId()}, {"zone_id", options_.zone_id}, {"zone_name", options_.zone_name},
                 {"type", type}, {"name", qualify(name)}, {"content", content}, {"proxiable", true},
                 {"proxied", proxied}, {"ttl", 1}, {"comment", comment.empty() ? Json() : Json(comment)},
                 {"tags", Json::array()}, {"meta", Json::object()}, {"created_on", nowRfc3339()},
                 {"modified_on", nowRfc3339()}};
  records_.push_back(record);
  return record["id"].get<std::string>();
}

std::vector<Json> FakeCloudflare::Impl::dnsRecords() const {
  std::lock_guard lock(mutex_);
  return records_;
}

void FakeCloudflare::Impl::failNext(int count, Fault fault) {
  std::lock_guard lock(mutex_);
  faults_left_ = count;
  fault_ = fault;
}

std::vector<FakeCloudflare::LoggedRequest> FakeCloudflare::Impl::requests() const {
  std::lock_guard lock(mutex_);
  return log_;
}

void FakeCloudflare::Impl::clearRequests() {
  std::lock_guard lock(mutex_);
  log_.clear();
}

// --- The public face ---

FakeCloudflare::FakeCloudflare(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeCloudflare::FakeCloudflare() : FakeCloudflare(Options{}) {}
FakeCloudflare::~FakeCloudflare() = default;

std::string FakeCloudflare::baseUrl() const { return impl_->baseUrl(); }
const FakeCloudflare::Options& FakeCloudflare::options() const { return impl_->options(); }
std::string FakeCloudflare::addTunnel(const std::string& name) { return impl_->addTunnel(name); }
void FakeCloudflare::setConnections(const std::string& id, int count) { impl_->setConnections(id, count); }
void FakeCloudflare::reconnectAfterCleanup(const std::string& id, int times) { impl_->reconnectAfterCleanup(id, times); }
int FakeCloudflare::connections(const std::string& id) const { return impl_->connections(id); }
void FakeCloudflare::hideTunnelsFromListsNext(int count) { impl_->hideTunnelsFromListsNext(count); }
std::optional<nlohmann::json> FakeCloudflare::tunnel(const std::string& id) const { return impl_->tunnel(id); }
std::vector<nlohmann::json> FakeCloudflare::tunnels() const { return impl_->tunnels(); }
std::string FakeCloudflare::tunnelToken(const std::string& id) const { return impl_->tunnelToken(id); }
int FakeCloudflare::tunnelSecretBytes(const std::string& id) const { return impl_->tunnelSecretBytes(id); }
nlohmann::json FakeCloudflare::configuration(const std::string& id) const { return impl_->configuration(id); }
std::string FakeCloudflare::addDnsRecord(const std::string& type, const std::string& name, const std::string& content,
                                         const std::string& comment, bool proxied) {
  return impl_->addDnsRecord(type, name, content, comment, proxied);
}
std::vector<nlohmann::json> FakeCloudflare::dnsRecords() const { return impl_->dnsRecords(); }
void FakeCloudflare::failNext(int count, Fault fault) { impl_->failNext(count, fault); }
std::vector<FakeCloudflare::LoggedRequest> FakeCloudflare::requests() const { return impl_->requests(); }
void FakeCloudflare::clearRequests() { impl_->clearRequests(); }

int FakeCloudflare::requestCount(std::string_view method, std::string_view target_prefix) const {
  const std::string prefix = std::string(kPrefix) + std::string(target_prefix);
  const auto logged = requests();
  return static_cast<int>(std::count_if(logged.begin(), logged.end(), [&](const LoggedRequest& request) {
    return request.method == method && request.target.rfind(prefix, 0) == 0;
  }));
}

}  // namespace aphex::testing
