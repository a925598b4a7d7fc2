#include "aphex/api/yaml.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

namespace aphex::api {

namespace {

// Bounds on what one document may expand to: aliases let a few hundred bytes name millions of
// nodes ("billion laughs"), and a converter that follows them would exhaust memory.
constexpr std::size_t kMaxNodes = 200'000;
constexpr int kMaxDepth = 64;

kube::Error yamlError(std::string message) {
  return kube::Error{.kind = kube::ErrorKind::kDecode, .message = std::move(message), .status = {}};
}

std::string where(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

// A plain scalar typed by the YAML 1.2 core schema.
kube::Json resolvePlain(const std::string& text) {
  static const std::regex kInteger("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  // Numbers start with a digit, a sign or a dot; testing that first keeps the regular expressions
  // (slow) off the common case of ordinary text.
  const char first = text.front();
  if (!(first >= '0' && first <= '9') && first != '-' && first != '+' && first != '.') return text;
  errno = 0;
  if (std::regex_match(text, kInteger)) {
    const long long value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == 0) return static_cast<std::int64_t>(value);
    return std::strtod(text.c_str(), nullptr);  // too large for int64: JSON keeps it as a number
  }
  if (std::regex_match(text, kOctal)) return static_cast<std::int64_t>(std::strtoll(text.c_str() + 2, nullptr, 8));
  if (std::regex_match(text, kHex)) return static_cast<std::int64_t>(std::strtoll(text.c_str() + 2, nullptr, 16));
  if (std::regex_match(text, kFloat)) {
    const double value = std::strtod(text.c_str(), nullptr);
    if (std::isfinite(value)) return value;
  }
  // .inf and .nan have no JSON form; they stay text like every other plain scalar.
  return text;
}

class Converter {
 public:
  kube::Result<kube::Json> convert(const YAML::Node& node, int depth) {
    if (++nodes_ > kMaxNodes) {
      return yamlError("the YAML document expands to more than " + std::to_string(kMaxNodes) + " values");
    }
    if (depth > kMaxDepth) {
      return yamlError("the YAML document nests deeper than " + std::to_string(kMaxDepth) + " levels at " +
                       where(node.Mark()));
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return kube::Json(nullptr);
      case YAML::NodeType::Scalar: return scalar(node);
      case YAML::NodeType::Sequence: {
        kube::Json list = kube::Json::array();
        for (const YAML::Node& item : node) {
          auto value = convert(item, depth + 1);
          if (!value) return value;
          list.push_back(std::move(value).value());
        }
        return list;
      }
      case YAML::NodeType::Map: {
        kube::Json object = kube::Json::object();
        for (const auto& entry : node) {
          if (!entry.first.IsScalar()) {
            return yamlError("a map key at " + where(entry.first.Mark()) + " is not a scalar; JSON keys are strings");
          }
          const std::string& key = entry.first.Scalar();
          // A repeated key is a mistake that would otherwise silently drop one of the values.
          if (object.contains(key)) {
            return yamlError("the key \"" + key + "\" at " + where(entry.first.Mark()) + " appears twice in one map");
          }
          auto value = convert(entry.second, depth + 1);
          if (!value) return value;
          object[key] = std::move(value).value();
        }
        return object;
      }
    }
    return kube::Json(nullptr);
  }

 private:
  static kube::Json scalar(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    // "!" marks a quoted or block scalar, which is a string whatever it looks like.
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return node.Scalar();
    return resolvePlain(node.Scalar());
  }

  std::size_t nodes_ = 0;
};

}  // namespace

kube::Result<kube::Json> yamlToJson(std::string_view text) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return yamlError("invalid YAML at " + where(e.mark) + ": " + e.msg);
  }
  if (documents.size() > 1) {
    return yamlError("expected one YAML document, found " + std::to_string(documents.size()));
  }
  if (documents.empty()) return kube::Json(nullptr);
  return Converter{}.convert(documents.front(), 0);
}

}  // namespace aphex::api
