#include "runtime/text_dictionary.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace kube::runtime {
namespace {

std::string binding(const std::string& name) {
  return R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":")" + name +
         R"(","namespace":"team-)" + name + R"(","labels":{"app.kubernetes.io/managed-by":"aphex-controller"}},)" +
         R"("roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pipeline-runner"}})";
}

TEST(TextDictionary, GivesBackEveryTextItCompressed) {
  const TextDictionary dictionary(binding("a") + binding("b"));
  for (const std::string& text : {binding("c"), binding("a-much-longer-name"), std::string("{}"), std::string()}) {
    const std::string packed = dictionary.compress(text);
    EXPECT_EQ(dictionary.decompress(packed.data(), packed.size(), text.size()), text);
  }
}

TEST(TextDictionary, CompressesTextsLikeItsContentToAFraction) {
  const TextDictionary dictionary(binding("a") + binding("b"));
  const std::string text = binding("c");
  EXPECT_LT(dictionary.compress(text).size() * 5, text.size());
}

TEST(TextDictionary, RefusesDataItDidNotMakeOrAWrongSize) {
  const TextDictionary dictionary(binding("a"));
  const std::string garbage = "not a zstd frame at all";
  EXPECT_THROW((void)dictionary.decompress(garbage.data(), garbage.size(), 100), std::runtime_error);
  const std::string packed = dictionary.compress(binding("b"));
  EXPECT_THROW((void)dictionary.decompress(packed.data(), packed.size(), binding("b").size() + 1), std::runtime_error);
}

TEST(DictionarySampler, MakesTheDictionaryFromTheFirstSmallTextsOnce) {
  DictionarySampler sampler;
  EXPECT_EQ(sampler.offer(std::string(DictionarySampler::kMaxSampleSize + 1, 'x')), nullptr) << "too big: skipped";
  for (std::size_t i = 1; i < DictionarySampler::kSamples; ++i) EXPECT_EQ(sampler.offer(binding("s")), nullptr);
  const TextDictionary* dictionary = sampler.offer(binding("last"));
  ASSERT_NE(dictionary, nullptr);
  EXPECT_EQ(sampler.offer(binding("later")), dictionary);
}

}  // namespace
}  // namespace kube::runtime
