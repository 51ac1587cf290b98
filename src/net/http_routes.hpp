#pragma once
// Every HTTP endpoint of PROTOCOL.md, as a table (http_routes.cpp, kRoutes): one row per
// route (methods, path pattern, metrics label, handler); each handler is a small member
// function. A handler may answer later (cluster mode asks Redis), so answers go through a
// callback. Adding an endpoint is one row and its handler.
#include "net/admin_access.hpp"
#include "net/http_path.hpp"
#include "net/http_response.hpp"
#include "net/static_assets.hpp"
#include "net/types.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace tandem::obs {
class Registry;
}

namespace tandem::net {

class Server;

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

  // Routes one request: OPTIONS is answered for any path; a method no route serves is 405;
  // otherwise the first row whose methods and pattern match handles it, else 404.
  // `client_address`: the client's address, as per-address limits count it.
  void handle(const HttpRequest& request, const std::string& client_address,
              std::function<void(HttpResponse)> respond);

  // Answer for an upgrade that cannot be accepted (server full, draining, wrong path).
  HttpResponse refuse_upgrade(const HttpRequest& request, beast::http::status status,
                              std::string_view why) const;
  // Answer to a request that was not read whole or is not served (request_checks.hpp):
  // HTTP/1.1, JSON {"error": why}, Connection: close.
  HttpResponse refuse(beast::http::status status, std::string_view why) const;

  // The `route` label values of tandem_http_requests_total: the table's labels in row
  // order, then "OPTIONS" and "not_found" (405 and 404 answers).
  static std::vector<std::string> metric_labels();

 private:
  // One request on its way through a handler.
  struct Exchange {
    const HttpRequest& req;
    std::string_view target;               // path and query
    std::string_view path;                 // without the query
    std::vector<std::string_view> params;  // the pattern's {name} segments, in order
    const std::string& client_address;
    std::function<void(HttpResponse)> respond;
  };
  using Handler = void (HttpRoutes::*)(Exchange&);
  enum Method : std::uint8_t { kGet = 1, kPost = 2, kPut = 4, kDelete = 8 };  // kGet: HEAD too
  enum class Count : std::uint8_t {
    on_match,    // the dispatcher counts the label before the handler runs
    by_handler,  // the handler counts (a web page that is not there counts as not_found)
  };
  struct Route {
    std::uint8_t methods;
    std::string_view pattern;  // "/api/rooms/{roomId}/events"
    std::string_view label;    // tandem_http_requests_total{route=...}
    Handler handler;
    Count count = Count::on_match;
  };
  static const Route kRoutes[];
  static std::uint8_t method_bit(beast::http::verb verb) noexcept;
  static std::string allow_header(std::uint8_t methods);

  void banner(Exchange& ex);
  void health(Exchange& ex);
  void ready(Exchange& ex);
  void metrics(Exchange& ex);
  void status(Exchange& ex);
  void web_page(Exchange& ex);
  void dashboard_metrics(Exchange& ex);
  void dashboard_status(Exchange& ex);
  void short_id(Exchange& ex);
  void room_for_short_id(Exchange& ex);
  void room_redirect(Exchange& ex);
  void room_events(Exchange& ex);
  void websocket_only(Exchange& ex);
  void not_found(Exchange& ex);

  // Whether the caller has the admin view; when not, answers 401/403 and returns true.
  AdminAccess access(const Exchange& ex) const;
  bool refuse_non_admin(Exchange& ex);

  // GET /status (and the dashboard's copy of it): one room (?roomId=) or a page of the
  // listing (?limit=, ?cursor=), in full or without identities (docs/SECURITY.md).
  enum class StatusView : std::uint8_t { counts = 0, full = 1 };
  void answer_status(Exchange& ex, StatusView view);
  void status_of_room(Exchange& ex, std::string room_id, boost::json::object base,
                      StatusView view);
  void status_listing(Exchange& ex, boost::json::object base, StatusView view);
  // Adds "nodes" to `body`, answers, and keeps the body as the cached listing of `cache`.
  void finish_status(HttpRequest req, std::function<void(HttpResponse)> respond,
                     boost::json::object body, std::optional<StatusView> cache);
  boost::json::object status_base() const;

  Server& server_;
  obs::Registry& registry_;
  std::chrono::steady_clock::time_point started_;
  EventsSource events_;
  std::function<bool()> store_ready_;
  StaticAssets assets_;  // web/, embedded at build time
  // GET /status listings rebuilt at most once per STATUS_CACHE_MS, by StatusView: the full
  // first page at the default limit, and the counts. The last body and when it was built.
  struct CachedStatus {
    std::string body;
    std::chrono::steady_clock::time_point built{};
  };
  std::array<CachedStatus, 2> status_cache_{};
};

}  // namespace tandem::net
