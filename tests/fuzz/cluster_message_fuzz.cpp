// The cluster message decoder (what a node reads from a room's Redis channel) on arbitrary
// bytes: never crashes, and whatever it accepts re-encodes to a message that decodes to
// the same thing (encode(decode(x)) is a fixed point, up to an ulp in the snapshot's doubles:
// json_near.hpp says why).
#include "cluster/cluster_message.hpp"
#include "fuzz_check.hpp"
#include "json_near.hpp"
#include "room/room_codec.hpp"

#include <boost/json/parse.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tandem::cluster;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::optional<ClusterMessage> message = decode_message(text);
  if (!message) return 0;
  FUZZ_CHECK(message->version != 0 || !message->state.has_value());
  const std::string encoded = encode_message(*message);
  const std::optional<ClusterMessage> again = decode_message(encoded);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->version == message->version && again->sender == message->sender);
  FUZZ_CHECK(again->state.has_value() == message->state.has_value());
  const std::string snapshot = message->state ? tandem::room::to_json_string(*message->state) : "";
  if (again->state) {
    FUZZ_CHECK(json_near(boost::json::parse(tandem::room::to_json_string(*again->state)),
                         boost::json::parse(snapshot)));
  }
  FUZZ_CHECK(again->deliveries.size() == message->deliveries.size());
  for (std::size_t i = 0; i < message->deliveries.size(); ++i) {
    FUZZ_CHECK(again->deliveries[i].frame == message->deliveries[i].frame);
    FUZZ_CHECK(again->deliveries[i].target == message->deliveries[i].target);
  }
  FUZZ_CHECK(again->closes.size() == message->closes.size());
  FUZZ_CHECK(encode_message(*again, snapshot) == encoded);
  return 0;
}
