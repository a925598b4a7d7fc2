#include "aphex/api/yaml.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "json_reader.h"

namespace aphex::api {

namespace {

// The converter walks yaml-cpp's events with a stack of its own, so no recursion here grows with
// the input; yaml-cpp's parser itself recurses once per level, but the first container deeper
// than kMaxDepth stops it (and its own guard, DeepRecursion, stops it at 500 levels).
constexpr int kMaxDepth = 64;
// Bounds on what one document may become. Aliases are refused outright, so without them a
// document has at most about one value per two bytes and its text can only shrink (escapes
// such as \L grow 2 bytes to 3): these are defence in depth, not the first line.
constexpr std::size_t kMaxNodes = 200'000;
constexpr std::size_t kBytesPerInputByte = 2;
constexpr std::size_t kMinByteBudget = 4096;
// No number needs more digits; longer plain scalars are text, and typing never scans far.
constexpr std::size_t kMaxNumberLength = 64;

kube::Error yamlError(std::string message) {
  return kube::Error{.kind = kube::ErrorKind::kDecode, .message = std::move(message), .status = {}};
}

std::string where(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

std::string aliasRefused(const YAML::Mark& mark) {
  return "YAML aliases are not allowed (an alias *name at " + where(mark) +
         "): Tekton manifests never need them, and each one copies its anchor's whole value; write the value out "
         "instead";
}

std::string tooDeep(const YAML::Mark& mark) {
  return "the YAML document nests deeper than " + std::to_string(kMaxDepth) + " levels at " + where(mark);
}

// Where `text` stops being something yaml-cpp reads as UTF-8 without surprises: an invalid
// UTF-8 sequence (nlohmann::json would refuse to write it later) or a NUL byte (YAML forbids it,
// and a leading one makes yaml-cpp guess UTF-16 or UTF-32). nullopt when the text is clean.
std::optional<std::size_t> unreadableByte(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0) return i;
    std::size_t length = 1;
    std::uint32_t code = byte;
    if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      code = byte & 0x07u;
    } else if (byte >= 0xE0) {
      length = byte <= 0xEF ? 3 : 0;
      code = byte & 0x0Fu;
    } else if (byte >= 0xC2) {
      length = 2;
      code = byte & 0x1Fu;
    } else if (byte >= 0x80) {
      length = 0;  // a continuation byte first, or an overlong C0/C1 lead
    }
    if (length == 0 || i + length > text.size()) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0u) != 0x80u) return i;
      code = (code << 6) | (next & 0x3Fu);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF.
    if ((length == 3 && code < 0x800) || (length == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return i;
    }
    i += length;
  }
  return std::nullopt;
}

// --- Plain scalars ----------------------------------------------------------------------------

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isOctalDigit(char c) { return c >= '0' && c <= '7'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// How many characters from `pos` on `accept` takes.
template <typename Accept>
std::size_t run(std::string_view text, std::size_t pos, Accept accept) {
  std::size_t end = pos;
  while (end < text.size() && accept(text[end])) ++end;
  return end - pos;
}

// One or more characters, all of which `accept` takes.
template <typename Accept>
bool allOf(std::string_view text, Accept accept) {
  return !text.empty() && run(text, 0, accept) == text.size();
}

std::size_t signLength(std::string_view text) {
  return !text.empty() && (text.front() == '-' || text.front() == '+') ? 1 : 0;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isFloat(std::string_view text) {
  std::size_t pos = signLength(text);
  const std::size_t whole = run(text, pos, isDigit);
  pos += whole;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t fraction = run(text, ++pos, isDigit);
    if (whole == 0 && fraction == 0) return false;
    pos += fraction;
  } else if (whole == 0) {
    return false;
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    pos += signLength(text.substr(pos));
    const std::size_t exponent = run(text, pos, isDigit);
    if (exponent == 0) return false;
    pos += exponent;
  }
  return pos == text.size();
}

// 0o17 or 0x1F without its prefix; nullopt (so the scalar stays text) beyond int64.
std::optional<kube::Json> radixInteger(const std::string& digits, int base) {
  errno = 0;
  const long long value = std::strtoll(digits.c_str(), nullptr, base);
  if (errno != 0) return std::nullopt;
  return static_cast<std::int64_t>(value);
}

// The number a plain scalar spells under the YAML 1.2 core schema, or nullopt. Scanned by hand:
// std::regex matches recursively in libstdc++ and overflowed the stack on a long run of digits.
std::optional<kube::Json> coreSchemaNumber(const std::string& text) {
  if (text.size() > kMaxNumberLength) return std::nullopt;
  const std::string_view view(text);
  if (allOf(view.substr(signLength(view)), isDigit)) {  // [-+]?[0-9]+
    errno = 0;
    const long long value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == 0) return static_cast<std::int64_t>(value);
    return std::strtod(text.c_str(), nullptr);  // too large for int64: JSON keeps it as a number
  }
  if (view.starts_with("0o") && allOf(view.substr(2), isOctalDigit)) return radixInteger(text.substr(2), 8);
  if (view.starts_with("0x") && allOf(view.substr(2), isHexDigit)) return radixInteger(text.substr(2), 16);
  if (isFloat(view)) {
    const double value = std::strtod(text.c_str(), nullptr);
    if (std::isfinite(value)) return value;
  }
  // .inf and .nan have no JSON form; they stay text like every other plain scalar.
  return std::nullopt;
}

// A plain scalar typed by the YAML 1.2 core schema.
kube::Json resolvePlain(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (auto number = coreSchemaNumber(text)) return *std::move(number);
  return text;
}

// --- Events to JSON ---------------------------------------------------------------------------

// Thrown by the builder to stop yaml-cpp at the first problem; yamlToJson turns it into an Error.
struct Refusal {
  std::string message;
};

// Builds the JSON from yaml-cpp's events with an explicit stack of open containers; yaml-cpp's
// node graph is never built.
class JsonBuilder final : public YAML::EventHandler {
 public:
  explicit JsonBuilder(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // The document, once its events are over (null for an empty one).
  kube::Json take() { return std::move(result_).value_or(nullptr); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) throw Refusal{"expected one YAML document, found a second one at " + where(mark)};
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    if (expectsKey()) throw Refusal{"a map key at " + where(mark) + " is null or empty; JSON keys are strings"};
    admit(mark, 0);
    place(nullptr);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override { throw Refusal{aliasRefused(mark)}; }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t /*anchor*/,
                const std::string& value) override {
    admit(mark, value.size());
    if (expectsKey()) return setKey(mark, value);
    // "!" marks a quoted or block scalar, which is a string whatever it looks like.
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return place(value);
    place(resolvePlain(value));
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                       YAML::EmitterStyle::value /*style*/) override {
    open(mark, kube::Json::array());
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    open(mark, kube::Json::object());
  }
  void OnMapEnd() override { close(); }

 private:
  // An open array or object; in an object, `key` holds the key whose value comes next.
  struct Frame {
    kube::Json value;
    std::optional<std::string> key;
  };

  bool expectsKey() const { return !stack_.empty() && stack_.back().value.is_object() && !stack_.back().key; }

  // Counts a node of `bytes` bytes of text at the current depth against the limits.
  void admit(const YAML::Mark& mark, std::size_t bytes) {
    if (stack_.size() > static_cast<std::size_t>(kMaxDepth)) throw Refusal{tooDeep(mark)};
    if (++nodes_ > kMaxNodes) {
      throw Refusal{"the YAML document has more than " + std::to_string(kMaxNodes) + " values (at " + where(mark) +
                    ")"};
    }
    bytes_ += bytes;
    if (bytes_ > max_bytes_) {
      throw Refusal{"the YAML document expands to more than " + std::to_string(max_bytes_) + " bytes of text (at " +
                    where(mark) + ")"};
    }
  }

  void setKey(const YAML::Mark& mark, const std::string& key) {
    // A repeated key is a mistake that would otherwise silently drop one of the values.
    if (stack_.back().value.contains(key)) {
      throw Refusal{"the key " + detail::quote(key) + " at " + where(mark) + " appears twice in one map"};
    }
    stack_.back().key = key;
  }

  void open(const YAML::Mark& mark, kube::Json container) {
    if (expectsKey()) throw Refusal{"a map key at " + where(mark) + " is not a scalar; JSON keys are strings"};
    admit(mark, 0);
    stack_.push_back(Frame{.value = std::move(container), .key = std::nullopt});
  }

  void close() {
    kube::Json value = std::move(stack_.back().value);
    stack_.pop_back();
    place(std::move(value));
  }

  // Puts a finished value where it belongs: the document, the open array or the pending key.
  void place(kube::Json value) {
    if (stack_.empty()) {
      result_ = std::move(value);
      return;
    }
    Frame& top = stack_.back();
    if (top.value.is_array()) {
      top.value.push_back(std::move(value));
    } else {
      top.value[*top.key] = std::move(value);
      top.key.reset();
    }
  }

  std::size_t max_bytes_;
  std::vector<Frame> stack_;
  std::optional<kube::Json> result_;
  int documents_ = 0;
  std::size_t nodes_ = 0;
  std::size_t bytes_ = 0;
};

// `text` with every byte that is not part of valid UTF-8 (or is NUL) written as \xHH, so that it
// can be stored as JSON (a condition, an Event, a log line).
std::string escapeUnreadable(std::string text) {
  std::string clean;
  std::string_view rest = text;
  while (const auto at = unreadableByte(rest)) {
    clean.append(rest.substr(0, *at));
    std::array<char, 5> hex{};
    std::snprintf(hex.data(), hex.size(), "\\x%02X", static_cast<unsigned char>(rest[*at]));
    clean.append(hex.data());
    rest.remove_prefix(*at + 1);
  }
  return clean.append(rest);
}

// yaml-cpp's own message, bounded: some quote the input, and some quote a single byte of it
// ("unknown escape character: " and the lead byte of a multi-byte character), which is not
// UTF-8 on its own.
std::string syntaxError(const YAML::Exception& e) {
  return "invalid YAML at " + where(e.mark) + ": " + detail::excerpt(escapeUnreadable(e.msg));
}

}  // namespace

kube::Result<kube::Json> yamlToJson(std::string_view text) {
  if (const auto at = unreadableByte(text)) {
    return yamlError("the text is not valid UTF-8 or contains a NUL character (at byte " + std::to_string(*at + 1) +
                     "); YAML is UTF-8 text without NULs");
  }
  std::istringstream stream{std::string(text)};
  JsonBuilder builder(std::max(kMinByteBudget, kBytesPerInputByte * text.size()));
  try {
    YAML::Parser parser(stream);
    // Reading on past the first document finds a second one, which OnDocumentStart refuses.
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const Refusal& refusal) {
    return yamlError(refusal.message);
  } catch (const YAML::DeepRecursion& e) {
    return yamlError(tooDeep(e.mark));
  } catch (const YAML::Exception& e) {
    // yaml-cpp resolves an alias to an anchor it has not seen before it would tell the builder.
    if (e.msg == YAML::ErrorMsg::UNKNOWN_ANCHOR) return yamlError(aliasRefused(e.mark));
    return yamlError(syntaxError(e));
  }
  return builder.take();
}

}  // namespace aphex::api
