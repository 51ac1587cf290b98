#pragma once
// What the server answers to a request it will not serve as HTTP/1.1 (RFC 9112), before
// any route sees it. Pure: Beast's parser result in, status out; unit-tested without
// sockets. Each refusal is answered and the connection closed: after a framing error the
// rest of the bytes cannot be trusted to be the next request.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>

namespace tandem::net {

struct Refusal {
  boost::beast::http::status status;
  std::string_view why;  // the JSON body's "error"
};

// A read that failed: 431 (header over the limit), 413 (body over the limit), 400 (any
// other parse error: bare LF, garbage, a bad header, Transfer-Encoding with
// Content-Length, ...). nullopt when there is nobody to answer: the peer closed or reset,
// the read timed out or was cancelled.
std::optional<Refusal> refusal_for_read_error(const boost::system::error_code& ec);

// A request Beast parsed but this server does not accept: a version other than HTTP/1.0 and
// 1.1 (the HTTP/2 preface, "PRI * HTTP/2.0", parses as version 2.0) is 400;
// Transfer-Encoding whose final coding is not "chunked" is 400 (its body length is unknown:
// RFC 9112 6.3), and one with another coding besides chunked (e.g. "gzip, chunked") is 501,
// since this server decodes none. `chunked`: what Beast's parser reported.
std::optional<Refusal> refusal_for_request(
    const boost::beast::http::request<boost::beast::http::string_body>& request, bool chunked);

}  // namespace tandem::net
