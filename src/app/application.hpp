#pragma once
// The composition root: builds every component from the Config and runs the event loop
// until a signal drains the server.
#include "app/config.hpp"

namespace tandem::app {

// Returns the process exit code.
int run_server(const Config& config);

}  // namespace tandem::app
