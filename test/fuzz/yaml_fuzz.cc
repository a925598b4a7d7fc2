// libFuzzer target: api::yamlToJson, which reads a RepoBinding's spec.pipelineSpec (any tenant's
// text up to 262,144 bytes). Any text yields JSON or an error, never a crash, a stack overflow
// (the test runs on a 1 MiB stack) or memory out of proportion to the text (256 MiB RSS).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aphex/api/yaml.h"
#include "fuzz_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = aphex::api::yamlToJson(text);
  if (json) {
    (void)json->dump();  // the controller writes what it read; this throws on invalid UTF-8
  } else {
    aphex::fuzz::checkMessage(json.error().message);
  }
  return 0;
}
