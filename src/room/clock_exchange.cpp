#include "room/clock_exchange.hpp"

#include <variant>

namespace tandem::room {

protocol::ClockReplyEvent ClockExchange::answer(const protocol::ClockRequest& request,
                                                double received_ms, double sent_ms,
                                                double sent_steady_ms) {
  pending_seq_ = request.seq;
  pending_sent_ = sent_steady_ms;
  return protocol::ClockReplyEvent{request.seq, request.client_time, received_ms, sent_ms};
}

std::optional<double> ClockExchange::estimate() const {
  const std::optional<ClockSample> best = filter_.best();
  if (!best) return std::nullopt;
  return best->rtt_ms;
}

bool ClockExchange::annotate(protocol::Command& command, double steady_ms) {
  if (auto* join = std::get_if<protocol::Join>(&command)) {
    joined_ = true;
    join->server_rtt_ms = estimate();
    reported_ = join->server_rtt_ms;
    return true;
  }
  auto* ack = std::get_if<protocol::ClockAck>(&command);
  if (ack == nullptr) return true;
  if (pending_seq_ && *pending_seq_ == ack->seq) {
    // One ACK per reply: a repeated one would time the wrong interval.
    pending_seq_.reset();
    filter_.add(ClockSample{steady_ms - pending_sent_, 0});
  }
  const std::optional<double> now = estimate();
  if (!joined_ || !now || (reported_ && !ClockFilter::moved(*reported_, *now))) return false;
  reported_ = now;
  ack->server_rtt_ms = now;
  return true;
}

}  // namespace tandem::room
