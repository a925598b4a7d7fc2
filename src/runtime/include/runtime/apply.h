// Server-side apply that costs nothing when nothing changed.
//
// A controller that applies every child on every reconcile sends a PATCH per child per pass even
// when the server ends up changing nothing: at a thousand objects that is steady write traffic
// for no effect. The Applier compares the desired object with the live one from an informer's
// cache first and applies only when they differ. "Differ" means either
//  - the intent changed: a hash of the desired object, stored in an annotation on every apply,
//    no longer matches (this catches fields the controller stopped setting, which a comparison of
//    present fields cannot see), or
//  - the live object drifted: some field of the desired object is missing or has another value
//    (someone edited or deleted what the controller owns).
// Fields others add (server defaults, other managers) never count as a difference.
//
// The live object may be compact (owned_fields.h): its body dropped, a digest of the fields this
// manager applied kept. It is up to date when the digest equals the desired object's. When it
// does not (server defaults inside a field set as a whole, an object created with a POST), the
// Applier reads the object once, compares it field by field, and remembers the resourceVersion it
// found up to date, so the next pass reads nothing until the object changes. After a restart
// that costs one GET per such object; reads, never writes.
//
// Thread safety: apply() may be called concurrently; the remembered versions are guarded by a
// mutex.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kube/object_api.h"
#include "kube/result.h"

namespace kube::runtime {

// Whether every field of `desired` is in `live` with the same value. Objects are compared key by
// key (extra keys in `live` are fine); arrays must have the same length and match element-wise,
// since a list with an extra entry is a different list; scalars must be equal.
bool containsAll(const Json& live, const Json& desired);

// A short, stable digest of `object` (SHA-256 of its compact JSON, 16 hex digits).
std::string intentHash(const Json& object);

struct ApplierOptions {
  std::string field_manager;
  std::string hash_annotation;  // e.g. "example.com/applied-hash"
};

struct Applied {
  Json object;           // what the server returned, or the live object when nothing was sent
  bool written = false;  // whether a request was sent
};

class Applier {
 public:
  Applier(ObjectApi& client, ApplierOptions options)
      : client_(client), options_(std::move(options)), verified_(std::make_shared<Verified>()) {}

  // Applies `desired` (apiVersion, kind, metadata.name[, namespace], and only the fields this
  // manager owns) unless `live` — the cached object, whole or compact, or nullptr when there is
  // none — already matches it.
  Result<Applied> apply(const ResourceType& type, Json desired, const Json* live) const;
  // Applies `desired` as a new object (the caller has seen none): without force, so an object of
  // that name someone else made meanwhile, whose fields another manager holds, fails the call
  // with isConflict() instead of being taken over. Fields stay this manager's to prune later.
  Result<Applied> applyNew(const ResourceType& type, Json desired) const;
  // Creates `desired`, stamped as apply() stamps it, with a POST: an object of that name that
  // already exists — anyone's, this manager's too — fails the call with isAlreadyExists() and is
  // left as it is. For claims that two of the controller's own workers may race for. Fields set
  // by the create are owned by an Update entry, which later applies do not prune.
  Result<Applied> create(const ResourceType& type, Json desired) const;
  // Applies `status` to the status subresource of the object `live` unless live.status equals it.
  // Equality, not containment: the status belongs to this manager alone, so a field it no longer
  // reports must go. `live` must be the current object (its apiVersion, kind, name, namespace).
  Result<Applied> applyStatus(const ResourceType& type, const Json& status, const Json& live) const;

  const ApplierOptions& options() const { return options_; }

 private:
  // Objects read whole and found up to date: "<resource>/<key>" → resourceVersion.
  struct Verified {
    std::mutex mutex;
    std::unordered_map<std::string, std::string> versions;
  };

  // `desired` with the hash annotation added.
  Json withHash(Json desired) const;
  // Whether `live` already holds every field of `stamped` (see the header comment).
  bool upToDate(const ResourceType& type, const Json& stamped, const Json& live) const;
  bool verifiedAt(const std::string& key, const std::string& resource_version) const;
  void remember(const std::string& key, const std::string& resource_version) const;
  // After a write: remembers `written` (the server's answer) when it holds `stamped` but its
  // compact form's digest will not match, so the next pass does not read it again.
  void rememberIfDigestDiffers(const ResourceType& type, const Json& written, const Json& stamped) const;

  ObjectApi& client_;
  ApplierOptions options_;
  std::shared_ptr<Verified> verified_;
};

}  // namespace kube::runtime
