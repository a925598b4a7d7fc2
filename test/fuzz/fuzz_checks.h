// What every target checks of a parser's answer beyond "no crash": error messages stay short
// (they go to Events, status and logs, and must not repeat a tenant's 256 KiB of text) and
// everything a parser returns can be written as JSON (valid UTF-8), as the controller will.
#pragma once

#include <cstdlib>
#include <string_view>

#include "kube/result.h"

namespace aphex::fuzz {

// Far above any message the parsers write about one field; far below the input's size.
inline constexpr std::size_t kMaxMessageLength = 2048;

inline void checkMessage(std::string_view message) {
  if (message.size() > kMaxMessageLength) std::abort();
  (void)kube::Json(message).dump();  // throws, and so fails the run, on invalid UTF-8
}

}  // namespace aphex::fuzz
