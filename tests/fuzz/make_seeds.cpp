// Writes the seed corpora that need the project's own encoders (cluster messages, journal
// lines, spill files) into corpus/<target>/, from states like the tests' own. Run by hand
// after a format change: build-fuzz/tests/fuzz/make_seeds tests/fuzz/corpus
#include "cluster/cluster_message.hpp"
#include "room/room_codec.hpp"
#include "store/entry_codec.hpp"
#include "store/spill_file.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

using namespace tandem;
namespace fs = std::filesystem;

room::RoomState sample_state(bool full) {
  room::RoomState s;
  s.id = "movie-night-42";
  s.host_user_id = "alice";
  s.url = "https://www.netflix.com/watch/80100172?trackId=1";
  s.current_time = 1234.5;
  s.position_at = 1'700'000'001'000;
  s.is_playing = true;
  s.version = 7;
  s.next_seq = 4;
  room::Member alice;
  alice.user_id = "alice";
  alice.username = "Alice";
  alice.join_seq = 1;
  alice.peer_id = "p-1";
  alice.node_id = "node-0";
  s.members.push_back(alice);
  if (full) {
    s.pin_hash = "pbkdf2-sha256$20000$c2FsdA==$aGFzaA==";
    s.guest_control_enabled = true;
    room::Member bob = alice;
    bob.user_id = "bob";
    bob.username.reset();
    bob.join_seq = 2;
    bob.peer_id = "p-2";
    bob.connected = false;
    bob.disconnected_at = 1'700'000'001'500;
    bob.address = "203.0.113.7";
    s.members.push_back(bob);
    room::Gate g;
    g.id = 3;
    g.opened_by = "alice";
    g.expected = 2;
    g.quorum = 2;
    g.target = 600.5;
    g.ready = {"alice"};
    g.opened_at = 1'700'000'002'000;
    g.deadline = 1'700'000'009'000;
    s.gate = g;
  }
  return s;
}

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds <corpus dir>\n";
    return 2;
  }
  const fs::path root = argv[1];

  cluster::ClusterMessage relay;  // a relay: deliveries only
  relay.sender = "p-1";
  relay.deliveries.push_back({cluster::Target::user, "bob", "", "OFFER", "",
                              R"({"type":"OFFER","from":"alice","sdp":"v=0\r\n"})"});
  write(root / "cluster_message", "relay", cluster::encode_message(relay));
  cluster::ClusterMessage change;  // a state change with its snapshot, a close and an error
  change.version = 8;
  change.sender = "p-2";
  change.state = sample_state(true);
  change.deliveries.push_back({cluster::Target::all, "", "", "PLAY_PAUSE", "",
                               R"({"type":"PLAY_PAUSE","x":"a\nb"})"});
  change.deliveries.push_back({cluster::Target::except, "alice", "", "USER_JOINED", "", "{}"});
  change.deliveries.push_back({cluster::Target::peer, "", "p-2", "ERROR", "FORBIDDEN",
                               R"({"type":"ERROR","code":"FORBIDDEN"})"});
  change.closes.push_back({"p-9", 4000, "replaced"});
  write(root / "cluster_message", "state_change", cluster::encode_message(change));
  change.state.reset();
  write(root / "cluster_message", "version_only", cluster::encode_message(change));

  const std::vector<std::pair<std::string, store::JournalEntry>> entries = {
      {"snapshot", store::RoomSnapshot{sample_state(true), 1'700'000'002'000}},
      {"snapshot_small", store::RoomSnapshot{sample_state(false), 1'700'000'002'000}},
      {"archived", store::RoomArchived{"movie-night-42", 1'700'000'003'000}},
      {"audit", store::AuditEvent{"movie-night-42", "SEEK", "alice",
                                  {{"currentTime", 600.5}, {"isPlaying", true}}, 1'700'000'004'000}},
      {"short_id", store::ShortIdRecord{"aB3dE6gH", "movie-night-42", 1'700'086'400'000}},
  };
  std::vector<std::string> lines;
  for (const auto& [name, entry] : entries) {
    lines.push_back(store::encode_entry(entry));
    write(root / "entry_codec", name, lines.back());
  }

  // Spill files as SpillFile writes them: all unwritten, one line committed, a torn tail.
  const fs::path tmp = fs::temp_directory_path() / "tandem-make-seeds.spill";
  for (const int variant : {0, 1, 2}) {
    fs::remove(tmp);
    {
      store::SpillFile file(tmp, 1 << 20);
      std::string error;
      for (const std::string& line : lines) file.append(line, error);
      std::vector<std::string> first;
      std::uint64_t next = 0;
      if (variant == 1 && file.read(file.committed(), file.end(), 1, first, next)) file.commit(next);
    }
    std::ifstream in(tmp, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (variant == 2) bytes += R"({"k":"archived","room_)";
    write(root / "spill_file", "spill" + std::to_string(variant), bytes);
  }
  fs::remove(tmp);
  return 0;
}
