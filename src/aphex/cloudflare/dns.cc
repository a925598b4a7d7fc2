// DNS record endpoints: /zones/{zone}/dns_records.
#include "aphex/cloudflare/client.h"
#include "cloudflare/internal.h"

namespace aphex::cloudflare {

namespace {

using kube::Json;

kube::Result<void> checkCname(std::string_view what, std::string_view host, std::string_view target,
                              std::string_view comment, std::size_t max_comment) {
  if (host.empty() || target.empty()) return detail::invalidArgument(what, "the host and the target must not be empty");
  if (comment.size() > max_comment) {
    return detail::invalidArgument(what, "the record comment has " + std::to_string(comment.size()) +
                                             " characters; Cloudflare accepts at most " + std::to_string(max_comment) +
                                             " on this plan (ClientOptions.max_comment_length)");
  }
  return {};
}

}  // namespace

kube::Result<std::vector<DnsRecord>> Client::findDnsRecords(std::string_view type, std::string_view name) {
  const std::string what = "looking up " + std::string(type) + " records of " + std::string(name);
  if (type.empty() || name.empty()) return detail::invalidArgument(what, "the record type and name must not be empty");
  const std::string query = "?type=" + detail::percentEncode(type) + "&name=" + detail::percentEncode(name);
  auto items = listAll(what, zonePath() + "/dns_records", query);
  if (!items) return std::move(items).error();
  std::vector<DnsRecord> records;
  for (const Json& item : *items) {
    DnsRecord record = detail::dnsRecordFrom(item);
    // Kept only when the server's filter agrees with ours: a looser match must never lead to
    // updating or deleting another host's record.
    if (record.type == type && detail::sameHost(record.name, name)) records.push_back(std::move(record));
  }
  return records;
}

kube::Result<DnsRecord> Client::createCname(std::string_view host, std::string_view target, std::string_view comment) {
  const std::string what = "creating CNAME " + std::string(host) + " -> " + std::string(target);
  if (auto valid = checkCname(what, host, target, comment, options_.max_comment_length); !valid) {
    return std::move(valid).error();
  }
  // ttl 1 is "automatic", the only TTL a proxied record has.
  Json body = {{"type", "CNAME"}, {"name", host}, {"content", target}, {"proxied", true}, {"ttl", 1}};
  if (!comment.empty()) body["comment"] = comment;
  auto envelope = call({.what = what, .method = "POST", .path = zonePath() + "/dns_records", .body = std::move(body)});
  if (!envelope) return std::move(envelope).error();
  return detail::dnsRecordFrom((*envelope)["result"]);
}

kube::Result<DnsRecord> Client::updateCname(std::string_view record_id, std::string_view target,
                                            std::string_view comment) {
  const std::string what = "updating DNS record " + std::string(record_id) + " to " + std::string(target);
  if (auto valid = checkCname(what, record_id, target, comment, options_.max_comment_length); !valid) {
    return std::move(valid).error();
  }
  auto envelope = call({.what = what, .method = "PATCH",
                        .path = zonePath() + "/dns_records/" + detail::percentEncode(record_id),
                        .body = Json{{"content", target}, {"proxied", true}, {"comment", comment}}});
  if (!envelope) return std::move(envelope).error();
  return detail::dnsRecordFrom((*envelope)["result"]);
}

kube::Result<void> Client::deleteDnsRecord(std::string_view record_id) {
  auto envelope = call({.what = "deleting DNS record " + std::string(record_id), .method = "DELETE",
                        .path = zonePath() + "/dns_records/" + detail::percentEncode(record_id)});
  if (!envelope) return std::move(envelope).error();
  return {};
}

}  // namespace aphex::cloudflare
