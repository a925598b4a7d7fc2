#include <gtest/gtest.h>

#include <filesystem>

#include "kube/http.h"
#include "support/fake_clock.h"
#include "support/temp_dir.h"

namespace kube {
namespace {

using ::aphex::testing::TempDir;
using namespace std::chrono_literals;

TEST(TokenSource, StaticTokenWhenNoFileIsConfigured) {
  ClientConfig config;
  config.bearer_token = "static";
  EXPECT_EQ(TokenSource(config).token(), "static");
}

TEST(TokenSource, PicksUpARotatedTokenFileAndTrimsIt) {
  TempDir dir;
  ClientConfig config;
  config.bearer_token = "ignored";  // a token file wins over a static token
  config.bearer_token_file = dir.write("token", "first\n");
  TokenSource tokens(config, 0s);
  EXPECT_EQ(tokens.token(), "first");
  dir.write("token", "second");
  EXPECT_EQ(tokens.token(), "second");
}

TEST(TokenSource, KeepsTheLastGoodTokenWhileTheFileIsGone) {
  TempDir dir;
  ClientConfig config;
  config.bearer_token_file = dir.write("token", "good");
  TokenSource tokens(config, 0s);
  EXPECT_EQ(tokens.token(), "good");
  std::filesystem::remove(config.bearer_token_file);
  EXPECT_EQ(tokens.token(), "good");
}

TEST(TokenSource, RereadsTheFileOnceTheIntervalHasPassedOnItsClock) {
  TempDir dir;
  ClientConfig config;
  config.bearer_token_file = dir.write("token", "first");
  testing::FakeClock clock;
  TokenSource tokens(config, 60s, clock);
  EXPECT_EQ(tokens.token(), "first");
  dir.write("token", "second");
  clock.advance(59s);
  EXPECT_EQ(tokens.token(), "first");
  clock.advance(1s);
  EXPECT_EQ(tokens.token(), "second");
}

TEST(TokenSource, ReadsTheFileAtMostOncePerInterval) {
  TempDir dir;
  ClientConfig config;
  config.bearer_token_file = dir.write("token", "first");
  TokenSource tokens(config, 3600s);
  EXPECT_EQ(tokens.token(), "first");
  dir.write("token", "second");
  EXPECT_EQ(tokens.token(), "first");
}

}  // namespace
}  // namespace kube
