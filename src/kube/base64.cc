#include "kube/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace kube {

namespace {

bool isBase64Char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
}

}  // namespace

std::optional<std::string> base64Decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) == 0) compact.push_back(c);
  }
  if (compact.size() % 4 != 0) return std::nullopt;
  const auto padding_start = compact.find('=');
  const size_t padding = padding_start == std::string::npos ? 0 : compact.size() - padding_start;
  if (padding > 2) return std::nullopt;
  const auto data_end = compact.end() - static_cast<std::ptrdiff_t>(padding);
  if (!std::all_of(compact.begin(), data_end, isBase64Char)) return std::nullopt;
  if (!std::all_of(data_end, compact.end(), [](char c) { return c == '='; })) return std::nullopt;

  std::string out(compact.size() / 4 * 3, '\0');
  // EVP_DecodeBlock counts padding as zero bytes; the length is trimmed below.
  const int written = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(compact.data()),
                                      static_cast<int>(compact.size()));
  if (written < 0) return std::nullopt;
  out.resize(static_cast<size_t>(written) - padding);
  return out;
}

std::string base64Encode(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

}  // namespace kube
