#pragma once
// Where the room layer sends what must become durable (the store's write-behind journal in
// production; a vector in tests). Called on the event loop; must not block.
#include "store/records.hpp"

namespace tandem::cluster {

class RoomJournal {
 public:
  virtual ~RoomJournal() = default;
  virtual void append(store::JournalEntry entry) = 0;
};

}  // namespace tandem::cluster
