#include "runtime/text_dictionary.h"

#include <zstd.h>

#include <mutex>
#include <stdexcept>
#include <vector>

namespace kube::runtime {
namespace {

// Level 1: on children, level 3 saves under 1 % more and its dictionary tables are a third bigger.
constexpr int kLevel = 1;

void check(std::size_t code, const char* what) {
  if (ZSTD_isError(code) != 0U) throw std::runtime_error(std::string(what) + ": " + ZSTD_getErrorName(code));
}

// zstd contexts are not thread-safe and are big (about 40 KB to compress, 96 KB to decompress),
// while a child takes a microsecond or two. So threads share a few instead of keeping one each:
// a pool grows to the number of threads that use a context at the same moment, not to the
// number of threads (every informer and worker reads the cache).
template <typename Context>
class ContextPool {
 public:
  using Create = Context* (*)();
  using Destroy = std::size_t (*)(Context*);

  class Lease {
   public:
    Lease(ContextPool& pool, Context* context) : pool_(pool), context_(context) {}
    ~Lease() { pool_.put(context_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Context* get() const { return context_; }

   private:
    ContextPool& pool_;
    Context* context_;
  };

  ContextPool(Create create, Destroy destroy, void (*prepare)(Context*)) : create_(create), destroy_(destroy), prepare_(prepare) {}
  ~ContextPool() {
    for (Context* context : idle_) destroy_(context);
  }
  ContextPool(const ContextPool&) = delete;
  ContextPool& operator=(const ContextPool&) = delete;

  Lease take() {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        Context* context = idle_.back();
        idle_.pop_back();
        return Lease(*this, context);
      }
    }
    Context* context = create_();
    if (context == nullptr) throw std::bad_alloc();
    try {
      prepare_(context);
    } catch (...) {
      destroy_(context);
      throw;
    }
    return Lease(*this, context);
  }

 private:
  void put(Context* context) {
    std::lock_guard lock(mutex_);
    idle_.push_back(context);
  }

  const Create create_;
  const Destroy destroy_;
  void (*const prepare_)(Context*);
  std::mutex mutex_;
  std::vector<Context*> idle_;  // guarded by mutex_
};

// The store keeps each text's size, so the frame needs no size, checksum or dictionary id.
void prepareCompression(ZSTD_CCtx* context) {
  check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0), "zstd content size flag");
  check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0), "zstd checksum flag");
  check(ZSTD_CCtx_setParameter(context, ZSTD_c_dictIDFlag, 0), "zstd dictionary id flag");
}

void prepareDecompression(ZSTD_DCtx* /*context*/) {}

ContextPool<ZSTD_CCtx>& compressionContexts() {
  static ContextPool<ZSTD_CCtx> pool(ZSTD_createCCtx, ZSTD_freeCCtx, prepareCompression);
  return pool;
}

ContextPool<ZSTD_DCtx>& decompressionContexts() {
  static ContextPool<ZSTD_DCtx> pool(ZSTD_createDCtx, ZSTD_freeDCtx, prepareDecompression);
  return pool;
}

}  // namespace

struct TextDictionary::Dictionaries {
  ZSTD_CDict* compression = nullptr;
  ZSTD_DDict* decompression = nullptr;
  ~Dictionaries() {
    ZSTD_freeCDict(compression);
    ZSTD_freeDDict(decompression);
  }
};

TextDictionary::TextDictionary(std::string_view content) : dictionaries_(std::make_unique<Dictionaries>()) {
  // Content that does not start with zstd's dictionary magic is used as raw content; a JSON text
  // starts with '{'.
  dictionaries_->compression = ZSTD_createCDict(content.data(), content.size(), kLevel);
  dictionaries_->decompression = ZSTD_createDDict(content.data(), content.size());
  if (dictionaries_->compression == nullptr || dictionaries_->decompression == nullptr) throw std::bad_alloc();
}

TextDictionary::~TextDictionary() = default;

std::string TextDictionary::compress(std::string_view text) const {
  const auto context = compressionContexts().take();
  std::string out(ZSTD_compressBound(text.size()), '\0');
  check(ZSTD_CCtx_refCDict(context.get(), dictionaries_->compression), "zstd dictionary");
  const std::size_t size = ZSTD_compress2(context.get(), out.data(), out.size(), text.data(), text.size());
  check(size, "zstd compress");
  out.resize(size);
  return out;
}

std::string TextDictionary::decompress(const char* data, std::size_t size, std::size_t text_size) const {
  const auto context = decompressionContexts().take();
  std::string text(text_size, '\0');
  check(ZSTD_DCtx_refDDict(context.get(), dictionaries_->decompression), "zstd dictionary");
  const std::size_t made = ZSTD_decompressDCtx(context.get(), text.data(), text.size(), data, size);
  check(made, "zstd decompress");
  if (made != text_size) throw std::runtime_error("zstd decompress: the text is shorter than recorded");
  return text;
}

const TextDictionary* DictionarySampler::offer(std::string_view text) {
  if (dictionary_) return dictionary_.get();
  if (text.size() > kMaxSampleSize) return nullptr;
  content_.append(text);
  if (++samples_ < kSamples) return nullptr;
  dictionary_ = std::make_unique<const TextDictionary>(content_);
  content_ = {};
  return dictionary_.get();
}

}  // namespace kube::runtime
