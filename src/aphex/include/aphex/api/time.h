// metav1.Time on the wire: RFC 3339 with second precision ("2024-05-01T12:00:00Z").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace aphex::api {

using Time = std::chrono::sys_seconds;

// "2024-05-01T12:00:00Z": always UTC, no fraction, as the API server writes metav1.Time.
std::string formatTime(Time time);

// Accepts any RFC 3339 date-time (fraction and numeric offset included, since other writers and
// metav1.MicroTime produce them) and drops the fraction; nullopt if `text` is not one.
std::optional<Time> parseTime(std::string_view text);

}  // namespace aphex::api
