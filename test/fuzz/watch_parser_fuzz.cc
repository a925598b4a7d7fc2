// libFuzzer target: the watch-stream parser must never crash, hang or grow without bound,
// whatever bytes arrive and however they are split.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kube/watch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks where the input is split, so split reads are explored too.
  const std::size_t split = data[0] % size;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  kube::WatchStreamParser parser(kube::WatchParserLimits{.max_event_bytes = 1 << 16});
  std::vector<kube::WatchEvent> events;
  if (parser.feed(bytes.substr(0, split), events)) (void)parser.feed(bytes.substr(split), events);
  for (const auto& event : events) (void)event.errorStatus();
  return 0;
}
