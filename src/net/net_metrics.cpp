#include "net/net_metrics.hpp"

#include "cluster/room_metrics.hpp"
#include "net/http_routes.hpp"
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
      rejected_per_ip(registry.counter("tandem_connections_rejected_total",
                                       "WebSocket upgrades refused", {{"reason", "per_ip"}})),
      ws_origins(registry, "tandem_ws_origins_total",
                 "WebSocket upgrades by the verdict of the origin policy (ALLOWED_ORIGINS)",
                 "verdict",
                 {std::begin(OriginPolicy::kVerdictLabels), std::end(OriginPolicy::kVerdictLabels)}),
      new_rooms_refused(registry.counter(
          "tandem_new_rooms_refused_total",
          "JOINs refused because their client address created ROOM_MAX_NEW_PER_ADDRESS rooms "
          "in the last minute")),
      queue_overflows(registry.counter(
          "tandem_send_queue_overflows_total",
          "Connections closed because their outbound queue passed its limit")),
      rate_limited(registry.counter("tandem_rate_limited_total",
                                    "Client messages and ping frames refused by the "
                                    "per-connection rate limit")),
      relay_refused(registry.counter(
          "tandem_relay_budget_refused_total",
          "Pass-through messages (relays, fallback broadcasts) refused by the byte budget")),
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
      control_in(registry, "tandem_ws_control_frames_in_total",
                 "WebSocket control frames received, by type", "type", {"ping", "pong"}),
      closes(registry, "tandem_ws_closes_total", "WebSocket connections ended, by close code",
             "code",
             {"1000", "1001", "1003", "1006", "1007", "1008", "1009", "1011", "1013"}),
      errors(registry, "tandem_errors_total", "ERROR frames sent to clients, by code", "code",
             cluster::error_code_names()),
      http_requests(registry, "tandem_http_requests_total", "HTTP requests, by route", "route",
                    HttpRoutes::metric_labels()),
      http_connections(registry.gauge("tandem_http_connections",
                                      "Open plain HTTP connections (WebSocket ones excluded)")),
      http_evicted_full(registry.counter("tandem_http_connections_evicted_total",
                                         "Idle plain HTTP connections closed to admit new ones",
                                         {{"reason", "max_http_connections"}})),
      http_evicted_per_ip(registry.counter("tandem_http_connections_evicted_total",
                                           "Idle plain HTTP connections closed to admit new ones",
                                           {{"reason", "per_ip"}})),
      http_refused(registry.counter(
          "tandem_http_connections_refused_total",
          "New connections closed at once: MAX_HTTP_CONNECTIONS were all busy")),
      http_timeouts(registry.counter(
          "tandem_http_request_timeouts_total",
          "Plain HTTP connections closed: no complete request within HTTP_REQUEST_TIMEOUT_MS")),
      http_bad_requests(registry, "tandem_http_bad_requests_total",
                        "Malformed HTTP requests answered with an error and closed, by status",
                        "status", {"400", "413", "431", "501"}),
      accept_failures(registry.counter("tandem_accept_failures_total",
                                       "accept() failures (out of descriptors, ...)")) {}

}  // namespace tandem::net
