#pragma once
// The journal's overflow file: entries that did not fit in memory (or arrived while the
// database was unreachable), one JSON line each (entry_codec.hpp), after a fixed-width
// text header that records how far its lines have been written to the database:
//
//   TANDEM-SPILL 1 00000000000000000036\n      <- offset of the first unwritten line
//   {"k":"audit",...}\n
//   ...
//
// So a crash while the file drains replays at most the batch in flight, not the whole
// file. Lines are appended through an O_APPEND descriptor; reads and header updates use
// another one. Not thread-safe: the Journal serializes access (see journal.cpp).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::store {

class SpillFile {
 public:
  static constexpr std::size_t kHeaderSize = 36;

  SpillFile(std::filesystem::path path, std::uint64_t max_bytes);
  ~SpillFile();
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  struct Recovered {
    std::size_t lines = 0;  // unwritten lines found
    std::string problem;    // non-empty: the file was unusable (moved aside to *.corrupt)
  };
  // Adopts a file left by a previous run: checks the header, cuts a torn last line, counts
  // the unwritten lines. A file with nothing unwritten is removed.
  Recovered recover();

  bool is_open() const noexcept { return rw_fd_ >= 0; }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::uint64_t end() const noexcept { return end_; }              // after the last full line
  std::uint64_t committed() const noexcept { return committed_; }  // first unwritten line

  // Appends `line` and a newline, creating the file if needed. False (nothing appended,
  // reason in `error`) when the file would exceed its size limit or on an IO error.
  bool append(std::string_view line, std::string& error);
  // Up to `max_lines` lines starting at byte `from`, not reading past `to`; `next` is the
  // offset after the last line returned. False on an IO error.
  bool read(std::uint64_t from, std::uint64_t to, std::size_t max_lines,
            std::vector<std::string>& lines, std::uint64_t& next) const;
  // Records in the header that every line before `offset` has been written.
  bool commit(std::uint64_t offset);
  // fdatasync (and the directory once after creating the file).
  bool sync();
  // Closes and deletes the file.
  void remove();
  // Replaces the file, atomically (write + fsync + rename), by: `prefix` lines, then the
  // unwritten lines of the current file. Used at shutdown to put what was still in memory
  // before what had already spilled.
  bool rewrite_with_prefix(const std::vector<std::string>& prefix, std::string& error);

 private:
  bool create(std::string& error);
  void close_fds() noexcept;
  bool sync_directory() const;

  std::filesystem::path path_;
  std::uint64_t max_bytes_;
  int rw_fd_ = -1;
  int append_fd_ = -1;
  std::uint64_t end_ = 0;
  std::uint64_t committed_ = 0;
  bool directory_dirty_ = false;
};

}  // namespace tandem::store
