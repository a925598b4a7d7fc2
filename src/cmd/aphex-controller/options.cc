#include "aphex-controller/options.h"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>

#include "aphex/api/repo_binding.h"

namespace aphex::cmd {
namespace {

// "" when `text` is an IPv4 network in CIDR notation (203.0.113.0/24), else what is wrong: the
// ranges are cut out of the IPv4 internet rule (0.0.0.0/0), and a NetworkPolicy with a bad
// ipBlock would be refused for every tenant.
std::string cidrProblem(const std::string& text) {
  const auto slash = text.find('/');
  in_addr address{};
  const bool valid_address = inet_pton(AF_INET, text.substr(0, slash).c_str(), &address) == 1;
  const std::string length = slash == std::string::npos ? "" : text.substr(slash + 1);
  const bool valid_length = !length.empty() && length.size() <= 2 &&
                            length.find_first_not_of("0123456789") == std::string::npos && std::stoi(length) <= 32;
  if (valid_address && valid_length) return "";
  return "\"" + text + "\" is not an IPv4 CIDR such as 203.0.113.0/24";
}

void addConnectionFlags(CLI::App& app, ControllerFlags& flags) {
  app.add_option("--kubeconfig", flags.kubeconfig, "kubeconfig file; default $KUBECONFIG, then in-cluster")
      ->envname("KUBECONFIG");
  app.add_option("--context", flags.context, "kubeconfig context; default its current-context");
}

void addPlatformFlags(CLI::App& app, ControllerFlags& flags) {
  ControllerConfig& config = flags.config;
  app.add_option("--platform-namespace", config.platform_namespace,
                 "namespace of Organizations and of the Cloudflare token Secret")
      ->envname("APHEX_PLATFORM_NAMESPACE")->capture_default_str();
  app.add_option("--public-domain", config.public_domain,
                 "domain of the webhook hosts, <organization>.<domain>; needed for Ingress and CloudflareTunnel")
      ->envname("APHEX_PUBLIC_DOMAIN");
  app.add_option("--default-exposure", flags.default_exposure,
                 "exposure of Organizations that choose none")
      ->envname("APHEX_DEFAULT_EXPOSURE")->check(CLI::IsMember({"CloudflareTunnel", "Ingress", "None"}))
      ->capture_default_str();
  app.add_option("--ingress-class", config.ingress_class, "IngressClass of webhook Ingresses; default the cluster's")
      ->envname("APHEX_INGRESS_CLASS");
  app.add_option("--ingress-cluster-issuer", config.ingress_cluster_issuer,
                 "cert-manager ClusterIssuer for webhook Ingress TLS; empty: no TLS section")
      ->envname("APHEX_INGRESS_CLUSTER_ISSUER");
  app.add_option("--argocd-namespace", config.argocd_namespace, "namespace where Argo CD reads AppProjects")
      ->envname("APHEX_ARGOCD_NAMESPACE")->capture_default_str();
  app.add_option("--tenant-limit", flags.tenant_limits,
                 "quota or container limit of every pipeline namespace, <name>=<quantity>, repeatable; names: "
                 "quota.{requests,limits}.{cpu,memory}, quota.requests.storage, quota.pods, "
                 "quota.persistentvolumeclaims, quota.configmaps, quota.secrets, "
                 "org.{repobindings,secrets,configmaps} (an organization's namespace), "
                 "container.{default,defaultRequest,max}.{cpu,memory} "
                 "(defaults in docs/controller.md)")
      ->envname("APHEX_TENANT_LIMITS")->delimiter(',');
  app.add_option("--tenant-egress-deny", config.tenant_egress_deny,
                 "IPv4 CIDR pipelines may never reach (repeatable), e.g. the nodes' public addresses; private, "
                 "link-local, loopback and carrier-grade NAT ranges are always denied")
      ->envname("APHEX_TENANT_EGRESS_DENY")->delimiter(',')->check(CLI::Validator(cidrProblem, "CIDR"));
  app.add_option("--object-selector", config.object_selector,
                 "label selector: take only the Organizations, RepoBindings and KnowledgeBases it matches; "
                 "empty: all")
      ->envname("APHEX_OBJECT_SELECTOR");
}

void addCloudflareFlags(CLI::App& app, ControllerFlags& flags) {
  CloudflareSettings& cloudflare = flags.config.cloudflare;
  app.add_option("--cloudflare-account-id", cloudflare.account_id, "Cloudflare account that owns the tunnels")
      ->envname("APHEX_CLOUDFLARE_ACCOUNT_ID");
  app.add_option("--cloudflare-zone-id", cloudflare.zone_id, "Cloudflare zone of the public domain")
      ->envname("APHEX_CLOUDFLARE_ZONE_ID");
  app.add_option("--cloudflare-token-secret", cloudflare.token_secret_name,
                 "Secret in the platform namespace holding the Cloudflare API token")
      ->envname("APHEX_CLOUDFLARE_TOKEN_SECRET")->capture_default_str();
  app.add_option("--cloudflare-token-key", cloudflare.token_secret_key, "key of the token in that Secret")
      ->envname("APHEX_CLOUDFLARE_TOKEN_KEY")->capture_default_str();
  app.add_option("--cloudflare-api-url", cloudflare.api_base_url, "Cloudflare API v4 base URL")
      ->envname("APHEX_CLOUDFLARE_API_URL")->capture_default_str();
  app.add_option("--cloudflared-image", flags.config.cloudflared_image, "cloudflared image (pin a version)")
      ->envname("APHEX_CLOUDFLARED_IMAGE")->capture_default_str();
}

void addRuntimeFlags(CLI::App& app, ControllerFlags& flags) {
  app.add_flag("--leader-elect,!--no-leader-elect", flags.leader_elect,
               "elect a leader on a Lease so that only one replica reconciles")
      ->envname("APHEX_LEADER_ELECT")->capture_default_str();
  app.add_option("--leader-election-id", flags.leader_election_id, "name of the Lease")
      ->envname("APHEX_LEADER_ELECTION_ID")->capture_default_str();
  app.add_option("--leader-election-namespace", flags.leader_election_namespace,
                 "namespace of the Lease; default the platform namespace")
      ->envname("APHEX_LEADER_ELECTION_NAMESPACE");
  app.add_option("--identity", flags.identity, "this replica's name in the Lease; default $POD_NAME or host_pid")
      ->envname("POD_NAME");
  app.add_option("--metrics-bind-address", flags.metrics_address, "address of /metrics; empty: off")
      ->envname("APHEX_METRICS_BIND_ADDRESS")->capture_default_str();
  app.add_option("--health-probe-bind-address", flags.probe_address, "address of /healthz and /readyz; empty: off")
      ->envname("APHEX_HEALTH_PROBE_BIND_ADDRESS")->capture_default_str();
  app.add_option("--organization-concurrency", flags.organization_concurrency,
                 "Organizations reconciled at once")
      ->envname("APHEX_ORGANIZATION_CONCURRENCY")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--repo-binding-concurrency", flags.repo_binding_concurrency,
                 "RepoBindings reconciled at once")
      ->envname("APHEX_REPO_BINDING_CONCURRENCY")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--knowledge-base-concurrency", flags.knowledge_base_concurrency,
                 "KnowledgeBases reconciled at once")
      ->envname("APHEX_KNOWLEDGE_BASE_CONCURRENCY")->check(CLI::Range(1, 64))->capture_default_str();
  app.add_option("--log-level", flags.log_level, "debug, info, warn or error")
      ->envname("APHEX_LOG_LEVEL")->check(CLI::IsMember({"debug", "info", "warn", "error"}))->capture_default_str();
  app.add_option("--log-format", flags.log_format, "json or text")
      ->envname("APHEX_LOG_FORMAT")->check(CLI::IsMember({"json", "text"}))->capture_default_str();
}

void addPruningFlags(CLI::App& app, ControllerFlags& flags) {
  app.add_option("--keep-pipelineruns", flags.config.pipeline_runs.keep_last,
                 "finished PipelineRuns each pipeline namespace keeps, unless its RepoBinding sets "
                 "spec.pipelineRuns.keepLast; older ones are deleted with their volumes")
      ->envname("APHEX_KEEP_PIPELINERUNS")->check(CLI::Range(api::kMinKeepLast, api::kMaxKeepLast))
      ->capture_default_str();
  app.add_option("--pipelinerun-prune-interval", flags.pipelinerun_prune_interval_seconds,
                 "seconds between sweeps of the pipeline namespaces for PipelineRuns to delete (each 75-125% of "
                 "it); 0 turns pruning off")
      ->envname("APHEX_PIPELINERUN_PRUNE_INTERVAL")->check(CLI::Range(0, 86400))->capture_default_str();
}

}  // namespace

kube::Result<ControllerFlags> parseFlags(int argc, char** argv, int& exit_code) {
  ControllerFlags flags;
  CLI::App app{"aphex-controller: turns Organizations and RepoBindings into everything a team needs.\n"
               "Every flag can also be set by the environment variable shown next to it."};
  app.get_formatter()->column_width(44);
  addConnectionFlags(app, flags);
  addPlatformFlags(app, flags);
  addCloudflareFlags(app, flags);
  addRuntimeFlags(app, flags);
  addPruningFlags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    exit_code = app.exit(error);
    return kube::configError(error.what());
  }
  for (const auto& assignment : flags.tenant_limits) {
    if (auto set = setTenantLimit(flags.config.tenant_limits, assignment); !set) {
      exit_code = 2;
      std::cerr << "aphex-controller: --tenant-limit: " << set.error().message << "\n";
      return kube::configError("--tenant-limit: " + set.error().message);
    }
  }
  const auto mode = api::parseExposureMode(flags.default_exposure);
  flags.config.default_exposure = mode.value_or(api::ExposureMode::kNone);
  flags.config.pipeline_runs.interval = std::chrono::seconds(flags.pipelinerun_prune_interval_seconds);
  if (flags.leader_election_namespace.empty()) flags.leader_election_namespace = flags.config.platform_namespace;
  return flags;
}

}  // namespace aphex::cmd
