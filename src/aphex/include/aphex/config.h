// The controller's configuration: what differs between installations. Filled from flags and
// environment variables by aphex-controller (see `aphex-controller --help` and docs/controller.md).
#pragma once

#include <string>

#include "aphex/api/group.h"
#include "aphex/api/organization.h"

namespace aphex {

struct CloudflareSettings {
  std::string api_base_url = "https://api.cloudflare.com/client/v4";
  std::string account_id;
  std::string zone_id;
  // The API token lives in a Secret in the platform namespace, never in a flag or the spec.
  std::string token_secret_name = "cloudflare-api-token";
  std::string token_secret_key = "token";
};

struct ControllerConfig {
  std::string platform_namespace{api::kDefaultPlatformNamespace};
  // Webhook hosts are <organization>.<public_domain>; required for the Ingress and
  // CloudflareTunnel exposure modes.
  std::string public_domain;
  api::ExposureMode default_exposure = api::ExposureMode::kNone;
  CloudflareSettings cloudflare;
  std::string ingress_class;       // empty: the cluster's default IngressClass
  std::string ingress_cluster_issuer;  // cert-manager ClusterIssuer for the Ingress's TLS; empty: no TLS
  // Pinned: a tag such as "latest" would change what runs without a change here.
  std::string cloudflared_image = "docker.io/cloudflare/cloudflared:2025.2.0";
};

}  // namespace aphex
