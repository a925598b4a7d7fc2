// Tables (golden: the column layout is an interface people and scripts read), colour rules,
// durations and YAML output. No cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aphex/api/yaml.h"
#include "kubectl-aphex/output.h"

namespace {

using aphex::cli::Cell;
using aphex::cli::shortDuration;
using aphex::cli::Style;
using aphex::cli::Table;
using aphex::cli::Tone;
using std::chrono::seconds;

TEST(Table, ColumnsAreLeftAlignedThreeSpacesApartWithNoTrailingBlanks) {
  Table table({"NAME", "READY", "MESSAGE"});
  table.add({"acme", Cell("True", Tone::kGood), ""});
  table.add({"globex-corp", Cell("False", Tone::kBad), "namespace org-globex-corp is terminating"});
  EXPECT_EQ(table.render(Style{.color = false}),
            "NAME          READY   MESSAGE\n"
            "acme          True\n"
            "globex-corp   False   namespace org-globex-corp is terminating\n");
}

TEST(Table, WidthsCountCharactersNotBytes) {
  Table table({"A", "B"});
  table.add({"é", "x"});
  table.add({"ab", "y"});
  EXPECT_EQ(table.render(Style{}), "A    B\né    x\nab   y\n");
}

TEST(Table, ColourDoesNotShiftTheColumns) {
  Table table({"NAME", "READY", "AGE"});
  table.add({"acme", Cell("True", Tone::kGood), "5m"});
  EXPECT_EQ(table.render(Style{.color = true}),
            "NAME   READY   AGE\n"
            "acme   \033[32mTrue\033[0m    5m\n");
}

TEST(Style, ColourOnlyOnATerminalWithoutNoColor) {
  EXPECT_TRUE(Style::detect(true, nullptr, "xterm-256color").color);
  EXPECT_FALSE(Style::detect(false, nullptr, "xterm").color);
  EXPECT_FALSE(Style::detect(true, "1", "xterm").color);
  EXPECT_TRUE(Style::detect(true, "", "xterm").color);  // NO_COLOR set but empty does not count
  EXPECT_FALSE(Style::detect(true, nullptr, "dumb").color);
  EXPECT_EQ(Style{}.paint("x", Tone::kBad), "x");
}

TEST(ShortDuration, ReadsLikeKubectlAges) {
  EXPECT_EQ(shortDuration(seconds(0)), "0s");
  EXPECT_EQ(shortDuration(seconds(119)), "119s");
  EXPECT_EQ(shortDuration(seconds(150)), "2m30s");
  EXPECT_EQ(shortDuration(seconds(600)), "10m");
  EXPECT_EQ(shortDuration(seconds(3 * 3600 + 120)), "3h2m");
  EXPECT_EQ(shortDuration(seconds(30 * 3600)), "30h");
  EXPECT_EQ(shortDuration(seconds(3 * 86400 + 3600)), "3d1h");
  EXPECT_EQ(shortDuration(seconds(400 * 86400)), "400d");
  EXPECT_EQ(shortDuration(seconds(-5)), "0s");
}

TEST(OneLine, FlattensAndCutsAtACharacter) {
  EXPECT_EQ(aphex::cli::oneLine("a\nb", 10), "a b");
  EXPECT_EQ(aphex::cli::oneLine("abcdefghij", 6), "abc...");
  EXPECT_EQ(aphex::cli::oneLine("ééééééé", 5), "éé...");
}

TEST(ToYaml, QuotesWhatWouldReadBackAsAnotherTypeAndRoundTrips) {
  const kube::Json value = {{"name", "acme"},        {"count", 3},        {"text", "3"},
                            {"flag", "true"},        {"empty", ""},       {"none", nullptr},
                            {"list", {"a", "null"}}, {"pipeline", "kind: Pipeline\nspec: {}\n"}};
  const std::string yaml = aphex::cli::toYaml(value);
  EXPECT_THAT(yaml, ::testing::HasSubstr("text: \"3\""));
  EXPECT_THAT(yaml, ::testing::HasSubstr("pipeline: |"));
  auto back = aphex::api::yamlToJson(yaml);
  ASSERT_TRUE(back) << back.error().message << "\n" << yaml;
  EXPECT_EQ(*back, value) << yaml;
}

TEST(OutputFormat, OnlyJsonAndYaml) {
  EXPECT_EQ(aphex::cli::parseOutputFormat(""), aphex::cli::OutputFormat::kHuman);
  EXPECT_EQ(aphex::cli::parseOutputFormat("yaml"), aphex::cli::OutputFormat::kYaml);
  EXPECT_FALSE(aphex::cli::parseOutputFormat("wide"));
  const kube::Json object = {{"metadata", {{"name", "a"}, {"managedFields", {1}}}}};
  EXPECT_FALSE(aphex::cli::forDisplay(object)["metadata"].contains("managedFields"));
}

}  // namespace
