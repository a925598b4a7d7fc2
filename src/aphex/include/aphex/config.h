// The controller's configuration: what differs between installations. Filled from flags and
// environment variables by aphex-controller (see `aphex-controller --help` and docs/controller.md).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/group.h"
#include "aphex/api/organization.h"
#include "aphex/versions.h"

namespace aphex {

struct CloudflareSettings {
  std::string api_base_url = "https://api.cloudflare.com/client/v4";
  std::string account_id;
  std::string zone_id;
  // The API token lives in a Secret in the platform namespace, never in a flag or the spec.
  std::string token_secret_name = "cloudflare-api-token";
  std::string token_secret_key = "token";
};

// The guardrails of every pipeline namespace: its ResourceQuota `tenant-quota` (the namespace's
// total) and LimitRange `tenant-limits` (per container). Quantities must be in the canonical form
// the API server stores ("4", "500m", "8Gi", not "4000m" or "0.5"): the live object is compared
// with these strings, and another spelling of the same amount would be rewritten on every pass.
// An empty quantity leaves that entry out.
struct TenantLimits {
  // ResourceQuota: what all pods of the namespace may request and use together. Requests of 4
  // CPUs and 8 GiB fit a few parallel builds; limits at twice that allow bursts.
  std::string requests_cpu = "4";
  std::string requests_memory = "8Gi";
  std::string limits_cpu = "8";
  std::string limits_memory = "16Gi";
  // Running pods (finished ones do not count): a PipelineRun holds one pod per running task, plus
  // whatever the team deploys into its namespace.
  int pods = 50;
  // Volume claims and their storage: Tekton workspaces and deployed state.
  int persistent_volume_claims = 20;
  std::string requests_storage = "50Gi";
  // ConfigMaps and Secrets a pipeline may keep: deploy outputs, Terraform state (split into a few
  // Secrets as it grows). Bounded so that no pipeline can fill etcd, or any cache, with objects.
  int config_maps = 100;
  int secrets = 100;
  // An organization's namespace (ResourceQuota org-quota): how many RepoBindings its admins may
  // keep (each holds up to 256 KiB of pipelineSpec, which the controller caches), and Secrets and
  // ConfigMaps (the controller's few, org-secrets, and what the admins may create).
  int org_repo_bindings = 200;
  int org_secrets = 20;
  int org_config_maps = 20;
  // LimitRange: what a container without its own resources gets, so that the quota above (which
  // needs requests and limits on every pod) never refuses a Tekton step that declares none.
  std::string default_request_cpu = "100m";
  std::string default_request_memory = "128Mi";
  std::string default_limit_cpu = "500m";
  std::string default_limit_memory = "512Mi";
  // The most one container may ask for, so that one step cannot take the whole quota.
  std::string max_cpu = "2";
  std::string max_memory = "4Gi";
};

// Sets one entry of `limits` from "<name>=<quantity>", where name is one of kTenantLimitNames
// (e.g. "quota.requests.cpu=8", "container.max.memory=2Gi"); an empty quantity leaves the entry
// out. The error names the entry and says what is accepted.
kube::Result<void> setTenantLimit(TenantLimits& limits, std::string_view assignment);
inline constexpr std::string_view kTenantLimitNames[] = {
    "quota.requests.cpu",     "quota.requests.memory",       "quota.limits.cpu",
    "quota.limits.memory",    "quota.requests.storage",      "quota.pods",
    "quota.persistentvolumeclaims", "quota.configmaps", "quota.secrets", "org.repobindings", "org.secrets",
    "org.configmaps", "container.defaultRequest.cpu", "container.defaultRequest.memory",
    "container.default.cpu",  "container.default.memory",    "container.max.cpu",
    "container.max.memory"};

// Pruning of finished PipelineRuns (docs/controller.md): each holds its workspace volume, and a
// pipeline namespace's quota allows 20.
struct PipelineRunRetention {
  // Finished runs each pipeline namespace keeps, unless its RepoBinding's spec.pipelineRuns.keepLast
  // says otherwise; between api::kMinKeepLast and api::kMaxKeepLast.
  int keep_last = 10;
  // How often every pipeline namespace is swept (each sweep starts at 75–125% of it, so that
  // replicas started together do not list in step); zero turns pruning off.
  std::chrono::seconds interval{std::chrono::minutes(5)};
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
  // Pinned: a tag such as "latest" would change what runs without a change here. The default is
  // CLOUDFLARED_IMAGE of scripts/versions.env (aphex/versions.h, generated by CMake).
  std::string cloudflared_image{kDefaultCloudflaredImage};
  // Where Argo CD runs and reads AppProjects from.
  std::string argocd_namespace = "argocd";
  // Quota and limits of every pipeline namespace.
  TenantLimits tenant_limits;
  // Address ranges pipelines may never reach, besides the private, link-local, loopback and
  // carrier-grade NAT ranges that are always denied: typically the nodes' public addresses and
  // load-balancer VIPs of this cluster (kubelet, NodePorts, etcd), which only the site knows.
  std::vector<std::string> tenant_egress_deny;
  // A label selector: this controller takes only the Organizations, RepoBindings and
  // KnowledgeBases it matches. Empty: all of them. Lets controllers with different configurations
  // share a cluster (a canary next to the main one, or concurrent test runs) without fighting
  // over each other's objects.
  std::string object_selector;
  PipelineRunRetention pipeline_runs;
};

}  // namespace aphex
