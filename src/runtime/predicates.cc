#include "runtime/predicates.h"

#include <initializer_list>
#include <string>
#include <string_view>

namespace kube::runtime {
namespace {

const Json& metadataOf(const Json& object) {
  static const Json kNone = Json::object();
  const auto found = object.find("metadata");
  return found != object.end() && found->is_object() ? *found : kNone;
}

Predicate metadataFieldChanged(std::string field) {
  return [field = std::move(field)](const Json& old_object, const Json& new_object) {
    const Json& before = metadataOf(old_object);
    const Json& after = metadataOf(new_object);
    const auto was = before.find(field);
    const auto is = after.find(field);
    if ((was == before.end()) != (is == after.end())) return true;
    return was != before.end() && *was != *is;
  };
}

// Whether `a` and `b` differ in a key other than `ignored`, compared in place: no copy of a
// possibly large object per event.
bool differExcept(const Json& a, const Json& b, std::initializer_list<std::string_view> ignored,
                  const std::function<bool(const Json&, const Json&)>& compare_metadata) {
  const auto skip = [&](const std::string& key) {
    for (auto name : ignored) {
      if (key == name) return true;
    }
    return false;
  };
  std::size_t compared = 0;
  for (auto entry = a.begin(); entry != a.end(); ++entry) {
    if (skip(entry.key())) continue;
    ++compared;
    const auto other = b.find(entry.key());
    if (other == b.end()) return true;
    const bool differ = entry.key() == "metadata" && compare_metadata ? compare_metadata(*entry, *other) : *entry != *other;
    if (differ) return true;
  }
  std::size_t counted = 0;
  for (auto entry = b.begin(); entry != b.end(); ++entry) if (!skip(entry.key())) ++counted;
  return counted != compared;
}

}  // namespace

Predicate generationChanged() { return metadataFieldChanged("generation"); }
Predicate deletionChanged() { return metadataFieldChanged("deletionTimestamp"); }
Predicate labelsChanged() { return metadataFieldChanged("labels"); }
Predicate annotationsChanged() { return metadataFieldChanged("annotations"); }

Predicate changedApartFromStatus() {
  return [](const Json& old_object, const Json& new_object) {
    if (!old_object.is_object() || !new_object.is_object()) return old_object != new_object;
    const auto metadata_differs = [](const Json& before, const Json& after) {
      if (!before.is_object() || !after.is_object()) return before != after;
      return differExcept(before, after, {"resourceVersion", "managedFields"}, nullptr);
    };
    return differExcept(old_object, new_object, {"status"}, metadata_differs);
  };
}

Predicate projectionChanged(std::function<Json(const Json&)> projection) {
  return [projection = std::move(projection)](const Json& old_object, const Json& new_object) {
    return projection(old_object) != projection(new_object);
  };
}

Predicate anyOf(std::vector<Predicate> predicates) {
  return [predicates = std::move(predicates)](const Json& old_object, const Json& new_object) {
    for (const auto& predicate : predicates) {
      if (predicate(old_object, new_object)) return true;
    }
    return false;
  };
}

}  // namespace kube::runtime
