#pragma once
#include "common/test_os.hpp"
// Builders and helpers shared by the store tests.
#include "obs/logger.hpp"
#include "store/records.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace tandem::store::test_util {

using namespace std::chrono_literals;

using tandem::test::TempDir;  // common/test_os.hpp

inline room::Member member(std::string user_id, std::uint64_t seq, bool connected = true) {
  room::Member m;
  m.user_id = std::move(user_id);
  m.username = "user " + m.user_id;
  m.join_seq = seq;
  m.peer_id = "peer-" + m.user_id;
  m.node_id = "node-1";
  m.connected = connected;
  m.disconnected_at = connected ? 0 : 1'700'000'000'500;
  m.last_heartbeat = 1'700'000'000'400 + static_cast<Millis>(seq);
  m.current_time = 12.25 + static_cast<double>(seq);
  m.is_playing = seq % 2 == 0;
  m.joined_at = 1'700'000'000'000 + static_cast<Millis>(seq);
  return m;
}

// A room with two members (one disconnected, one without a username), an open gate and a
// PIN hash: every field set to something other than its default.
inline room::RoomState full_room(std::string id, std::uint64_t version = 7) {
  room::RoomState s;
  s.id = std::move(id);
  s.host_user_id = "alice";
  s.url = "https://www.netflix.com/watch/80100172?trackId=1";
  s.current_time = 1234.567890123;
  s.position_at = 1'700'000'001'000;
  s.is_playing = true;
  s.guest_control_enabled = true;
  s.pin_hash = "pbkdf2-sha256$20000$c2FsdA==$aGFzaA==";
  s.members.push_back(member("alice", 1));
  s.members.back().address = "203.0.113.7";  // a PIN room keeps members' last addresses
  auto bob = member("bob", 2, false);
  bob.username.reset();
  s.members.push_back(bob);
  room::Gate g;
  g.id = 3;
  g.opened_by = "alice";
  g.expected = 2;
  g.quorum = 2;
  g.target = 600.5;
  g.desired_play = true;
  g.ready = {"alice"};
  g.opened_at = 1'700'000'002'000;
  g.deadline = 1'700'000'007'000;
  s.gate = g;
  s.next_seq = 4;
  s.created_at = 1'700'000'000'000;
  s.updated_at = 1'700'000'002'000;
  s.version = version;
  return s;
}

inline RoomSnapshot snapshot(std::string room_id, std::uint64_t version, Millis at = 0) {
  auto state = full_room(std::move(room_id), version);
  if (at == 0) at = 1'700'000'002'000 + static_cast<Millis>(version);
  state.updated_at = at;
  return RoomSnapshot{std::move(state), at};
}

inline AuditEvent audit(std::string room_id, std::int64_t seq, Millis at = 0,
                        std::string type = "JOIN") {
  AuditEvent e;
  e.room_id = std::move(room_id);
  e.event_type = std::move(type);
  e.user_id = std::string("u").append(std::to_string(seq % 7));
  e.data["seq"] = seq;
  e.at = at != 0 ? at : 1'700'000'000'000 + seq;
  return e;
}

// The "seq" of an audit entry (-1 for other kinds).
inline std::int64_t seq_of(const JournalEntry& entry) {
  const auto* e = std::get_if<AuditEvent>(&entry);
  if (e == nullptr) return -1;
  return e->data.at("seq").as_int64();
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Polls `pred` until it holds or `timeout` passes (for conditions without a notifier).
inline bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Log lines written to a temporary file (appended, and read through another stream, so
// reading never disturbs a thread that logs).
class LogCapture {
 public:
  LogCapture()
      : path_(make_path()),
        file_(std::fopen(path_.c_str(), "a")),
        logger_("test-node", obs::Level::debug, file_) {}
  ~LogCapture() {
    std::fclose(file_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  obs::Logger& logger() { return logger_; }
  std::string text() const { return read_file(path_); }  // the logger flushes every line
  std::size_t count(std::string_view msg) const {
    const std::string text = this->text();
    const std::string needle = "\"msg\":\"" + std::string(msg) + "\"";
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  }

 private:
  static std::filesystem::path make_path() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tandem-log-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    ::close(fd);
    return pattern;
  }

  std::filesystem::path path_;
  std::FILE* file_;
  obs::Logger logger_;
};

}  // namespace tandem::store::test_util
