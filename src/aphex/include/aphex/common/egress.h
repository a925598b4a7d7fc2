// What every Aphex NetworkPolicy lets out, as pure builders: cluster DNS, the internet without
// the ranges where pod, service, node, load-balancer and metadata networks live, and the API
// server by its real addresses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"
#include "runtime/store.h"

namespace aphex {

// Where the Kubernetes API server really listens: the endpoints of the `default/kubernetes`
// Service. Network policies see traffic after the Service's address is translated, so pods that
// talk to the API server (Terraform's backend, Argo CD Applications, the EventListener) need
// these allowed.
struct ApiServerEndpoint {
  std::string ip;  // IPv4 or IPv6 address
  int port = 443;
};

// The API server's addresses from EndpointSlices (ready endpoints, the `https` port), sorted and
// without duplicates so that the NetworkPolicy does not change with informer order.
std::vector<ApiServerEndpoint> apiServerEndpoints(const std::vector<kube::runtime::ObjectPtr>& slices);

// Address ranges tenant pods never reach, besides the site's own (ControllerConfig): private
// (RFC 1918), carrier-grade NAT (RFC 6598, where some clusters put nodes and pods), loopback,
// link-local (cloud metadata), "this network", IETF protocol assignments, benchmarking, multicast
// and reserved.
inline constexpr std::string_view kDeniedEgressRanges[] = {
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "0.0.0.0/8",  "192.0.0.0/24",  "198.18.0.0/15",  "224.0.0.0/4",   "240.0.0.0/4"};

// An egress rule to cluster DNS: kube-system on port 53. Cluster DNS runs there under different
// labels per distribution, so the namespace and the port select it.
kube::Json dnsEgress();
// An egress rule to every IPv4 address except kDeniedEgressRanges and `site_denied`.
kube::Json internetEgress(const std::vector<std::string>& site_denied);
// One egress rule per API server endpoint (its address, its port).
void addApiServerEgress(kube::Json& egress, const std::vector<ApiServerEndpoint>& api_servers);

}  // namespace aphex
