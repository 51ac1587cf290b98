#pragma once
// Metrics owned by the room layer (either Rooms implementation registers the same names).
#include "obs/metrics.hpp"
#include "protocol/event.hpp"
#include "protocol/message_types.hpp"
#include "room/effects.hpp"

#include <cstddef>
#include <functional>

namespace tandem::cluster {

class RoomMetrics {
 public:
  explicit RoomMetrics(obs::Registry& registry);

  // A frame delivered to `recipients` connections.
  void delivered(const protocol::Event& event, std::size_t recipients);
  // The same for a frame encoded elsewhere (cluster): its wire type and ERROR code ("").
  void delivered(std::string_view type, std::string_view error_code, std::size_t recipients);
  void gate(room::GateOutcome outcome);
  // What one transition measured of its room's sync (Effects::sync_spread).
  void observe(const room::Effects& effects);

  obs::Counter& relays_dropped;
  obs::Counter& rooms_created;
  obs::Counter& rooms_archived;
  obs::Counter& pin_failures;
  obs::Counter& pin_lockouts;        // a lock set (address+room, address, member claim)
  obs::Counter& pin_locked_joins;    // JOINs refused with PIN_LOCKED
  obs::Counter& pin_delayed_checks;  // PIN checks that waited (room under attack)
  obs::Histogram& sync_spread;       // tandem_sync_spread_seconds (docs/SYNC.md)

 private:
  obs::CounterSet messages_out_;
  obs::CounterSet errors_;
  obs::CounterSet gate_outcomes_;
};

// The room layer's gauges, read when /metrics is rendered: rooms with a member on this node,
// connections joined to a room, rooms with changes not yet handed to the journal.
void register_room_gauges(obs::Registry& registry, std::function<std::size_t()> rooms,
                          std::function<std::size_t()> joined, std::function<std::size_t()> unsaved);

// Wire names of every ERROR code (metric label values).
const std::vector<std::string>& error_code_names();

}  // namespace tandem::cluster
