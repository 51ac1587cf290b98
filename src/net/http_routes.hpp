#pragma once
// Every HTTP endpoint of PROTOCOL.md. A handler may answer later (cluster mode asks Redis),
// so answers go through a callback.
#include "net/static_assets.hpp"
#include "net/types.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/array.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace tandem::obs {
class Registry;
}

namespace tandem::net {

class Server;

using HttpRequest = beast::http::request<beast::http::string_body>;
using HttpResponse = beast::http::response<beast::http::string_body>;

// The audit log of a room, newest first, as JSON rows (nullopt: the store failed). The
// callback must run on the event loop.
using EventsSource = std::function<void(
    std::string room_id, std::size_t limit,
    std::function<void(std::optional<boost::json::array>)> done)>;

class HttpRoutes {
 public:
  HttpRoutes(Server& server, obs::Registry& registry);

  // Enables GET /api/rooms/{roomId}/events (also needs ADMIN_TOKEN).
  void set_events_source(EventsSource source) { events_ = std::move(source); }
  // GET /ready is 503 while this answers false (the durable store cannot write).
  void set_store_ready(std::function<bool()> ready) { store_ready_ = std::move(ready); }

  // `client_address`: the client's address, as per-address limits count it.
  void handle(const HttpRequest& request, const std::string& client_address,
              std::function<void(HttpResponse)> respond);

  // Answer for an upgrade that cannot be accepted (server full, draining, wrong path).
  HttpResponse refuse_upgrade(const HttpRequest& request, beast::http::status status,
                              std::string_view why) const;
  // Answer to a request that was not read whole or is not served (request_checks.hpp):
  // HTTP/1.1, JSON {"error": why}, Connection: close.
  HttpResponse refuse(beast::http::status status, std::string_view why) const;

 private:
  // GET /status (and the dashboard's copy of it): `target` carries ?roomId=, or the
  // listing's ?limit= and ?cursor=.
  void status(const HttpRequest& req, std::string_view target,
              std::function<void(HttpResponse)> respond);

  Server& server_;
  obs::Registry& registry_;
  std::chrono::steady_clock::time_point started_;
  EventsSource events_;
  std::function<bool()> store_ready_;
  StaticAssets assets_;  // web/, embedded at build time
  // GET /status (the listing's first page, default limit): the last body and when it was built.
  std::string status_body_;
  std::chrono::steady_clock::time_point status_built_{};
};

// "/a/b?x=1" -> "/a/b"; query value of `key` (percent-decoded), or nullopt.
std::string_view path_of(std::string_view target) noexcept;
std::optional<std::string> query_param(std::string_view target, std::string_view key);

}  // namespace tandem::net
