#include "app/application.hpp"
#include "app/config.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(tandem::app::config_help().c_str(), stdout);
      return 0;
    }
    if (arg == "--config-schema") {
      std::puts(tandem::app::config_schema_json().c_str());
      return 0;
    }
  }
  tandem::app::Config config;
  try {
    config = tandem::app::load_config(args, [](const char* name) { return std::getenv(name); });
  } catch (const tandem::app::ConfigError& e) {
    std::fprintf(stderr, "tandem-server: %s\n", e.what());
    return 2;
  }
  return tandem::app::run_server(config);
}
