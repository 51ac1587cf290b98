#pragma once
// The generator's side of the protocol: message texts built once with a fixed-width
// placeholder for the send time, and cheap scans of what the server sends (the server writes
// "type" first, so no full JSON parse is needed on the hot path).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::bench {

using Frame = std::shared_ptr<const std::string>;

// A message text with a 16-digit send-time placeholder at `stamp_at`.
struct StampedTemplate {
  std::string text;
  std::size_t stamp_at = 0;

  // A copy of the text carrying kStampBase + send_ns.
  Frame stamp(std::int64_t send_ns) const;
};

std::string join_message(std::string_view room_id, std::string_view user_id,
                         std::string_view username);
std::string leave_message();
std::string ping_message();

// PLAY_PAUSE (control play or pause) or HOST_HEARTBEAT; the send time is eventTimestamp,
// which the server echoes as sent.
StampedTemplate playback_template(std::string_view type, bool play);

// OFFER / ANSWER / ICE_CANDIDATE from the examples file, as the extension sends them, with
// from/to replaced and a "benchTs" send-time field right after "type" (relays pass the
// object through as sent).
class RelayTemplates {
 public:
  // Throws std::runtime_error if the file lacks one of the three messages.
  explicit RelayTemplates(const std::string& examples_path);

  enum Kind { offer = 0, answer = 1, ice = 2 };
  Frame make(Kind kind, std::string_view from, std::string_view to, std::int64_t send_ns) const;
  std::size_t size(Kind kind) const noexcept { return parts_[kind].head.size() + parts_[kind].tail.size(); }
  std::size_t sdp_bytes(Kind kind) const noexcept { return sdp_bytes_[kind]; }

 private:
  struct Parts {
    std::string head;  // {"type":"OFFER","benchTs":
    std::string tail;  // ,"payload":{...},...}  (everything but type/from/to/userId/roomId)
  };
  Parts parts_[3];
  std::size_t sdp_bytes_[3] = {0, 0, 0};
};

// `{"type":"X"...` -> X ("" if the frame does not start that way).
std::string_view message_type(std::string_view frame) noexcept;

// The integer after `"key":` (key given without quotes), searched from the start.
std::optional<std::int64_t> find_integer(std::string_view frame, std::string_view key) noexcept;

// A stamped field -> the send time in generator ns, or nullopt if absent/not ours.
std::optional<std::int64_t> find_stamp(std::string_view frame, std::string_view key) noexcept;

}  // namespace tandem::bench
