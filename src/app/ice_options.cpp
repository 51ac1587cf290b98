#include "app/ice_options.hpp"

#include "app/config.hpp"
#include "ice/turn_credentials.hpp"

#include <fstream>

namespace tandem::app {

namespace {

constexpr std::size_t kMaxSecretFileBytes = 4096;

}  // namespace

void check_turn_secret(const std::string& name, const std::string& secret) {
  if (secret.size() < ice::TurnCredentials::kMinSecretBytes) {
    throw ConfigError("invalid " + name + "=(" + std::to_string(secret.size()) +
                      " bytes, not shown): expected at least " +
                      std::to_string(ice::TurnCredentials::kMinSecretBytes) +
                      " bytes (e.g. openssl rand -hex 32)");
  }
}

std::string read_turn_secret_file(const std::string& path) {
  const auto refuse = [&path](const std::string& expected) {
    throw ConfigError("invalid TURN_SECRET_FILE=\"" + path + "\": expected " + expected);
  };
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) refuse("a readable file");
  std::string secret(kMaxSecretFileBytes + 1, '\0');
  in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
  if (in.bad() || (in.fail() && !in.eof())) refuse("a readable file");
  secret.resize(static_cast<std::size_t>(in.gcount()));
  if (secret.size() > kMaxSecretFileBytes) refuse("a file of at most 4096 bytes");
  // `echo secret > file` and most Secret tooling leave one newline.
  if (!secret.empty() && secret.back() == '\n') secret.pop_back();
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  check_turn_secret("TURN_SECRET_FILE", secret);
  return secret;
}

std::vector<ice::IceUrl> parse_ice_urls(const std::string& name, const std::string& value,
                                        ice::IceUrl::Kind kind) {
  std::string why;
  auto urls = ice::IceUrl::parse_list(value, kind, &why);
  if (!urls) {
    const std::string schemes = kind == ice::IceUrl::Kind::stun ? "stun:/stuns:" : "turn:/turns:";
    throw ConfigError("invalid " + name + "=\"" + value + "\": expected comma-separated " +
                      schemes + " URLs (" + why + ")");
  }
  return std::move(*urls);
}

}  // namespace tandem::app
