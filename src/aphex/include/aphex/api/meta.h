// What every aphex.io object shares: object metadata, the status phase, field errors and
// references to Secrets.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/time.h"

namespace aphex::api {

// The parts of metav1.ObjectMeta the controller reads. Anything else (managedFields, owner
// references of others) stays in the JSON the object came from.
struct ObjectMeta {
  std::string name;
  std::string ns;  // metadata.namespace
  std::string uid;
  std::string resource_version;
  std::int64_t generation = 0;
  std::optional<Time> creation_timestamp;
  std::optional<Time> deletion_timestamp;
  std::vector<std::string> finalizers;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  bool deleting() const { return deletion_timestamp.has_value(); }
  bool hasFinalizer(std::string_view finalizer) const;
};

// A one-word summary kept for printer columns; conditions carry the reasons.
enum class Phase { kPending, kProvisioning, kReady, kFailed, kTerminating };

std::string_view toString(Phase phase);
std::optional<Phase> parsePhase(std::string_view text);

// A key of a Secret, named without its value: status points at secrets, never holds them.
struct SecretKeyRef {
  std::string ns;  // namespace
  std::string name;
  std::string key;

  bool operator==(const SecretKeyRef&) const = default;
};

// One problem with an object, located by a field path such as "spec.repositories[1].branch".
struct FieldError {
  std::string path;
  std::string message;

  bool operator==(const FieldError&) const = default;
};

// "spec.branch: must not contain '..'; spec.repoOrg: ..." for a condition message or an Event.
std::string describe(const std::vector<FieldError>& errors);

}  // namespace aphex::api
