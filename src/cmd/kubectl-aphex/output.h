// Human and machine output: tables with a stable column layout (as kubectl prints them), colour
// only when it helps (a terminal, NO_COLOR unset), ages, and JSON/YAML for scripts.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/result.h"

namespace aphex::cli {

enum class Tone { kPlain, kGood, kBad, kWarn, kBold };

// Colours text by tone, or leaves it alone. https://no-color.org: NO_COLOR set to anything but
// the empty string turns colour off; so does a dumb terminal or output that is not a terminal.
struct Style {
  bool color = false;

  std::string paint(std::string_view text, Tone tone) const;
  static Style detect(bool is_terminal, const char* no_color, const char* term);
  // For standard output of this process.
  static Style forStdout();
};

struct Cell {
  std::string text;
  Tone tone = Tone::kPlain;
  Cell(std::string t, Tone to = Tone::kPlain) : text(std::move(t)), tone(to) {}  // NOLINT: implicit by design
  Cell(const char* t) : text(t) {}                                                // NOLINT: implicit by design
};

// Columns left-aligned, three spaces apart, widths from the widest cell (counted in characters,
// not bytes), headers as given (upper case by convention), the last column unpadded: the layout
// of `kubectl get`, so that eyes and `awk` read it the same way.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  std::string render(const Style& style) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<Cell>> rows_;
};

// "45s", "5m30s", "3h", "2d4h", "400d": how long ago or how long, in kubectl's manner.
std::string shortDuration(std::chrono::seconds duration);

// `text` cut to `limit` characters with "..." when longer, on one line (newlines become spaces).
std::string oneLine(std::string_view text, std::size_t limit);

// Block YAML of a JSON value: strings that YAML would read as another type are quoted, strings
// with newlines are literal blocks (a pipelineSpec stays readable).
std::string toYaml(const kube::Json& value);

enum class OutputFormat { kHuman, kJson, kYaml };
// "" → human, "json", "yaml"; nullopt for anything else.
std::optional<OutputFormat> parseOutputFormat(std::string_view text);
// JSON (two-space indent) or YAML of `value`, with a final newline.
std::string formatDocument(const kube::Json& value, OutputFormat format);

// The object without what only the server needs (managedFields): what -o json|yaml prints.
kube::Json forDisplay(kube::Json object);

}  // namespace aphex::cli
