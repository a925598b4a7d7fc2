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

// A 403 "status unknown for quota": the namespace's ResourceQuota names a resource
// kube-controller-manager's quota controller has not counted yet (a new Organization's namespace,
// a CRD it discovers on its next resync, up to 30 s later). It passes.
inline bool quotaNotCountedYet(const kube::Error& error) {
  return error.isForbidden() && error.message.find("status unknown for quota") != std::string::npos;
}

inline bool retriable(const kube::Error& error) {
  return error.kind == kube::ErrorKind::kTransport || error.httpCode() == 429 || error.httpCode() >= 500;
}

// Seeding a run must not fail on a busy API server: up to 5 attempts, backing off.
template <typename Call>
kube::Result<kube::Json> withRetries(Call&& call) {
  for (int attempt = 1, uncounted = 0;; ++attempt) {
    auto result = call();
    if (!result && quotaNotCountedYet(result.error()) && ++uncounted < 120) {
      --attempt;  // not the API server's fault: wait for the quota controller, up to a minute
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (result || attempt == 5 || !retriable(result.error())) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
}

}  // namespace aphex::bench
