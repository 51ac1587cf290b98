#pragma once
// A real WebSocket client (Boost.Beast) with a blocking API and deadlines. Each client has
// its own io_context, run only inside its calls: one read is kept pending all the time and
// every received frame goes to an inbox, so a wait never cancels a read half-way. Waits
// end as soon as what they wait for is observable; the only fixed-length wait is
// expect_no_message(), which is what "nothing arrives" means.
//
// Failures (wrong message type, a deadline passed, a refused handshake where success was
// expected) are reported at the test's line and stop the test (support/failure.hpp).
#include "support/failure.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::test {

struct ConnectOptions {
  std::string target = "/ws";
  Millis timeout = kTimeout;
  // SO_RCVBUF set before connecting (0 = system default); a small one makes a client that
  // does not read fill up quickly (slow-consumer tests).
  int receive_buffer_bytes = 0;
  // The client's own address (bound before connecting; "" = the system's choice, 127.0.0.1).
  // Any of 127.0.0.0/8 works on Linux, so tests play clients from several addresses.
  std::string local_address = {};
  // Extra headers of the upgrade request (e.g. X-Forwarded-For).
  std::map<std::string, std::string> headers{};
};

struct ConnectResult {
  bool ok = false;
  int http_status = 0;  // status of the handshake response (101 on success, 0 if none)
  std::string body;     // body of a refusal
  std::string error;    // what went wrong when !ok
};

// One thing that happened on the connection.
struct WsEvent {
  enum class Kind { message, closed, timeout };
  Kind kind = Kind::timeout;
  std::string text;                            // message: the frame's payload
  bool binary = false;                         // message: a binary frame
  std::optional<boost::json::object> message;  // message: when the payload is a JSON object
  // closed: the peer's close code (1005: its close frame had none; 1006: no close frame)
  int close_code = 0;
  std::string close_reason;
  std::string describe() const;
};

class WsClient {
 public:
  explicit WsClient(std::string name = "client");
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects and performs the handshake. A refusal is a result, not a test failure.
  ConnectResult connect(std::uint16_t port, ConnectOptions options = {});
  ConnectResult connect(std::uint16_t port, std::string target) {
    return connect(port, ConnectOptions{.target = std::move(target)});
  }

  const std::string& name() const noexcept { return name_; }
  bool is_open() const noexcept;

  // Sending. A send that cannot complete in time fails the test.
  void send_text(std::string_view text,
                 std::source_location where = std::source_location::current());
  void send_binary(std::string_view bytes,
                   std::source_location where = std::source_location::current());
  void send_json(const boost::json::object& message,
                 std::source_location where = std::source_location::current());
  // Bytes straight to the TCP socket (hand-made frames; client frames must be masked).
  void send_raw(std::string_view bytes,
                std::source_location where = std::source_location::current());
  // Sends that may legitimately fail because the server is closing the connection while we
  // write (it refused what it has read so far): true when the bytes were written.
  bool try_send_text(std::string_view text);
  bool try_send_raw(std::string_view bytes);
  // TCP half-close: no more bytes from this side.
  void shutdown_send();

  // The next event (message or close), or Kind::timeout.
  WsEvent recv_event(Millis timeout = kTimeout);
  // The next message as a JSON object; nullopt on timeout or close (the close stays queued).
  std::optional<boost::json::object> recv(Millis timeout = kTimeout);

  // Strict: the next message, which must be a JSON object of type `type`; types listed in
  // `skip` may come first and are dropped (and recorded in skipped()).
  boost::json::object expect(std::string_view type, Millis timeout = kTimeout,
                             const std::vector<std::string>& skip = {},
                             std::source_location where = std::source_location::current());
  // The next message whatever its type.
  boost::json::object next(Millis timeout = kTimeout,
                           std::source_location where = std::source_location::current());
  // Lenient: the first message of type `type`; everything before it is recorded in skipped().
  boost::json::object wait_for(std::string_view type, Millis timeout = kTimeout,
                               std::source_location where = std::source_location::current());
  const std::vector<boost::json::object>& skipped() const noexcept { return skipped_; }
  void clear_skipped() { skipped_.clear(); }

  // Fails if any message (or a close) arrives within `window`, except types in `ignore`.
  void expect_no_message(Millis window = kQuiet, const std::vector<std::string>& ignore = {},
                         std::source_location where = std::source_location::current());

  // Clean closing handshake from this side (the server sees a close without LEAVE).
  void close(std::uint16_t code = 1000, std::string_view reason = "",
             std::source_location where = std::source_location::current());
  // Abrupt TCP close (no closing handshake).
  void drop();
  // Waits until the connection ends; returns the server's close code (1006 when the TCP
  // connection ended without a close frame). Messages received before are recorded in
  // skipped().
  int wait_closed(Millis timeout = kTimeout,
                  std::source_location where = std::source_location::current());
  const std::string& close_reason() const noexcept { return close_reason_; }

  // Everything received, in order (for failure reports).
  std::string transcript(std::size_t last = 12) const;

  // Every client still open reads until its connection ends or `timeout` passes, answering
  // the server's close frame as a browser does. A test's teardown calls it after SIGTERM:
  // a draining server waits for its clients' close replies (up to DRAIN_TIMEOUT_MS), and
  // clients the test still holds would otherwise never read them. Single-threaded use.
  static void read_until_closed_all(Millis timeout);

 private:
  struct Impl;
  [[noreturn]] void fail(const std::source_location& where, const std::string& message) const;

  std::string name_;
  std::unique_ptr<Impl> impl_;
  std::vector<boost::json::object> skipped_;
  std::vector<std::string> received_;
  std::string close_reason_;
  bool close_recorded_ = false;
};

// A WebSocket frame as bytes. Client frames are masked (mask=true); `declared_length`
// overrides the length field (to announce more bytes than are sent: a truncated frame).
std::string ws_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                     bool mask = true, std::optional<std::uint64_t> declared_length = {});

}  // namespace tandem::test
