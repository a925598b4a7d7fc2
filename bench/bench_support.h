// What the benchmark programs share: progress on stderr, number formatting, the machine's load,
// /proc/<pid>/status fields, and retrying the writes that seed a run.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "kube/result.h"

namespace aphex::bench {

// Progress and notes go to stderr, so stdout holds only the report.
inline void note(const std::string& message) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::cerr << "bench: " << message << std::endl;
}

inline std::string fixed(double value, int decimals) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(decimals);
  out << value;
  return out.str();
}

inline std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

inline std::string padLeft(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

// The 1, 5 and 15 minute load averages: how busy the machine was around a run.
inline std::string loadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// A "<field>: <n> kB" line of /proc/<pid>/status, in kB; 0 when absent.
inline std::int64_t statusKilobytes(const std::string& status, std::string_view field) {
  const std::string line = "\n" + std::string(field) + ":";
  const auto at = ("\n" + status).find(line);
  if (at == std::string::npos) return 0;
  return std::strtoll(status.c_str() + at + field.size() + 1, nullptr, 10);
}

// A namespace whose ResourceQuota is new refuses creates until kube-controller-manager has
// computed the quota's usage, which for a CRD kind (count/repobindings.aphex.io) waits for its
// discovery resync (30 s) on a cluster whose CRDs were just installed: a fast controller can make
// an Organization Ready before that.
inline bool quotaNotComputed(const kube::Error& error) {
  return error.httpCode() == 403 && error.message.find("status unknown for quota") != std::string::npos;
}

inline bool retriable(const kube::Error& error) {
  return error.kind == kube::ErrorKind::kTransport || error.httpCode() == 429 || error.httpCode() >= 500 ||
         quotaNotComputed(error);
}

// Seeding a run must not fail on a busy API server: up to 5 attempts, backing off; up to 90 s
// for a quota whose usage is not computed yet.
template <typename Call>
kube::Result<kube::Json> withRetries(Call&& call) {
  for (int attempt = 1;; ++attempt) {
    auto result = call();
    if (result || !retriable(result.error())) return result;
    if (quotaNotComputed(result.error())) {
      if (attempt == 180) return result;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (attempt >= 5) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

}  // namespace aphex::bench
