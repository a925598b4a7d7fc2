#include "support/fake_kube_rules.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <utility>

#include "kube/client.h"

namespace kube::testing::apiserver {

namespace {

std::string_view methodOf(Verb verb) {
  switch (verb) {
    case Verb::kGet:
    case Verb::kList:
    case Verb::kWatch: return "GET";
    case Verb::kCreate: return "POST";
    case Verb::kUpdate: return "PUT";
    case Verb::kRemove: return "DELETE";
    case Verb::kMergePatch:
    case Verb::kApply: return "PATCH";
  }
  return "GET";
}

std::string quoted(const ResourceType& type, std::string_view name) {
  return resourceName(type) + " \"" + std::string(name) + "\"";
}

}  // namespace

// ---- Errors ----

Error answered(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name, int code,
               std::string reason, std::string message) {
  Error error = statusError(code, std::move(reason), std::move(message));
  error.status->details = {{"name", std::string(name)}, {"group", type.group}, {"kind", type.plural}};
  error.message = std::string(methodOf(verb)) + " " + resourcePath(type, ns, name) + ": " + error.message;
  return error;
}

Error notFound(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name) {
  return answered(verb, type, ns, name, 404, "NotFound", quoted(type, name) + " not found");
}

Error conflict(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name,
               const std::string& why) {
  return answered(verb, type, ns, name, 409, "Conflict",
                  "Operation cannot be fulfilled on " + quoted(type, name) + ": " + why);
}

Error alreadyExists(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name) {
  return answered(verb, type, ns, name, 409, "AlreadyExists", quoted(type, name) + " already exists");
}

Error staleWrite(Verb verb, const ResourceType& type, std::string_view ns, std::string_view name) {
  return conflict(verb, type, ns, name,
                  "the object has been modified; please apply your changes to the latest version and try again");
}

Error badRequest(Verb verb, const ResourceType& type, std::string_view ns, std::string message) {
  return answered(verb, type, ns, "", 400, "BadRequest", std::move(message));
}

Json expiredStatus(std::uint64_t asked, std::uint64_t oldest) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"}, {"code", 410}, {"reason", "Expired"},
          {"message", "too old resource version: " + std::to_string(asked) + " (" + std::to_string(oldest) + ")"}};
}

// ---- Objects ----

std::string metadataString(const Json& object, const char* field) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return {};
  const auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : std::string{};
}

std::optional<std::uint64_t> parseVersion(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string rfc3339(WallTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 32> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text.data();
}

Json specOf(Json object) {
  object.erase("metadata");
  object.erase("status");
  return object;
}

bool deletionComplete(const Json& object) {
  const Json& metadata = object.at("metadata");
  if (!metadata.contains("deletionTimestamp")) return false;
  const auto finalizers = metadata.find("finalizers");
  return finalizers == metadata.end() || finalizers->empty();
}

void keepServerFields(Json& after, const Json& before) {
  const Json& kept = before.at("metadata");
  for (const char* field : {"name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "generation",
                            "resourceVersion"}) {
    if (kept.contains(field)) {
      after["metadata"][field] = kept.at(field);
    } else if (after.contains("metadata")) {
      after["metadata"].erase(field);
    }
  }
}

bool staleVersion(const Json& written, const Json& stored) {
  const std::string version = metadataString(written, "resourceVersion");
  return !version.empty() && version != metadataString(stored, "resourceVersion");
}

Json statusPart(const Json& object) {
  Json part = Json::object();
  if (object.contains("status")) part["status"] = object["status"];
  return part;
}

std::string withSubresource(std::string resource, Subresource subresource) {
  return subresource == Subresource::kStatus ? resource + "/status" : resource;
}

bool isWrite(Verb verb) {
  return verb == Verb::kCreate || verb == Verb::kUpdate || verb == Verb::kRemove || verb == Verb::kMergePatch ||
         verb == Verb::kApply;
}

// ---- Label selectors: k=v, k==v, k!=v, comma-separated, all must hold ----

std::optional<LabelSelector> LabelSelector::parse(std::string_view text) {
  LabelSelector selector;
  while (!text.empty()) {
    const auto comma = text.find(',');
    auto term = parseTerm(text.substr(0, comma));
    if (!term) return std::nullopt;
    selector.terms_.push_back(std::move(*term));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return selector;
}

bool LabelSelector::matches(const Json& object) const {
  const Json labels = object.at("metadata").value("labels", Json::object());
  return std::all_of(terms_.begin(), terms_.end(), [&](const Term& term) {
    const bool has = labels.contains(term.key) && labels[term.key] == term.value;
    return has == term.equal;
  });
}

std::optional<LabelSelector::Term> LabelSelector::parseTerm(std::string_view text) {
  const bool negated = text.find("!=") != std::string_view::npos;
  const auto op = negated ? text.find("!=") : text.find('=');
  if (op == std::string_view::npos || op == 0) return std::nullopt;
  std::size_t value_at = op + (negated ? 2 : 1);
  if (!negated && text.substr(value_at, 1) == "=") ++value_at;  // k==v
  const std::string_view value = text.substr(value_at);
  if (value.find_first_of("=!(), ") != std::string_view::npos) return std::nullopt;
  return Term{.key = std::string(text.substr(0, op)), .value = std::string(value), .equal = !negated};
}

}  // namespace kube::testing::apiserver
