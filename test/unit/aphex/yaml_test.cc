// api::yamlToJson on what tenants may write into spec.pipelineSpec: the core schema's typing,
// and the texts that once crashed the controller (a long number: std::regex overflowed the
// stack) or made it use a gigabyte (aliases), plus nesting, duplicates and multi-document text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "aphex/api/repo_binding.h"
#include "aphex/api/yaml.h"

namespace aphex::api {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using Json = kube::Json;

// The value of `text` as the plain scalar in "v: <text>".
Json plain(const std::string& text) {
  auto json = yamlToJson("v: " + text + "\n");
  if (!json) return Json("error: " + json.error().message);
  return (*json)["v"];
}

std::string errorOf(std::string_view text) {
  auto json = yamlToJson(text);
  return json ? std::string("no error") : json.error().message;
}

TEST(ApiYamlNumbers, PlainScalarsAreTypedByTheCoreSchema) {
  struct Case {
    std::string text;
    Json expected;
  };
  const Case cases[] = {
      {"0", 0},
      {"42", 42},
      {"-7", -7},
      {"+7", 7},
      {"007", 7},
      {"0o17", 15},
      {"0o", "0o"},
      {"0o8", "0o8"},
      {"0x1F", 31},
      {"0xff", 255},
      {"0x", "0x"},
      {"0xg", "0xg"},
      {"-0x1F", "-0x1F"},
      {"1.5", 1.5},
      {"-1.5", -1.5},
      {".5", 0.5},
      {"+.5", 0.5},
      {"1.", 1.0},
      {"1e5", 100000.0},
      {"1E5", 100000.0},
      {"2.5e-3", 0.0025},
      {"-.5e-3", -0.0005},
      {".", "."},
      {"+", "+"},
      {"1e", "1e"},
      {"1e+", "1e+"},
      {"e5", "e5"},
      {".e5", ".e5"},
      {"1.2.3", "1.2.3"},
      {"1_000", "1_000"},
      {"12abc", "12abc"},
      {"1e999", "1e999"},  // no finite double: text
      {".inf", ".inf"},
      {"-.inf", "-.inf"},
      {".nan", ".nan"},
      {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
      {"9223372036854775808", 9223372036854775808.0},  // beyond int64: a double, as before
      {"0x8000000000000000", "0x8000000000000000"},    // beyond int64 in hex: text
      {"true", true},
      {"False", false},
      {"TRUE", true},
      {"yes", "yes"},
      {"null", nullptr},
      {"~", nullptr},
      {"NULL", nullptr},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(plain(c.text), c.expected) << c.text;
  }
}

TEST(ApiYamlNumbers, PlainScalarsLongerThan64CharactersAreText) {
  const std::string sixty_four(64, '1');
  EXPECT_TRUE(plain(sixty_four).is_number_float()) << plain(sixty_four);
  const std::string sixty_five(65, '1');
  EXPECT_EQ(plain(sixty_five), sixty_five);
  EXPECT_EQ(plain("0." + std::string(63, '5')), "0." + std::string(63, '5'));
}

TEST(ApiYamlNumbers, QuotedAndBlockScalarsAreText) {
  auto json = yamlToJson("a: \"42\"\nb: '0x1F'\nc: |\n  1.5\nd: !!str 7\ne: >-\n  true\n");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(*json, Json::parse(R"({"a": "42", "b": "0x1F", "c": "1.5\n", "d": "7", "e": "true"})"));
}

TEST(ApiYamlNumbers, KeysAreTheirText) {
  auto json = yamlToJson("1: a\n0x1F: b\ntrue: c\n");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(*json, Json::parse(R"({"1": "a", "0x1F": "b", "true": "c"})"));
}

TEST(ApiYamlLimits, AFortyThousandDigitScalarIsText) {
  // std::regex_match recursed once per character and overflowed the stack on this (F1).
  const std::string digits(40'000, '1');
  auto json = yamlToJson("a: " + digits + "\n");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ((*json)["a"], digits);
  auto signed_float = yamlToJson("a: -." + digits + "e-" + digits + "\n");
  ASSERT_TRUE(signed_float) << signed_float.error().message;
  EXPECT_TRUE((*signed_float)["a"].is_string());
}

TEST(ApiYamlLimits, TheAliasBombIsRefusedNamingAliases) {
  // 258 KB that expanded to 500 MB of text (1.07 GB RSS) when aliases were followed (F2).
  std::string bomb = "s: &a \"" + std::string(250'000, 'x') + "\"\nl: [";
  for (int i = 0; i < 2000; ++i) bomb += "*a, ";
  bomb += "*a]\n";
  ASSERT_LE(bomb.size(), kMaxPipelineSpecLength);
  const std::string message = errorOf(bomb);
  EXPECT_THAT(message, AllOf(HasSubstr("YAML aliases are not allowed"), HasSubstr("line 2, column 5"),
                             HasSubstr("write the value out")));
  // Nothing of the tenant's text comes back.
  EXPECT_LT(message.size(), 300u);
}

TEST(ApiYamlLimits, EveryAliasIsRefused) {
  EXPECT_THAT(errorOf("a: &x 1\nb: *x\n"), AllOf(HasSubstr("aliases are not allowed"), HasSubstr("line 2, column 4")));
  // An alias whose anchor was never defined is still an alias.
  EXPECT_THAT(errorOf("*a"), AllOf(HasSubstr("aliases are not allowed"), HasSubstr("line 1, column 1")));
  EXPECT_THAT(errorOf("a: *nowhere\n"), HasSubstr("aliases are not allowed"));
  // A merge key is an alias too.
  EXPECT_THAT(errorOf("base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n"), HasSubstr("aliases are not allowed"));
}

TEST(ApiYamlLimits, AnchorsWithoutAliasesAreFine) {
  auto json = yamlToJson("a: &x 1\nb: &y [1, &z two]\nc: &w {d: e}\n");
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(*json, Json::parse(R"({"a": 1, "b": [1, "two"], "c": {"d": "e"}})"));
}

std::string nested(int depth, const std::string& open, const std::string& close, const std::string& inner = "x") {
  std::string text;
  for (int i = 0; i < depth; ++i) text += open;
  text += inner;
  for (int i = 0; i < depth; ++i) text += close;
  return text;
}

TEST(ApiYamlLimits, NestingIsBoundedWithLineAndColumn) {
  EXPECT_TRUE(yamlToJson(nested(64, "[", "]")));
  // The 65th bracket is at depth 64, the scalar inside it at 65.
  EXPECT_THAT(errorOf(nested(65, "[", "]")),
              AllOf(HasSubstr("nests deeper than 64 levels"), HasSubstr("line 1, column 66")));
  EXPECT_THAT(errorOf(nested(65, "{a: ", "}")), HasSubstr("nests deeper than 64 levels"));

  // Block nesting: one more level per line.
  std::string block;
  for (int i = 0; i < 70; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  EXPECT_THAT(errorOf(block), AllOf(HasSubstr("nests deeper than 64 levels"), HasSubstr("line 65, column 65")));
}

TEST(ApiYamlLimits, VeryDeepNestingIsAnErrorNotACrash) {
  // yaml-cpp's parser recurses per level; the converter stops it at the 65th.
  EXPECT_THAT(errorOf(nested(100'000, "[", "]")), HasSubstr("nests deeper"));
  EXPECT_THAT(errorOf(nested(100'000, "{a: ", "}")), HasSubstr("nests deeper"));
  EXPECT_THAT(errorOf(nested(100'000, "- ", "")), HasSubstr("nests deeper"));
  // Unbalanced: yaml-cpp reads ahead to the end for a possible key, then fails.
  EXPECT_FALSE(yamlToJson(nested(100'000, "[", "")));
}

TEST(ApiYamlLimits, DuplicateKeysAreRefused) {
  EXPECT_THAT(errorOf("a: 1\nb: 2\na: 3\n"), AllOf(HasSubstr("\"a\""), HasSubstr("line 3, column 1"),
                                                  HasSubstr("appears twice")));
  EXPECT_THAT(errorOf("{a: 1, a: 1}"), HasSubstr("appears twice"));
  // Keys compare by text: 1 and "1" are one key in JSON.
  EXPECT_THAT(errorOf("1: a\n\"1\": b\n"), HasSubstr("appears twice"));
  // A long key (explicit: an implicit one is at most 1024 characters) is quoted only in part.
  const std::string key(5000, 'k');
  const std::string message = errorOf("? " + key + "\n: 1\n? " + key + "\n: 2\n");
  EXPECT_THAT(message, AllOf(HasSubstr("appears twice"), HasSubstr("(5000 bytes)")));
  EXPECT_LT(message.size(), 300u);
}

TEST(ApiYamlLimits, KeysMustBeScalars) {
  EXPECT_THAT(errorOf("? [a, b]\n: 1\n"), HasSubstr("not a scalar"));
  EXPECT_THAT(errorOf("{[a]: 1}"), HasSubstr("not a scalar"));
  EXPECT_THAT(errorOf("~: 1\n"), HasSubstr("null"));
}

TEST(ApiYamlLimits, OneDocumentOnly) {
  EXPECT_THAT(errorOf("a: 1\n---\nb: 2\n"), AllOf(HasSubstr("one YAML document"), HasSubstr("line 2")));
  EXPECT_THAT(errorOf("---\na: 1\n...\n---\n"), HasSubstr("one YAML document"));
  auto explicit_start = yamlToJson("---\na: 1\n...\n");
  ASSERT_TRUE(explicit_start) << explicit_start.error().message;
  EXPECT_EQ(*explicit_start, Json::parse(R"({"a": 1})"));
  auto comment_only = yamlToJson("# nothing here\n");
  ASSERT_TRUE(comment_only) << comment_only.error().message;
  EXPECT_TRUE(comment_only->is_null());
}

TEST(ApiYamlLimits, SyntaxErrorsNameLineAndColumn) {
  EXPECT_THAT(errorOf("a: [1, 2\nb: 3\n"), AllOf(HasSubstr("invalid YAML at line "), HasSubstr("column ")));
  EXPECT_THAT(errorOf("a: b: c\n"), HasSubstr("invalid YAML at line 1, column 5"));
  EXPECT_THAT(errorOf("a:\n  - b\n c: d\n"), HasSubstr("invalid YAML at line 3, column 2"));
}

TEST(ApiYamlLimits, OnlyUtf8TextWithoutNul) {
  EXPECT_THAT(errorOf("a: \xff\n"), AllOf(HasSubstr("not valid UTF-8"), HasSubstr("byte 4")));
  EXPECT_THAT(errorOf(std::string("a: b\0c\n", 7)), HasSubstr("NUL"));
  EXPECT_THAT(errorOf(std::string("\0a", 2)), HasSubstr("NUL"));   // yaml-cpp would read UTF-16
  EXPECT_THAT(errorOf("a: \xed\xa0\x80\n"), HasSubstr("UTF-8"));  // a UTF-16 surrogate
  EXPECT_THAT(errorOf("a: \xc0\xaf\n"), HasSubstr("UTF-8"));      // overlong
  auto text = yamlToJson("a: \xc3\xa9t\xc3\xa9 \xf0\x9f\x9a\x80\nb: \"\\x41\\u00e9\\0\"\n");
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ((*text)["a"], "\xc3\xa9t\xc3\xa9 \xf0\x9f\x9a\x80");
  EXPECT_EQ((*text)["b"], std::string("A\xc3\xa9\0", 4));
  EXPECT_NO_THROW((void)text->dump());
}

TEST(ApiYamlLimits, ManyValuesAtTheCrdsSizeConvert) {
  // About the most values 256 KiB can hold; not a timing assertion, only that it converts.
  std::string list = "[";
  for (int i = 0; i < 80'000; ++i) list += "1,";
  list += "1]";
  auto json = yamlToJson(list);
  ASSERT_TRUE(json) << json.error().message;
  EXPECT_EQ(json->size(), 80'001u);
}

TEST(ApiYamlPipelineSpec, ErrorsQuoteAtMostAnExcerpt) {
  const std::string kind(10'000, 'K');
  auto pipeline = parsePipelineSpec("apiVersion: tekton.dev/v1\nkind: " + kind + "\nspec: {}\n");
  ASSERT_FALSE(pipeline);
  EXPECT_THAT(pipeline.error().message, AllOf(HasSubstr("pipelineSpec.kind must be Pipeline"),
                                              HasSubstr("(10000 bytes)"), Not(HasSubstr(kind))));
  EXPECT_LT(pipeline.error().message.size(), 300u);
}

TEST(ApiYamlPipelineSpec, ReproducersAreRefusedCleanly) {
  auto digits = parsePipelineSpec("a: " + std::string(40'000, '9') + "\n");
  ASSERT_FALSE(digits);
  EXPECT_THAT(digits.error().message, HasSubstr("apiVersion must be tekton.dev/v1"));
  auto alias = parsePipelineSpec("apiVersion: &v tekton.dev/v1\nkind: Pipeline\nx: *v\n");
  ASSERT_FALSE(alias);
  EXPECT_THAT(alias.error().message, AllOf(HasSubstr("not valid YAML or JSON"), HasSubstr("aliases are not allowed")));
}

// Found by the pipeline_spec fuzz target: yaml-cpp names an unknown escape by its first byte
// alone, the lead byte of "é" here, which is not UTF-8 and could not be written to a condition.
TEST(ApiYamlPipelineSpec, AnUnknownEscapeOfAMultiByteCharacterIsReportedAsValidUtf8) {
  auto escaped = yamlToJson("key: \"\\\xC3\xA9\"\n");
  ASSERT_FALSE(escaped);
  EXPECT_THAT(escaped.error().message, HasSubstr("unknown escape character: \\xC3"));
  EXPECT_NO_THROW((void)Json(escaped.error().message).dump());
}

}  // namespace
}  // namespace aphex::api
