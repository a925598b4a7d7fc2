#include "kube/watch.h"

#include <cctype>

namespace kube {

namespace {

Error decodeError(std::string message) {
  return Error{.kind = ErrorKind::kDecode, .message = "watch stream: " + std::move(message)};
}

std::optional<WatchEventType> eventType(std::string_view name) {
  if (name == "ADDED") return WatchEventType::kAdded;
  if (name == "MODIFIED") return WatchEventType::kModified;
  if (name == "DELETED") return WatchEventType::kDeleted;
  if (name == "BOOKMARK") return WatchEventType::kBookmark;
  if (name == "ERROR") return WatchEventType::kError;
  return std::nullopt;
}

}  // namespace

std::string_view toString(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded: return "ADDED";
    case WatchEventType::kModified: return "MODIFIED";
    case WatchEventType::kDeleted: return "DELETED";
    case WatchEventType::kBookmark: return "BOOKMARK";
    case WatchEventType::kError: return "ERROR";
  }
  return "UNKNOWN";
}

ApiStatus WatchEvent::errorStatus() const {
  ApiStatus status{.code = 0, .reason = {}, .message = {}, .details = nullptr};
  if (!object.is_object()) return status;
  if (object.contains("code") && object["code"].is_number_integer()) status.code = object["code"].get<int>();
  status.reason = object.value("reason", "");
  status.message = object.value("message", "");
  if (object.contains("details")) status.details = object["details"];
  return status;
}

Result<WatchEvent> parseWatchEvent(std::string_view document) {
  Json parsed = Json::parse(document, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return decodeError("an event is not a JSON object");
  const auto type_field = parsed.find("type");
  if (type_field == parsed.end() || !type_field->is_string()) return decodeError("an event has no \"type\"");
  const auto type = eventType(type_field->get_ref<const std::string&>());
  if (!type) return decodeError("unknown event type \"" + type_field->get<std::string>() + "\"");
  auto object = parsed.find("object");
  if (object == parsed.end() || !object->is_object()) {
    return decodeError(std::string(toString(*type)) + " event without an object");
  }
  return WatchEvent{.type = *type, .object = std::move(*object)};
}

Result<void> WatchStreamParser::feed(std::string_view bytes, std::vector<WatchEvent>& events) {
  for (char c : bytes) {
    if (depth_ == 0) {
      // Between documents only whitespace may appear.
      if (std::isspace(static_cast<unsigned char>(c)) != 0) continue;
      if (c != '{') return decodeError(std::string("unexpected character '") + c + "' between events");
    }
    buffer_.push_back(c);
    if (buffer_.size() > limits_.max_event_bytes) {
      return decodeError("an event exceeds " + std::to_string(limits_.max_event_bytes) + " bytes");
    }
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        if (auto emitted = emit(events); !emitted) return emitted;
      }
    }
  }
  return {};
}

Result<void> WatchStreamParser::emit(std::vector<WatchEvent>& events) {
  auto event = parseWatchEvent(buffer_);
  buffer_.clear();
  if (!event) return std::move(event).error();
  events.push_back(std::move(*event));
  return {};
}

}  // namespace kube
