// libFuzzer target: any kubeconfig text yields a configuration or an error, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)kube::parseKubeconfig(text, "/nonexistent", "", "fuzz");
  return 0;
}
