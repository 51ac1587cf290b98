// The per-room operation queue's decisions (room_queue_rules), fed by hand: admission,
// what the front operation waits for, group commit, the replies of the snapshot read and of
// the CAS script, the conflict backoff and the retry of failed operations. No Redis.
#include "cluster/room_queue_rules.hpp"
#include "room/room_codec.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace tandem::cluster {
namespace {

using redis::Reply;

RoomOpPtr command_op() {
  return std::make_shared<RoomOp>();
}

RoomOpPtr internal_op() {
  auto op = std::make_shared<RoomOp>();
  op->internal = true;
  return op;
}

room::RoomState room_at(std::uint64_t version) {
  room::RoomState state;
  state.id = "r1";
  state.version = version;
  room::Member member;
  member.user_id = "u1";
  member.peer_id = "p1";
  state.members.push_back(member);
  return state;
}

Reply conflict_reply(std::uint64_t version, std::string snapshot) {
  return Reply::from_array({Reply::from_integer(0),
                            Reply::from_integer(static_cast<std::int64_t>(version)),
                            Reply::from_string(std::move(snapshot))});
}

TEST(RoomQueueRulesTest, AFullQueueRefusesCommandsButNeverInternalOperations) {
  EXPECT_TRUE(queue_admits(*command_op(), 3, 4));
  EXPECT_FALSE(queue_admits(*command_op(), 4, 4));
  EXPECT_TRUE(queue_admits(*internal_op(), 4, 4));
  EXPECT_TRUE(queue_admits(*internal_op(), 10'000, 4));
}

TEST(RoomQueueRulesTest, ACommandWaitsForTheChannelOrFailsWhenTheSubscriberIsDown) {
  EXPECT_EQ(front_action(*command_op(), true, true), FrontAction::run);
  EXPECT_EQ(front_action(*command_op(), false, true), FrontAction::subscribe);
  EXPECT_EQ(front_action(*command_op(), false, false), FrontAction::fail);
  // No client waits for an internal operation's deliveries: it runs unsubscribed.
  EXPECT_EQ(front_action(*internal_op(), false, false), FrontAction::run);
}

TEST(RoomQueueRulesTest, FollowersJoinTheLeaderInQueueOrderUpToTheBound) {
  std::deque<RoomOpPtr> queue;
  for (int i = 0; i < 5; ++i) queue.push_back(command_op());
  const RoomOpPtr first = queue[0];
  const auto followers = take_followers(*command_op(), queue, true, 3);
  ASSERT_EQ(followers.size(), 3u);
  EXPECT_EQ(followers[0], first);
  EXPECT_EQ(queue.size(), 2u);
}

TEST(RoomQueueRulesTest, BatchingStopsAtAnOperationThatMustRunAlone) {
  std::deque<RoomOpPtr> queue{command_op(), command_op(), command_op()};
  queue[1]->batchable = false;
  EXPECT_EQ(take_followers(*command_op(), queue, true).size(), 1u);
  EXPECT_EQ(queue.size(), 2u);

  std::deque<RoomOpPtr> with_prepare{command_op(), command_op()};
  with_prepare[0]->prepare = [](std::function<void(bool)> next) { next(true); };
  EXPECT_TRUE(take_followers(*command_op(), with_prepare, true).empty());

  // Unsubscribed, a command does not follow (it waits for the channel); an internal one does.
  std::deque<RoomOpPtr> mixed{internal_op(), command_op()};
  EXPECT_EQ(take_followers(*internal_op(), mixed, false).size(), 1u);
  EXPECT_EQ(mixed.size(), 1u);
}

TEST(RoomQueueRulesTest, ALeaderThatMustRunAloneTakesNoFollowers) {
  std::deque<RoomOpPtr> queue{command_op(), command_op()};
  RoomOp join;
  join.batchable = false;
  EXPECT_TRUE(take_followers(join, queue, true).empty());
  RoomOp prepared;
  prepared.prepare = [](std::function<void(bool)> next) { next(true); };
  EXPECT_TRUE(take_followers(prepared, queue, true).empty());
  EXPECT_EQ(queue.size(), 2u);
}

TEST(RoomQueueRulesTest, ASnapshotReadIsFoundAbsentCorruptOrFailed) {
  const auto found = read_snapshot_reply(Reply::from_array(
      {Reply::from_string("7"), Reply::from_string(room::to_json_string(room_at(7)))}));
  ASSERT_EQ(found.kind, SnapshotRead::Kind::found);
  EXPECT_EQ(found.state->version, 7u);
  EXPECT_EQ(found.state->members.size(), 1u);

  EXPECT_EQ(read_snapshot_reply(Reply::from_array({Reply::nil(), Reply::nil()})).kind,
            SnapshotRead::Kind::absent);
  EXPECT_EQ(
      read_snapshot_reply(Reply::from_array({Reply::from_string("7"), Reply::from_string("{")}))
          .kind,
      SnapshotRead::Kind::corrupt);
  EXPECT_EQ(read_snapshot_reply(Reply::from_error("DISCONNECTED not connected")).kind,
            SnapshotRead::Kind::failed);
  EXPECT_EQ(read_snapshot_reply(Reply::from_array({Reply::nil()})).kind,
            SnapshotRead::Kind::failed);
}

TEST(RoomQueueRulesTest, ACommitReplyCommitsWithoutCountingAnAttempt) {
  RoomOp op;
  const auto outcome = read_commit_reply(
      Reply::from_array({Reply::from_integer(1), Reply::from_integer(8)}), op, 32);
  EXPECT_EQ(outcome.kind, CommitOutcome::Kind::committed);
  EXPECT_EQ(op.attempts, 0);
}

TEST(RoomQueueRulesTest, AConflictCarriesTheCurrentRoomAndCountsAnAttempt) {
  RoomOp op;
  const auto outcome =
      read_commit_reply(conflict_reply(9, room::to_json_string(room_at(9))), op, 32);
  ASSERT_EQ(outcome.kind, CommitOutcome::Kind::conflict);
  ASSERT_TRUE(outcome.current);
  EXPECT_EQ(outcome.current->version, 9u);
  EXPECT_EQ(op.attempts, 1);
  // The room is gone (an empty snapshot): re-apply to no room.
  const auto gone = read_commit_reply(conflict_reply(0, ""), op, 32);
  EXPECT_EQ(gone.kind, CommitOutcome::Kind::conflict);
  EXPECT_FALSE(gone.current);
  EXPECT_EQ(op.attempts, 2);
}

TEST(RoomQueueRulesTest, ConflictsAreExhaustedAtTheLastAttempt) {
  RoomOp op;
  const std::string snapshot = room::to_json_string(room_at(3));
  EXPECT_EQ(read_commit_reply(conflict_reply(3, snapshot), op, 3).kind,
            CommitOutcome::Kind::conflict);
  EXPECT_EQ(read_commit_reply(conflict_reply(3, snapshot), op, 3).kind,
            CommitOutcome::Kind::conflict);
  EXPECT_EQ(read_commit_reply(conflict_reply(3, snapshot), op, 3).kind,
            CommitOutcome::Kind::exhausted);
  EXPECT_EQ(op.attempts, 3);
}

TEST(RoomQueueRulesTest, AMalformedOrFailedCommitReplyIsNeverTakenForACommit) {
  RoomOp op;
  EXPECT_EQ(read_commit_reply(Reply::from_error("NOSCRIPT No matching script"), op, 32).kind,
            CommitOutcome::Kind::failed);
  EXPECT_EQ(read_commit_reply(Reply::from_array({}), op, 32).kind, CommitOutcome::Kind::failed);
  EXPECT_EQ(read_commit_reply(Reply::from_array({Reply::from_string("1")}), op, 32).kind,
            CommitOutcome::Kind::failed);
  EXPECT_EQ(op.attempts, 0);
  // A conflict without its snapshot, or with one that does not decode.
  EXPECT_EQ(
      read_commit_reply(Reply::from_array({Reply::from_integer(0), Reply::from_integer(4)}), op, 32)
          .kind,
      CommitOutcome::Kind::exhausted);
  EXPECT_EQ(read_commit_reply(conflict_reply(4, "not json"), op, 32).kind,
            CommitOutcome::Kind::corrupt);
}

TEST(RoomQueueRulesTest, TheFirstRetryIsImmediateLaterOnesBackOffBelowACeiling) {
  EXPECT_FALSE(conflict_backoff(0, 12345));
  EXPECT_FALSE(conflict_backoff(1, 12345));
  using std::chrono::microseconds;
  // Ceiling 2^attempts ms, at most 25 ms.
  EXPECT_EQ(conflict_backoff(2, 3'999), microseconds(3'999));
  EXPECT_EQ(conflict_backoff(2, 4'000), microseconds(0));
  EXPECT_EQ(conflict_backoff(4, 1 << 30), microseconds((1 << 30) % 16'000));
  for (int attempts : {5, 6, 31}) {
    for (int random : {0, 24'999, 25'000, 1 << 30}) {
      const auto wait = conflict_backoff(attempts, random);
      ASSERT_TRUE(wait);
      EXPECT_GE(wait->count(), 0);
      EXPECT_LT(wait->count(), 25'000);
    }
  }
}

TEST(RoomQueueRulesTest, OnlyInternalOperationsComeBackAndOnlyWhileRetriesLast) {
  RoomOp command;
  EXPECT_FALSE(retry_later(command, false));
  RoomOp internal;
  internal.internal = true;
  internal.retries_left = 2;
  EXPECT_TRUE(retry_later(internal, false));
  EXPECT_TRUE(retry_later(internal, false));
  EXPECT_FALSE(retry_later(internal, false));
  RoomOp stopping;
  stopping.internal = true;
  EXPECT_FALSE(retry_later(stopping, true));
}

}  // namespace
}  // namespace tandem::cluster
