// Compression of a store's compact JSON texts against a dictionary made of the store's own first
// objects (CacheEncoding::kCompressed, runtime/store.h).
//
// Objects of one kind in one cache are near copies of each other: the same keys, labels and
// nesting, different names. zstd at level 1 with a raw-content dictionary of a few such objects
// stores one in 6–17 % of its text (measured on children: a RoleBinding of 656 B in about 109 B,
// a Trigger of 2 KB in about 126 B), where zstd alone keeps 39–64 %. docs/benchmarks.md has the
// figures.
//
// Thread safety: compress() and decompress() may be called from any thread at once (each call
// takes a zstd context from a pool shared by all dictionaries; dictionaries are read-only once
// built).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kube::runtime {

class TextDictionary {
 public:
  // `content`: texts of objects like those to come, concatenated; kept by zstd as they are.
  explicit TextDictionary(std::string_view content);
  ~TextDictionary();
  TextDictionary(const TextDictionary&) = delete;
  TextDictionary& operator=(const TextDictionary&) = delete;

  // The compressed form of `text` (a zstd frame without size or checksum: the caller keeps the size).
  std::string compress(std::string_view text) const;
  // `size` bytes of compressed data back to the text of `text_size` bytes it was made from.
  // Throws std::runtime_error on data this dictionary did not make.
  std::string decompress(const char* data, std::size_t size, std::size_t text_size) const;

 private:
  struct Dictionaries;
  std::unique_ptr<Dictionaries> dictionaries_;
};

// Collects a store's first objects as dictionary content, then makes the dictionary once.
// Objects above kMaxSampleSize are skipped: one tenant's megabyte-sized object must not become
// every later object's dictionary.
class DictionarySampler {
 public:
  static constexpr std::size_t kSamples = 4;
  static constexpr std::size_t kMaxSampleSize = 4096;

  // Offers `text` as a sample; returns the dictionary once kSamples have been taken (the same
  // one on every later call), null before.
  const TextDictionary* offer(std::string_view text);

 private:
  std::string content_;
  std::size_t samples_ = 0;
  std::unique_ptr<const TextDictionary> dictionary_;
};

}  // namespace kube::runtime
