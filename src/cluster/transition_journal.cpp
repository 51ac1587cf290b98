#include "cluster/transition_journal.hpp"

namespace tandem::cluster {

using protocol::Millis;

void TransitionJournal::record(const std::string& room_id, const room::Effects& effects,
                               const room::RoomState& next, Millis now) {
  if (sink_ == nullptr) return;
  for (const auto& record : effects.records) {
    sink_->append(store::AuditEvent{room_id, record.event_type, record.user_id, record.data, now});
  }
  if (effects.archived || (effects.changed && next.members.empty())) {
    pending_.erase(room_id);
    sink_->append(store::RoomArchived{room_id, now});
  } else if (effects.changed) {
    if (keep_ == Keep::copy) {
      pending_.insert_or_assign(room_id, next);
    } else {
      pending_.try_emplace(room_id);
    }
  }
}

void TransitionJournal::audit(const std::string& room_id, room::Record record, Millis now) {
  if (sink_ == nullptr) return;
  sink_->append(store::AuditEvent{room_id, std::move(record.event_type), std::move(record.user_id),
                                  std::move(record.data), now});
}

void TransitionJournal::flush(Millis now, const Current& current) {
  if (sink_ == nullptr) return;
  for (auto& [room_id, kept] : pending_) {
    if (kept) {
      sink_->append(store::RoomSnapshot{std::move(*kept), now});
    } else if (const room::RoomState* state = current ? current(room_id) : nullptr) {
      sink_->append(store::RoomSnapshot{*state, now});
    }
  }
  pending_.clear();
}

}  // namespace tandem::cluster
