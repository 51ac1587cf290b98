#include "net/net_metrics.hpp"

#include "cluster/room_metrics.hpp"
#include "protocol/message_types.hpp"

namespace tandem::net {

namespace {

// The types clients send, and "invalid" for what did not parse.
std::vector<std::string> with_invalid(std::vector<std::string> names) {
  names.emplace_back("invalid");
  return names;
}

}  // namespace

NetMetrics::NetMetrics(obs::Registry& registry)
    : connections(registry.gauge("tandem_connections", "Open WebSocket connections")),
      connections_total(registry.counter("tandem_connections_total",
                                         "WebSocket connections accepted")),
      rejected_full(registry.counter("tandem_connections_rejected_total",
                                     "WebSocket upgrades refused", {{"reason", "max_connections"}})),
      rejected_draining(registry.counter("tandem_connections_rejected_total",
                                         "WebSocket upgrades refused", {{"reason", "draining"}})),
      queue_overflows(registry.counter(
          "tandem_send_queue_overflows_total",
          "Connections closed because their outbound queue passed its limit")),
      rate_limited(registry.counter("tandem_rate_limited_total",
                                    "Client messages refused by the per-connection rate limit")),
      bytes_in(registry.counter("tandem_bytes_in_total", "WebSocket payload bytes received")),
      writes(registry.counter("tandem_ws_writes_total",
                              "Writes (one sendmsg each) to WebSocket clients")),
      frames_out(registry.counter("tandem_ws_frames_out_total",
                                  "Frames completely written to WebSocket clients (control "
                                  "frames and handshake responses included)")),
      bytes_out(registry.counter("tandem_ws_bytes_out_total",
                                 "Bytes written to WebSocket clients, frame headers included")),
      messages_in(registry, "tandem_messages_in_total", "Client messages received, by type",
                  "type", with_invalid(protocol::inbound_type_names())),
      // The same series RoomMetrics registers for every other type it sends.
      clock_replies(registry.counter(
          "tandem_messages_out_total",
          "Frames sent to clients, by message type (one per recipient)", {{"type", "CLOCK_REPLY"}})),
      closes(registry, "tandem_ws_closes_total", "WebSocket connections ended, by close code",
             "code",
             {"1000", "1001", "1003", "1006", "1007", "1008", "1009", "1011", "1013"}),
      errors(registry, "tandem_errors_total", "ERROR frames sent to clients, by code", "code",
             cluster::error_code_names()),
      http_requests(registry, "tandem_http_requests_total", "HTTP requests, by route", "route",
                    {"/", "/health", "/ready", "/status", "/metrics", "/api/short-id",
                     "/api/room", "/api/rooms/events", "/room", "/ws", "/demo", "/dashboard",
                     "/api/dashboard", "OPTIONS", "not_found"}) {}

}  // namespace tandem::net
