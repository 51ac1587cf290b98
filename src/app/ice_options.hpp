#pragma once
// Parsing of the ICE options (STUN_URLS, TURN_URLS, TURN_SECRET, TURN_SECRET_FILE) for the
// config table in config.cpp. Each throws ConfigError with one clear line; no message ever
// holds a secret (only its length).
#include "ice/ice_url.hpp"

#include <string>
#include <vector>

namespace tandem::app {

// Throws unless `secret` has at least ice::TurnCredentials::kMinSecretBytes bytes.
void check_turn_secret(const std::string& name, const std::string& secret);

// The secret in the file at `path` (at most 4 KiB), less one trailing newline.
std::string read_turn_secret_file(const std::string& path);

std::vector<ice::IceUrl> parse_ice_urls(const std::string& name, const std::string& value,
                                        ice::IceUrl::Kind kind);

}  // namespace tandem::app
