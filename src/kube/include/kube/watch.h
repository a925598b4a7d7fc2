// Watch events and the incremental parser for the API server's watch stream.
//
// A watch response is a stream of JSON documents, one per event ({"type": ..., "object": ...}).
// Network reads (HTTP/1.1 chunks, HTTP/2 DATA frames) do not align with events, so the parser
// accepts bytes in any split and returns each event once its document is complete. It finds
// document boundaries by tracking JSON nesting, so it needs no newline between documents.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"

namespace kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view toString(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  Json object;  // the object; for kError a metav1.Status; for kBookmark only metadata

  // For kError: the Status inside, e.g. code 410 reason "Expired".
  ApiStatus errorStatus() const;
};

struct WatchParserLimits {
  // A single event larger than this is an error rather than unbounded buffering.
  std::size_t max_event_bytes = 64 * 1024 * 1024;
};

class WatchStreamParser {
 public:
  explicit WatchStreamParser(WatchParserLimits limits = {}) : limits_(limits) {}

  // Consumes `bytes` and appends every event completed by them to `events`. After an error the
  // stream is unusable: start a new watch.
  Result<void> feed(std::string_view bytes, std::vector<WatchEvent>& events);

  // Bytes of an event that has started but not finished (0 at a clean boundary).
  std::size_t pendingBytes() const { return buffer_.size(); }

 private:
  Result<void> emit(std::vector<WatchEvent>& events);

  WatchParserLimits limits_;
  std::string buffer_;  // the current, incomplete document
  int depth_ = 0;
  bool in_string_ = false;
  bool escaped_ = false;
};

// Parses one complete watch event document.
Result<WatchEvent> parseWatchEvent(std::string_view document);

}  // namespace kube
