// The controller's default cloudflared image is scripts/versions.env's CLOUDFLARED_IMAGE, and
// every deployment passes that same image: one release, whether the flag is set or not.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "aphex/config.h"

namespace aphex {
namespace {

// The value of NAME=value in a file of such lines; empty when absent.
std::string valueIn(const std::string& path, const std::string& pattern) {
  std::ifstream in(path);
  const std::regex line(pattern);
  std::smatch match;
  for (std::string text; std::getline(in, text);) {
    if (std::regex_search(text, match, line)) return match[1];
  }
  return "";
}

const std::string kSource = APHEX_SOURCE_DIR;

TEST(CloudflaredImage, DefaultIsTheOneOfVersionsEnv) {
  const std::string pinned = valueIn(kSource + "/scripts/versions.env", "^CLOUDFLARED_IMAGE=(\\S+)");
  ASSERT_FALSE(pinned.empty()) << "scripts/versions.env has no CLOUDFLARED_IMAGE";
  EXPECT_EQ(ControllerConfig{}.cloudflared_image, pinned);
}

TEST(CloudflaredImage, EveryDeploymentPassesTheOneOfVersionsEnv) {
  const std::string pinned = valueIn(kSource + "/scripts/versions.env", "^CLOUDFLARED_IMAGE=(\\S+)");
  for (const std::string deployment : {"kind", "k3s"}) {
    const std::string path = kSource + "/platform/deployments/" + deployment + "/controller/kustomization.yaml";
    EXPECT_EQ(valueIn(path, "APHEX_CLOUDFLARED_IMAGE=(\\S+)"), pinned) << path;
  }
}

}  // namespace
}  // namespace aphex
