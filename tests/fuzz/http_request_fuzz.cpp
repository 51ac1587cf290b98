// An HTTP request as a client sends it, through what the server does before and around its
// routes: Beast's parser with the server's limits (http_session.cpp), the refusals of
// request_checks.hpp, the path and query-string decoding every route uses (path_of,
// query_param), and the client address read from X-Forwarded-For behind a trusted proxy
// (client_address.hpp). The first input byte picks how the bytes are cut into reads.
// (HttpRoutes::handle itself needs a running Server; see docs/TESTING.md.)
#include "fuzz_check.hpp"
#include "net/client_address.hpp"
#include "net/http_routes.hpp"
#include "net/request_checks.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace http = boost::beast::http;

namespace {

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;  // as http_session.cpp
constexpr std::size_t kMaxBodyBytes = 8 * 1024;

void check_request(const tandem::net::HttpRequest& request, bool chunked) {
  using namespace tandem::net;
  if (const auto refusal = refusal_for_request(request, chunked)) {
    FUZZ_CHECK(!refusal->why.empty());
    FUZZ_CHECK(static_cast<int>(refusal->status) >= 400);
    return;
  }
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = path_of(target);
  FUZZ_CHECK(path.size() <= target.size() && target.substr(0, path.size()) == path);
  for (const std::string_view key : {"roomId", "limit", "cursor", "token"}) {
    if (const auto value = query_param(target, key)) FUZZ_CHECK(value->size() <= target.size());
  }
  (void)boost::beast::websocket::is_upgrade(request);
  std::string forwarded;
  const auto [first, last] = request.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) {
    if (!forwarded.empty()) forwarded += ',';
    forwarded.append(it->value().data(), it->value().size());
  }
  static const AddressSet trusted = *AddressSet::parse("127.0.0.0/8, ::1, 10.0.0.0/8");
  const auto peer = boost::asio::ip::make_address("127.0.0.1");
  (void)resolve_client_address(peer, forwarded, trusted);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  const std::size_t length = size - 1;

  http::request_parser<http::string_body> parser;
  parser.header_limit(kMaxHeaderBytes);
  parser.body_limit(kMaxBodyBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string pending;  // what the parser has not consumed yet (as Beast's read buffer)
  std::size_t offset = 0;
  while (!parser.is_done() && !ec) {
    if (offset < length) {
      const std::size_t n = std::min(chunk, length - offset);
      pending.append(bytes + offset, n);
      offset += n;
    } else {
      parser.put_eof(ec);  // the peer closed
      break;
    }
    const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
    if (ec == http::error::need_more) ec = {};
    FUZZ_CHECK(used <= pending.size());
    pending.erase(0, used);
  }
  if (ec) {
    if (const auto refusal = tandem::net::refusal_for_read_error(ec)) {
      FUZZ_CHECK(!refusal->why.empty());
    }
    return 0;
  }
  FUZZ_CHECK(parser.is_done());
  const bool chunked = parser.chunked();
  check_request(parser.release(), chunked);
  return 0;
}
