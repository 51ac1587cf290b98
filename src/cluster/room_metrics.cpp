#include "cluster/room_metrics.hpp"

namespace tandem::cluster {

void register_room_gauges(obs::Registry& registry, std::function<std::size_t()> rooms,
                          std::function<std::size_t()> joined, std::function<std::size_t()> unsaved) {
  const auto as_double = [](std::function<std::size_t()> read) {
    return [read = std::move(read)] { return static_cast<double>(read()); };
  };
  registry.gauge_callback("tandem_rooms", "Rooms with at least one member on this node",
                          as_double(std::move(rooms)));
  registry.gauge_callback("tandem_joined_connections", "Connections joined to a room",
                          as_double(std::move(joined)));
  registry.gauge_callback("tandem_rooms_unsaved",
                          "Rooms with changes not yet handed to the journal (at most one "
                          "snapshot interval old)",
                          as_double(std::move(unsaved)));
}

const std::vector<std::string>& error_code_names() {
  static const std::vector<std::string> names = {
      "BAD_REQUEST", "INVALID_JSON", "NOT_JOINED", "PIN_REQUIRED",
      "PIN_LOCKED",  "FORBIDDEN",    "RATE_LIMITED", "INTERNAL"};
  return names;
}

RoomMetrics::RoomMetrics(obs::Registry& registry)
    : relays_dropped(registry.counter("tandem_relays_dropped_total",
                                      "OFFER/ANSWER/ICE_CANDIDATE whose target was not connected")),
      rooms_created(registry.counter("tandem_rooms_created_total", "Rooms created")),
      rooms_archived(registry.counter("tandem_rooms_archived_total", "Rooms emptied and archived")),
      pin_failures(registry.counter("tandem_pin_failures_total", "JOINs refused for a wrong or missing PIN")),
      pin_lockouts(registry.counter("tandem_pin_lockouts_total",
                                    "Locks set after too many wrong PINs (an address out of a "
                                    "room or of every room, a member claim)")),
      pin_locked_joins(registry.counter("tandem_pin_locked_joins_total",
                                        "JOINs refused with PIN_LOCKED")),
      pin_delayed_checks(registry.counter("tandem_pin_delayed_checks_total",
                                          "PIN checks delayed because their room is under attack")),
      // 0.04 s is one frame at 25 fps, the goal; the alert of docs/SYNC.md reads that bucket.
      sync_spread(registry.histogram(
          "tandem_sync_spread_seconds",
          "Spread of a playing room's members (max - min of their positions at one instant), "
          "measured at each timed position report",
          {0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.16, 0.25, 0.5, 1, 2, 5})),
      messages_out_(registry, "tandem_messages_out_total",
                    "Frames sent to clients, by message type (one per recipient)", "type",
                    protocol::outbound_type_names(), "broadcast"),
      errors_(registry, "tandem_errors_total", "ERROR frames sent to clients, by code", "code",
              error_code_names()),
      gate_outcomes_(registry, "tandem_gate_outcomes_total",
                     "Ready gates closed, by how they ended", "outcome",
                     {"quorum", "timeout", "replaced", "cancelled"}) {}

void RoomMetrics::delivered(const protocol::Event& event, std::size_t recipients) {
  if (recipients == 0) return;
  messages_out_[protocol::event_type(event)].inc(recipients);
  if (const auto* error = std::get_if<protocol::ErrorEvent>(&event)) {
    errors_[protocol::to_string(error->code)].inc(recipients);
  }
}

void RoomMetrics::delivered(std::string_view type, std::string_view error_code,
                            std::size_t recipients) {
  if (recipients == 0) return;
  messages_out_[type].inc(recipients);
  if (!error_code.empty()) errors_[error_code].inc(recipients);
}

void RoomMetrics::observe(const room::Effects& effects) {
  if (effects.sync_spread) sync_spread.observe(*effects.sync_spread);
}

void RoomMetrics::gate(room::GateOutcome outcome) {
  switch (outcome) {
    case room::GateOutcome::quorum: gate_outcomes_["quorum"].inc(); break;
    case room::GateOutcome::timeout: gate_outcomes_["timeout"].inc(); break;
    case room::GateOutcome::replaced: gate_outcomes_["replaced"].inc(); break;
    case room::GateOutcome::cancelled: gate_outcomes_["cancelled"].inc(); break;
  }
}

}  // namespace tandem::cluster
