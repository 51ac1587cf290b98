// The spill file's line codec (store/entry_codec.hpp) on arbitrary bytes: never crashes,
// and an accepted line re-encodes to a line that decodes to the same entry (up to an ulp in
// its doubles).
#include "fuzz_check.hpp"
#include "json_near.hpp"
#include "store/entry_codec.hpp"

#include <boost/json/parse.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tandem::store;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const std::optional<JournalEntry> entry = decode_entry(line);
  if (!entry) return 0;
  FUZZ_CHECK(!entry_kind(*entry).empty());
  (void)entry_room_id(*entry);
  const std::string encoded = encode_entry(*entry);
  FUZZ_CHECK(encoded.find('\n') == std::string::npos);
  const std::optional<JournalEntry> again = decode_entry(encoded);
  FUZZ_CHECK(again.has_value());
  // Equal up to an ulp in doubles (json_near.hpp says why).
  FUZZ_CHECK(json_near(boost::json::parse(encode_entry(*again)), boost::json::parse(encoded)));
  return 0;
}
