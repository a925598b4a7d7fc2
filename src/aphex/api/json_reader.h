// Typed reading of an object's JSON with field paths in errors.
//
// The API server has already checked the schema of what it stores, but the controller also reads
// objects from files, tests and other versions, so every read is checked and the first wrong type
// is reported where it is: "spec.adminUsers[2]: expected a string". Absent and null fields leave
// the target untouched, which is how defaults are kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aphex/api/condition.h"
#include "aphex/api/meta.h"
#include "kube/result.h"

namespace aphex::api::detail {

// How much of a user's text an error message quotes: objects come from tenants, and a message
// that repeated a 256 KiB field would flood Events, status and logs.
inline constexpr std::size_t kMaxQuotedLength = 100;

// `text` cut to kMaxQuotedLength bytes, on a UTF-8 character boundary so that the message stays
// valid UTF-8 for JSON, with "…" marking the cut.
std::string excerpt(std::string_view text);
// The excerpt in double quotes; a cut one also gives the full length ("ab…" (4096 bytes)).
std::string quote(std::string_view text);

// A value in the document and where it is; `value` is null when the field is absent or null.
struct Field {
  const kube::Json* value = nullptr;
  std::string path;

  bool present() const { return value != nullptr; }
};

class JsonReader {
 public:
  // The root object; `kind` (e.g. "Organization") is checked against the document's kind, if any.
  Field root(const kube::Json& document);

  // The member `key` of an object field (absent when `object` is absent or not an object; the
  // latter is recorded as an error).
  Field member(const Field& object, std::string_view key);
  // The items of an array field; none when absent, an error when not an array.
  std::vector<Field> items(const Field& array);

  void read(const Field& field, std::string& out);
  void read(const Field& field, std::int64_t& out);
  void read(const Field& field, std::int32_t& out);
  void read(const Field& field, std::optional<Time>& out);
  void read(const Field& field, Time& out);
  void read(const Field& field, std::vector<std::string>& out);
  void read(const Field& field, std::map<std::string, std::string>& out);
  void read(const Field& field, std::optional<Phase>& out);
  void read(const Field& field, std::vector<Condition>& out);
  void read(const Field& field, std::optional<SecretKeyRef>& out);
  void read(const Field& field, ObjectMeta& out);

  // An enum stored as a string: `parse` maps the text to a value or nullopt; `allowed` lists the
  // values for the message ("Retain or Delete").
  template <typename E, typename Parse>
  void readEnum(const Field& field, std::optional<E>& out, Parse parse, std::string_view allowed) {
    if (!field.present()) return;
    std::string text;
    read(field, text);
    if (!ok()) return;
    if (auto value = parse(text)) {
      out = *value;
    } else {
      fail(field, "one of " + std::string(allowed) + ", not " + quote(text), false);
    }
  }

  // Records that `field` is not what it should be (only the first error is kept); `wrong_type`
  // adds the JSON type found ("expected a string, got a number").
  void fail(const Field& field, const std::string& expected, bool wrong_type = true);
  // The document's kind, if present, must be `kind`; its apiVersion must be aphex.io/v1alpha1.
  void expectKind(const Field& root, std::string_view kind);

  bool ok() const { return !error_.has_value(); }
  // The first error, as the kube::Error that fromJson returns.
  kube::Error error() const;

 private:
  bool isObject(const Field& field);
  std::optional<std::string> error_;
};

}  // namespace aphex::api::detail
