#include "runtime/owned_fields.h"

#include "runtime/apply.h"

namespace kube::runtime {
namespace {

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nullptr : &*found;
}

// Merges fieldsV1 set `from` into `into` (both objects).
void mergeFields(Json& into, const Json& from) {
  for (const auto& [key, value] : from.items()) {
    auto found = into.find(key);
    if (found == into.end()) {
      into[key] = value;
    } else if (found->is_object() && value.is_object()) {
      mergeFields(*found, value);
    }
  }
}

bool namesChildren(const Json& fields) {
  if (!fields.is_object()) return false;
  for (const auto& [key, unused] : fields.items()) {
    if (key.size() > 2 && key[1] == ':') return true;
  }
  return false;
}

// Whether list element `element` is the one `key` ("k:{...}", "v:...", "i:N") names.
bool elementMatches(const Json& element, std::size_t index, std::string_view key) {
  const std::string_view body = key.substr(2);
  try {
    switch (key[0]) {
      case 'k': {
        const Json wanted = Json::parse(body);
        if (!element.is_object() || !wanted.is_object()) return false;
        for (const auto& [field, value] : wanted.items()) {
          const Json* found = member(element, field);
          if (found == nullptr || *found != value) return false;
        }
        return true;
      }
      case 'v': return element == Json::parse(body);
      case 'i': return std::to_string(index) == body;
      default: return false;
    }
  } catch (const Json::exception&) {
    return false;  // a key this code cannot read matches nothing: the digest differs, the Applier reads the object
  }
}

Json projectList(const Json& list, const Json& fields) {
  Json projected = Json::array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    for (const auto& [key, sub] : fields.items()) {
      if (key.size() < 2 || key[1] != ':' || key[0] == 'f') continue;
      if (!elementMatches(list[i], i, key)) continue;
      projected.push_back(key[0] == 'v' ? list[i] : projectOntoFields(list[i], sub));
      break;
    }
  }
  return projected;
}

Json projectObject(const Json& object, const Json& fields) {
  Json projected = Json::object();
  for (const auto& [key, sub] : fields.items()) {
    if (key.size() < 2 || key.compare(0, 2, "f:") != 0) continue;
    const std::string_view name = std::string_view(key).substr(2);
    if (const Json* found = member(object, name)) projected[std::string(name)] = projectOntoFields(*found, sub);
  }
  return projected;
}

}  // namespace

bool isCompact(const Json& object) { return object.is_object() && object.contains(kOwnedFieldsDigest); }

Json fieldsAppliedBy(const Json& object, std::string_view manager) {
  Json fields = Json::object();
  const Json* metadata = member(object, "metadata");
  const Json* entries = metadata != nullptr ? member(*metadata, "managedFields") : nullptr;
  if (entries == nullptr || !entries->is_array()) return fields;
  for (const auto& entry : *entries) {
    if (!entry.is_object() || entry.value("manager", "") != manager) continue;
    if (!entry.value("subresource", "").empty()) continue;
    if (const Json* set = member(entry, "fieldsV1"); set != nullptr && set->is_object()) mergeFields(fields, *set);
  }
  return fields;
}

Json projectOntoFields(const Json& value, const Json& fields) {
  if (!namesChildren(fields)) return value;
  if (value.is_object()) return projectObject(value, fields);
  if (value.is_array()) return projectList(value, fields);
  return value;
}

std::string ownedFieldsDigest(const Json& live, std::string_view manager) {
  const Json fields = fieldsAppliedBy(live, manager);
  if (fields.empty()) return "";
  return intentHash(projectOntoFields(live, fields));
}

std::string desiredFieldsDigest(const Json& desired) {
  Json identityless = desired;
  identityless.erase("apiVersion");
  identityless.erase("kind");
  if (auto metadata = identityless.find("metadata"); metadata != identityless.end() && metadata->is_object()) {
    metadata->erase("name");
    metadata->erase("namespace");
    if (metadata->empty()) identityless.erase("metadata");
  }
  return intentHash(identityless);
}

void compactChild(Json& object, const CompactOptions& options) {
  static constexpr std::string_view kKeptMetadata[] = {"name",        "namespace",         "uid",
                                                        "resourceVersion", "deletionTimestamp", "labels",
                                                        "annotations", "ownerReferences",   "finalizers"};
  if (!object.is_object()) return;
  Json compact = Json::object();
  compact[std::string(kOwnedFieldsDigest)] = ownedFieldsDigest(object, options.field_manager);
  for (const char* identity : {"apiVersion", "kind"}) {
    if (const Json* found = member(object, identity)) compact[identity] = *found;
  }
  if (const Json* metadata = member(object, "metadata"); metadata != nullptr && metadata->is_object()) {
    Json& kept = compact["metadata"] = Json::object();
    for (const std::string_view field : kKeptMetadata) {
      if (const Json* found = member(*metadata, field)) kept[std::string(field)] = *found;
    }
  }
  for (const auto& field : options.kept_fields) {
    if (const Json* found = member(object, field)) compact[field] = *found;
  }
  object = std::move(compact);
}

Transform compactTransform(CompactOptions options) {
  return [options = std::move(options)](Json& object) { compactChild(object, options); };
}

}  // namespace kube::runtime
