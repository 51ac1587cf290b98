#pragma once
// Cluster mode: rooms live in Redis as versioned snapshots; events reach members through
// one Redis channel per room. Implements the same Rooms interface as LocalRooms, and the
// room rules stay in room::RoomMachine (see docs/CLUSTER.md for the model and guarantees).
//
// A mutation of room R goes through R's operation queue on this node (RedisRoomQueue:
// one operation at a time, group commit, a versioned CAS script that also PUBLISHes the
// transition on R's channel). Redis thereby gives one total order of transitions per room,
// and every subscribed node (this one included) delivers each transition to its own
// members from the channel (RedisRoomChannel). This class keeps the connection bindings,
// turns commands, disconnects, timers and reaping into operations, and does what a
// committed transition means to the node (timers, room index, journal, metrics).
//
// Liveness: the node refreshes tandem:node:ID (TTL node_dead_after); every sweep it looks
// for registered nodes whose key expired and removes their members (USER_LEFT,
// HOST_CHANGED) through the normal path (NodeLiveness); the version check makes that
// idempotent when several survivors do it at once. Each sweep also runs RoomMachine::sweep
// on the rooms it caches, so an overdue gate or grace period closes even when the node
// that armed the timer died.
//
// Redis unreachable: commands that need it get ERROR INTERNAL at once (nothing is queued
// beyond the operations already waiting); clients stay connected; /ready is 503. Internal
// operations (disconnects, timers) are retried until Redis returns. After the subscriber
// reconnects, cached snapshots are dropped (messages may have been missed) and re-read.
#include "cluster/cluster_metrics.hpp"
#include "cluster/pin_delays.hpp"
#include "cluster/pin_lockout.hpp"
#include "cluster/redis_room_entry.hpp"
#include "cluster/redis_room_queue.hpp"
#include "cluster/redis_short_ids.hpp"
#include "cluster/redis_write_check.hpp"
#include "cluster/room_journal.hpp"
#include "cluster/room_metrics.hpp"
#include "cluster/rooms.hpp"
#include "cluster/short_id_metrics.hpp"
#include "cluster/transition_journal.hpp"
#include "obs/logger.hpp"
#include "redis/redis_config.hpp"
#include "room/room_machine.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace tandem::redis {
class RedisConnection;
class RedisSubscriber;
}  // namespace tandem::redis

namespace tandem::cluster {

class NodeLiveness;
class RedisDirectory;
class RedisPinCounters;
class RedisRoomChannel;

struct RedisRoomsOptions {
  std::string node_id;
  redis::RedisConfig redis;
  // The subscriber's endpoint when it is not `redis`'s (tests put a lagging proxy there).
  std::optional<redis::RedisConfig> subscriber_redis;
  RedisShortIdOptions short_ids;
  PinLockoutOptions pin_lockout;
  protocol::Millis node_dead_after = 15'000;  // a node silent this long is dead
  protocol::Millis sweep_interval = 1'000;    // dead nodes, overdue gates and graces
  protocol::Millis snapshot_interval = 100;   // journal coalescing, as LocalRooms
  protocol::Millis tombstone_ttl = 24 * 3600 * 1000;  // an emptied room's version is kept
  std::size_t max_queued_per_room = 1024;     // commands waiting for one room (a burst the
                                              // rate limit allows several members must fit)
  int max_attempts = 32;                      // CAS attempts of one operation
  RoomJournal* journal = nullptr;             // nullptr: nothing is persisted
  RecordLoader load_from_record;              // empty: no restore from the record
};

class RedisRooms final : public Rooms {
 public:
  RedisRooms(boost::asio::any_io_executor executor, Outbox& outbox,
             const room::RoomMachine& machine, obs::Registry& registry, obs::Logger& logger,
             RedisRoomsOptions options, std::function<protocol::Millis()> clock);
  ~RedisRooms() override;
  RedisRooms(const RedisRooms&) = delete;
  RedisRooms& operator=(const RedisRooms&) = delete;

  // Connects (and keeps reconnecting), registers this node, starts the sweeper.
  void start();
  // Shutdown: journals unsaved snapshots, stops timers and the liveness refresh (the
  // node's key is deleted so survivors need not wait for it to expire: its members were
  // disconnected by the drain and come back elsewhere within their grace).
  void stop();
  void flush_snapshots();
  // No operation is running or waiting (shutdown waits for this, bounded).
  bool idle() const;

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
  std::size_t room_count() const override;
  bool backends_ready() const override;

 private:
  struct Binding {
    std::string room_id;
    std::string user_id;
  };

  // The queue's hooks: what a transition means to this node.
  void after_commit(const std::string& room_id, const std::vector<RoomOpPtr>& ops,
                    const room::RoomState& next, const room::Effects& effects, protocol::Millis now);
  void after_unchanged(const std::string& room_id, RoomOp& op, const room::RoomState& state,
                       protocol::Millis now);
  // The room's entry goes when nothing here needs it any more (no member, no operation).
  void maybe_release(const std::string& room_id);

  // Commands.
  // `delay_served`: the JOIN comes back from its room's PIN delay (PinDelays).
  void join(const ConnectionInfo& conn, protocol::Command&& command, bool delay_served = false);
  // A JOIN whose PIN check waits its room's delay (node-local), off the room's queue.
  void delay_join(const ConnectionInfo& conn, const protocol::Command& command,
                  protocol::Millis wait);
  // Binds a connection whose JOIN committed (or drops the member if it closed meanwhile).
  // `version`: the JOIN's; `adopted`: its message came first and made it a local member.
  void bind_joined(const ConnectionInfo& conn, const std::string& room_id,
                   RedisRoomEntry::LocalMember member, std::uint64_t version, bool still_open,
                   bool adopted);
  void send_error(const ConnectionInfo& conn, protocol::ErrorCode code, std::string message);
  void unbind(ConnId conn, const std::string& peer_id);
  // The connection is no longer a member of `room_id` here (nor about to be).
  void forget_local(const std::string& room_id, ConnId conn);

  // Timers, liveness, sweeping.
  void arm(const std::string& room_id, const room::TimerRequest& request, protocol::Millis now);
  void refresh_liveness();
  void sweep();
  // NodeLiveness's hook: removes `node_id`'s members from the room (own_leftovers: this
  // node's previous run, whose members are disconnected instead).
  void reap_room(const std::string& node_id, const std::string& room_id, bool own_leftovers,
                 std::function<void(bool ok)> done);
  void heal_after_lost_registration();
  // Closes this node's connections in `room_id` whose member `state` no longer has (other
  // nodes removed them while this one looked dead).
  void close_lost_members(const std::string& room_id, const room::RoomState& state);
  void arm_periodic(boost::asio::steady_timer& timer, protocol::Millis every,
                    void (RedisRooms::*what)());

  boost::asio::any_io_executor executor_;
  Outbox& outbox_;
  const room::RoomMachine& machine_;
  obs::Logger& logger_;
  RoomMetrics metrics_;
  ClusterMetrics cluster_metrics_;
  RedisRoomsOptions options_;
  std::function<protocol::Millis()> clock_;
  std::unique_ptr<redis::RedisConnection> redis_;
  std::unique_ptr<redis::RedisSubscriber> subscriber_;
  PinLockout pin_lockout_;
  PinDelays pin_delays_;
  ShortIdMetrics short_id_metrics_;
  std::unique_ptr<RedisShortIds> short_ids_;
  RedisWriteCheck writes_;
  TransitionJournal journal_;
  std::unique_ptr<RedisDirectory> directory_;
  std::unique_ptr<NodeLiveness> liveness_;
  std::unique_ptr<RedisPinCounters> pins_;

  RedisRoomTable rooms_;                                 // rooms this node works on
  std::unordered_map<ConnId, Binding> bindings_;         // joined (or joining) connections
  std::unordered_map<std::string, ConnId> peers_;        // peer id -> connection
  std::unordered_map<ConnId, Binding> pending_joins_;    // JOINs queued, not yet committed
  std::unique_ptr<RedisRoomQueue> queue_;
  std::unique_ptr<RedisRoomChannel> channel_;
  boost::asio::steady_timer liveness_timer_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer snapshot_timer_;
  bool stopped_ = false;
  std::shared_ptr<RedisRooms*> alive_;
};

}  // namespace tandem::cluster
