#pragma once
// The answers every route builds: headers common to all (Server, Cache-Control: no-store,
// X-Content-Type-Options: nosniff, CORS), JSON and text bodies, and the Bearer check of the
// admin endpoints.
#include "net/types.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace tandem::net {

using HttpRequest = beast::http::request<beast::http::string_body>;
using HttpResponse = beast::http::response<beast::http::string_body>;

inline constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
inline constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

// Access-Control-* headers: every endpoint may be read from any origin.
void add_cors(HttpResponse& res);

// `body` with `content_type` (none when empty), the common headers, and the request's
// HTTP version and keep-alive.
HttpResponse make_response(const HttpRequest& req, beast::http::status status, std::string body,
                           std::string_view content_type);
HttpResponse json_response(const HttpRequest& req, beast::http::status status,
                           const boost::json::value& body);
// JSON {"error": why}.
HttpResponse json_error(const HttpRequest& req, beast::http::status status, std::string_view why);

// The request carries `Authorization: Bearer <token>` (compared in constant time).
bool bearer_matches(const HttpRequest& req, const std::string& token);
// 401 with WWW-Authenticate: Bearer.
HttpResponse unauthorized(const HttpRequest& req);

}  // namespace tandem::net
