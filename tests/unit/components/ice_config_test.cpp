// STUN_URLS, TURN_URLS, TURN_SECRET(_FILE), TURN_TTL_S: parsed into Config::ice, refused
// with one line that never holds the secret. (The real binary's refusal: ConfigTest in
// tests/integration/config_test.cpp.)
#include "app/config.hpp"

#include "ice/ice_servers.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace tandem::app {
namespace {

const std::string kSecret = "s3cret-0123456789-abcdef";

Config load_env(const std::map<std::string, std::string>& env) {
  return load_config({}, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// The ConfigError's text, or "" when the config loads.
std::string config_refusal(const std::map<std::string, std::string>& env) {
  try {
    load_env(env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

class SecretFile {
 public:
  explicit SecretFile(const std::string& content)
      : path_(std::filesystem::temp_directory_path() /
              ("tandem-turn-secret-" + std::to_string(::getpid()) + "-" +
               std::to_string(counter_++))) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~SecretFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(IceConfig, DefaultsToTheExtensionsStunServersAndNoTurn) {
  const Config c = load_env({});
  ASSERT_EQ(c.ice.stun_urls.size(), 2u);
  EXPECT_EQ(c.ice.stun_urls[0].text(), "stun:stun.l.google.com:19302");
  EXPECT_EQ(c.ice.stun_urls[1].text(), "stun:stun1.l.google.com:19302");
  EXPECT_FALSE(c.ice.turn_enabled());
  EXPECT_EQ(c.ice.turn_ttl, std::chrono::seconds(86'400));
  EXPECT_TRUE(load_env({{"STUN_URLS", ""}}).ice.stun_urls.empty());
}

TEST(IceConfig, TurnWithASecretFromTheEnvironmentOrAFile) {
  const Config c =
      load_env({{"TURN_URLS", "turn:t.example:3478?transport=udp,turns:t.example:5349"},
                {"TURN_SECRET", kSecret},
                {"TURN_TTL_S", "3600"}});
  ASSERT_TRUE(c.ice.turn_enabled());
  ASSERT_EQ(c.ice.turn_urls.size(), 2u);
  EXPECT_EQ(c.ice.turn_urls[1].text(), "turns:t.example:5349");
  EXPECT_EQ(c.ice.turn_secret, kSecret);
  EXPECT_EQ(c.ice.turn_ttl, std::chrono::seconds(3600));

  const SecretFile file(kSecret + "\n");  // one trailing newline is not part of it
  const Config f = load_env({{"TURN_URLS", "turn:t.example"}, {"TURN_SECRET_FILE", file.path()}});
  EXPECT_EQ(f.ice.turn_secret, kSecret);
  // What the runtime will build from it (phase 2 puts this in ROOM_STATE).
  const auto list = ice::IceServers(f.ice).build("alice", 1'700'000'000'000);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].as_object().at("username").as_string(), "1700086400:alice");
}

TEST(IceConfig, BadValuesAreRefusedWithoutShowingTheSecret) {
  const SecretFile short_file("0123456789abcde\n");
  const SecretFile big_file(std::string(5000, 'x'));
  const std::map<std::string, std::map<std::string, std::string>> cases = {
      {"TURN_URLS", {{"TURN_URLS", "turn:t.example"}}},  // no secret
      {"TURN_SECRET", {{"TURN_SECRET", kSecret}}},       // no URL
      {"TURN_URLS=", {{"TURN_URLS", "turn://t.example"}, {"TURN_SECRET", kSecret}}},
      {"STUN_URLS=", {{"STUN_URLS", "turn:t.example"}}},
      {"TURN_TTL_S=", {{"TURN_TTL_S", "604801"}}},
      {"TURN_SECRET=", {{"TURN_URLS", "turn:t.example"}, {"TURN_SECRET", "0123456789abcde"}}},
      {"TURN_SECRET_FILE=",
       {{"TURN_URLS", "turn:t.example"}, {"TURN_SECRET_FILE", short_file.path()}}},
      {"TURN_SECRET_FILE=\"" + big_file.path(),
       {{"TURN_URLS", "turn:t.example"}, {"TURN_SECRET_FILE", big_file.path()}}},
      {"TURN_SECRET_FILE=\"/nonexistent/secret",
       {{"TURN_URLS", "turn:t.example"}, {"TURN_SECRET_FILE", "/nonexistent/secret"}}},
      {"both set",
       {{"TURN_URLS", "turn:t.example"},
        {"TURN_SECRET", kSecret},
        {"TURN_SECRET_FILE", short_file.path()}}},
  };
  for (const auto& [expected, env] : cases) {
    SCOPED_TRACE(expected);
    const std::string why = config_refusal(env);
    EXPECT_NE(why.find(expected), std::string::npos) << why;
    EXPECT_EQ(why.find(kSecret), std::string::npos) << why;
    EXPECT_EQ(why.find("0123456789abcde"), std::string::npos) << why;
  }
  EXPECT_EQ(config_refusal({{"TURN_TTL_S", "60"}}), "");
  EXPECT_EQ(config_refusal({{"TURN_TTL_S", "604800"}}), "");
}

}  // namespace
}  // namespace tandem::app
