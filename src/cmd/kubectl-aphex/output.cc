#include "kubectl-aphex/output.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <yaml-cpp/yaml.h>

#include "aphex/api/validation.h"
#include "aphex/api/yaml.h"

namespace aphex::cli {

std::string Style::paint(std::string_view text, Tone tone) const {
  if (!color || tone == Tone::kPlain || text.empty()) return std::string(text);
  const char* code = "1";
  switch (tone) {
    case Tone::kGood: code = "32"; break;
    case Tone::kBad: code = "31"; break;
    case Tone::kWarn: code = "33"; break;
    case Tone::kBold: code = "1"; break;
    case Tone::kPlain: break;
  }
  return "\033[" + std::string(code) + "m" + std::string(text) + "\033[0m";
}

Style Style::detect(bool is_terminal, const char* no_color, const char* term) {
  const bool no_color_set = no_color != nullptr && *no_color != '\0';
  const bool dumb = term != nullptr && std::strcmp(term, "dumb") == 0;
  return Style{.color = is_terminal && !no_color_set && !dumb};
}

Style Style::forStdout() {
  return detect(isatty(STDOUT_FILENO) == 1, std::getenv("NO_COLOR"), std::getenv("TERM"));
}

std::string Table::render(const Style& style) const {
  std::vector<std::size_t> widths(headers_.size(), 0);
  for (std::size_t i = 0; i < headers_.size(); ++i) widths[i] = api::characterCount(headers_[i]);
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], api::characterCount(row[i].text));
    }
  }
  std::string out;
  const auto line = [&](const std::vector<Cell>& cells) {
    std::string text;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const Cell cell = i < cells.size() ? cells[i] : Cell("");
      text += style.paint(cell.text, cell.tone);
      if (i + 1 == widths.size()) break;
      text += std::string(widths[i] - api::characterCount(cell.text) + 3, ' ');
    }
    // A last column that is empty leaves no trailing blanks behind.
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  std::vector<Cell> header_cells(headers_.begin(), headers_.end());
  line(header_cells);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string shortDuration(std::chrono::seconds duration) {
  const long long seconds = std::max<long long>(0, duration.count());
  const long long minutes = seconds / 60;
  const long long hours = minutes / 60;
  const long long days = hours / 24;
  const auto s = [](long long n, const char* unit) { return std::to_string(n) + unit; };
  if (seconds < 120) return s(seconds, "s");
  if (minutes < 10) return s(minutes, "m") + (seconds % 60 == 0 ? "" : s(seconds % 60, "s"));
  if (minutes < 180) return s(minutes, "m");
  if (hours < 8) return s(hours, "h") + (minutes % 60 == 0 ? "" : s(minutes % 60, "m"));
  if (hours < 48) return s(hours, "h");
  if (days < 8) return s(days, "d") + (hours % 24 == 0 ? "" : s(hours % 24, "h"));
  return s(days, "d");
}

std::string oneLine(std::string_view text, std::size_t limit) {
  std::string flat;
  for (const char c : text) flat += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (api::characterCount(flat) <= limit) return flat;
  // Cut at a UTF-8 boundary: count characters, not bytes.
  std::size_t kept = 0;
  std::size_t byte = 0;
  for (; byte < flat.size() && kept < limit - 3; ++byte) {
    if ((static_cast<unsigned char>(flat[byte]) & 0xC0) != 0x80) ++kept;
  }
  while (byte < flat.size() && (static_cast<unsigned char>(flat[byte]) & 0xC0) == 0x80) ++byte;
  return flat.substr(0, byte) + "...";
}

namespace {

// Whether a plain scalar of `text` would read back as something other than this string.
bool needsQuotes(const std::string& text) {
  if (text.empty()) return true;
  auto parsed = api::yamlToJson(text);
  return !parsed || !parsed->is_string() || *parsed != text;
}

void emit(YAML::Emitter& out, const kube::Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, member] : value.items()) {
      out << YAML::Key;
      if (needsQuotes(key)) out << YAML::DoubleQuoted;
      out << key << YAML::Value;
      emit(out, member);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& member : value) emit(out, member);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text.find('\n') != std::string::npos && text.find_first_of("\t\r") == std::string::npos) {
      out << YAML::Literal << text;
    } else {
      if (needsQuotes(text)) out << YAML::DoubleQuoted;
      out << text;
    }
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();  // numbers and booleans as JSON writes them, which YAML reads alike
  }
}

}  // namespace

std::string toYaml(const kube::Json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  emit(out, value);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::optional<OutputFormat> parseOutputFormat(std::string_view text) {
  if (text.empty()) return OutputFormat::kHuman;
  if (text == "json") return OutputFormat::kJson;
  if (text == "yaml") return OutputFormat::kYaml;
  return std::nullopt;
}

std::string formatDocument(const kube::Json& value, OutputFormat format) {
  if (format == OutputFormat::kYaml) return toYaml(value);
  return value.dump(2) + "\n";
}

kube::Json forDisplay(kube::Json object) {
  if (object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
    object["metadata"].erase("managedFields");
  }
  return object;
}

}  // namespace aphex::cli
