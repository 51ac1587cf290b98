#pragma once
// Metrics owned by the network layer.
#include "obs/metrics.hpp"

namespace tandem::net {

class NetMetrics {
 public:
  explicit NetMetrics(obs::Registry& registry);

  obs::Gauge& connections;            // open WebSocket sessions
  obs::Counter& connections_total;    // accepted WebSocket sessions
  obs::Counter& rejected_full;        // upgrades refused: MAX_CONNECTIONS reached
  obs::Counter& rejected_draining;    // upgrades refused: shutting down
  obs::Counter& queue_overflows;      // clients closed because they could not keep up
  obs::Counter& rate_limited;         // messages refused by the token bucket
  obs::Counter& bytes_in;
  obs::Counter& writes;               // sendmsg calls that wrote to WebSocket clients
  obs::Counter& frames_out;           // frames (and 101 responses) those writes completed
  obs::Counter& bytes_out;            // bytes those writes sent (headers included)
  obs::CounterSet messages_in;        // by type
  obs::Counter& clock_replies;        // CLOCK_REPLY frames (answered by the session itself)
  obs::CounterSet closes;             // by WebSocket close code
  obs::CounterSet errors;             // ERROR frames sent by the network layer, by code
  obs::CounterSet http_requests;      // by route
};

}  // namespace tandem::net
