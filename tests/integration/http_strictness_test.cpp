// Requests this server does not serve as HTTP/1.1 (RFC 9112) get an answer and a closed
// connection, never silence and never a second request made of their leftover bytes.
#include "support/fixture.hpp"
#include "support/raw_socket.hpp"

namespace tandem::test {
namespace {

using namespace std::chrono_literals;

class HttpStrictnessTest : public TandemTest {};

struct RawAnswer {
  std::string bytes;    // everything the server sent
  bool closed = false;  // and then it closed the connection
  int status() const {  // of the first response (0 when none)
    if (bytes.rfind("HTTP/1.1 ", 0) != 0 || bytes.size() < 12) return 0;
    return std::stoi(bytes.substr(9, 3));
  }
  std::size_t responses() const {
    std::size_t n = 0;
    for (std::size_t at = bytes.find("HTTP/1.1 "); at != std::string::npos;
         at = bytes.find("HTTP/1.1 ", at + 1)) {
      ++n;
    }
    return n;
  }
};

RawAnswer send_raw_request(std::uint16_t port, std::string_view bytes) {
  RawAnswer answer;
  RawSocket socket = RawSocket::connect(port);
  if (!socket.valid()) return answer;
  socket.send_all(bytes);  // the server may close while the rest is still being written
  answer.bytes = socket.read_until_closed(kTimeout, &answer.closed);
  return answer;
}

// One answer with `status` and a JSON error body, then the connection is closed.
void expect_refused(std::uint16_t port, std::string_view what, std::string_view bytes, int status) {
  const RawAnswer answer = send_raw_request(port, bytes);
  EXPECT_EQ(answer.status(), status) << what << ":\n" << answer.bytes;
  EXPECT_EQ(answer.responses(), 1u) << what << ": the leftover bytes were served:\n"
                                    << answer.bytes;
  EXPECT_TRUE(answer.closed) << what << ": the connection stayed open";
  EXPECT_NE(answer.bytes.find("Connection: close"), std::string::npos) << what;
  EXPECT_NE(answer.bytes.find("{\"error\":"), std::string::npos) << what;
}

TEST_F(HttpStrictnessTest, ATransferCodingOtherThanChunkedIsRefused) {
  start_server();
  // Read as "no body", the gzip'd body would become a second request (smuggling).
  const std::string smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  expect_refused(port(), "Transfer-Encoding: gzip",
                 "POST /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled,
                 400);
  expect_refused(
      port(), "chunked, then gzip",
      "POST /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n" + smuggled,
      400);
  expect_refused(port(), "gzip, then chunked",
                 "POST /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                 "0\r\n\r\n" +
                     smuggled,
                 501);
  expect_refused(port(), "Transfer-Encoding with Content-Length",
                 "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" +
                     smuggled,
                 400);
  EXPECT_EQ(metric("tandem_http_bad_requests_total", {{"status", "400"}}), 3);
  EXPECT_EQ(metric("tandem_http_bad_requests_total", {{"status", "501"}}), 1);
  // Plain chunked is fine (no endpoint takes a body: 404 for this POST, and the connection
  // is kept alive for the next request).
  const RawAnswer chunked = send_raw_request(
      port(),
      "POST /nothing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(chunked.responses(), 2u) << chunked.bytes;
  EXPECT_NE(chunked.bytes.find("\"status\":\"ok\""), std::string::npos) << chunked.bytes;
}

TEST_F(HttpStrictnessTest, HeadersOverTheLimitGet431) {
  start_server();
  expect_refused(
      port(), "16 KiB of headers",
      "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'h') + "\r\n\r\n", 431);
  EXPECT_EQ(metric("tandem_http_bad_requests_total", {{"status", "431"}}), 1);
}

TEST_F(HttpStrictnessTest, MalformedRequestsGet400) {
  start_server();
  expect_refused(port(), "bare LF line endings", "GET /health HTTP/1.1\nHost: x\n\n", 400);
  expect_refused(port(), "the HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400);
  expect_refused(
      port(), "a TLS ClientHello",
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(64, '\x42'),
      400);
  expect_refused(port(), "garbage", "HELLO THERE\r\n\r\n", 400);
  expect_refused(port(), "a space in the target", "GET /he alth HTTP/1.1\r\nHost: x\r\n\r\n", 400);
  expect_refused(
      port(), "a body over 8 KiB",
      "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\n\r\n" + std::string(9000, 'b'),
      413);
  EXPECT_EQ(metric("tandem_http_bad_requests_total", {{"status", "400"}}), 5);
  EXPECT_EQ(metric("tandem_http_bad_requests_total", {{"status", "413"}}), 1);
  expect_server_healthy();
}

// A client that says nothing gets nothing: a timeout is not a malformed request.
TEST_F(HttpStrictnessTest, SilenceAndAClientThatLeavesAreNotAnswered) {
  start_server({{"HTTP_REQUEST_TIMEOUT_MS", "300"}});
  const RawAnswer silent = send_raw_request(port(), "");
  EXPECT_TRUE(silent.closed);
  EXPECT_EQ(silent.bytes, "");
  EXPECT_EQ(metric("tandem_http_request_timeouts_total"), 1);
  EXPECT_EQ(metric("tandem_http_bad_requests_total", {{"status", "400"}}), 0);
}

}  // namespace
}  // namespace tandem::test
