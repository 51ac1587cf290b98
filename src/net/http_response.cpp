#include "net/http_response.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace tandem::net {

namespace http = beast::http;

namespace {

// Compares without an early exit, so the time taken does not reveal the matching prefix.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ b[i]);
  }
  return diff == 0;
}

}  // namespace

void add_cors(HttpResponse& res) {
  res.set(http::field::access_control_allow_origin, "*");
  res.set(http::field::access_control_allow_methods, "GET, OPTIONS");
  res.set(http::field::access_control_allow_headers, "Content-Type");
  res.set(http::field::access_control_expose_headers, "Location");
}

HttpResponse make_response(const HttpRequest& req, http::status status, std::string body,
                           std::string_view content_type) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "tandem-server");
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");  // a body is never read as another type
  add_cors(res);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

HttpResponse json_response(const HttpRequest& req, http::status status,
                           const boost::json::value& body) {
  return make_response(req, status, boost::json::serialize(body), "application/json");
}

HttpResponse json_error(const HttpRequest& req, http::status status, std::string_view why) {
  return json_response(req, status, boost::json::object{{"error", why}});
}

bool bearer_matches(const HttpRequest& req, const std::string& token) {
  const auto auth = req[http::field::authorization];
  return constant_time_equal(std::string_view(auth.data(), auth.size()), "Bearer " + token);
}

HttpResponse unauthorized(const HttpRequest& req) {
  auto res = json_error(req, http::status::unauthorized, "Unauthorized");
  res.set(http::field::www_authenticate, "Bearer");
  return res;
}

}  // namespace tandem::net
