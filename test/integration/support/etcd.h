// Direct access to the local cluster's etcd through its JSON gateway, for tests that must change
// what the API server sees underneath it (compaction).
#pragma once

#include <stdexcept>
#include <string>

#include "integration/support/cluster.h"
#include "kube/http.h"

namespace aphex::testing {

inline kube::Json etcdCall(const std::string& path, const kube::Json& body) {
  kube::ClientConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(clusterPort("ETCD_PORT"));
  auto transport = kube::HttpTransport::create(config);
  if (!transport) throw std::runtime_error(transport.error().message);
  auto response = (*transport)->send({.method = "POST", .path = path, .body = body.dump(), .content_type = "application/json"});
  if (!response || response->status != 200) {
    throw std::runtime_error("etcd " + path + " failed: " + (response ? response->body : response.error().message));
  }
  return kube::Json::parse(response->body);
}

// Compacts etcd's history up to its current revision: every older resourceVersion is gone, and a
// watch from one fails with 410 (for kinds that bypass the API server's watch cache).
inline void compactEtcd() {
  const kube::Json status = etcdCall("/v3/maintenance/status", kube::Json::object());
  const std::string revision = status["header"]["revision"].get<std::string>();
  etcdCall("/v3/kv/compaction", {{"revision", revision}, {"physical", true}});
}

}  // namespace aphex::testing
