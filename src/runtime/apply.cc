#include "runtime/apply.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

namespace kube::runtime {

bool containsAll(const Json& live, const Json& desired) {
  if (desired.is_object()) {
    if (!live.is_object()) return false;
    for (const auto& [key, value] : desired.items()) {
      const auto found = live.find(key);
      if (found == live.end() || !containsAll(*found, value)) return false;
    }
    return true;
  }
  if (desired.is_array()) {
    if (!live.is_array() || live.size() != desired.size()) return false;
    for (std::size_t i = 0; i < desired.size(); ++i) {
      if (!containsAll(live[i], desired[i])) return false;
    }
    return true;
  }
  return live == desired;
}

std::string intentHash(const Json& object) {
  const std::string text = object.dump();
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < length; ++i) {
    std::array<char, 3> pair{};
    std::snprintf(pair.data(), pair.size(), "%02x", digest[i]);
    hex += pair.data();
  }
  return hex;
}

Json Applier::withHash(Json desired) const {
  const std::string hash = intentHash(desired);
  desired["metadata"]["annotations"][options_.hash_annotation] = hash;
  return desired;
}

Result<Applied> Applier::apply(const ResourceType& type, Json desired, const Json* live) const {
  Json stamped = withHash(std::move(desired));
  if (live != nullptr && containsAll(*live, stamped)) return Applied{.object = *live, .written = false};
  auto applied = client_.apply(type, stamped, {.field_manager = options_.field_manager, .force = true});
  if (!applied) return std::move(applied).error();
  return Applied{.object = std::move(*applied), .written = true};
}

Result<Applied> Applier::applyNew(const ResourceType& type, Json desired) const {
  auto applied = client_.apply(type, withHash(std::move(desired)), {.field_manager = options_.field_manager, .force = false});
  if (!applied) return std::move(applied).error();
  return Applied{.object = std::move(*applied), .written = true};
}

Result<Applied> Applier::create(const ResourceType& type, Json desired) const {
  const std::string ns = desired["metadata"].value("namespace", "");
  auto created = client_.create(type, ns, withHash(std::move(desired)), {.field_manager = options_.field_manager});
  if (!created) return std::move(created).error();
  return Applied{.object = std::move(*created), .written = true};
}

Result<Applied> Applier::applyStatus(const ResourceType& type, const Json& status, const Json& live) const {
  if (live.contains("status") && live["status"] == status) return Applied{.object = live, .written = false};
  Json patch{{"apiVersion", live.value("apiVersion", type.apiVersion())},
             {"kind", live.value("kind", "")},
             {"metadata", {{"name", live["metadata"].value("name", "")}}},
             {"status", status}};
  if (type.namespaced) patch["metadata"]["namespace"] = live["metadata"].value("namespace", "");
  auto applied = client_.apply(type, patch,
                               {.field_manager = options_.field_manager, .force = true,
                                .subresource = Subresource::kStatus});
  if (!applied) return std::move(applied).error();
  return Applied{.object = std::move(*applied), .written = true};
}

}  // namespace kube::runtime
