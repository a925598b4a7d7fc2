// libFuzzer target: the aphex.io readers (fromJson) and validators on any JSON, as they read
// objects from the API server, files and other versions. Inputs that are not JSON are skipped:
// nlohmann::json's parser is not ours to test here.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "aphex/api/knowledge_base.h"
#include "aphex/api/organization.h"
#include "aphex/api/repo_binding.h"
#include "fuzz_checks.h"

namespace {

template <typename T>
void readAndValidate(const kube::Json& object) {
  auto parsed = T::fromJson(object);
  if (!parsed) return aphex::fuzz::checkMessage(parsed.error().message);
  for (const auto& error : aphex::api::validate(*parsed)) aphex::fuzz::checkMessage(error.message);
  (void)toJson(parsed->status).dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const kube::Json object = kube::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) return 0;
  readAndValidate<aphex::api::Organization>(object);
  readAndValidate<aphex::api::RepoBinding>(object);
  readAndValidate<aphex::api::KnowledgeBase>(object);
  return 0;
}
