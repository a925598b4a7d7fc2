#include "runtime/apply.h"

#include "runtime/owned_fields.h"
#include "runtime/store.h"

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

namespace {

// Bounds the remembered versions; forgetting costs a GET, never a write.
constexpr std::size_t kMaxVerified = 1 << 16;

std::string annotationOf(const Json& object, const std::string& name) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto annotations = metadata->find("annotations");
  if (annotations == metadata->end() || !annotations->is_object()) return "";
  const auto found = annotations->find(name);
  return found != annotations->end() && found->is_string() ? found->get<std::string>() : "";
}

std::string verifiedKey(const ResourceType& type, const Json& object) {
  return type.group + "/" + type.plural + "/" + objectKey(object);
}

}  // namespace

bool Applier::verifiedAt(const std::string& key, const std::string& resource_version) const {
  std::lock_guard lock(verified_->mutex);
  const auto found = verified_->versions.find(key);
  return found != verified_->versions.end() && found->second == resource_version;
}

void Applier::rememberIfDigestDiffers(const ResourceType& type, const Json& written, const Json& stamped) const {
  // Only an object whose compact form will not match needs remembering; for the others (every
  // child on a cluster without mutating webhooks) the entry would be memory spent for nothing.
  if (!containsAll(written, stamped)) return;
  if (ownedFieldsDigest(written, options_.field_manager) == desiredFieldsDigest(stamped)) return;
  remember(verifiedKey(type, written), resourceVersionOf(written));
}

void Applier::remember(const std::string& key, const std::string& resource_version) const {
  std::lock_guard lock(verified_->mutex);
  if (verified_->versions.size() >= kMaxVerified) verified_->versions.clear();
  verified_->versions[key] = resource_version;
}

bool Applier::upToDate(const ResourceType& type, const Json& stamped, const Json& live) const {
  if (!isCompact(live)) return containsAll(live, stamped);
  // Another intent: no need to look closer.
  if (annotationOf(live, options_.hash_annotation) != annotationOf(stamped, options_.hash_annotation)) return false;
  const std::string digest = live.value(std::string(kOwnedFieldsDigest), "");
  if (!digest.empty() && digest == desiredFieldsDigest(stamped)) return true;
  const std::string key = verifiedKey(type, live);
  if (verifiedAt(key, resourceVersionOf(live))) return true;
  const Json metadata = live.value("metadata", Json::object());
  auto whole = client_.get(type, metadata.value("namespace", ""), metadata.value("name", ""));
  if (!whole || !containsAll(*whole, stamped)) return false;  // a failed read: the apply says why
  remember(key, resourceVersionOf(*whole));
  return true;
}

Result<Applied> Applier::apply(const ResourceType& type, Json desired, const Json* live) const {
  Json stamped = withHash(std::move(desired));
  if (live != nullptr && upToDate(type, stamped, *live)) return Applied{.object = *live, .written = false};
  auto applied = client_.apply(type, stamped, {.field_manager = options_.field_manager, .force = true});
  if (!applied) return std::move(applied).error();
  // What the server made of the intent, defaults and all: the next pass need not read it again.
  rememberIfDigestDiffers(type, *applied, stamped);
  return Applied{.object = std::move(*applied), .written = true};
}

Result<Applied> Applier::applyNew(const ResourceType& type, Json desired) const {
  Json stamped = withHash(std::move(desired));
  auto applied = client_.apply(type, stamped, {.field_manager = options_.field_manager, .force = false});
  if (!applied) return std::move(applied).error();
  rememberIfDigestDiffers(type, *applied, stamped);
  return Applied{.object = std::move(*applied), .written = true};
}

Result<Applied> Applier::create(const ResourceType& type, Json desired) const {
  const std::string ns = desired["metadata"].value("namespace", "");
  Json stamped = withHash(std::move(desired));
  auto created = client_.create(type, ns, stamped, {.field_manager = options_.field_manager});
  if (!created) return std::move(created).error();
  rememberIfDigestDiffers(type, *created, stamped);
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
