// What the Cloudflare client's sources share and nothing outside them needs: the request
// description, envelope decoding, error construction and JSON-to-struct conversions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "aphex/cloudflare/client.h"
#include "kube/http.h"
#include "kube/result.h"

namespace aphex::cloudflare {

// One API request. `what` names the operation for error messages ("creating tunnel x").
struct Client::Call {
  std::string what;
  std::string method = "GET";
  std::string path;  // below the base URL, with query
  std::optional<kube::Json> body;
};

namespace detail {

// The envelope of a 2xx answer with "success": true, or an Error naming `what`.
kube::Result<kube::Json> decodeEnvelope(std::string_view what, const kube::HttpResponse& response);
// A transport failure, prefixed with the operation.
kube::Error transportFailure(std::string_view what, kube::Error error);
// An error detected by the client itself (bad arguments).
kube::Error invalidArgument(std::string_view what, std::string_view problem);
// Removes every occurrence of `secret` from the error's message (defence in depth: no code path
// is known to put the token there).
kube::Error redacted(kube::Error error, std::string_view secret);

std::string percentEncode(std::string_view text);
// Base64 of 32 bytes from OpenSSL's CSPRNG, as Cloudflare's tunnel_secret expects.
kube::Result<std::string> newTunnelSecret();

// A string field, "" when missing, null or not a string.
std::string stringField(const kube::Json& object, const char* key);
Tunnel tunnelFrom(const kube::Json& object);
DnsRecord dnsRecordFrom(const kube::Json& object);
// DNS names compare without case and without a trailing dot.
bool sameHost(std::string_view a, std::string_view b);

}  // namespace detail
}  // namespace aphex::cloudflare
