// A spill file left by a previous run, with arbitrary contents: SpillFile::recover() and
// read() never crash, recover() either adopts the file or moves it aside with a reason,
// and every line read back is within the file and either decodes or is rejected by the
// codec (what Journal does at start). The file lives in a private temporary directory.
#include "fuzz_check.hpp"
#include "store/entry_codec.hpp"
#include "store/spill_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace {

// In memory when /dev/shm exists: the target is about parsing, not the disk.
const std::filesystem::path& work_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string pattern = (base / "spill-fuzz-XXXXXX").string();
    FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    return std::filesystem::path(pattern);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tandem::store;
  const std::filesystem::path path = work_dir() / "journal.spill";
  for (const auto& leftover : std::filesystem::directory_iterator(work_dir())) {
    std::filesystem::remove(leftover.path());  // the last run's file, or one moved aside
  }
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(::write(fd, data, size) == static_cast<ssize_t>(size));
    ::close(fd);
  }
  SpillFile file(path, 1 << 20);
  const SpillFile::Recovered recovered = file.recover();
  if (!recovered.problem.empty()) {
    FUZZ_CHECK(!file.is_open());
    FUZZ_CHECK(!std::filesystem::exists(path));  // moved aside
    return 0;
  }
  if (!file.is_open()) return 0;  // nothing unwritten: removed
  FUZZ_CHECK(file.committed() >= SpillFile::kHeaderSize);
  FUZZ_CHECK(file.committed() <= file.end() && file.end() <= size);
  std::size_t lines_read = 0;
  std::uint64_t from = file.committed();
  while (from < file.end()) {
    std::vector<std::string> lines;
    std::uint64_t next = from;
    FUZZ_CHECK(file.read(from, file.end(), 7, lines, next));
    FUZZ_CHECK(next > from && next <= file.end());
    for (const std::string& line : lines) (void)decode_entry(line);
    lines_read += lines.size();
    from = next;
  }
  FUZZ_CHECK(lines_read == recovered.lines);
  // An append after recovery lands after the last whole line, and reads back.
  std::string error;
  const std::uint64_t end = file.end();
  FUZZ_CHECK(file.append(R"({"k":"archived","room_id":"r","at":1})", error));
  std::vector<std::string> tail;
  std::uint64_t next = end;
  FUZZ_CHECK(file.read(end, file.end(), 10, tail, next));
  FUZZ_CHECK(tail.size() == 1 && decode_entry(tail[0]).has_value());
  file.remove();
  return 0;
}
