#pragma once
// Cluster mode's per-room operation pipeline. Per room, this node runs one operation at a
// time, in arrival order (a bounded queue), so a client's commands apply in the order sent
// and a node never conflicts with itself. An operation: take the cached snapshot (or read
// it), apply the machine to a copy, then one Lua script checks the version, writes the new
// snapshot and PUBLISHes the transition on the room's channel, atomically; a transition
// that changes nothing is published without a version. A version conflict returns the
// current snapshot and the operation is re-applied (bounded attempts, random backoff once
// contended). Group commit: the operations queued behind a leader are applied to the same
// snapshot and committed with it, in one round trip.
//
// If Redis lost a room (restarted empty), the first change re-creates it from this node's
// last copy, or else from the durable record. An internal operation that fails (Redis
// unreachable) comes back 1 s later, while retries last.
//
// The decisions (admission, batching, reading replies, backoff, retry) are pure functions
// in room_queue_rules.hpp; this class carries them out on Redis and the event loop. What a
// committed transition means to the node (timers, index, journal, metrics) is the owner's,
// through Hooks.
#include "cluster/cluster_metrics.hpp"
#include "cluster/redis_room_entry.hpp"
#include "cluster/redis_write_check.hpp"
#include "cluster/room_op.hpp"
#include "obs/logger.hpp"
#include "protocol/error_code.hpp"
#include "redis/lua_script.hpp"
#include "room/room_machine.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tandem::redis {
class RedisConnection;
}  // namespace tandem::redis

namespace tandem::cluster {

// Reads a room's last snapshot from the durable record (nullopt: none, or archived);
// `done` runs on the event loop.
using RecordLoader = std::function<void(std::string room_id,
                                        std::function<void(std::optional<room::RoomState>)> done)>;

class RedisRoomQueue {
 public:
  struct Options {
    std::string node_id;
    std::size_t max_queued_per_room = 1024;
    int max_attempts = 32;
    protocol::Millis tombstone_ttl = 24 * 3600 * 1000;
    RecordLoader load_from_record;  // empty: no restore from the record
  };
  struct Hooks {
    std::function<bool()> channel_up;                           // the subscriber is connected
    std::function<void(const std::string& room_id)> subscribe;  // start (no-op if asked)
    std::function<void(const std::string& room_id)> release;    // the room may be done with
    std::function<void(const ConnectionInfo&, protocol::ErrorCode, std::string)> send_error;
    // After a commit (`ops`: leader first, then its followers; `effects`: all of theirs,
    // merged, re-creation first), before each operation's `done`.
    std::function<void(const std::string& room_id, const std::vector<RoomOpPtr>& ops,
                       const room::RoomState& next, const room::Effects& effects,
                       protocol::Millis now)>
        committed;
    // For each operation of a transition that changed nothing, before its message is
    // published: delivers what goes to the sender (and takes it out of `op.effects`),
    // counts and journals.
    std::function<void(const std::string& room_id, RoomOp& op, const room::RoomState& state,
                       protocol::Millis now)>
        unchanged;
  };

  RedisRoomQueue(boost::asio::any_io_executor executor, redis::RedisConnection& redis,
                 RedisRoomTable& rooms, const room::RoomMachine& machine, ClusterMetrics& metrics,
                 const RedisWriteCheck& writes, obs::Logger& logger, Options options, Hooks hooks,
                 std::function<protocol::Millis()> clock);
  ~RedisRoomQueue();
  RedisRoomQueue(const RedisRoomQueue&) = delete;
  RedisRoomQueue& operator=(const RedisRoomQueue&) = delete;

  // Queues `op` on `room_id` (creating the room's entry), or refuses it when the queue is
  // full (the sender gets an error, `failed` runs).
  void enqueue(const std::string& room_id, RoomOpPtr op);
  // Starts the room's next operation if none runs (after a subscription, a reconnect).
  void pump(const std::string& room_id);
  // No operation is running or waiting.
  bool idle() const;
  // Shutdown: operations that fail from now on are not retried.
  void stop() { stopped_ = true; }

 private:
  void run(const std::string& room_id, const RoomOpPtr& op);
  void attempt(const std::string& room_id, const RoomOpPtr& op, std::optional<room::RoomState> base,
               bool absent);
  // Redis has no such room: puts in `state` (and `effects`) the base to apply `op` to.
  // False when `op` went on elsewhere (finished, or waiting for the durable record).
  bool base_for_absent(const std::string& room_id, const RoomOpPtr& op, protocol::Millis now,
                       room::RoomState& state, room::Effects& effects);
  void commit(const std::string& room_id, const RoomOpPtr& op, room::RoomState next,
              room::Effects effects, std::uint64_t expected, protocol::Millis now);
  struct PendingCommit;
  void on_commit_reply(const std::string& room_id, const RoomOpPtr& op,
                       const PendingCommit& pending, const redis::Reply& reply);
  void retry_after_conflict(const std::string& room_id, const RoomOpPtr& op,
                            std::optional<room::RoomState> current);
  void publish_unchanged(const std::string& room_id, const RoomOpPtr& op, protocol::Millis now);
  void finish(const std::string& room_id, const RoomOpPtr& op, bool ok);
  void give_up(const std::string& room_id, const RoomOpPtr& op);
  // The operation and the followers it commits for.
  static std::vector<RoomOpPtr> with_batch(const RoomOpPtr& op);

  boost::asio::any_io_executor executor_;
  redis::RedisConnection& redis_;
  RedisRoomTable& rooms_;
  const room::RoomMachine& machine_;
  ClusterMetrics& metrics_;
  const RedisWriteCheck& writes_;
  obs::Logger& logger_;
  Options options_;
  Hooks hooks_;
  std::function<protocol::Millis()> clock_;
  redis::LuaScript cas_script_;
  std::minstd_rand rng_{std::random_device{}()};
  std::uniform_int_distribution<int> jitter_{0, 1 << 30};
  bool stopped_ = false;
  std::shared_ptr<RedisRoomQueue*> alive_;
};

}  // namespace tandem::cluster
