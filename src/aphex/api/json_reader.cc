#include "json_reader.h"

#include <limits>
#include <utility>

namespace aphex::api::detail {

namespace {

// The name of a JSON type for "expected a string, got a number".
std::string_view typeName(const kube::Json& value) {
  switch (value.type()) {
    case kube::Json::value_t::object: return "an object";
    case kube::Json::value_t::array: return "an array";
    case kube::Json::value_t::string: return "a string";
    case kube::Json::value_t::boolean: return "a boolean";
    case kube::Json::value_t::number_integer:
    case kube::Json::value_t::number_unsigned:
    case kube::Json::value_t::number_float: return "a number";
    default: return "null";
  }
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  std::string joined(path);
  joined += '.';
  joined += key;
  return joined;
}

}  // namespace

std::string excerpt(std::string_view text) {
  if (text.size() <= kMaxQuotedLength) return std::string(text);
  std::size_t cut = kMaxQuotedLength;
  // Back up over continuation bytes (10xxxxxx) so that no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "…";
}

std::string quote(std::string_view text) {
  std::string result = "\"" + excerpt(text) + "\"";
  if (text.size() > kMaxQuotedLength) result += " (" + std::to_string(text.size()) + " bytes)";
  return result;
}

Field JsonReader::root(const kube::Json& document) {
  Field field{.value = &document, .path = ""};
  if (!document.is_object()) {
    if (ok()) error_ = "expected an object, got " + std::string(typeName(document));
    return {};
  }
  return field;
}

void JsonReader::fail(const Field& field, const std::string& expected, bool wrong_type) {
  if (!ok()) return;
  std::string message = field.path.empty() ? "" : field.path + ": ";
  message += "expected " + expected;
  if (wrong_type && field.value != nullptr) message += ", got " + std::string(typeName(*field.value));
  error_ = std::move(message);
}

kube::Error JsonReader::error() const {
  return kube::Error{.kind = kube::ErrorKind::kDecode, .message = error_.value_or(""), .status = {}};
}

bool JsonReader::isObject(const Field& field) {
  if (!field.present()) return false;
  if (field.value->is_object()) return true;
  fail(field, "an object");
  return false;
}

Field JsonReader::member(const Field& object, std::string_view key) {
  Field child{.value = nullptr, .path = join(object.path, key)};
  if (!isObject(object)) return child;
  const auto found = object.value->find(key);
  if (found != object.value->end() && !found->is_null()) child.value = &*found;
  return child;
}

std::vector<Field> JsonReader::items(const Field& array) {
  std::vector<Field> result;
  if (!array.present()) return result;
  if (!array.value->is_array()) {
    fail(array, "an array");
    return result;
  }
  result.reserve(array.value->size());
  for (std::size_t i = 0; i < array.value->size(); ++i) {
    const kube::Json& item = (*array.value)[i];
    result.push_back({.value = item.is_null() ? nullptr : &item, .path = array.path + "[" + std::to_string(i) + "]"});
  }
  return result;
}

void JsonReader::read(const Field& field, std::string& out) {
  if (!field.present()) return;
  if (!field.value->is_string()) return fail(field, "a string");
  out = field.value->get<std::string>();
}

void JsonReader::read(const Field& field, std::int64_t& out) {
  if (!field.present()) return;
  if (field.value->is_number_integer() && !field.value->is_number_unsigned()) {
    out = field.value->get<std::int64_t>();
  } else if (field.value->is_number_unsigned() &&
             field.value->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    out = static_cast<std::int64_t>(field.value->get<std::uint64_t>());
  } else {
    fail(field, "an integer");
  }
}

void JsonReader::read(const Field& field, std::int32_t& out) {
  if (!field.present()) return;
  std::int64_t wide = 0;
  read(field, wide);
  if (!ok()) return;
  if (wide < std::numeric_limits<std::int32_t>::min() || wide > std::numeric_limits<std::int32_t>::max()) {
    return fail(field, "a 32-bit integer");
  }
  out = static_cast<std::int32_t>(wide);
}

void JsonReader::read(const Field& field, Time& out) {
  if (!field.present()) return;
  std::string text;
  read(field, text);
  if (!ok()) return;
  if (auto time = parseTime(text)) {
    out = *time;
  } else {
    fail(field, "an RFC 3339 time such as 2024-05-01T12:00:00Z, not " + quote(text), false);
  }
}

void JsonReader::read(const Field& field, std::optional<Time>& out) {
  if (!field.present()) return;
  Time time{};
  read(field, time);
  if (ok()) out = time;
}

void JsonReader::read(const Field& field, std::vector<std::string>& out) {
  if (!field.present()) return;
  std::vector<std::string> values;
  for (const Field& item : items(field)) {
    if (!item.present()) {
      fail(item, "a string");
      return;
    }
    read(item, values.emplace_back());
  }
  if (ok()) out = std::move(values);
}

void JsonReader::read(const Field& field, std::map<std::string, std::string>& out) {
  if (!isObject(field)) return;
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : field.value->items()) {
    // The key is the user's text: bounded in the path, as in every message.
    const Field item{.value = &value, .path = field.path + "[" + excerpt(key) + "]"};
    read(item, values[key]);
  }
  if (ok()) out = std::move(values);
}

void JsonReader::read(const Field& field, std::optional<Phase>& out) {
  readEnum(field, out, parsePhase, "Pending, Provisioning, Ready, Failed or Terminating");
}

void JsonReader::read(const Field& field, std::optional<SecretKeyRef>& out) {
  if (!isObject(field)) return;
  SecretKeyRef ref;
  read(member(field, "namespace"), ref.ns);
  read(member(field, "name"), ref.name);
  read(member(field, "key"), ref.key);
  if (ok()) out = std::move(ref);
}

void JsonReader::read(const Field& field, std::vector<Condition>& out) {
  if (!field.present()) return;
  std::vector<Condition> conditions;
  for (const Field& item : items(field)) {
    if (!isObject(item)) {
      fail(item, "an object");
      return;
    }
    Condition& condition = conditions.emplace_back();
    read(member(item, "type"), condition.type);
    std::optional<ConditionStatus> status;
    readEnum(member(item, "status"), status, parseConditionStatus, "True, False or Unknown");
    condition.status = status.value_or(ConditionStatus::kUnknown);
    read(member(item, "reason"), condition.reason);
    read(member(item, "message"), condition.message);
    read(member(item, "lastTransitionTime"), condition.last_transition_time);
    read(member(item, "observedGeneration"), condition.observed_generation);
  }
  if (ok()) out = std::move(conditions);
}

void JsonReader::read(const Field& field, ObjectMeta& out) {
  if (!isObject(field)) return;
  read(member(field, "name"), out.name);
  read(member(field, "namespace"), out.ns);
  read(member(field, "uid"), out.uid);
  read(member(field, "resourceVersion"), out.resource_version);
  read(member(field, "generation"), out.generation);
  read(member(field, "creationTimestamp"), out.creation_timestamp);
  read(member(field, "deletionTimestamp"), out.deletion_timestamp);
  read(member(field, "finalizers"), out.finalizers);
  read(member(field, "labels"), out.labels);
  read(member(field, "annotations"), out.annotations);
}

void JsonReader::expectKind(const Field& root, std::string_view kind) {
  std::string api_version;
  std::string actual_kind;
  const Field api_version_field = member(root, "apiVersion");
  const Field kind_field = member(root, "kind");
  read(api_version_field, api_version);
  read(kind_field, actual_kind);
  if (!ok()) return;
  // Absent apiVersion and kind are fine: list items and watch events may lack them.
  if (!api_version.empty() && api_version != "aphex.io/v1alpha1") {
    fail(api_version_field, "aphex.io/v1alpha1, not " + quote(api_version), false);
  } else if (!actual_kind.empty() && actual_kind != kind) {
    fail(kind_field, std::string(kind) + ", not " + quote(actual_kind), false);
  }
}

}  // namespace aphex::api::detail
