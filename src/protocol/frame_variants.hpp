#pragma once
// The frames of one broadcast for recipients that announced different capabilities:
// encoded lazily, once per recipient_key() (serialize once per variant, share the bytes).
// An event without capability-specific fields has one key, so one frame, as before.
#include "protocol/event.hpp"

#include <string_view>
#include <utility>
#include <vector>

namespace tandem::protocol {

class FrameVariants {
 public:
  FrameVariants(const Event& event, Millis now, std::string_view node_id) noexcept
      : event_(event), now_(now), node_id_(node_id) {}

  Frame for_recipient(Capabilities recipient) {
    const Capabilities key = recipient_key(event_, recipient);
    for (const auto& [known, frame] : frames_) {
      if (known == key) return frame;
    }
    return frames_.emplace_back(key, encode_frame(event_, now_, node_id_, key)).second;
  }

 private:
  const Event& event_;
  Millis now_;
  std::string_view node_id_;
  std::vector<std::pair<Capabilities, Frame>> frames_;  // at most 2^popcount(kEncodingCapabilities)
};

}  // namespace tandem::protocol
