// Tunnel endpoints: /accounts/{account}/cfd_tunnel and its sub-resources.
#include "aphex/cloudflare/client.h"
#include "cloudflare/internal.h"

namespace aphex::cloudflare {

namespace {

using kube::Json;

// What a remotely-managed tunnel answers when no rule matched; cloudflared requires the last
// rule to match everything.
constexpr const char* kCatchAllService = "http_status:404";

std::string inQuotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

kube::Result<void> checkRules(std::string_view what, const std::vector<IngressRule>& rules) {
  for (const IngressRule& rule : rules) {
    if (rule.hostname.empty() || rule.service.empty()) {
      return detail::invalidArgument(what, "every ingress rule needs a hostname and a service (the catch-all "
                                           "rule is added by the client)");
    }
  }
  return {};
}

// The tunnel in a success envelope; one without an id would be adopted as "" and break later.
kube::Result<Tunnel> tunnelIn(std::string_view what, Json& envelope) {
  Tunnel tunnel = detail::tunnelFrom(envelope["result"]);
  if (tunnel.id.empty()) {
    return kube::Error{.kind = kube::ErrorKind::kDecode,
                       .message = std::string(what) + ": Cloudflare's answer holds no tunnel id", .status = {}};
  }
  return tunnel;
}

Json configurationBody(const std::vector<IngressRule>& rules) {
  Json ingress = Json::array();
  for (const IngressRule& rule : rules) ingress.push_back({{"hostname", rule.hostname}, {"service", rule.service}});
  ingress.push_back({{"service", kCatchAllService}});
  return {{"config", {{"ingress", std::move(ingress)}}}};
}

std::vector<IngressRule> rulesFrom(const Json& configuration) {
  std::vector<IngressRule> rules;
  const Json* ingress = nullptr;
  if (configuration.is_object() && configuration.contains("config") && configuration["config"].is_object()) {
    const Json& config = configuration["config"];
    if (config.contains("ingress") && config["ingress"].is_array()) ingress = &config["ingress"];
  }
  if (ingress == nullptr) return rules;
  for (const Json& rule : *ingress) {
    IngressRule parsed{.hostname = detail::stringField(rule, "hostname"), .service = detail::stringField(rule, "service")};
    if (!parsed.hostname.empty()) rules.push_back(std::move(parsed));  // the catch-all is ours to add
  }
  return rules;
}

}  // namespace

kube::Result<Tunnel> Client::createTunnel(std::string_view name) {
  const std::string what = "creating tunnel " + inQuotes(name);
  if (name.empty()) return detail::invalidArgument(what, "the tunnel name is empty");
  auto secret = detail::newTunnelSecret();
  if (!secret) return std::move(secret).error();
  auto envelope = call({.what = what, .method = "POST", .path = accountPath() + "/cfd_tunnel",
                        .body = Json{{"name", name}, {"config_src", "cloudflare"}, {"tunnel_secret", *secret}}});
  if (!envelope) return std::move(envelope).error();
  return tunnelIn(what, *envelope);
}

kube::Result<std::vector<Tunnel>> Client::listTunnels(std::string_view name) {
  // Explicit, although it is the default since December 2025: older behaviour listed deleted
  // tunnels too, and a deleted tunnel must never be adopted.
  std::string query = "?is_deleted=false";
  if (!name.empty()) query += "&name=" + detail::percentEncode(name);
  const std::string what = name.empty() ? "listing tunnels" : "looking up tunnel " + inQuotes(name);
  auto items = listAll(what, accountPath() + "/cfd_tunnel", query);
  if (!items) return std::move(items).error();
  std::vector<Tunnel> tunnels;
  for (const Json& item : *items) {
    Tunnel tunnel = detail::tunnelFrom(item);
    // The filters are the server's; checking again keeps a looser server match from adopting
    // someone else's tunnel or a deleted one.
    if ((!name.empty() && tunnel.name != name) || !tunnel.deleted_at.empty()) continue;
    tunnels.push_back(std::move(tunnel));
  }
  return tunnels;
}

kube::Result<std::optional<Tunnel>> Client::findTunnel(std::string_view name) {
  if (name.empty()) return detail::invalidArgument("looking up a tunnel", "the tunnel name is empty");
  auto tunnels = listTunnels(name);
  if (!tunnels) return std::move(tunnels).error();
  if (tunnels->empty()) return std::optional<Tunnel>();
  return std::optional<Tunnel>(std::move(tunnels->front()));
}

kube::Result<Tunnel> Client::getTunnel(std::string_view tunnel_id) {
  const std::string what = "reading tunnel " + std::string(tunnel_id);
  auto envelope = call({.what = what, .path = accountPath() + "/cfd_tunnel/" + detail::percentEncode(tunnel_id)});
  if (!envelope) return std::move(envelope).error();
  return tunnelIn(what, *envelope);
}

kube::Result<void> Client::putTunnelConfiguration(std::string_view tunnel_id, const std::vector<IngressRule>& rules) {
  const std::string what = "configuring tunnel " + std::string(tunnel_id);
  if (auto valid = checkRules(what, rules); !valid) return valid;
  auto envelope = call({.what = what, .method = "PUT",
                        .path = accountPath() + "/cfd_tunnel/" + detail::percentEncode(tunnel_id) + "/configurations",
                        .body = configurationBody(rules)});
  if (!envelope) return std::move(envelope).error();
  return {};
}

kube::Result<std::vector<IngressRule>> Client::getTunnelConfiguration(std::string_view tunnel_id) {
  auto envelope = call({.what = "reading the configuration of tunnel " + std::string(tunnel_id),
                        .path = accountPath() + "/cfd_tunnel/" + detail::percentEncode(tunnel_id) + "/configurations"});
  if (!envelope) return std::move(envelope).error();
  return rulesFrom((*envelope)["result"]);
}

kube::Result<std::string> Client::tunnelToken(std::string_view tunnel_id) {
  const std::string what = "reading the token of tunnel " + std::string(tunnel_id);
  auto envelope = call({.what = what, .path = accountPath() + "/cfd_tunnel/" + detail::percentEncode(tunnel_id) + "/token"});
  if (!envelope) return std::move(envelope).error();
  const Json& result = (*envelope)["result"];
  if (!result.is_string() || result.get<std::string>().empty()) {
    return kube::Error{.kind = kube::ErrorKind::kDecode, .message = what + ": the answer holds no token", .status = {}};
  }
  return result.get<std::string>();
}

kube::Result<void> Client::cleanupTunnelConnections(std::string_view tunnel_id) {
  auto envelope = call({.what = "cleaning up the connections of tunnel " + std::string(tunnel_id), .method = "DELETE",
                        .path = accountPath() + "/cfd_tunnel/" + detail::percentEncode(tunnel_id) + "/connections"});
  if (!envelope) return std::move(envelope).error();
  return {};
}

kube::Result<void> Client::deleteTunnelOnly(std::string_view tunnel_id) {
  // The API reference describes the DELETE with an (empty) JSON object body.
  auto envelope = call({.what = "deleting tunnel " + std::string(tunnel_id), .method = "DELETE",
                        .path = accountPath() + "/cfd_tunnel/" + detail::percentEncode(tunnel_id),
                        .body = Json::object()});
  if (!envelope) return std::move(envelope).error();
  return {};
}

}  // namespace aphex::cloudflare
