#pragma once
// Standalone mode: every room lives in this process's memory and events reach members by
// direct in-process delivery. Single-threaded: only the event-loop thread calls it.
#include "cluster/pin_delays.hpp"
#include "cluster/pin_failure_table.hpp"
#include "cluster/address_rate.hpp"
#include "cluster/pin_lockout.hpp"
#include "cluster/room_journal.hpp"
#include "cluster/room_metrics.hpp"
#include "cluster/rooms.hpp"
#include "cluster/short_id_metrics.hpp"
#include "cluster/short_ids.hpp"
#include "cluster/transition_journal.hpp"
#include "obs/logger.hpp"
#include "room/room_machine.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace tandem::cluster {

using Clock = std::function<protocol::Millis()>;

struct LocalRoomsOptions {
  std::string node_id;
  ShortIdOptions short_ids;
  // New short ids for rooms that do not exist, per client address and window.
  std::size_t short_id_max_new_per_address = 60;
  protocol::Millis short_id_rate_window = 60'000;
  std::size_t short_id_max_addresses = 100'000;
  // A changed room's snapshot reaches the journal at most this often (audit events go at
  // once); this bounds what a crash can lose of a room's state.
  protocol::Millis snapshot_interval = 100;
  PinLockoutOptions pin_lockout;
  RoomJournal* journal = nullptr;  // nullptr: nothing is persisted
};

class LocalRooms final : public Rooms {
 public:
  LocalRooms(boost::asio::any_io_executor executor, Outbox& outbox,
             const room::RoomMachine& machine, obs::Registry& registry, obs::Logger& logger,
             LocalRoomsOptions options, Clock clock);
  ~LocalRooms() override;

  void on_command(const ConnectionInfo& conn, protocol::Command&& command) override;
  void on_close(const ConnectionInfo& conn, CloseKind kind) override;
  void room_status(const std::string& room_id,
                   std::function<void(boost::json::array)> done) override;
  void list_rooms(const std::string& after, std::size_t limit,
                  std::function<void(RoomPage)> done) override;
  void nodes(std::function<void(boost::json::array)> done) override;
  void short_id_for(const std::string& room_id, const std::string& client_address,
                    std::function<void(ShortIdAnswer)> done) override;
  void room_for_short_id(const std::string& short_id,
                         std::function<void(std::optional<std::string>)> done) override;
  std::size_t room_count() const override { return rooms_.size(); }
  bool backends_ready() const override { return true; }

  // For tests and /status: the room's state, or nullptr.
  const room::RoomState* find(const std::string& room_id) const;

  // At start, before any connection: rooms and short ids from the durable record. Members
  // come back as disconnected within a fresh reconnect grace period (a restart looks to
  // clients like a short network drop); open gates get their timers again.
  void restore(std::vector<store::RoomSnapshot> rooms, const std::vector<store::ShortIdRecord>& short_ids);
  // Rooms the store archived as idle (writer thread -> posted to the loop).
  void forget_archived(const std::vector<std::string>& room_ids);
  // Journals every room whose high-rate changes are still only in memory (shutdown).
  void flush_snapshots();

 private:
  struct Binding {
    std::string room_id;
    std::string user_id;
  };

  // `delay_served`: the JOIN comes back from its room's PIN delay (PinDelays).
  void join(const ConnectionInfo& conn, protocol::Command&& command, bool delay_served = false);
  // Carries out a transition's effects; may erase the room (archived).
  void execute(const std::string& room_id, room::Effects&& effects, const ConnectionInfo* sender,
               protocol::Millis now);
  void deliver(const room::RoomState& state, const room::Delivery& delivery,
               const ConnectionInfo* sender, protocol::Millis now);
  void send_to_sender(const ConnectionInfo& conn, const protocol::Event& event,
                      protocol::Millis now);
  void arm(const std::string& room_id, const room::TimerRequest& request, protocol::Millis now);
  void unbind(ConnId conn, const std::string& peer_id);
  void arm_snapshot_timer();
  PinCounters pin_counters(const std::string& address_key, const std::string& room_id,
                           const std::string& user_id, protocol::Millis now) const;
  // The lockout's verdict on a JOIN's PIN check; nullopt when the check waits its delay
  // (the JOIN comes back through join() with delay_served).
  std::optional<PinVerdict> admit_pin_check(const ConnectionInfo& conn, protocol::Command& command,
                                            const PinAttempt& attempt, const PinCounters& counters);
  void count_pin_failure(const ConnectionInfo& conn, const std::string& room_id,
                         const std::string& user_id, const PinAttempt& attempt,
                         const PinCounters& counters, room::Effects& effects, protocol::Millis now);
  // Every room leaves rooms_ through here: the listing index and its short id follow.
  void erase_room(std::unordered_map<std::string, room::RoomState>::iterator room,
                  protocol::Millis now);
  void journal_short_ids(const std::vector<ShortIdLease>& leases);

  boost::asio::any_io_executor executor_;
  Outbox& outbox_;
  const room::RoomMachine& machine_;
  obs::Logger& logger_;
  RoomMetrics metrics_;
  LocalRoomsOptions options_;
  Clock clock_;
  ShortIds short_ids_;
  AddressRate short_id_rate_;
  ShortIdMetrics short_id_metrics_;
  PinLockout pin_lockout_;
  PinFailureTable pin_failures_;
  PinDelays pin_delays_;
  TransitionJournal journal_;
  boost::asio::steady_timer snapshot_timer_;

  std::unordered_map<std::string, room::RoomState> rooms_;
  std::set<std::string> room_index_;  // the ids of rooms_, in order: /status pages
  // Looked up for every recipient of every delivery: open addressing (flat maps) rather
  // than node-based tables. Neither keeps references into them across an insertion.
  boost::unordered_flat_map<ConnId, Binding> bindings_;   // joined connections
  boost::unordered_flat_map<std::string, ConnId> peers_;  // peer_id -> joined connection
  // Timers hold a weak reference: LocalRooms may die before the loop drops them.
  std::shared_ptr<LocalRooms*> alive_;
};

}  // namespace tandem::cluster
