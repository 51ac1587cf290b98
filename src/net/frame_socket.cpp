#include "net/frame_socket.hpp"

#include <algorithm>
#include <array>

namespace tandem::net {

namespace {

constexpr std::size_t kMaxHeaderBytes = 10;

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

// A gather list for one sendmsg; Asio copies it into the pending operation.
struct Gather {
  using value_type = asio::const_buffer;
  using const_iterator = const asio::const_buffer*;
  std::array<asio::const_buffer, 2 * FrameSocket::kMaxFramesPerWrite> items;
  std::size_t count = 0;
  const_iterator begin() const noexcept { return items.data(); }
  const_iterator end() const noexcept { return items.data() + count; }
};

// The header block of a write in flight, recycled per thread: a write takes one and its
// completion gives it back (at most 256 are kept).
using HeaderBlock = std::unique_ptr<char[]>;
constexpr std::size_t kHeaderBlockBytes = kMaxHeaderBytes * FrameSocket::kMaxFramesPerWrite;

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

void FrameSocket::write_text(const protocol::Frame& payload) { push(Entry{payload, true}); }

void FrameSocket::push(Entry entry) {
  if (error_) return;  // the connection failed: its reader ends the session
  queued_bytes_ += entry.payload->size();
  queue_.push_back(std::move(entry));
  flush();
}

void FrameSocket::flush() {
  if (writing_ || error_ || head_ == queue_.size()) return;
  std::shared_ptr<void> keep = owner_.lock();
  if (!keep) return;  // the owner is being destroyed, and the socket with it
  const std::size_t available = std::min(queue_.size() - head_, kMaxFramesPerWrite);
  // Headers live with the operation: queue_ may reallocate while the write is pending.
  HeaderBlock headers = take_header_block();
  Gather gather;
  std::size_t bytes = 0;
  std::size_t frames = 0;
  while (frames < available && bytes < kMaxBytesPerWrite) {
    const Entry& entry = queue_[head_ + frames];
    const std::string& payload = *entry.payload;
    std::size_t skip = frames == 0 ? offset_ : 0;
    if (entry.text_frame) {
      char* header = headers.get() + frames * kMaxHeaderBytes;
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
  in_flight_ = frames;
  writing_ = true;
  socket_.async_write_some(gather, [this, keep = std::move(keep), headers = std::move(headers)](
                                       beast::error_code ec, std::size_t written) mutable {
    give_back(std::move(headers));
    on_write(ec, written);
  });
}

void FrameSocket::on_write(beast::error_code ec, std::size_t bytes) {
  writing_ = false;
  in_flight_ = 0;
  if (ec) {
    fail(ec);
    return;
  }
  const std::size_t written = bytes;
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
  if (head_ == queue_.size()) {
    queue_.clear();
    head_ = 0;
    if (queue_.capacity() > 64) queue_.shrink_to_fit();  // a burst's queue is not kept
  } else if (head_ >= 64 && head_ * 2 >= queue_.size()) {
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  flush();
  maybe_teardown();
  if (listener_ != nullptr) listener_->on_written({}, frames, written);
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
