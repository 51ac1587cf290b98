#pragma once
// The interface between the network layer and wherever rooms live (this process, or
// Redis). Everything runs on the event-loop thread. Calls that may need a backend round
// trip answer through a callback (LocalRooms answers at once).
#include "cluster/outbox.hpp"
#include "protocol/command.hpp"
#include "protocol/event.hpp"

#include <boost/json/array.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace tandem::cluster {

struct ConnectionInfo {
  ConnId id = 0;
  std::string peer_id;         // UUID made by the server for this connection
  std::string remote_address;  // client address, for logs and per-address limits
};

// GET /api/short-id/{roomId}: the id, or why there is none.
struct ShortIdAnswer {
  enum class Refusal {
    none,
    rate_limited,  // too many new ids for absent rooms from this address (429)
    unavailable,   // the backend failed (503)
  };
  std::optional<std::string> short_id;
  Refusal refusal = Refusal::none;
  protocol::Millis retry_after = 0;  // rate_limited: until the address's window ends
};

// One page of the /status listing: rooms in roomId order after a cursor.
struct RoomPage {
  boost::json::array rooms;               // describe_room() of each, at most `limit`
  std::optional<std::string> next_cursor;  // the last roomId listed, when more follow
  std::size_t total = 0;                   // rooms in the whole listing
};

enum class CloseKind {
  network,   // the socket closed or failed without LEAVE: reconnect grace applies
  stale,     // no message for 2 x heartbeat timeout: the member is removed at once
  draining,  // this node is shutting down: like network (clients reconnect elsewhere)
};

// ROOM_MAX_NEW_PER_ADDRESS (docs/SECURITY.md), asked by a JOIN that would create its room:
// nullopt admits it (and counts it against `client`), a wait refuses it.
using NewRoomGate = std::function<std::optional<protocol::Millis>(const std::string& client,
                                                                  const std::string& room_id)>;

class Rooms {
 public:
  virtual ~Rooms() = default;

  // The network layer's per-address limit on new rooms (none until set). The JOIN applies
  // it where it learns whether the room exists: no read of its own (Redis, in cluster mode).
  void set_new_room_gate(NewRoomGate gate) { new_room_gate_ = std::move(gate); }

  virtual void on_command(const ConnectionInfo& conn, protocol::Command&& command) = 0;
  virtual void on_close(const ConnectionInfo& conn, CloseKind kind) = 0;

  // /status?roomId=: that room, or an empty array if unknown.
  virtual void room_status(const std::string& room_id,
                           std::function<void(boost::json::array)> done) = 0;
  // /status: up to `limit` rooms whose ids sort after `after` ("" = from the first).
  // Bounded work per call, whatever the number of rooms.
  virtual void list_rooms(const std::string& after, std::size_t limit,
                          std::function<void(RoomPage)> done) = 0;
  // /status "nodes": the nodes serving rooms (cluster: every live node; standalone: this one).
  virtual void nodes(std::function<void(boost::json::array)> done) = 0;
  // The live short id of a room, made on first request. A new id for a room that does
  // not exist counts against `client_address`'s rate (short_ids.hpp has the policy).
  virtual void short_id_for(const std::string& room_id, const std::string& client_address,
                            std::function<void(ShortIdAnswer)> done) = 0;
  virtual void room_for_short_id(const std::string& short_id,
                                 std::function<void(std::optional<std::string>)> done) = 0;

  virtual std::size_t room_count() const = 0;       // rooms with members on this node
  virtual bool backends_ready() const = 0;          // /ready: can serve now

 protected:
  // A JOIN about to create `room_id`: nullopt when the gate admits it (or there is none).
  std::optional<protocol::Millis> refuse_new_room(const std::string& client,
                                                  const std::string& room_id) const {
    return new_room_gate_ ? new_room_gate_(client, room_id) : std::nullopt;
  }

 private:
  NewRoomGate new_room_gate_;
};

}  // namespace tandem::cluster
