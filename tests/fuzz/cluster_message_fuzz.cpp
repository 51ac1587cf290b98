// The cluster message decoder (what a node reads from a room's Redis channel) on arbitrary
// bytes: never crashes, and whatever it accepts re-encodes to a message that decodes to
// the same thing (encode(decode(x)) is a fixed point).
#include "cluster/cluster_message.hpp"
#include "fuzz_check.hpp"

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
  FUZZ_CHECK(again->state == message->state);
  FUZZ_CHECK(again->deliveries.size() == message->deliveries.size());
  for (std::size_t i = 0; i < message->deliveries.size(); ++i) {
    FUZZ_CHECK(again->deliveries[i].frame == message->deliveries[i].frame);
    FUZZ_CHECK(again->deliveries[i].target == message->deliveries[i].target);
  }
  FUZZ_CHECK(again->closes.size() == message->closes.size());
  FUZZ_CHECK(encode_message(*again) == encoded);
  return 0;
}
