#include "integration/chaos/report.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>

namespace aphex::chaos {
namespace {

std::uint64_t seedFromEnvironment() {
  const char* text = std::getenv("APHEX_CHAOS_SEED");
  if (text != nullptr && *text != '\0') return std::strtoull(text, nullptr, 10);
  return (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
}

std::string currentTestName() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return info == nullptr ? "no-test" : std::string(info->test_suite_name()) + "." + info->name();
}

}  // namespace

ChaosRandom::ChaosRandom() : seed_(seedFromEnvironment()), engine_(seed_) {
  figure("seed", std::to_string(seed_) + " (replay: APHEX_CHAOS_SEED=" + std::to_string(seed_) + ")");
}

std::chrono::milliseconds ChaosRandom::between(std::chrono::milliseconds low, std::chrono::milliseconds high) {
  std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(low.count(), high.count());
  return std::chrono::milliseconds(pick(engine_));
}

int ChaosRandom::between(int low, int high) { return std::uniform_int_distribution<int>(low, high)(engine_); }

std::filesystem::path testOutputDir() {
  const std::filesystem::path dir = std::filesystem::path(APHEX_CHAOS_OUTPUT_DIR) / currentTestName();
  static std::mutex mutex;
  static std::set<std::filesystem::path> cleared;  // once per test, by this process
  std::lock_guard lock(mutex);
  if (cleared.insert(dir).second) std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void figure(std::string_view name, const std::string& value) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  const std::string line = "chaos: " + currentTestName() + ": " + std::string(name) + " = " + value;
  std::cout << line << std::endl;
  std::ofstream(testOutputDir() / "figures.txt", std::ios::app) << line << "\n";
}

std::string seconds(std::chrono::steady_clock::duration duration) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(duration).count());
  return text;
}

}  // namespace aphex::chaos
