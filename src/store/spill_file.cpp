#include "store/spill_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <system_error>

namespace tandem::store {
namespace {

constexpr std::string_view kMagic = "TANDEM-SPILL 1 ";
constexpr std::size_t kDigits = 20;
static_assert(kMagic.size() + kDigits + 1 == SpillFile::kHeaderSize);
constexpr std::size_t kChunk = std::size_t{64} * 1024;

std::string errno_text(std::string_view what) {
  return std::string(what) + ": " + std::error_code(errno, std::generic_category()).message();
}

std::array<char, SpillFile::kHeaderSize> header(std::uint64_t committed) {
  std::array<char, SpillFile::kHeaderSize> out{};
  std::memcpy(out.data(), kMagic.data(), kMagic.size());
  std::array<char, kDigits> digits{};
  digits.fill('0');
  std::array<char, kDigits> raw{};
  const auto result = std::to_chars(raw.data(), raw.data() + raw.size(), committed);
  const auto length = static_cast<std::size_t>(result.ptr - raw.data());
  std::memcpy(digits.data() + (kDigits - length), raw.data(), length);
  std::memcpy(out.data() + kMagic.size(), digits.data(), kDigits);
  out[SpillFile::kHeaderSize - 1] = '\n';
  return out;
}

bool parse_header(const char* data, std::uint64_t& committed) {
  if (std::string_view(data, kMagic.size()) != kMagic) return false;
  if (data[SpillFile::kHeaderSize - 1] != '\n') return false;
  const char* begin = data + kMagic.size();
  const auto [ptr, ec] = std::from_chars(begin, begin + kDigits, committed);
  return ec == std::errc() && ptr == begin + kDigits;
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool pwrite_all(int fd, const char* data, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Reads [offset, offset + size) or less at end of file; -1 on error.
ssize_t pread_some(int fd, char* data, std::size_t size, std::uint64_t offset) {
  for (;;) {
    const ssize_t n = ::pread(fd, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

}  // namespace

SpillFile::SpillFile(std::filesystem::path path, std::uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes) {}

SpillFile::~SpillFile() {
  close_fds();
}

void SpillFile::close_fds() noexcept {
  if (rw_fd_ >= 0) ::close(rw_fd_);
  if (append_fd_ >= 0) ::close(append_fd_);
  rw_fd_ = -1;
  append_fd_ = -1;
}

bool SpillFile::sync_directory() const {
  const auto dir = path_.has_parent_path() ? path_.parent_path() : std::filesystem::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

SpillFile::Recovered SpillFile::recover() {
  Recovered out;
  close_fds();
  const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return out;  // no file: nothing to replay
  rw_fd_ = fd;

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    out.problem = errno_text("fstat");
    close_fds();
    return out;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::array<char, kHeaderSize> head{};
  std::uint64_t committed = 0;
  const bool header_ok =
      size >= kHeaderSize &&
      pread_some(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()) &&
      parse_header(head.data(), committed) && committed >= kHeaderSize && committed <= size;
  if (!header_ok) {
    close_fds();
    if (size < kHeaderSize) {
      // Torn while being created: it never held a complete line.
      std::error_code ec;
      std::filesystem::remove(path_, ec);
      return out;
    }
    auto aside = path_;
    aside += ".corrupt-" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    std::error_code ec;
    std::filesystem::rename(path_, aside, ec);
    out.problem = "unreadable spill file header; moved to " + aside.string();
    return out;
  }

  // Scan the unwritten part: count complete lines, find where the last one ends.
  std::vector<char> buffer(kChunk);
  std::uint64_t offset = committed;
  std::uint64_t last_end = committed;
  while (offset < size) {
    const ssize_t n = pread_some(fd, buffer.data(), buffer.size(), offset);
    if (n <= 0) {
      out.problem = n < 0 ? errno_text("read") : "spill file shrank while read";
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      if (buffer[static_cast<std::size_t>(i)] == '\n') {
        ++out.lines;
        last_end = offset + static_cast<std::uint64_t>(i) + 1;
      }
    }
    offset += static_cast<std::uint64_t>(n);
  }
  if (last_end < size && ::ftruncate(fd, static_cast<off_t>(last_end)) != 0) {
    out.problem = errno_text("ftruncate");
  }
  committed_ = committed;
  end_ = last_end;
  if (out.lines == 0) {
    remove();
    return out;
  }
  append_fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (append_fd_ < 0) out.problem = errno_text("open for append");
  return out;
}

bool SpillFile::create(std::string& error) {
  close_fds();
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
    if (ec) {
      error = "create directory: " + ec.message();
      return false;
    }
  }
  rw_fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (rw_fd_ < 0) {
    error = errno_text("create " + path_.string());
    return false;
  }
  const auto head = header(kHeaderSize);
  if (!write_all(rw_fd_, head.data(), head.size())) {
    error = errno_text("write header");
    close_fds();
    return false;
  }
  append_fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (append_fd_ < 0) {
    error = errno_text("open for append");
    close_fds();
    return false;
  }
  committed_ = kHeaderSize;
  end_ = kHeaderSize;
  directory_dirty_ = true;
  return true;
}

bool SpillFile::append(std::string_view line, std::string& error) {
  if (!is_open() && !create(error)) return false;
  if (end_ + line.size() + 1 > max_bytes_) {
    error = "spill file full (" + std::to_string(max_bytes_) + " bytes)";
    return false;
  }
  std::string data;
  data.reserve(line.size() + 1);
  data.append(line).push_back('\n');
  if (!write_all(append_fd_, data.data(), data.size())) {
    error = errno_text("write");
    // Cut a partial line so that the next one starts on a line of its own.
    if (::ftruncate(rw_fd_, static_cast<off_t>(end_)) != 0) {
      error += "; " + errno_text("ftruncate");
    }
    return false;
  }
  end_ += data.size();
  return true;
}

bool SpillFile::read(std::uint64_t from, std::uint64_t to, std::size_t max_lines,
                     std::vector<std::string>& lines, std::uint64_t& next) const {
  next = from;
  if (!is_open()) return from >= to;
  std::string partial;
  std::vector<char> buffer(kChunk);
  std::uint64_t offset = from;
  while (offset < to && lines.size() < max_lines) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, to - offset));
    const ssize_t n = pread_some(rw_fd_, buffer.data(), want, offset);
    if (n <= 0) return false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
      if (buffer[i] != '\n') continue;
      partial.append(buffer.data() + start, i - start);
      lines.push_back(std::move(partial));
      partial.clear();
      start = i + 1;
      next = offset + i + 1;
      if (lines.size() == max_lines) return true;
    }
    partial.append(buffer.data() + start, static_cast<std::size_t>(n) - start);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool SpillFile::commit(std::uint64_t offset) {
  if (!is_open()) return false;
  const auto head = header(offset);
  if (!pwrite_all(rw_fd_, head.data(), head.size(), 0)) return false;
  committed_ = offset;
  return true;
}

bool SpillFile::sync() {
  if (!is_open()) return true;
  bool ok = ::fdatasync(rw_fd_) == 0;
  if (directory_dirty_) {
    ok = sync_directory() && ok;
    directory_dirty_ = false;
  }
  return ok;
}

void SpillFile::remove() {
  close_fds();
  std::error_code ec;
  if (std::filesystem::remove(path_, ec)) sync_directory();
  end_ = 0;
  committed_ = 0;
  directory_dirty_ = false;
}

bool SpillFile::rewrite_with_prefix(const std::vector<std::string>& prefix, std::string& error) {
  auto tmp = path_;
  tmp += ".tmp";
  if (path_.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path_.parent_path(), ec);
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = errno_text("create " + tmp.string());
    return false;
  }
  auto fail = [&](const std::string& what) {
    error = errno_text(what);
    ::close(fd);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return false;
  };
  const auto head = header(kHeaderSize);
  std::string out(head.data(), head.size());
  for (const auto& line : prefix) {
    out.append(line).push_back('\n');
    if (out.size() >= kChunk) {
      if (!write_all(fd, out.data(), out.size())) return fail("write");
      out.clear();
    }
  }
  if (!write_all(fd, out.data(), out.size())) return fail("write");
  // Then what had spilled and is still unwritten.
  if (is_open()) {
    std::vector<char> buffer(kChunk);
    std::uint64_t offset = committed_;
    while (offset < end_) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, end_ - offset));
      const ssize_t n = pread_some(rw_fd_, buffer.data(), want, offset);
      if (n <= 0) return fail("read");
      if (!write_all(fd, buffer.data(), static_cast<std::size_t>(n))) return fail("write");
      offset += static_cast<std::uint64_t>(n);
    }
  }
  if (::fsync(fd) != 0) return fail("fsync");
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    error = errno_text("rename");
    return false;
  }
  sync_directory();
  close_fds();
  error.clear();
  rw_fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  append_fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  struct stat st {};
  if (rw_fd_ < 0 || append_fd_ < 0 || ::fstat(rw_fd_, &st) != 0) {
    error = errno_text("reopen");
    close_fds();
    return false;
  }
  committed_ = kHeaderSize;
  end_ = static_cast<std::uint64_t>(st.st_size);
  return true;
}

}  // namespace tandem::store
