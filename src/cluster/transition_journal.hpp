#pragma once
// Journaling a room transition, the same in both modes: its audit rows at once and in
// order; the room's snapshot at most once per flush (the runtime flushes every
// SNAPSHOT interval, and at shutdown), so a PLAY_PAUSE storm does not serialize and write
// the whole room per message; an emptied room's pending snapshot is dropped (it would only
// be overwritten) and the room archived. Pure bookkeeping over the RoomJournal sink: no
// clock, no timer.
#include "cluster/room_journal.hpp"
#include "room/effects.hpp"
#include "room/room_state.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

namespace tandem::cluster {

class TransitionJournal {
 public:
  // How a pending snapshot is kept until the flush: standalone reads the room it keeps
  // anyway (no copy per change); cluster keeps a copy (its cached room may be gone by then).
  enum class Keep { reference, copy };
  // The room a `Keep::reference` snapshot is read from at the flush (nullptr: gone).
  using Current = std::function<const room::RoomState*(const std::string& room_id)>;

  TransitionJournal(RoomJournal* sink, Keep keep) : sink_(sink), keep_(keep) {}

  // `next`: the room's state after the transition.
  void record(const std::string& room_id, const room::Effects& effects,
              const room::RoomState& next, protocol::Millis now);
  // One audit row outside a transition (a lockout counted after its JOIN committed).
  void audit(const std::string& room_id, room::Record record, protocol::Millis now);
  // Journals every pending snapshot.
  void flush(protocol::Millis now, const Current& current = {});
  // A room gone from this node without a transition: nothing pending for it is kept.
  void forget(const std::string& room_id) { pending_.erase(room_id); }

  std::size_t unsaved() const { return pending_.size(); }
  bool enabled() const { return sink_ != nullptr; }

 private:
  RoomJournal* sink_;
  Keep keep_;
  std::unordered_map<std::string, std::optional<room::RoomState>> pending_;
};

}  // namespace tandem::cluster
