// How GitHub reaches an Organization's listener: Cloudflare Tunnel, Ingress, or not at all.
#include "aphex/common/labels.h"
#include "aphex/common/resources.h"
#include "organization/pass.h"
#include "kube/base64.h"

namespace aphex::organization {
namespace {

using kube::Json;
namespace res = aphex::resources;
namespace cond = api::organization_condition;

std::string listenerService(const std::string& ns) {
  return "http://el-" + std::string(kEventListenerName) + "." + ns + ".svc.cluster.local:" +
         std::to_string(kListenerPort);
}

std::string tunnelIdOf(const Json* token_secret) {
  if (token_secret == nullptr) return "";
  return (*token_secret)["metadata"].value("annotations", Json::object()).value("aphex.io/tunnel-id", "");
}

std::string tokenHash(const Json& token_secret) {
  return kube::runtime::intentHash(token_secret.value("data", Json::object()).value("token", ""));
}

}  // namespace

StepResult Reconciler::applyExposure(Pass& pass) {
  const api::ExposureMode mode = exposureMode(pass.org, deps_.config);
  if (StepResult removed = removeOtherExposures(pass, mode); !removed.succeeded()) return removed;
  switch (mode) {
    case api::ExposureMode::kIngress:
      return exposeByIngress(pass);
    case api::ExposureMode::kCloudflareTunnel:
      return exposeByTunnel(pass);
    case api::ExposureMode::kNone:
      break;
  }
  return StepResult::ok("InClusterOnly", "exposure None: the webhook URL is reachable inside the cluster only");
}

StepResult Reconciler::exposeByIngress(Pass& pass) {
  if (deps_.config.public_domain.empty()) {
    return StepResult::failed("PublicDomainNotConfigured",
                               "exposure Ingress needs the controller's --public-domain (APHEX_PUBLIC_DOMAIN)", Retryable::kNo);
  }
  const Json desired = ingress(pass.org, deps_.config);
  const auto live = deps_.children.get(res::kIngresses, pass.status.ns, kEventListenerName);
  auto applied = writer_.applier().apply(res::kIngresses, desired, live.get());
  if (!applied) return StepResult::failed("ApplyFailed", "Ingress: " + applied.error().message, Retryable::kYes);
  return StepResult::ok("IngressReady", "Ingress routes " + webhookHost(pass.org, deps_.config) + " to the listener");
}

StepResult Reconciler::exposeByTunnel(Pass& pass) {
  const ControllerConfig& config = deps_.config;
  if (config.public_domain.empty() || config.cloudflare.account_id.empty() || config.cloudflare.zone_id.empty()) {
    return StepResult::failed("CloudflareNotConfigured",
                               "exposure CloudflareTunnel needs the controller's --public-domain, "
                               "--cloudflare-account-id and --cloudflare-zone-id", Retryable::kNo);
  }
  const auto token_secret = deps_.children.get(res::kSecrets, pass.status.ns, kCloudflaredTokenSecret);
  const api::Condition* before = api::findCondition(pass.previous_conditions, cond::kExposureReady);
  const bool settled = before != nullptr && before->status == api::ConditionStatus::kTrue &&
                       before->observed_generation == pass.org.metadata.generation &&
                       !pass.status.tunnel_id.empty() && tunnelIdOf(token_secret.get()) == pass.status.tunnel_id;
  if (settled) {
    // Cloudflare was set up for this generation: keep the cluster side right without calling it.
    StepResult applied = writer_.applyAll(cloudflaredChildren(pass.org, config, tokenHash(*token_secret)), "cloudflared");
    if (!applied.succeeded()) return applied;
    return StepResult::ok("TunnelReady", "tunnel " + pass.status.tunnel_id + " routes " +
                                                  webhookHost(pass.org, config) + " to the listener");
  }
  auto cloudflare = cloudflareClient(pass.stop);
  if (!cloudflare) return StepResult::failed("CloudflareNotConfigured", cloudflare.error().message, Retryable::kNo);
  auto& api = **cloudflare;
  const std::string host = webhookHost(pass.org, config);
  auto tunnel = api.ensureTunnel(tunnelName(pass.org));
  if (!tunnel) return StepResult::failed("CloudflareError", tunnel.error().message, Retryable::kYes);
  const std::string id = tunnel->tunnel.id;
  pass.status.tunnel_id = id;
  if (auto configured = api.ensureTunnelConfiguration(id, {{.hostname = host, .service = listenerService(pass.status.ns)}});
      !configured) {
    return StepResult::failed("CloudflareError", configured.error().message, Retryable::kYes);
  }
  if (auto dns = api.ensureCname(host, id + ".cfargotunnel.com", dnsOwnerComment(pass.org)); !dns) {
    return StepResult::failed("CloudflareError", dns.error().message, Retryable::kYes);
  }
  auto token = api.tunnelToken(id);
  if (!token) return StepResult::failed("CloudflareError", token.error().message, Retryable::kYes);
  const Json secret = cloudflaredTokenSecret(pass.org, *token, id);
  auto stored = writer_.applier().apply(res::kSecrets, secret, token_secret.get());
  if (!stored) return StepResult::failed("ApplyFailed", "tunnel token Secret: " + stored.error().message, Retryable::kYes);
  if (tunnel->created) {
    deps_.events.normal(kube::runtime::ObjectReference::of(*pass.live), "TunnelCreated", "Reconcile",
                        "Cloudflare tunnel " + tunnelName(pass.org) + " created for " + host);
  }
  StepResult applied = writer_.applyAll(cloudflaredChildren(pass.org, config, tokenHash(secret)), "cloudflared");
  if (!applied.succeeded()) return applied;
  return StepResult::ok("TunnelReady", "tunnel " + id + " routes " + host + " to the listener");
}

// Removes what another exposure mode left behind (or everything, for kNone during deletion).
StepResult Reconciler::removeOtherExposures(Pass& pass, api::ExposureMode keep) {
  const std::string& ns = pass.status.ns.empty() ? api::organizationNamespace(pass.org.metadata.name) : pass.status.ns;
  if (keep != api::ExposureMode::kIngress && deps_.children.get(res::kIngresses, ns, kEventListenerName)) {
    if (auto removed = writer_.removeIfPresent(res::kIngresses, ns, std::string(kEventListenerName)); !removed) {
      return StepResult::failed("CleanupFailed", "removing the Ingress: " + removed.error().message, Retryable::kYes);
    }
  }
  if (keep == api::ExposureMode::kCloudflareTunnel) return StepResult::ok("Kept", "");
  const auto token_secret = deps_.children.get(res::kSecrets, ns, kCloudflaredTokenSecret);
  if (pass.status.tunnel_id.empty()) pass.status.tunnel_id = tunnelIdOf(token_secret.get());
  const bool has_cluster_side = token_secret || deps_.children.get(res::kDeployments, ns, kCloudflaredName);
  if (pass.status.tunnel_id.empty() && !has_cluster_side) return StepResult::ok("Kept", "");
  // cloudflared first, so that its connections end before the tunnel is deleted.
  if (auto removed = writer_.removeIfPresent(res::kDeployments, ns, std::string(kCloudflaredName)); !removed) {
    return StepResult::failed("CleanupFailed", "removing cloudflared: " + removed.error().message, Retryable::kYes);
  }
  if (!pass.status.tunnel_id.empty()) {
    auto cloudflare = cloudflareClient(pass.stop);
    if (!cloudflare) {
      return StepResult::failed("CloudflareNotConfigured",
                                 "tunnel " + pass.status.tunnel_id + " must be deleted but " + cloudflare.error().message, Retryable::kYes);
    }
    if (auto deleted = deleteTunnel(pass, **cloudflare); !deleted) {
      return StepResult::failed("CloudflareError", deleted.error().message, Retryable::kYes);
    }
  }
  for (const auto& [type, name] : {std::pair{res::kConfigMaps, std::string(kCloudflaredName)},
                                   std::pair{res::kSecrets, std::string(kCloudflaredTokenSecret)}}) {
    if (auto removed = writer_.removeIfPresent(type, ns, name); !removed) {
      return StepResult::failed("CleanupFailed", "removing " + name + ": " + removed.error().message, Retryable::kYes);
    }
  }
  pass.status.tunnel_id.clear();
  return StepResult::ok("Removed", "");
}

kube::Result<void> Reconciler::deleteTunnel(Pass& pass, cloudflare::Client& cloudflare) {
  const std::string host = webhookHost(pass.org, deps_.config);
  if (!host.empty()) {
    auto dns = cloudflare.deleteCname(host, dnsOwnerComment(pass.org));
    if (!dns) return std::move(dns).error();
    if (!dns->left_foreign.empty()) {
      deps_.events.warning(kube::runtime::ObjectReference::of(*pass.live), "ForeignDnsRecordKept", "Cleanup",
                           "a CNAME for " + host + " not created by Aphex was left in place");
    }
  }
  if (auto deleted = cloudflare.deleteTunnel(pass.status.tunnel_id); !deleted) return deleted;
  deps_.events.normal(kube::runtime::ObjectReference::of(*pass.live), "TunnelDeleted", "Cleanup",
                      "Cloudflare tunnel " + pass.status.tunnel_id + " and its DNS record deleted");
  return {};
}

kube::Result<std::unique_ptr<cloudflare::Client>> Reconciler::cloudflareClient(std::stop_token stop) {
  const CloudflareSettings& settings = deps_.config.cloudflare;
  const std::string where = "Secret " + deps_.config.platform_namespace + "/" + settings.token_secret_name + " (key " +
                            settings.token_secret_key + ")";
  auto secret = deps_.client.get(res::kSecrets, deps_.config.platform_namespace, settings.token_secret_name);
  if (!secret) {
    return kube::configError(where + " cannot be read: " + secret.error().message +
                             "; create it with the Cloudflare API token (Tunnel: Edit, DNS: Edit)");
  }
  const auto token =
      kube::base64Decode((*secret).value("data", Json::object()).value(settings.token_secret_key, ""));
  if (!token || token->empty()) return kube::configError(where + " holds no token");
  return deps_.cloudflare({.base_url = settings.api_base_url,
                           .api_token = *token,
                           .account_id = settings.account_id,
                           .zone_id = settings.zone_id,
                           .stop = std::move(stop)});
}

}  // namespace aphex::organization
