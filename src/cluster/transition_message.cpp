#include "cluster/transition_message.hpp"

#include <variant>

namespace tandem::cluster {
namespace {

std::string_view error_code_of(const protocol::Event& event) {
  if (const auto* error = std::get_if<protocol::ErrorEvent>(&event))
    return protocol::to_string(error->code);
  return {};
}

// A broadcast's frame for members without capability-specific fields, and one variant per
// other recipient_key among the room's connected members (each node picks per member).
void add_variants(MessageDelivery& out, const protocol::Event& event, const room::RoomState& state,
                  protocol::Millis now, const std::string& node_id) {
  out.frame = protocol::encode(event, now, node_id, 0);
  for (const room::Member& member : state.members) {
    const protocol::Capabilities key = protocol::recipient_key(event, member.capabilities);
    if (!member.connected || key == 0 || out.variant_for(key) != 0) continue;
    out.variants.emplace_back(key, protocol::encode(event, now, node_id, key));
  }
}

}  // namespace

ClusterMessage transition_message(const room::RoomState& state, const room::Effects& effects,
                                  const std::string& sender_peer, protocol::Millis now,
                                  const std::string& node_id) {
  ClusterMessage message;
  message.sender = sender_peer;
  for (const auto& delivery : effects.deliveries) {
    MessageDelivery out;
    switch (delivery.audience) {
      case room::Audience::sender:
        if (sender_peer.empty()) continue;
        out.target = Target::peer;
        out.peer = sender_peer;
        break;
      case room::Audience::all:
        out.target = Target::all;
        break;
      case room::Audience::all_except:
        out.target = Target::except;
        out.user = delivery.user_id;
        out.peer = sender_peer;  // its connection is excluded too (one message may carry
                                 // several senders' transitions)
        break;
      case room::Audience::user: {
        const room::Member* member = state.find_member(delivery.user_id);
        if (member == nullptr || !member->connected) continue;
        out.target = Target::user;
        out.user = delivery.user_id;
        out.peer = member->peer_id;
        break;
      }
    }
    out.type = std::string(protocol::event_type(delivery.event));
    out.error_code = std::string(error_code_of(delivery.event));
    if (out.target == Target::all || out.target == Target::except) {
      add_variants(out, delivery.event, state, now, node_id);
    } else {  // one recipient: a reply the room built for it, or a relay
      out.frame = protocol::encode(delivery.event, now, node_id);
    }
    message.deliveries.push_back(std::move(out));
  }
  for (const auto& close : effects.closes) {
    message.closes.push_back(MessageClose{close.peer_id, close.code, close.reason});
  }
  return message;
}

}  // namespace tandem::cluster
