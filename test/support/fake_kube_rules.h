// What FakeObjectApi (fake_kube.h) does to objects the way the API server does, apart from its
// bookkeeping: the fields the server owns, generation, deletion with finalizers, label
// selectors, and errors worded as kube::Client reports the server's. Internal to the fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/clock.h"
#include "kube/object_api.h"
#include "support/fake_kube.h"

namespace kube::testing::apiserver {

// ---- Errors ----

// As kube::apiError words an answer: "<METHOD> <path>: <code> <reason>: <message>".
Error answered(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name, int code,
               std::string reason, std::string message);
Error notFound(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name);
Error alreadyExists(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name);
// "Operation cannot be fulfilled on <resource> "<name>": <why>".
Error conflict(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name, const std::string& why);
Error staleWrite(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name);
Error badRequest(Verb verb, const ResourceType& type, std::string_view ns, std::string message);
// The Status of a watch or list from a compacted version: 410 Expired.
Json expiredStatus(std::uint64_t asked, std::uint64_t oldest);

// ---- Objects ----

std::string metadataString(const Json& object, const char* field);
std::optional<std::uint64_t> parseVersion(std::string_view text);
std::string rfc3339(WallTime time);
// What metadata.generation tracks (the custom-resource rule): everything but metadata and status.
Json specOf(Json object);
// Marked for deletion and no finalizer left: the object goes.
bool deletionComplete(const Json& object);
// Puts back the metadata a client cannot change with a write (name, uid, timestamps, ...).
void keepServerFields(Json& after, const Json& before);
// The write names a resourceVersion, and not the stored one.
bool staleVersion(const Json& written, const Json& stored);
// {"status": ...} of `object`, for writes to the status subresource.
Json statusPart(const Json& object);
std::string withSubresource(std::string resource, Subresource subresource);
bool isWrite(Verb verb);

// ---- Label selectors: k=v, k==v, k!=v, comma-separated, all must hold ----

class LabelSelector {
 public:
  // nullopt for any other form ("k in (a,b)", "k", "!k").
  static std::optional<LabelSelector> parse(std::string_view text);
  bool matches(const Json& object) const;

 private:
  struct Term {
    std::string key;
    std::string value;
    bool equal = true;
  };
  static std::optional<Term> parseTerm(std::string_view text);

  std::vector<Term> terms_;
};

}  // namespace kube::testing::apiserver
