#include "kube/watch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kube {
namespace {

using ::testing::HasSubstr;

const std::string kStream =
    R"({"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"10"},)"
    R"("data":{"tricky":"braces } { and \"quotes\" and \\ backslash ]"}}})"
    "\n"
    R"({"type":"MODIFIED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"11"}}})"
    "\n"
    R"({"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"12"}}})"
    "\n"
    R"({"type":"DELETED","object":{"kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"13"}}})"
    "\n"
    R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)"
    R"("message":"too old resource version: 1, current 13","reason":"Expired","code":410}})"
    "\n";

void expectTheFiveEvents(const std::vector<WatchEvent>& events) {
  ASSERT_EQ(events.size(), 5U);
  EXPECT_EQ(events[0].type, WatchEventType::kAdded);
  EXPECT_EQ(events[0].object["data"]["tricky"], "braces } { and \"quotes\" and \\ backslash ]");
  EXPECT_EQ(events[1].type, WatchEventType::kModified);
  EXPECT_EQ(events[2].type, WatchEventType::kBookmark);
  EXPECT_EQ(events[2].object["metadata"]["resourceVersion"], "12");
  EXPECT_EQ(events[3].type, WatchEventType::kDeleted);
  EXPECT_EQ(events[4].type, WatchEventType::kError);
  EXPECT_EQ(events[4].errorStatus().code, 410);
  EXPECT_EQ(events[4].errorStatus().reason, "Expired");
}

TEST(WatchStreamParser, ParsesAWholeStreamInOneRead) {
  WatchStreamParser parser;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(parser.feed(kStream, events));
  expectTheFiveEvents(events);
  EXPECT_EQ(parser.pendingBytes(), 0U);
}

TEST(WatchStreamParser, ParsesTheSameStreamFedOneByteAtATime) {
  WatchStreamParser parser;
  std::vector<WatchEvent> events;
  for (char c : kStream) ASSERT_TRUE(parser.feed(std::string_view(&c, 1), events));
  expectTheFiveEvents(events);
}

TEST(WatchStreamParser, ParsesEverySplitPointOfTwoReads) {
  for (size_t split = 0; split <= kStream.size(); ++split) {
    WatchStreamParser parser;
    std::vector<WatchEvent> events;
    ASSERT_TRUE(parser.feed(std::string_view(kStream).substr(0, split), events));
    ASSERT_TRUE(parser.feed(std::string_view(kStream).substr(split), events));
    ASSERT_EQ(events.size(), 5U) << "split at " << split;
  }
}

TEST(WatchStreamParser, NeedsNoNewlineBetweenDocuments) {
  WatchStreamParser parser;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(parser.feed(R"({"type":"ADDED","object":{}}{"type":"DELETED","object":{}})", events));
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[1].type, WatchEventType::kDeleted);
}

TEST(WatchStreamParser, HoldsAnIncompleteEventUntilItEnds) {
  WatchStreamParser parser;
  std::vector<WatchEvent> events;
  ASSERT_TRUE(parser.feed(R"({"type":"ADDED","object":{"metadata":{"name":"a)", events));
  EXPECT_TRUE(events.empty());
  EXPECT_GT(parser.pendingBytes(), 0U);
  ASSERT_TRUE(parser.feed(R"("}}})", events));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].object["metadata"]["name"], "a");
}

struct BadStream {
  std::string name;
  std::string bytes;
  std::string expected_message;
};
void PrintTo(const BadStream& bad, std::ostream* out) { *out << bad.name; }

class WatchStreamErrors : public ::testing::TestWithParam<BadStream> {};

TEST_P(WatchStreamErrors, AreDecodeErrorsThatSayWhat) {
  WatchStreamParser parser(WatchParserLimits{.max_event_bytes = 256});
  std::vector<WatchEvent> events;
  auto fed = parser.feed(GetParam().bytes, events);
  ASSERT_FALSE(fed);
  EXPECT_EQ(fed.error().kind, ErrorKind::kDecode);
  EXPECT_THAT(fed.error().message, HasSubstr(GetParam().expected_message));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, WatchStreamErrors,
    ::testing::Values(
        BadStream{"GarbageBetweenEvents", "x", "unexpected character 'x'"},
        BadStream{"HtmlErrorPage", "<html>", "unexpected character '<'"},
        BadStream{"UnknownType", R"({"type":"RESYNC","object":{}})", "unknown event type \"RESYNC\""},
        BadStream{"MissingType", R"({"object":{}})", "no \"type\""},
        BadStream{"MissingObject", R"({"type":"ADDED"})", "ADDED event without an object"},
        BadStream{"InvalidJson", R"({"type":"ADDED","object":{,}})", "not a JSON object"},
        BadStream{"Oversized", "{\"type\":\"ADDED\",\"object\":{\"x\":\"" + std::string(300, 'a') + "\"}}",
                  "exceeds 256 bytes"}),
    [](const ::testing::TestParamInfo<BadStream>& test) { return test.param.name; });

}  // namespace
}  // namespace kube
