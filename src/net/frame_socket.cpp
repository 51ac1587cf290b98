#include "net/frame_socket.hpp"

#include <algorithm>
#include <array>

namespace tandem::net {

namespace {

constexpr std::size_t kMaxFrameHeaderBytes = 10;

// RFC 6455 5.2, server to client: FIN + text opcode, no mask, 7/16/64-bit length.
std::size_t text_header_size(std::size_t payload) noexcept {
  if (payload < 126) return 2;
  if (payload <= 0xFFFF) return 4;
  return 10;
}

std::size_t write_text_header(char* out, std::size_t payload) noexcept {
  out[0] = static_cast<char>(0x81);
  if (payload < 126) {
    out[1] = static_cast<char>(payload);
    return 2;
  }
  if (payload <= 0xFFFF) {
    out[1] = static_cast<char>(126);
    out[2] = static_cast<char>(payload >> 8);
    out[3] = static_cast<char>(payload & 0xFF);
    return 4;
  }
  out[1] = static_cast<char>(127);
  for (std::size_t i = 0; i < 8; ++i) {
    out[2 + i] = static_cast<char>((static_cast<std::uint64_t>(payload) >> (56 - 8 * i)) & 0xFF);
  }
  return 10;
}

// The header block of a write in flight, recycled per thread: a write takes one and its
// completion gives it back (at most 256 are kept).
using HeaderBlock = std::unique_ptr<char[]>;
constexpr std::size_t kHeaderBlockBytes = kMaxFrameHeaderBytes * FrameSocket::kMaxFramesPerWrite;

std::vector<HeaderBlock>& header_pool() {
  thread_local std::vector<HeaderBlock> pool;
  return pool;
}

HeaderBlock take_header_block() {
  auto& pool = header_pool();
  if (pool.empty()) return std::make_unique<char[]>(kHeaderBlockBytes);
  HeaderBlock block = std::move(pool.back());
  pool.pop_back();
  return block;
}

void give_back(HeaderBlock block) {
  auto& pool = header_pool();
  if (pool.size() < 256) pool.push_back(std::move(block));
}

}  // namespace

// A gather list for one sendmsg; Asio copies it into a pending operation.
struct FrameSocket::Gather {
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  std::array<asio::const_buffer, 2 * FrameSocket::kMaxFramesPerWrite> items;
  std::size_t count = 0;
  const_iterator begin() const noexcept { return items.data(); }
  const_iterator end() const noexcept { return items.data() + count; }
};

void FrameSocket::write_text(const protocol::Frame& payload) { push(Entry{payload, true}); }

void FrameSocket::push(Entry entry) {
  if (error_) return;  // the connection failed: its reader ends the session
  queued_bytes_ += entry.payload->size();
  queue_.push_back(std::move(entry));
  flush();
}

void FrameSocket::check_bounds() {
  if (overflow_reported_ || (queued_frames() <= max_frames_ && queued_bytes_ <= max_bytes_)) {
    return;
  }
  overflow_reported_ = true;
  // Posted: this runs inside Beast's write, which the listener's close would re-enter.
  asio::post(socket_.get_executor(), [this, owner = owner_] {
    const std::shared_ptr<void> keep = owner.lock();
    if (keep && listener_ != nullptr && !error_) listener_->on_overflow();
  });
}

// Up to kMaxFramesPerWrite frames from the head of the queue (resuming inside the first
// if a write stopped there) into `gather`; their headers go into `headers`. Returns the
// bytes gathered and how many frames they complete.
std::size_t FrameSocket::gather(char* headers, Gather& gather, std::size_t& frames) const {
  const std::size_t available = std::min(queue_.size() - head_, kMaxFramesPerWrite);
  std::size_t bytes = 0;
  frames = 0;
  gather.count = 0;
  while (frames < available && bytes < kMaxBytesPerWrite) {
    const Entry& entry = queue_[head_ + frames];
    const std::string& payload = *entry.payload;
    std::size_t skip = frames == 0 ? offset_ : 0;
    if (entry.text_frame) {
      char* header = headers + frames * kMaxFrameHeaderBytes;
      const std::size_t size = write_text_header(header, payload.size());
      if (skip < size) {
        gather.items[gather.count++] = asio::buffer(header + skip, size - skip);
        bytes += size - skip;
        skip = 0;
      } else {
        skip -= size;
      }
    }
    gather.items[gather.count++] = asio::buffer(payload.data() + skip, payload.size() - skip);
    bytes += payload.size() - skip;
    ++frames;
  }
  return bytes;
}

// Writes go out at once when the socket takes them (as most do: the kernel's send buffer
// is rarely full), so a delivery costs one sendmsg and no pending operation, reactor
// registration or completion handler. Only what the socket does not take (it would block,
// or it took part) waits in an asynchronous write. An error is left to that write too, so
// it is reported the one usual way, from a completion handler, never from inside send().
void FrameSocket::flush() {
  if (writing_ || recent_ || error_ || head_ == queue_.size()) return;
  std::shared_ptr<void> keep = owner_.lock();
  if (!keep) return;  // the owner is being destroyed, and the socket with it
  bool try_now = socket_.non_blocking();
  if (!try_now) {
    beast::error_code ec;
    socket_.non_blocking(true, ec);  // if this fails, only the asynchronous write is used
    try_now = !ec;
  }
  // Headers live with the operation: queue_ may reallocate while a write is pending.
  HeaderBlock headers = take_header_block();
  Gather list;
  std::size_t frames = 0;
  std::size_t bytes = gather(headers.get(), list, frames);
  while (try_now) {
    beast::error_code ec;
    const std::size_t written = socket_.write_some(list, ec);
    if (ec) break;  // would block, or failed: the asynchronous write waits or reports
    mark_recent();
    const std::size_t done = consume(written);
    if (listener_ != nullptr) listener_->on_written({}, done, written);
    if (error_ || writing_) {  // the listener closed or wrote: its own path goes on
      give_back(std::move(headers));
      return;
    }
    if (head_ == queue_.size()) {
      give_back(std::move(headers));
      compact();
      maybe_teardown();
      return;
    }
    const bool full = written < bytes;  // the send buffer is full: wait for it
    bytes = gather(headers.get(), list, frames);
    if (full) break;
  }
  in_flight_ = frames;
  writing_ = true;
  socket_.async_write_some(list, [this, keep = std::move(keep), headers = std::move(headers)](
                                     beast::error_code ec, std::size_t written) mutable {
    give_back(std::move(headers));
    on_write(ec, written);
  });
}

// Retires the frames `bytes` completes (the rest of a partly written frame stays at the
// head, offset_ into it). Returns how many frames were completed.
std::size_t FrameSocket::consume(std::size_t bytes) {
  std::size_t frames = 0;
  while (bytes > 0) {
    Entry& entry = queue_[head_];
    const std::size_t payload = entry.payload->size();
    const std::size_t total = (entry.text_frame ? text_header_size(payload) : 0) + payload;
    const std::size_t left = total - offset_;
    if (bytes < left) {
      offset_ += bytes;
      break;
    }
    bytes -= left;
    queued_bytes_ -= payload;
    entry.payload.reset();
    offset_ = 0;
    ++head_;
    ++frames;
  }
  return frames;
}

void FrameSocket::compact() {
  if (head_ == queue_.size()) {
    queue_.clear();
    head_ = 0;
    if (queue_.capacity() > 64) queue_.shrink_to_fit();  // a burst's queue is not kept
  } else if (head_ >= 64 && head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void FrameSocket::on_write(beast::error_code ec, std::size_t bytes) {
  writing_ = false;
  in_flight_ = 0;
  if (ec) {
    fail(ec);
    return;
  }
  const std::size_t frames = consume(bytes);
  compact();
  if (listener_ != nullptr) listener_->on_written({}, frames, bytes);
  flush();
  maybe_teardown();
}

// Frames queued right after a write wait for the end of the event loop's current pass
// (a handler posted once per pass for all such connections), so a burst to one connection
// (a cluster group commit, a reply plus a broadcast) still leaves in one gather write, as
// it did when every write completed asynchronously.
namespace {
struct RecentWrites {
  std::vector<std::pair<FrameSocket*, std::weak_ptr<void>>> sockets;
  bool posted = false;
};
RecentWrites& recent_writes() {
  thread_local RecentWrites recent;
  return recent;
}
}  // namespace

void FrameSocket::mark_recent() {
  if (recent_) return;
  recent_ = true;
  RecentWrites& recent = recent_writes();
  recent.sockets.emplace_back(this, owner_);
  if (recent.posted) return;
  recent.posted = true;
  // If the loop is destroyed before the handler runs, its destructor still releases the
  // connections it would have flushed.
  struct EndOfPass {
    bool ran = false;
    EndOfPass() = default;
    EndOfPass(EndOfPass&& other) noexcept : ran(std::exchange(other.ran, true)) {}
    EndOfPass& operator=(EndOfPass&&) = delete;
    ~EndOfPass() {
      if (!ran) FrameSocket::end_of_pass(false);
    }
    void operator()() {
      ran = true;
      FrameSocket::end_of_pass(true);
    }
  };
  asio::post(socket_.get_executor(), EndOfPass{});
}

void FrameSocket::end_of_pass(bool flush_now) {
  RecentWrites& recent = recent_writes();
  decltype(recent.sockets) sockets;
  sockets.swap(recent.sockets);
  recent.posted = false;
  for (auto& [socket, owner] : sockets) {
    const std::shared_ptr<void> keep = owner.lock();
    if (!keep) continue;
    socket->recent_ = false;
    if (flush_now) socket->flush();  // may mark it again: then a new pass is posted
  }
  // The list's storage serves the next pass unless this one already started a new list.
  sockets.clear();
  if (recent.sockets.empty()) recent.sockets.swap(sockets);
}

std::size_t FrameSocket::discard_unsent() {
  const std::size_t keep = writing_ ? in_flight_ : (offset_ > 0 ? 1 : 0);
  const std::size_t first = head_ + keep;
  if (first >= queue_.size()) return 0;
  const std::size_t dropped = queue_.size() - first;
  for (std::size_t i = first; i < queue_.size(); ++i) queued_bytes_ -= queue_[i].payload->size();
  queue_.resize(first);
  return dropped;
}

void FrameSocket::fail(beast::error_code ec) {
  error_ = ec;
  queue_.clear();
  queue_.shrink_to_fit();
  head_ = 0;
  offset_ = 0;
  queued_bytes_ = 0;
  maybe_teardown();
  if (listener_ != nullptr) listener_->on_written(ec, 0, 0);
}

void FrameSocket::maybe_teardown() {
  if (!teardown_ || writing_ || head_ != queue_.size()) return;
  std::unique_ptr<Teardown> teardown = std::move(teardown_);
  teardown->start(socket_, error_);
}

}  // namespace tandem::net
