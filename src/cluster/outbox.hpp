#pragma once
// How the room layer reaches connections without knowing about sockets: net/ implements it.
#include "protocol/event.hpp"

#include <cstdint>
#include <string_view>

namespace tandem::cluster {

using ConnId = std::uint64_t;

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Queue a frame on the connection (no-op if it is gone or closing).
  virtual void send(ConnId conn, const protocol::Frame& frame) = 0;
  // Close the connection after the frames already queued for it (WebSocket close code).
  virtual void close(ConnId conn, std::uint16_t code, std::string_view reason) = 0;
};

}  // namespace tandem::cluster
