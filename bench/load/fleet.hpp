#pragma once
// The connections of a scenario: each is a Peer bound to one worker, which connects from a
// 127.0.0.x source address, sends JOIN and waits for ROOM_STATE; after that its messages go
// to the scenario's listener. Peers are all added before the first connects (no allocation
// while the workers run), and a peer is touched only on its worker's thread.
#include "histogram.hpp"
#include "options.hpp"
#include "workers.hpp"
#include "ws_client.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tandem::bench {

// SO_RCVBUF of a peer that stops reading on purpose.
inline constexpr int kSlowReceiveBuffer = 8 * 1024;

struct Peer {
  std::shared_ptr<WsClient> ws;
  std::string room_id;
  std::string user_id;
  std::uint32_t index = 0;   // in the fleet
  unsigned worker = 0;
  bool joined = false;
  bool settled = false;      // its join attempt is over (joined or failed)
  bool closed = false;
  bool slow = false;         // stopped reading on purpose (fanout --slow)
  std::int64_t connect_started_ns = 0;
  std::int64_t join_sent_ns = 0;
};

class PeerListener {
 public:
  virtual ~PeerListener() = default;
  virtual void on_message(Peer& peer, std::string_view text) = 0;
  // The server closed a joined peer (code 1006: the connection broke).
  virtual void on_close(Peer& /*peer*/, int /*code*/) {}
};

struct JoinStats {
  Histogram connect_ns;  // TCP connect + WebSocket handshake
  Histogram join_ns;     // JOIN sent -> ROOM_STATE received
  std::uint64_t attempted = 0;
  std::uint64_t joined = 0;
  std::uint64_t connect_failed = 0;
  std::uint64_t join_failed = 0;
  std::map<std::string, std::uint64_t> errors;  // first words of each failure
  std::int64_t first_start_ns = 0;
  std::int64_t last_joined_ns = 0;
  bool timed_out = false;

  void merge(const JoinStats& other);
};

class Fleet {
 public:
  Fleet(Workers& workers, const Options& options, std::size_t capacity);

  void set_listener(PeerListener* listener) { listener_ = listener; }
  // Adds a peer on `worker` (default: index % threads); returns its index.
  std::uint32_t add(std::string room_id, std::string user_id, int worker = -1);
  std::size_t size() const noexcept { return peers_.size(); }
  Peer& peer(std::uint32_t index) { return *peers_[index]; }
  // Peers of one worker, in the order added.
  const std::vector<std::uint32_t>& of_worker(unsigned worker) const { return by_worker_[worker]; }

  // Connects and joins `indices` with at most --concurrency attempts in flight; blocks until
  // all are settled or `timeout_s` passed.
  JoinStats join(const std::vector<std::uint32_t>& indices, double timeout_s);

  // Closes every connection without a WebSocket close.
  void close_all();
  // Close codes the server sent to joined peers since the last call (then reset); `slow`:
  // those of peers that stopped reading on purpose, which are counted apart.
  std::map<int, std::uint64_t> take_closes(bool slow = false);

  const tcp::endpoint& server() const noexcept { return servers_.front(); }
  asio::ip::address_v4 source_for(std::uint32_t index) const;

 private:
  struct WorkerState {
    std::vector<std::uint32_t> todo;
    std::size_t next = 0;
    std::size_t in_flight = 0;
    std::size_t settled = 0;
    std::size_t limit = 1;
    bool abandoned = false;
    JoinStats stats;
    std::map<int, std::uint64_t> closes;
    std::map<int, std::uint64_t> slow_closes;
    std::function<void()> on_done;
  };

  void start_next(unsigned worker);
  void start(Peer& peer);
  void settle(Peer& peer, bool ok, const std::string& error);
  void on_message(Peer& peer, std::string_view text);
  void on_close(Peer& peer, int code);

  Workers& workers_;
  const Options& options_;
  std::vector<tcp::endpoint> servers_;  // peer i connects to servers_[i % size]
  PeerListener* listener_ = nullptr;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::vector<std::vector<std::uint32_t>> by_worker_;
  std::vector<WorkerState> state_;
};

}  // namespace tandem::bench
