#include "aphex/common/egress.h"

#include <set>
#include <utility>

namespace aphex {

using kube::Json;

std::vector<ApiServerEndpoint> apiServerEndpoints(const std::vector<kube::runtime::ObjectPtr>& slices) {
  std::set<std::pair<std::string, int>> found;
  for (const auto& slice : slices) {
    int port = 0;
    for (const auto& entry : slice->value("ports", Json::array())) {
      if (entry.value("name", "") == "https" && entry.contains("port") && entry["port"].is_number_integer()) {
        port = entry["port"].get<int>();
      }
    }
    if (port == 0) continue;
    for (const auto& endpoint : slice->value("endpoints", Json::array())) {
      // Absent `ready` means ready (the EndpointSlice API's rule).
      if (!endpoint.value("conditions", Json::object()).value("ready", true)) continue;
      for (const auto& address : endpoint.value("addresses", Json::array())) {
        if (address.is_string()) found.emplace(address.get<std::string>(), port);
      }
    }
  }
  std::vector<ApiServerEndpoint> endpoints;
  for (const auto& [ip, port] : found) endpoints.push_back({.ip = ip, .port = port});
  return endpoints;
}

Json dnsEgress() {
  return {{"to", Json::array({{{"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", "kube-system"}}}}}}})},
          {"ports", Json::array({{{"protocol", "UDP"}, {"port", 53}}, {{"protocol", "TCP"}, {"port", 53}}})}};
}

Json internetEgress(const std::vector<std::string>& site_denied) {
  Json except = Json::array();
  for (const std::string_view cidr : kDeniedEgressRanges) except.push_back(std::string(cidr));
  for (const std::string& cidr : site_denied) except.push_back(cidr);
  return {{"to", Json::array({{{"ipBlock", {{"cidr", "0.0.0.0/0"}, {"except", std::move(except)}}}}})}};
}

void addApiServerEgress(Json& egress, const std::vector<ApiServerEndpoint>& api_servers) {
  for (const auto& endpoint : api_servers) {
    const std::string cidr = endpoint.ip + (endpoint.ip.find(':') != std::string::npos ? "/128" : "/32");
    egress.push_back({{"to", Json::array({{{"ipBlock", {{"cidr", cidr}}}}})},
                      {"ports", Json::array({{{"protocol", "TCP"}, {"port", endpoint.port}}})}});
  }
}

}  // namespace aphex
