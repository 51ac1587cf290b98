#include "net/request_checks.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace tandem::net {

namespace http = boost::beast::http;

std::optional<Refusal> refusal_for_read_error(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) {
    return Refusal{http::status::request_header_fields_too_large, "Request header too large"};
  }
  if (ec == http::error::body_limit) {
    return Refusal{http::status::payload_too_large, "Request body too large"};
  }
  // end_of_stream: closed between requests; partial_message: closed inside one. Both mean
  // the peer is gone. Errors of other categories (reset, timeout, cancelled) likewise.
  if (ec.category() != http::make_error_code(http::error::bad_method).category() ||
      ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == http::error::need_more || ec == http::error::need_buffer) {
    return std::nullopt;
  }
  return Refusal{http::status::bad_request, "Malformed HTTP request"};
}

std::optional<Refusal> refusal_for_request(const http::request<http::string_body>& request,
                                           bool chunked) {
  if (request.version() != 10 && request.version() != 11) {
    return Refusal{http::status::bad_request, "Only HTTP/1.0 and HTTP/1.1 are served"};
  }
  const auto codings = request.equal_range(http::field::transfer_encoding);
  if (codings.first == codings.second) return std::nullopt;
  if (!chunked) {
    return Refusal{http::status::bad_request,
                   "Transfer-Encoding must end with chunked (the body length is unknown)"};
  }
  std::size_t count = 0;
  for (auto it = codings.first; it != codings.second; ++it) {
    for (const auto coding : http::token_list{it->value()}) {
      if (!boost::beast::iequals(coding, "chunked")) {
        return Refusal{http::status::not_implemented, "Only the chunked transfer coding is served"};
      }
      ++count;
    }
  }
  if (count != 1) {
    return Refusal{http::status::bad_request, "chunked may be applied only once"};
  }
  return std::nullopt;
}

}  // namespace tandem::net
