#pragma once
// The server's side of the clock exchange on one connection (docs/SYNC.md). CLOCK_REQUEST is
// answered at once (CLOCK_REPLY: the client's time echoed, the server's receive and send
// times); the client acknowledges the reply at once (CLOCK_ACK), so the server measures the
// connection's round trip itself, with its own clock, and keeps the lowest of the last few
// (ClockFilter). The room learns the estimate (Member::rtt_ms, for the lead of scheduled
// starts) from the JOIN, and then from a CLOCK_ACK whenever it moved enough: most ACKs
// never reach the room. Pure: the connection passes its clocks in.
#include "protocol/command.hpp"
#include "protocol/event.hpp"
#include "room/clock_filter.hpp"

#include <cstdint>
#include <optional>

namespace tandem::room {

class ClockExchange {
 public:
  // The reply to `request`, read at wall time `received_ms` and answered at `sent_ms`
  // (sub-millisecond wall clock, ms since the epoch); `sent_steady_ms` is the same instant
  // on a monotonic clock, kept to time the ACK. Only the latest reply can be acknowledged.
  protocol::ClockReplyEvent answer(const protocol::ClockRequest& request, double received_ms,
                                   double sent_ms, double sent_steady_ms);

  // A command on its way to the room, read at `steady_ms`. A CLOCK_ACK of the latest reply
  // adds a round trip. Returns false when the command stays here: a CLOCK_ACK with nothing
  // new for the room, or any CLOCK_ACK before this connection sent a JOIN. A CLOCK_ACK that
  // goes on carries the new estimate, and so does a JOIN.
  bool annotate(protocol::Command& command, double steady_ms);

  std::optional<double> estimate() const;

 private:
  ClockFilter filter_;
  std::optional<std::uint64_t> pending_seq_;
  double pending_sent_ = 0;
  std::optional<double> reported_;  // what the room was last told
  bool joined_ = false;             // a JOIN went to the room
};

}  // namespace tandem::room
