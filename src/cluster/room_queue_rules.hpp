#pragma once
// The decisions of cluster mode's per-room operation queue (RedisRoomQueue), without IO:
// what a queue admits, what its front operation waits for, which followers share a
// leader's commit, what a snapshot read or a CAS reply means (commit, retry, give up),
// how long a contended retry backs off, and whether a failed operation comes back. The
// queue carries the decisions out on Redis; the tests feed these replies by hand.
#include "cluster/room_op.hpp"
#include "redis/reply.hpp"
#include "room/room_state.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace tandem::cluster {

inline constexpr std::size_t kMaxBatch = 64;  // operations committed together at most

// Whether `op` may join a room's queue already holding `queued` operations. The bound is
// on clients' commands; internal operations (disconnects, timers, sweeps, reaping) are
// bounded by the connections and timers that make them, and must not be lost (a dropped
// disconnect would leave a member "connected" for good).
bool queue_admits(const RoomOp& op, std::size_t queued, std::size_t max_queued);

// What the queue does with its front operation. A client's command needs the room's
// channel (its own deliveries come through it): it waits for the subscription, or fails
// at once when the subscriber is down.
enum class FrontAction { run, subscribe, fail };
FrontAction front_action(const RoomOp& op, bool subscribed, bool channel_up);

// Group commit: pops the operations queued behind `leader` that are applied in order to
// the same snapshot and committed with it (one CAS, one message), up to `max`. An
// operation with a `prepare` step, or not batchable, neither leads nor follows.
std::vector<RoomOpPtr> take_followers(const RoomOp& leader, std::deque<RoomOpPtr>& queue,
                                      bool subscribed, std::size_t max = kMaxBatch);

// The reply to HMGET state v s.
struct SnapshotRead {
  enum class Kind {
    failed,   // no usable reply (Redis unreachable, an error)
    absent,   // no such key: the room does not exist (or Redis lost it)
    found,    // `state` holds the snapshot
    corrupt,  // the snapshot does not decode
  };
  Kind kind = Kind::failed;
  std::optional<room::RoomState> state;
};
SnapshotRead read_snapshot_reply(const redis::Reply& reply);

// The reply to the CAS script ({1, version} or {0, current version, current snapshot}).
// A conflict counts one more attempt on `op`.
struct CommitOutcome {
  enum class Kind {
    failed,     // no usable reply
    committed,  // the transition is in Redis
    conflict,   // re-apply to `current` (nullopt: the room is gone)
    exhausted,  // a conflict, and no attempt left (or a malformed conflict reply)
    corrupt,    // a conflict whose current snapshot does not decode
  };
  Kind kind = Kind::failed;
  std::optional<room::RoomState> current;
};
CommitOutcome read_commit_reply(const redis::Reply& reply, RoomOp& op, int max_attempts);

// After a conflict: nullopt re-applies at once (the first retry); later ones wait a random
// time below a ceiling that grows with the attempts (2^attempts ms, at most 25 ms), so
// nodes changing one room at once stop colliding in lock step. `random` >= 0.
std::optional<std::chrono::microseconds> conflict_backoff(int attempts, int random);

// Whether an operation given up comes back later (an internal one, while retries last and
// the node runs); counts the retry on `op`.
bool retry_later(RoomOp& op, bool stopped);

}  // namespace tandem::cluster
