#include "runtime/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/fake_clock.h"

namespace kube::runtime {
namespace {

using namespace std::chrono_literals;
using kube::testing::FakeClock;
using ::testing::HasSubstr;
using ::testing::Not;

WallTime mayDay() {
  return std::chrono::sys_days{std::chrono::year{2025} / 5 / 1} + 12h + 34min + 56s + 789123us;
}

// Collects lines; the logger calls it under its own lock.
struct Capture {
  std::vector<std::string> lines;
  LogSink sink() {
    return [this](std::string_view line) { lines.emplace_back(line); };
  }
};

class Log : public ::testing::Test {
 protected:
  FakeClock clock_{MonoTime{}, mayDay()};
  Capture capture_;
  Logger logger_{{.level = LogLevel::kInfo, .format = LogFormat::kJson, .sink = capture_.sink()}, clock_};
};

TEST_F(Log, WritesOneJsonObjectPerLineWithTimeLevelLoggerMessageAndFields) {
  logger_.named("controller").info("reconciled", {{"controller", "aphex"}, {"namespace", "prod"}, {"attempt", 2}});
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_EQ(capture_.lines[0],
            R"({"ts":"2025-05-01T12:34:56.789Z","level":"info","logger":"controller","msg":"reconciled",)"
            R"("controller":"aphex","namespace":"prod","attempt":2})");
}

TEST_F(Log, AnUnnamedLoggerLeavesOutTheLoggerKey) {
  logger_.warn("careful");
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_EQ(capture_.lines[0], R"({"ts":"2025-05-01T12:34:56.789Z","level":"warn","msg":"careful"})");
}

TEST_F(Log, LinesBelowTheLevelAreDropped) {
  logger_.debug("noise");
  logger_.info("kept");
  logger_.error("kept too");
  ASSERT_EQ(capture_.lines.size(), 2U);
  EXPECT_THAT(capture_.lines[0], HasSubstr(R"("level":"info")"));
  EXPECT_THAT(capture_.lines[1], HasSubstr(R"("level":"error")"));
}

TEST_F(Log, SetLevelAppliesToTheWholeFamilyOfLoggers) {
  Logger child = logger_.named("child").with({{"k", "v"}});
  EXPECT_FALSE(child.enabled(LogLevel::kDebug));
  logger_.setLevel(LogLevel::kDebug);
  EXPECT_TRUE(child.enabled(LogLevel::kDebug));
  child.debug("now visible");
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_THAT(capture_.lines[0], HasSubstr(R"("level":"debug")"));
}

TEST_F(Log, WithCarriesFieldsIntoChildrenAndLeavesTheParentAlone) {
  Logger reconcile = logger_.with({{"controller", "aphex"}}).with({{"reconcileID", "r-1"}});
  reconcile.info("start", {{"name", "web"}});
  logger_.info("parent");
  ASSERT_EQ(capture_.lines.size(), 2U);
  EXPECT_THAT(capture_.lines[0], HasSubstr(R"("msg":"start","controller":"aphex","reconcileID":"r-1","name":"web"})"));
  EXPECT_THAT(capture_.lines[1], Not(HasSubstr("controller")));
}

TEST_F(Log, ARepeatedKeyTakesTheLastValue) {
  logger_.with({{"name", "old"}}).info("m", {{"name", "new"}});
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_THAT(capture_.lines[0], HasSubstr(R"("name":"new")"));
  EXPECT_THAT(capture_.lines[0], Not(HasSubstr("old")));
}

TEST_F(Log, NamedChildrenJoinNamesWithDots) {
  logger_.named("runtime").named("events").info("m");
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_THAT(capture_.lines[0], HasSubstr(R"("logger":"runtime.events")"));
}

TEST_F(Log, FieldsKeepTheirJsonTypes) {
  std::string owned = "owned";
  std::string_view view = "view";
  logger_.info("m", {{"i", -3}, {"u", 7U}, {"big", std::uint64_t{18446744073709551615U}}, {"d", 0.5},
                     {"b", true}, {"s", owned}, {"sv", view}, {"lit", "literal"}});
  ASSERT_EQ(capture_.lines.size(), 1U);
  const auto json = nlohmann::json::parse(capture_.lines[0]);
  EXPECT_EQ(json["i"], -3);
  EXPECT_EQ(json["u"], 7);
  EXPECT_EQ(json["big"].get<std::uint64_t>(), 18446744073709551615U);
  EXPECT_EQ(json["d"], 0.5);
  EXPECT_EQ(json["b"], true);  // not confused with the string literal below
  EXPECT_EQ(json["s"], "owned");
  EXPECT_EQ(json["sv"], "view");
  EXPECT_EQ(json["lit"], "literal");
}

TEST_F(Log, QuotesAndLineBreaksAreEscapedSoAnEntryStaysOneLine) {
  logger_.error("failed:\n\"quoted\" \\ path", {{"error", "line one\nline two"}});
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_EQ(capture_.lines[0].find('\n'), std::string::npos);
  const auto json = nlohmann::json::parse(capture_.lines[0]);
  EXPECT_EQ(json["msg"], "failed:\n\"quoted\" \\ path");
  EXPECT_EQ(json["error"], "line one\nline two");
}

TEST_F(Log, InvalidUtf8IsReplacedInsteadOfFailingTheCall) {
  logger_.info("bad \xff byte", {{"value", "\xc3"}});
  ASSERT_EQ(capture_.lines.size(), 1U);
  const auto json = nlohmann::json::parse(capture_.lines[0]);
  EXPECT_EQ(json["msg"], "bad \xEF\xBF\xBD byte");
}

TEST_F(Log, AFieldCannotOverwriteTheLinesOwnKeys) {
  logger_.info("real message", {{"msg", "forged"}, {"level", "error"}});
  ASSERT_EQ(capture_.lines.size(), 1U);
  const auto json = nlohmann::json::parse(capture_.lines[0]);
  EXPECT_EQ(json["msg"], "real message");
  EXPECT_EQ(json["level"], "info");
  EXPECT_EQ(json["fields.msg"], "forged");
  EXPECT_EQ(json["fields.level"], "error");
}

TEST_F(Log, TheTimestampComesFromTheInjectedClock) {
  clock_.advance(1500ms);
  logger_.info("later");
  ASSERT_EQ(capture_.lines.size(), 1U);
  EXPECT_THAT(capture_.lines[0], HasSubstr(R"("ts":"2025-05-01T12:34:58.289Z")"));
}

TEST(LogText, TheTextFormatIsOneReadableLine) {
  FakeClock clock{MonoTime{}, mayDay()};
  Capture capture;
  Logger logger({.level = LogLevel::kInfo, .format = LogFormat::kText, .sink = capture.sink()}, clock);
  logger.named("events").warn("write failed", {{"name", "web"}, {"note", "two words"}, {"count", 3}, {"ok", false}});
  logger.info("multi\nline", {{"empty", ""}});
  ASSERT_EQ(capture.lines.size(), 2U);
  EXPECT_EQ(capture.lines[0],
            "2025-05-01T12:34:56.789Z WARN events: write failed name=web note=\"two words\" count=3 ok=false");
  EXPECT_EQ(capture.lines[1], "2025-05-01T12:34:56.789Z INFO \"multi\\nline\" empty=\"\"");
}

TEST(LogConcurrency, LinesFromManyThreadsNeverInterleave) {
  std::string output;  // the sink appends byte by byte: only the logger's lock keeps lines whole
  Logger logger({.sink = [&output](std::string_view line) {
    for (char c : line) {
      output += c;
      if (c == ',') std::this_thread::yield();
    }
    output += '\n';
  }});
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&logger, t] {
        for (int i = 0; i < 300; ++i) logger.info("tick", {{"thread", t}, {"i", i}, {"pad", "abcdefgh"}});
      });
    }
  }
  std::istringstream lines(output);
  std::string line;
  int parsed = 0;
  while (std::getline(lines, line)) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << line;
    ++parsed;
  }
  EXPECT_EQ(parsed, 6 * 300);
}

TEST(LogDefault, TheDefaultLoggerCanBeReplacedForTests) {
  const Logger original = defaultLogger();
  FakeClock clock{MonoTime{}, mayDay()};
  Capture capture;
  setDefaultLogger(Logger({.sink = capture.sink()}, clock));
  defaultLogger().named("x").info("captured");
  setDefaultLogger(original);
  defaultLogger().debug("not captured, and below the default level anyway");
  ASSERT_EQ(capture.lines.size(), 1U);
  EXPECT_THAT(capture.lines[0], HasSubstr(R"("logger":"x","msg":"captured")"));
}

TEST(LogOptions, LevelsAndFormatsParseFromFlags) {
  EXPECT_EQ(parseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(parseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(parseLogLevel("verbose"), std::nullopt);
  EXPECT_EQ(parseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(parseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(parseLogFormat("xml"), std::nullopt);
}

TEST(LogTimestamp, FormatsRfc3339InUtcWithTheRequestedFraction) {
  EXPECT_EQ(formatTimestamp(mayDay(), 3), "2025-05-01T12:34:56.789Z");
  EXPECT_EQ(formatTimestamp(mayDay(), 6), "2025-05-01T12:34:56.789123Z");
  EXPECT_EQ(formatTimestamp(mayDay(), 0), "2025-05-01T12:34:56Z");
  EXPECT_EQ(formatTimestamp(std::chrono::sys_days{std::chrono::year{2024} / 2 / 29}, 3), "2024-02-29T00:00:00.000Z");
  EXPECT_EQ(formatTimestamp(WallTime{}, 6), "1970-01-01T00:00:00.000000Z");
}

TEST(TruncateForLog, CutsLongTextAtACharacterBoundary) {
  EXPECT_EQ(truncateForLog("short", 200), "short");
  EXPECT_EQ(truncateForLog(std::string(300, 'a'), 200), std::string(200, 'a') + "...");
  // "é" is two bytes; a cut after 3 bytes would split the second one.
  EXPECT_EQ(truncateForLog("a\xC3\xA9\xC3\xA9", 4), "a\xC3\xA9...");
}

TEST(CurrentExceptionSummary, NamesWhatWasThrown) {
  try {
    throw std::runtime_error(std::string(500, 'e'));
  } catch (...) {
    EXPECT_EQ(currentExceptionSummary(), std::string(200, 'e') + "...");
  }
  try {
    throw 1;
  } catch (...) {
    EXPECT_EQ(currentExceptionSummary(), "an exception not derived from std::exception");
  }
}

}  // namespace
}  // namespace kube::runtime
