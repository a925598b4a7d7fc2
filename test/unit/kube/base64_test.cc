#include "kube/base64.h"

#include <gtest/gtest.h>

namespace kube::detail {
namespace {

TEST(Base64, DecodesPaddedAndUnpaddedLengths) {
  EXPECT_EQ(base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(base64Decode("aGVsbG8h"), "hello!");
  EXPECT_EQ(base64Decode("aGk="), "hi");
  EXPECT_EQ(base64Decode("aA=="), "h");
  EXPECT_EQ(base64Decode(""), "");
}

TEST(Base64, IgnoresLineBreaksAsPemWrappedDataHasThem) {
  EXPECT_EQ(base64Decode("aGVs\nbG8h\r\n"), "hello!");
}

TEST(Base64, RejectsWhatIsNotBase64) {
  EXPECT_FALSE(base64Decode("abc"));        // length not a multiple of 4
  EXPECT_FALSE(base64Decode("ab$d"));       // foreign character
  EXPECT_FALSE(base64Decode("a==="));       // too much padding
  EXPECT_FALSE(base64Decode("ab=c"));       // padding in the middle
}

TEST(Base64, RoundTripsBinary) {
  const std::string bytes("\x00\xff\x10 binary\x01", 11);
  EXPECT_EQ(base64Decode(base64Encode(bytes)), bytes);
}

}  // namespace
}  // namespace kube::detail
