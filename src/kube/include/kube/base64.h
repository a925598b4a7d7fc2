// Base64 as kubeconfig and Secrets use it (RFC 4648, standard alphabet, padded).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kube {

// Decodes, ignoring ASCII whitespace (PEM-like line breaks). nullopt when not valid base64.
std::optional<std::string> base64Decode(std::string_view text);
std::string base64Encode(std::string_view bytes);

}  // namespace kube
