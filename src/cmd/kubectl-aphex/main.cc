// kubectl-aphex: the command line of the Aphex platform, run as `kubectl aphex` (a kubectl plugin
// is any executable named kubectl-<name> on the PATH). Everything but wiring is in the library
// beside this file (cli.h).
#include <iostream>
#include <string>
#include <vector>

#include "kubectl-aphex/cli.h"

int main(int argc, char** argv) {
  aphex::cli::Io io{.out = std::cout, .err = std::cerr, .style = aphex::cli::Style::forStdout()};
  aphex::cli::CommandLine command_line;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (const auto exit_code = command_line.parse(args, io)) return *exit_code;
  return aphex::cli::run(command_line.parsed(), command_line.app(), io);
}
