#pragma once
// Plain HTTP/1.1 requests (Boost.Beast) with a deadline: one per fresh connection
// (http_request/http_get), or several on one kept-alive connection (HttpConnection).
#include "support/failure.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>

namespace tandem::test {

using Headers = std::map<std::string, std::string>;

struct HttpResponse {
  int status = 0;
  Headers headers;  // names lower-cased
  std::string body;

  // The header's value, or "" when absent (name case-insensitive).
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The body as JSON; fails the test when it is not.
  boost::json::value json(std::source_location where = std::source_location::current()) const;
  boost::json::object json_object(
      std::source_location where = std::source_location::current()) const;
  std::string describe() const;
};

// One request on a fresh connection. Fails the test if no response arrives in time.
HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          const Headers& headers = {}, std::string body = {},
                          Millis timeout = kTimeout,
                          std::source_location where = std::source_location::current());
HttpResponse http_get(std::uint16_t port, std::string_view target, const Headers& headers = {},
                      Millis timeout = kTimeout,
                      std::source_location where = std::source_location::current());
// A GET from another loopback address ("127.0.0.2"): a client that is not this host's
// 127.0.0.1 as the server sees it.
HttpResponse http_get_from(std::string local_address, std::uint16_t port, std::string_view target,
                           const Headers& headers = {},
                           std::source_location where = std::source_location::current());

// Opens a TCP connection, writes `bytes` (may be empty) and waits until the server closes
// it. Returns how long that took after the write, or nullopt if it is still open at `timeout`.
std::optional<Millis> time_until_server_closes(std::uint16_t port, std::string_view bytes,
                                               Millis timeout);

// A kept-alive connection: requests one after the other on the same socket.
class HttpConnection {
 public:
  HttpConnection();
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // `local_address`: bind to it first ("127.0.0.2"); "" = any.
  void connect(std::uint16_t port, std::source_location where = std::source_location::current(),
               const std::string& local_address = {});
  HttpResponse request(std::string_view method, std::string_view target,
                       const Headers& headers = {}, Millis timeout = kTimeout,
                       std::source_location where = std::source_location::current());
  // The same with a body, and Connection: close when !keep_alive.
  HttpResponse send(std::string_view method, std::string_view target, const Headers& headers,
                    std::string body, bool keep_alive, Millis timeout,
                    std::source_location where = std::source_location::current());

  struct Impl;  // implementation detail

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tandem::test
