#pragma once
// One STUN or TURN server URL, checked against RFC 7064 (stun:, stuns:) and RFC 7065
// (turn:, turns:): scheme ":" host [":" port] ["?transport=" udp|tcp] (the transport only
// on TURN URLs). A browser refuses a malformed URL in RTCPeerConnection's iceServers and
// the whole call fails, so a bad one stops the server at start instead.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::ice {

class IceUrl {
 public:
  enum class Kind { stun, turn };

  static constexpr std::size_t kMaxLength = 256;
  static constexpr std::size_t kMaxPerList = 16;

  // nullopt (and *why, a short reason) unless `text` is a URL of `kind`.
  static std::optional<IceUrl> parse(std::string_view text, Kind kind, std::string* why);
  // Comma-separated URLs of `kind` (spaces around commas allowed; "" = none).
  static std::optional<std::vector<IceUrl>> parse_list(std::string_view text, Kind kind,
                                                       std::string* why);

  const std::string& text() const { return text_; }
  const std::string& scheme() const { return scheme_; }
  const std::string& host() const { return host_; }  // IPv6 without its brackets
  std::optional<std::uint16_t> port() const { return port_; }
  const std::string& transport() const { return transport_; }  // "" = not given

 private:
  std::string text_, scheme_, host_, transport_;
  std::optional<std::uint16_t> port_;
};

}  // namespace tandem::ice
