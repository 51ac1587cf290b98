#pragma once
// What a client understands beyond the shipped extension's protocol (PROTOCOL.md,
// "Extending the protocol"). A client lists names in JOIN's `capabilities`; the server keeps
// the ones it knows as bits, answers with the ones it supports (ROOM_STATE `capabilities`),
// and writes capability-specific fields only into the frames of members that announced them.
// A client that announced nothing gets exactly the extension's messages.
#include <array>
#include <cstdint>
#include <string_view>

namespace tandem::protocol {

using Capabilities = std::uint32_t;

// The JOIN carried a `capabilities` list (even an empty one, or one of names this server does
// not know): the client wants the server's answer. Not a wire name.
inline constexpr Capabilities kAnnounced = 1U << 0;
// The client uses CLOCK_REQUEST / CLOCK_REPLY / CLOCK_ACK (docs/SYNC.md).
inline constexpr Capabilities kClockSync = 1U << 1;
// The client plays from `position` at server time `startAt` (PLAY_PAUSE, gate release,
// ROOM_STATE, HOST_HEARTBEAT, SYNC_RESPONSE) and stops at `position` on a pause.
inline constexpr Capabilities kScheduledPlayback = 1U << 2;

// Replies are built by the room logic for their one recipient: encoded as they are.
inline constexpr Capabilities kEveryCapability = ~Capabilities{0};
// The bits that change what the encoder writes: frames of one event differ only by these.
inline constexpr Capabilities kEncodingCapabilities = kScheduledPlayback;

struct CapabilityName {
  std::string_view name;
  Capabilities bit;
};

// What this server supports, in the order ROOM_STATE lists it.
inline constexpr std::array kCapabilityNames{
    CapabilityName{"clockSync", kClockSync},
    CapabilityName{"scheduledPlayback", kScheduledPlayback},
};

// The bit of a wire name; 0 for a name this server does not know (ignored, not an error: a
// newer client may know more).
constexpr Capabilities capability_named(std::string_view name) noexcept {
  for (const CapabilityName& known : kCapabilityNames) {
    if (known.name == name) return known.bit;
  }
  return 0;
}

}  // namespace tandem::protocol
