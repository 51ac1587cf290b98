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
  obs::Counter& rejected_per_ip;      // upgrades refused: MAX_CONNECTIONS_PER_IP reached
  obs::CounterSet ws_origins;         // upgrades by OriginPolicy verdict (refused ones too)
  obs::Counter& new_rooms_refused;    // JOINs refused: ROOM_MAX_NEW_PER_ADDRESS reached
  obs::Counter& queue_overflows;      // clients closed because they could not keep up
  obs::Counter& rate_limited;         // messages (and pings) refused by the token bucket
  obs::Counter& relay_refused;        // pass-through messages refused by the byte budget
  obs::Counter& bytes_in;
  obs::Counter& writes;               // sendmsg calls that wrote to WebSocket clients
  obs::Counter& frames_out;           // frames (and 101 responses) those writes completed
  obs::Counter& bytes_out;            // bytes those writes sent (headers included)
  obs::CounterSet messages_in;        // by type
  obs::Counter& clock_replies;        // CLOCK_REPLY frames (answered by the session itself)
  obs::CounterSet control_in;         // ping and pong frames received, by type
  obs::CounterSet closes;             // by WebSocket close code
  obs::CounterSet errors;             // ERROR frames sent by the network layer, by code
  obs::CounterSet http_requests;      // by route
  obs::Gauge& http_connections;       // open plain HTTP connections
  obs::Counter& http_evicted_full;    // evicted: MAX_HTTP_CONNECTIONS reached
  obs::Counter& http_evicted_per_ip;  // evicted: MAX_PENDING_PER_IP reached
  obs::Counter& http_refused;         // closed at accept: every connection was busy
  obs::Counter& http_timeouts;        // no complete request within HTTP_REQUEST_TIMEOUT_MS
  obs::CounterSet http_bad_requests;  // malformed requests answered and closed, by status
  obs::Counter& accept_failures;      // accept() failed (EMFILE, ENFILE, ...)
};

}  // namespace tandem::net
