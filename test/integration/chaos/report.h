// What a chaos test says about its run: the seed that replays it, and its figures (kills, time to
// converge, writes). Figures are printed, never asserted: on a loaded 2-core machine timings
// vary, and a test that fails on a slow run proves nothing about the controller.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

namespace aphex::chaos {

// The random source of one test run: from APHEX_CHAOS_SEED when set (to replay a failure), else
// fresh. The seed is printed either way.
class ChaosRandom {
 public:
  ChaosRandom();
  std::uint64_t seed() const { return seed_; }
  // A duration drawn uniformly from [low, high].
  std::chrono::milliseconds between(std::chrono::milliseconds low, std::chrono::milliseconds high);
  // An integer drawn uniformly from [low, high].
  int between(int low, int high);

 private:
  std::uint64_t seed_;
  std::mt19937_64 engine_;
};

// Where a test keeps its controllers' logs: <build>/test/chaos/<Suite.Test>/, emptied when the
// test starts, kept afterwards for whoever must find out why a run failed.
std::filesystem::path testOutputDir();

// Prints one figure ("chaos: <test>: <name> = <value>") and appends it to figures.txt in
// testOutputDir(): CTest shows a passing test's output only with -V.
void figure(std::string_view name, const std::string& value);

// Seconds with one decimal, for figures.
std::string seconds(std::chrono::steady_clock::duration duration);

// Time since `start`.
inline std::chrono::steady_clock::duration since(std::chrono::steady_clock::time_point start) {
  return std::chrono::steady_clock::now() - start;
}

}  // namespace aphex::chaos
