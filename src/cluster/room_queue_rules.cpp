#include "cluster/room_queue_rules.hpp"

#include "room/room_codec.hpp"

#include <algorithm>

namespace tandem::cluster {

bool queue_admits(const RoomOp& op, std::size_t queued, std::size_t max_queued) {
  return op.internal || queued < max_queued;
}

FrontAction front_action(const RoomOp& op, bool subscribed, bool channel_up) {
  if (op.internal || subscribed) return FrontAction::run;
  return channel_up ? FrontAction::subscribe : FrontAction::fail;
}

std::vector<RoomOpPtr> take_followers(const RoomOp& leader, std::deque<RoomOpPtr>& queue,
                                      bool subscribed, std::size_t max) {
  std::vector<RoomOpPtr> followers;
  if (!leader.batchable || leader.prepare) return followers;
  while (!queue.empty() && followers.size() < max) {
    const RoomOpPtr& next = queue.front();
    if (!next->batchable || next->prepare || (!next->internal && !subscribed)) break;
    followers.push_back(next);
    queue.pop_front();
  }
  return followers;
}

SnapshotRead read_snapshot_reply(const redis::Reply& reply) {
  if (!reply.is_array() || reply.elements.size() != 2) return {SnapshotRead::Kind::failed, {}};
  if (reply.elements[0].is_nil()) return {SnapshotRead::Kind::absent, {}};
  auto state = room::room_state_from_json(reply.elements[1].str);
  if (!state) return {SnapshotRead::Kind::corrupt, {}};
  return {SnapshotRead::Kind::found, std::move(state)};
}

CommitOutcome read_commit_reply(const redis::Reply& reply, RoomOp& op, int max_attempts) {
  if (!reply.is_array() || reply.elements.empty() || !reply.elements[0].is_integer()) {
    return {CommitOutcome::Kind::failed, {}};
  }
  if (reply.elements[0].integer == 1) return {CommitOutcome::Kind::committed, {}};
  if (++op.attempts >= max_attempts || reply.elements.size() != 3) {
    return {CommitOutcome::Kind::exhausted, {}};
  }
  const std::string& text = reply.elements[2].str;
  if (text.empty()) return {CommitOutcome::Kind::conflict, {}};
  auto current = room::room_state_from_json(text);
  if (!current) return {CommitOutcome::Kind::corrupt, {}};
  return {CommitOutcome::Kind::conflict, std::move(current)};
}

std::optional<std::chrono::microseconds> conflict_backoff(int attempts, int random) {
  if (attempts < 2) return std::nullopt;
  const int ceiling_ms = std::min(1 << std::min(attempts, 5), 25);
  return std::chrono::microseconds(random % (ceiling_ms * 1000));
}

bool retry_later(RoomOp& op, bool stopped) {
  return op.internal && op.retries_left-- > 0 && !stopped;
}

}  // namespace tandem::cluster
