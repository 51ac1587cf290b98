#pragma once
// Operating-system helpers shared by every test fixture that starts a server of its own
// (tandem-server, PostgreSQL, Redis): a free loopback port and a private temp directory.
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace tandem::test {

// A free TCP port on 127.0.0.1 (bound to port 0 and released). Throws std::system_error.
std::uint16_t free_loopback_port();

// A new directory `<temp dir>/<prefix>-XXXXXX`, mode 0700. Throws std::system_error.
std::filesystem::path make_temp_dir(std::string_view prefix);

// make_temp_dir() removed with its content when it goes out of scope.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "tandem-test") : path_(make_temp_dir(prefix)) {}
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tandem::test
