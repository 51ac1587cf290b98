#include "fleet.hpp"

#include "clock.hpp"
#include "messages.hpp"

#include <atomic>
#include <chrono>
#include <utility>
#include <future>
#include <stdexcept>

namespace tandem::bench {

void JoinStats::merge(const JoinStats& other) {
  connect_ns.merge(other.connect_ns);
  join_ns.merge(other.join_ns);
  attempted += other.attempted;
  joined += other.joined;
  connect_failed += other.connect_failed;
  join_failed += other.join_failed;
  for (const auto& [error, n] : other.errors) errors[error] += n;
  if (other.first_start_ns != 0 && (first_start_ns == 0 || other.first_start_ns < first_start_ns)) {
    first_start_ns = other.first_start_ns;
  }
  last_joined_ns = std::max(last_joined_ns, other.last_joined_ns);
  timed_out = timed_out || other.timed_out;
}

Fleet::Fleet(Workers& workers, const Options& options, std::size_t capacity)
    : workers_(workers),
      options_(options),
      by_worker_(workers.size()),
      state_(workers.size()) {
  peers_.reserve(capacity);
  for (const auto port : options.ports) {
    servers_.emplace_back(asio::ip::make_address_v4(options.host), port);
  }
}

std::uint32_t Fleet::add(std::string room_id, std::string user_id, int worker) {
  if (peers_.size() == peers_.capacity()) throw std::logic_error("Fleet capacity exceeded");
  auto peer = std::make_unique<Peer>();
  peer->index = static_cast<std::uint32_t>(peers_.size());
  peer->worker = worker >= 0 ? static_cast<unsigned>(worker) % workers_.size()
                            : peer->index % workers_.size();
  peer->room_id = std::move(room_id);
  peer->user_id = std::move(user_id);
  by_worker_[peer->worker].push_back(peer->index);
  peers_.push_back(std::move(peer));
  return peers_.back()->index;
}

asio::ip::address_v4 Fleet::source_for(std::uint32_t index) const {
  const auto base = asio::ip::make_address_v4("127.0.0.1").to_uint();
  return asio::ip::address_v4(base + index % options_.source_ips);
}

JoinStats Fleet::join(const std::vector<std::uint32_t>& indices, double timeout_s) {
  std::vector<std::vector<std::uint32_t>> split(workers_.size());
  for (const auto index : indices) split[peers_[index]->worker].push_back(index);
  auto remaining = std::make_shared<std::atomic<unsigned>>(workers_.size());
  auto all_done = std::make_shared<std::promise<void>>();
  auto finished = all_done->get_future();
  const std::size_t limit =
      std::max<std::size_t>(1, options_.concurrency / workers_.size());
  workers_.run_on_all([&](unsigned w) {
    WorkerState& state = state_[w];
    state.todo = std::move(split[w]);
    state.next = 0;
    state.in_flight = 0;
    state.settled = 0;
    state.limit = limit;
    state.abandoned = false;
    state.stats = JoinStats{};
    state.stats.attempted = state.todo.size();
    state.on_done = [remaining, all_done] {
      if (remaining->fetch_sub(1) == 1) all_done->set_value();
    };
    if (state.todo.empty()) {
      std::exchange(state.on_done, nullptr)();
      return;
    }
    while (state.in_flight < state.limit && state.next < state.todo.size()) start_next(w);
  });
  const bool in_time =
      finished.wait_for(std::chrono::duration<double>(timeout_s)) == std::future_status::ready;
  std::vector<JoinStats> copies(workers_.size());
  workers_.run_on_all([&](unsigned w) {
    WorkerState& state = state_[w];
    if (!in_time) {
      state.abandoned = true;
      state.stats.timed_out = state.settled < state.todo.size();
      state.on_done = nullptr;
    }
    copies[w] = state.stats;
  });
  JoinStats total;
  for (const auto& copy : copies) total.merge(copy);
  return total;
}

void Fleet::start_next(unsigned worker) {
  WorkerState& state = state_[worker];
  if (state.abandoned) return;
  Peer& peer = *peers_[state.todo[state.next++]];
  ++state.in_flight;
  start(peer);
}

void Fleet::start(Peer& peer) {
  WorkerState& state = state_[peer.worker];
  peer.joined = false;
  peer.settled = false;
  peer.closed = false;
  Peer* p = &peer;
  peer.ws = WsClient::make(workers_.io(peer.worker),
                           {[this, p](std::string_view text) { on_message(*p, text); },
                            [this, p](int code) { on_close(*p, code); }});
  if (peer.slow) peer.ws->set_receive_buffer(kSlowReceiveBuffer);
  peer.connect_started_ns = now_ns();
  if (state.stats.first_start_ns == 0) state.stats.first_start_ns = peer.connect_started_ns;
  peer.ws->connect(servers_[peer.index % servers_.size()], source_for(peer.index), [this, p](bool ok, std::string_view error) {
    if (!ok) {
      state_[p->worker].stats.connect_failed++;
      settle(*p, false, std::string(error));
      return;
    }
    p->join_sent_ns = now_ns();
    state_[p->worker].stats.connect_ns.record(p->join_sent_ns - p->connect_started_ns);
    p->ws->send(std::make_shared<const std::string>(join_message(p->room_id, p->user_id, "bench")));
  });
}

void Fleet::settle(Peer& peer, bool ok, const std::string& error) {
  if (peer.settled) return;
  peer.settled = true;
  WorkerState& state = state_[peer.worker];
  if (!ok) {
    // "connect: Connection refused" -> counted by its text up to 60 characters.
    state.stats.errors[error.substr(0, 60)]++;
  }
  --state.in_flight;
  ++state.settled;
  if (state.abandoned) return;
  if (state.next < state.todo.size()) start_next(peer.worker);
  if (state.settled == state.todo.size() && state.on_done) std::exchange(state.on_done, nullptr)();
}

void Fleet::on_message(Peer& peer, std::string_view text) {
  if (peer.joined) {
    if (listener_ != nullptr) listener_->on_message(peer, text);
    return;
  }
  const std::string_view type = message_type(text);
  WorkerState& state = state_[peer.worker];
  if (type == "ROOM_STATE") {
    const std::int64_t now = now_ns();
    peer.joined = true;
    state.stats.joined++;
    state.stats.join_ns.record(now - peer.join_sent_ns);
    state.stats.last_joined_ns = std::max(state.stats.last_joined_ns, now);
    settle(peer, true, {});
  } else if (type == "ERROR") {
    state.stats.join_failed++;
    peer.ws->close_abrupt();
    peer.closed = true;
    settle(peer, false, "join: " + std::string(text.substr(0, 80)));
  }
}

void Fleet::on_close(Peer& peer, int code) {
  peer.closed = true;
  WorkerState& state = state_[peer.worker];
  if (!peer.joined) {
    state.stats.join_failed++;
    settle(peer, false, "closed before ROOM_STATE: " + std::to_string(code));
    return;
  }
  (peer.slow ? state.slow_closes : state.closes)[code]++;
  if (listener_ != nullptr) listener_->on_close(peer, code);
}

void Fleet::close_all() {
  workers_.run_on_all([&](unsigned w) {
    state_[w].abandoned = true;
    for (const auto index : by_worker_[w]) {
      Peer& peer = *peers_[index];
      if (peer.ws) peer.ws->close_abrupt();
      peer.closed = true;
    }
  });
}

std::map<int, std::uint64_t> Fleet::take_closes(bool slow) {
  std::vector<std::map<int, std::uint64_t>> copies(workers_.size());
  workers_.run_on_all([&](unsigned w) {
    copies[w] = std::exchange(slow ? state_[w].slow_closes : state_[w].closes, {});
  });
  std::map<int, std::uint64_t> total;
  for (const auto& copy : copies) {
    for (const auto& [code, n] : copy) total[code] += n;
  }
  return total;
}

}  // namespace tandem::bench
