#pragma once
// A RoomJournal that keeps what it is given, for tests of the room layer.
#include "cluster/room_journal.hpp"

#include <vector>

namespace tandem::cluster {

class VectorJournal final : public RoomJournal {
 public:
  void append(store::JournalEntry entry) override { entries.push_back(std::move(entry)); }
  template <class T>
  std::vector<T> of() const {
    std::vector<T> out;
    for (const auto& e : entries) {
      if (const auto* t = std::get_if<T>(&e)) out.push_back(*t);
    }
    return out;
  }
  std::vector<store::JournalEntry> entries;
};

}  // namespace tandem::cluster
