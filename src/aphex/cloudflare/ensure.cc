// The idempotent operations a reconciler calls: each may be repeated after a crash at any point
// and converges without duplicates, and none touches what another owner created.
#include "aphex/cloudflare/client.h"
#include "cloudflare/internal.h"

namespace aphex::cloudflare {

namespace {

// Refusing to take over a record is neither Cloudflare's error nor a transport failure: it is a
// conflict only a person can settle, so it carries HTTP 409 with its own reason (not kube's
// "Conflict", which means "re-read and retry").
kube::Error foreignRecord(std::string_view host, std::string_view target, const DnsRecord& record) {
  std::string message = "ensuring CNAME " + std::string(host) + " -> " + std::string(target) + ": a CNAME " +
                        record.name + " -> " + record.content + " exists that aphex-controller did not create (" +
                        (record.comment.empty() ? std::string("no comment") : "comment \"" + record.comment + "\"") +
                        "); delete that record in Cloudflare or choose another host, the controller will not "
                        "overwrite it";
  kube::ApiStatus status{.code = 409, .reason = "ForeignRecord", .message = message,
                         .details = {{"record_id", record.id}}};
  return kube::Error{.kind = kube::ErrorKind::kApi, .message = std::move(message), .status = std::move(status)};
}

}  // namespace

kube::Result<EnsuredTunnel> Client::ensureTunnel(std::string_view name) {
  auto found = findTunnel(name);
  if (!found) return std::move(found).error();
  if (*found) return EnsuredTunnel{.tunnel = std::move(**found), .created = false};
  auto created = createTunnel(name);
  if (created) return EnsuredTunnel{.tunnel = std::move(*created), .created = true};
  // Another replica (or a request that timed out after Cloudflare applied it) got there first.
  if (!hasCloudflareCode(created.error(), kErrorTunnelNameExists)) return std::move(created).error();
  auto winner = findTunnel(name);
  if (winner && *winner) return EnsuredTunnel{.tunnel = std::move(**winner), .created = false};
  return std::move(created).error();
}

kube::Result<bool> Client::ensureTunnelConfiguration(std::string_view tunnel_id, const std::vector<IngressRule>& rules) {
  auto current = getTunnelConfiguration(tunnel_id);
  if (!current) return std::move(current).error();
  if (*current == rules) return false;  // unchanged desired state: no write
  if (auto put = putTunnelConfiguration(tunnel_id, rules); !put) return std::move(put).error();
  return true;
}

kube::Result<EnsuredCname> Client::ensureCname(std::string_view host, std::string_view target,
                                               std::string_view owner_comment) {
  if (owner_comment.empty()) {
    return detail::invalidArgument("ensuring CNAME " + std::string(host),
                                   "an owner comment is required: it is how the controller recognises its records");
  }
  auto found = findDnsRecords("CNAME", host);
  if (!found) return std::move(found).error();
  if (found->empty()) {
    // An A or AAAA record of that host makes Cloudflare refuse (81053); its message says so.
    auto created = createCname(host, target, owner_comment);
    if (!created) return std::move(created).error();
    return EnsuredCname{.record = std::move(*created), .change = CnameChange::kCreated};
  }
  const DnsRecord& existing = found->front();  // Cloudflare allows one CNAME per name
  const bool ours = existing.comment == owner_comment;
  const bool points_at_target = detail::sameHost(existing.content, target);
  if (ours && points_at_target && existing.proxied) return EnsuredCname{.record = existing};
  // A record already pointing at our tunnel routes our traffic only; marking it ours lets the
  // deletion clean it up later instead of leaking it.
  if (!ours && !points_at_target) return foreignRecord(host, target, existing);
  auto updated = updateCname(existing.id, target, owner_comment);
  if (!updated) return std::move(updated).error();
  return EnsuredCname{.record = std::move(*updated), .change = ours ? CnameChange::kUpdated : CnameChange::kAdopted};
}

kube::Result<void> Client::deleteTunnel(std::string_view tunnel_id) {
  // A tunnel already deleted (404, or still listed with deleted_at) is the goal reached.
  auto current = getTunnel(tunnel_id);
  if (!current) return isNotFound(current.error()) ? kube::Result<void>() : std::move(current).error();
  if (!current->deleted_at.empty()) return {};
  for (int attempt = 1;; ++attempt) {
    if (auto cleaned = cleanupTunnelConnections(tunnel_id); !cleaned) {
      return isNotFound(cleaned.error()) ? kube::Result<void>() : cleaned;
    }
    auto deleted = deleteTunnelOnly(tunnel_id);
    if (deleted || isNotFound(deleted.error())) return {};
    if (!hasCloudflareCode(deleted.error(), kErrorTunnelHasConnections)) return deleted;
    if (attempt >= options_.delete_attempts) {
      kube::Error error = std::move(deleted).error();
      error.message += "; a cloudflared connector keeps reconnecting: stop its Deployment, then retry";
      return error;
    }
    if (!sleepFor(options_.delete_retry_delay)) return deleted;  // stopping: report where we are
  }
}

kube::Result<CnameDeletion> Client::deleteCname(std::string_view host, std::string_view owner_comment) {
  if (owner_comment.empty()) {
    return detail::invalidArgument("deleting CNAME " + std::string(host),
                                   "an owner comment is required: only records carrying it are deleted");
  }
  auto found = findDnsRecords("CNAME", host);
  if (!found) return std::move(found).error();
  CnameDeletion outcome;
  for (DnsRecord& record : *found) {
    if (record.comment != owner_comment) {
      outcome.left_foreign.push_back(std::move(record));
      continue;
    }
    auto deleted = deleteDnsRecord(record.id);
    if (!deleted && !isNotFound(deleted.error())) return std::move(deleted).error();
    ++outcome.deleted;
  }
  return outcome;
}

}  // namespace aphex::cloudflare
