#include "net/http_routes.hpp"

#include "cluster/room_status.hpp"
#include "cluster/short_ids.hpp"
#include "net/admin_access.hpp"
#include "net/server.hpp"
#include "obs/clock.hpp"
#include "obs/metrics.hpp"
#include "protocol/text.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace tandem::net {

namespace http = beast::http;

// Patterns do not overlap, so the order of the rows only orders the metric labels.
const HttpRoutes::Route HttpRoutes::kRoutes[] = {
    {kGet, "/", "/", &HttpRoutes::banner},
    {kGet, "/health", "/health", &HttpRoutes::health},
    {kGet, "/ready", "/ready", &HttpRoutes::ready},
    {kGet, "/status", "/status", &HttpRoutes::status},
    {kGet, "/metrics", "/metrics", &HttpRoutes::metrics},
    {kGet, "/api/short-id/{roomId}", "/api/short-id", &HttpRoutes::short_id},
    {kGet, "/api/room/{shortId}", "/api/room", &HttpRoutes::room_for_short_id},
    {kGet, "/api/rooms/{roomId}/events", "/api/rooms/events", &HttpRoutes::room_events},
    {kGet, "/room/{shortId}", "/room", &HttpRoutes::room_redirect},
    {kGet, "/room/{shortId}/{pin}", "/room", &HttpRoutes::room_redirect},
    {kGet, "/ws", "/ws", &HttpRoutes::websocket_only},
    {kGet, "/demo", "/demo", &HttpRoutes::web_page, Count::by_handler},
    {kGet, "/demo/{file}", "/demo", &HttpRoutes::web_page, Count::by_handler},
    {kGet, "/dashboard", "/dashboard", &HttpRoutes::web_page, Count::by_handler},
    {kGet, "/dashboard/{file}", "/dashboard", &HttpRoutes::web_page, Count::by_handler},
    {kGet, "/api/dashboard/metrics", "/api/dashboard", &HttpRoutes::dashboard_metrics},
    {kGet, "/api/dashboard/status", "/api/dashboard", &HttpRoutes::dashboard_status},
};

namespace {

// GET /status listing pages and the audit log (docs/PROTOCOL.md).
constexpr std::size_t kStatusPageDefault = 100;
constexpr std::size_t kPageMax = 1000;
constexpr std::size_t kEventsDefault = 100;

}  // namespace

std::vector<std::string> HttpRoutes::metric_labels() {
  std::vector<std::string> labels;
  for (const Route& route : kRoutes) {
    if (std::find(labels.begin(), labels.end(), route.label) == labels.end()) {
      labels.emplace_back(route.label);
    }
  }
  labels.emplace_back("OPTIONS");
  labels.emplace_back("not_found");
  return labels;
}

// The Allow header of a 405: the methods the table serves (HEAD goes with GET), and OPTIONS.
std::string HttpRoutes::allow_header(std::uint8_t methods) {
  std::string out;
  for (const auto& [bit, name] : {std::pair{kGet, "GET"}, std::pair{kPost, "POST"},
                                  std::pair{kPut, "PUT"}, std::pair{kDelete, "DELETE"}}) {
    if ((methods & bit) != 0) out += std::string(name) + ", ";
  }
  return out + "OPTIONS";
}

std::uint8_t HttpRoutes::method_bit(http::verb verb) noexcept {
  switch (verb) {
    case http::verb::get:
    case http::verb::head:
      return kGet;
    case http::verb::post:
      return kPost;
    case http::verb::put:
      return kPut;
    case http::verb::delete_:
      return kDelete;
    default:
      return 0;
  }
}

HttpRoutes::HttpRoutes(Server& server, obs::Registry& registry)
    : server_(server), registry_(registry), started_(std::chrono::steady_clock::now()) {
  registry_.gauge_callback("tandem_uptime_seconds", "Seconds since the process started", [this] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  });
}

HttpResponse HttpRoutes::refuse_upgrade(const HttpRequest& request, http::status status,
                                        std::string_view why) const {
  auto res = json_error(request, status, why);
  res.keep_alive(false);
  return res;
}

HttpResponse HttpRoutes::refuse(http::status status, std::string_view why) const {
  return refuse_upgrade(HttpRequest{http::verb::get, "/", 11}, status, why);
}

void HttpRoutes::handle(const HttpRequest& req, const std::string& client_address,
                        std::function<void(HttpResponse)> respond) {
  auto& counters = server_.metrics().http_requests;
  const std::string_view target(req.target().data(), req.target().size());
  Exchange ex{req, target, path_of(target), {}, client_address, std::move(respond)};

  if (req.method() == http::verb::options) {
    counters["OPTIONS"].inc();
    ex.respond(make_response(req, http::status::ok, "", ""));
    return;
  }
  std::uint8_t served = 0;  // every method of the table
  for (const Route& route : kRoutes) served |= route.methods;
  const std::uint8_t method = method_bit(req.method());
  if ((served & method) == 0) {
    counters["not_found"].inc();
    auto res = make_response(req, http::status::method_not_allowed, "Method not allowed\n",
                             kTextPlain);
    res.set(http::field::allow, allow_header(served));
    ex.respond(std::move(res));
    return;
  }
  const auto parts = segments(ex.path);
  for (const Route& route : kRoutes) {
    if ((route.methods & method) == 0 || !match_pattern(route.pattern, parts, ex.params)) continue;
    if (route.count == Count::on_match) counters[route.label].inc();
    (this->*route.handler)(ex);
    return;
  }
  not_found(ex);
}

void HttpRoutes::not_found(Exchange& ex) {
  server_.metrics().http_requests["not_found"].inc();
  ex.respond(make_response(ex.req, http::status::not_found, "Not found\n", kTextPlain));
}

void HttpRoutes::banner(Exchange& ex) {
  std::string text = "tandem.watch signaling server (node " + server_.config().node_id + ")\n" +
                     "WebSocket: /ws\n"
                     "HTTP: /health /ready /status /metrics /api/short-id/{roomId} "
                     "/api/room/{shortId} /room/{shortId}[/{pin}]\n"
                     "Web: /demo?room={roomId} (watch party) /dashboard (operations)\n";
  ex.respond(make_response(ex.req, http::status::ok, std::move(text), kTextPlain));
}

void HttpRoutes::health(Exchange& ex) {
  ex.respond(json_response(ex.req, http::status::ok,
                           boost::json::object{{"status", "ok"},
                                               {"nodeId", server_.config().node_id}}));
}

void HttpRoutes::ready(Exchange& ex) {
  const bool draining = server_.draining();
  const bool backends = server_.rooms().backends_ready();
  const bool store = !store_ready_ || store_ready_();
  const bool ready = !draining && backends && store;
  boost::json::object body{{"status", ready ? "ready" : (draining ? "draining" : "unavailable")},
                           {"nodeId", server_.config().node_id}};
  if (!draining && !ready) body["reason"] = backends ? "store" : "redis";
  ex.respond(json_response(ex.req, ready ? http::status::ok : http::status::service_unavailable,
                           body));
}

void HttpRoutes::metrics(Exchange& ex) {
  ex.respond(make_response(ex.req, http::status::ok, registry_.render(), kPrometheusText));
}

// The web pages (web/demo, web/dashboard). The dashboard page holds no data: what it shows
// comes from /api/dashboard/*. With ADMIN_TOKEN set the page is served to anyone (it asks
// for the token); without one, the page and its data are this host's only.
void HttpRoutes::web_page(Exchange& ex) {
  const EmbeddedFile* file = assets_.find(ex.path);
  if (file == nullptr) {
    not_found(ex);
    return;
  }
  const bool demo = segments(ex.path).front() == "demo";
  server_.metrics().http_requests[demo ? "/demo" : "/dashboard"].inc();
  if (!demo && server_.config().admin_token.empty() && refuse_non_admin(ex)) return;
  const std::string csp = demo ? demo_csp(query_param(ex.target, "src")) : dashboard_csp();
  auto res = static_response(ex.req, *file, csp);
  add_cors(res);
  ex.respond(std::move(res));
}

// The admin view (admin_access.hpp): with ADMIN_TOKEN set the dashboard sends the token it
// asked its user for as a Bearer token.
AdminAccess HttpRoutes::access(const Exchange& ex) const {
  return admin_access(ex.req, ex.client_address, server_.config().admin_token);
}

bool HttpRoutes::refuse_non_admin(Exchange& ex) {
  switch (access(ex)) {
    case AdminAccess::granted:
      return false;
    case AdminAccess::token_required:
      ex.respond(unauthorized(ex.req));
      return true;
    case AdminAccess::local_only:
      break;
  }
  ex.respond(json_error(ex.req, http::status::forbidden,
                        "Served only to this host (127.0.0.1, ::1) while ADMIN_TOKEN is unset"));
  return true;
}

void HttpRoutes::dashboard_metrics(Exchange& ex) {
  if (refuse_non_admin(ex)) return;
  metrics(ex);
}

void HttpRoutes::dashboard_status(Exchange& ex) {
  if (refuse_non_admin(ex)) return;
  answer_status(ex, StatusView::full);
}

boost::json::object HttpRoutes::status_base() const {
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return {{"nodeId", server_.config().node_id},
          {"timestamp", obs::wall_clock_ms()},
          {"localConnections", server_.session_count()},
          {"localRooms", server_.rooms().room_count()},
          {"uptime", uptime}};
}

// Member identities, positions and URLs only for the admin, unless STATUS_PUBLIC is set
// (docs/SECURITY.md, "Who can learn what"). A wrong or missing token is not an error here:
// the extension polls without one and gets the counts.
void HttpRoutes::status(Exchange& ex) {
  const bool full = server_.config().status_public || access(ex) == AdminAccess::granted;
  answer_status(ex, full ? StatusView::full : StatusView::counts);
}

void HttpRoutes::answer_status(Exchange& ex, StatusView view) {
  boost::json::object base = status_base();
  if (auto room_id = query_param(ex.target, "roomId")) {
    status_of_room(ex, std::move(*room_id), std::move(base), view);
  } else if (!server_.config().status_list_rooms) {  // listing restricted: no rooms
    base["rooms"] = boost::json::array{};
    ex.respond(json_response(ex.req, http::status::ok, base));
  } else {
    status_listing(ex, std::move(base), view);
  }
}

// One room, always live (the extension finds its own room this way).
void HttpRoutes::status_of_room(Exchange& ex, std::string room_id, boost::json::object base,
                                StatusView view) {
  if (!protocol::is_valid_room_id(room_id)) {
    base["rooms"] = boost::json::array{};
    ex.respond(json_response(ex.req, http::status::ok, base));
    return;
  }
  server_.rooms().room_status(
      room_id, [this, view, req = ex.req, respond = std::move(ex.respond),
                base = std::move(base)](boost::json::array rooms) mutable {
        if (view == StatusView::counts) {
          for (auto& room : rooms) {
            if (room.is_object()) room = cluster::public_room_view(room.get_object());
          }
        }
        base["rooms"] = std::move(rooms);
        finish_status(std::move(req), std::move(respond), std::move(base), std::nullopt);
      });
}

// The listing, a page at a time (docs/PROTOCOL.md): ?limit= rooms (default 100, at most
// 1000) in roomId order, after ?cursor= (the nextCursor of the previous page). The work per
// request is bounded by the page, whatever the number of rooms. Without the admin view it
// is counts only: a roomId is all it takes to join an open room.
void HttpRoutes::status_listing(Exchange& ex, boost::json::object base, StatusView view) {
  const auto limit = limit_param(ex.target, kStatusPageDefault, kPageMax);
  if (!limit) {
    ex.respond(json_error(ex.req, http::status::bad_request,
                          "limit must be 1-" + std::to_string(kPageMax)));
    return;
  }
  std::string cursor = query_param(ex.target, "cursor").value_or("");
  if (!cursor.empty() && !protocol::is_valid_room_id(cursor)) {
    ex.respond(json_error(ex.req, http::status::bad_request, "Invalid cursor"));
    return;
  }
  const bool counts = view == StatusView::counts;
  // Every client polls the first page: it is rebuilt at most once per STATUS_CACHE_MS.
  const auto cache_for = server_.config().status_cache;
  const bool cacheable =
      (counts || (cursor.empty() && *limit == kStatusPageDefault)) && cache_for.count() > 0;
  const CachedStatus& cached = status_cache_[static_cast<std::size_t>(view)];
  if (cacheable && !cached.body.empty() &&
      std::chrono::steady_clock::now() - cached.built < cache_for) {
    ex.respond(make_response(ex.req, http::status::ok, cached.body, "application/json"));
    return;
  }
  // The counts need the total only, which comes with any page.
  server_.rooms().list_rooms(
      counts ? std::string() : cursor, counts ? 1 : *limit,
      [this, counts, cache = cacheable ? std::optional(view) : std::nullopt, req = ex.req,
       respond = std::move(ex.respond), base = std::move(base)](cluster::RoomPage page) mutable {
        base["rooms"] = counts ? boost::json::array{} : std::move(page.rooms);
        base["totalRooms"] = page.total;
        base["nextCursor"] = !counts && page.next_cursor
                                 ? boost::json::value(*page.next_cursor)
                                 : boost::json::value(nullptr);
        finish_status(std::move(req), std::move(respond), std::move(base), cache);
      });
}

void HttpRoutes::finish_status(HttpRequest req, std::function<void(HttpResponse)> respond,
                               boost::json::object body, std::optional<StatusView> cache) {
  server_.rooms().nodes([this, req = std::move(req), respond = std::move(respond), cache,
                         body = std::move(body)](boost::json::array nodes) mutable {
    body["nodes"] = std::move(nodes);
    std::string text = boost::json::serialize(body);
    if (cache) status_cache_[static_cast<std::size_t>(*cache)] = {text, std::chrono::steady_clock::now()};
    respond(make_response(req, http::status::ok, std::move(text), "application/json"));
  });
}

void HttpRoutes::short_id(Exchange& ex) {
  const std::string room_id(ex.params[0]);
  if (!protocol::is_valid_room_id(room_id)) {
    ex.respond(json_error(ex.req, http::status::bad_request, "Invalid roomId"));
    return;
  }
  server_.rooms().short_id_for(
      room_id, ex.client_address,
      [req = ex.req, room_id, base = server_.config().public_url,
       respond = std::move(ex.respond)](cluster::ShortIdAnswer answer) {
        if (answer.refusal == cluster::ShortIdAnswer::Refusal::rate_limited) {
          auto res = json_error(req, http::status::too_many_requests,
                                "Too many new short ids from this address");
          res.set(http::field::retry_after, std::to_string((answer.retry_after + 999) / 1000));
          respond(std::move(res));
          return;
        }
        if (!answer.short_id) {
          respond(json_error(req, http::status::service_unavailable, "Short ids unavailable"));
          return;
        }
        const std::string& id = *answer.short_id;
        respond(json_response(req, http::status::ok,
                              boost::json::object{{"shortId", id},
                                                  {"roomId", room_id},
                                                  {"shortUrl", base + "/room/" + id}}));
      });
}

void HttpRoutes::room_for_short_id(Exchange& ex) {
  const std::string short_id(ex.params[0]);
  if (!cluster::ShortIds::is_well_formed(short_id)) {
    ex.respond(json_error(ex.req, http::status::not_found, "Room not found"));
    return;
  }
  server_.rooms().room_for_short_id(
      short_id, [req = ex.req, short_id,
                 respond = std::move(ex.respond)](std::optional<std::string> room_id) {
        if (!room_id) {
          respond(json_error(req, http::status::not_found, "Room not found"));
          return;
        }
        respond(json_response(req, http::status::ok,
                              boost::json::object{{"roomId", *room_id}, {"shortId", short_id}}));
      });
}

// /room/{shortId}[/{pin}]: a redirect to Netflix, where the extension joins the room.
void HttpRoutes::room_redirect(Exchange& ex) {
  const std::string short_id(ex.params[0]);
  std::string pin = ex.params.size() == 2 ? std::string(ex.params[1]) : std::string();
  const auto room_not_found = [req = ex.req](const std::function<void(HttpResponse)>& reply) {
    reply(make_response(req, http::status::not_found, "Room not found\n", kTextPlain));
  };
  if (!cluster::ShortIds::is_well_formed(short_id) ||
      (!pin.empty() && !protocol::is_valid_pin(pin))) {
    room_not_found(ex.respond);
    return;
  }
  server_.rooms().room_for_short_id(
      short_id, [req = ex.req, pin = std::move(pin), room_not_found,
                 respond = std::move(ex.respond)](std::optional<std::string> room_id) {
        if (!room_id) {
          room_not_found(respond);
          return;
        }
        // roomId and pin are validated to [A-Za-z0-9_-] and digits: nothing to escape.
        std::string location = "https://www.netflix.com/?tandemRoom=" + *room_id;
        if (!pin.empty()) location += "&pin=" + pin;
        auto res = make_response(req, http::status::found, "", "");
        res.set(http::field::location, location);
        respond(std::move(res));
      });
}

void HttpRoutes::room_events(Exchange& ex) {
  const std::string& token = server_.config().admin_token;
  // Disabled unless an admin token is configured: the audit log shows who watched what.
  if (token.empty() || !events_) {
    not_found(ex);
    return;
  }
  if (!bearer_matches(ex.req, token)) {
    ex.respond(unauthorized(ex.req));
    return;
  }
  const std::string room_id(ex.params[0]);
  if (!protocol::is_valid_room_id(room_id)) {
    ex.respond(json_error(ex.req, http::status::bad_request, "Invalid roomId"));
    return;
  }
  const auto limit = limit_param(ex.target, kEventsDefault, kPageMax);
  if (!limit) {
    ex.respond(json_error(ex.req, http::status::bad_request,
                          "limit must be 1-" + std::to_string(kPageMax)));
    return;
  }
  events_(room_id, *limit,
          [req = ex.req, room_id,
           respond = std::move(ex.respond)](std::optional<boost::json::array> rows) {
            if (!rows) {
              respond(json_error(req, http::status::service_unavailable, "Store unavailable"));
              return;
            }
            respond(json_response(req, http::status::ok,
                                  boost::json::object{{"roomId", room_id},
                                                      {"events", std::move(*rows)}}));
          });
}

void HttpRoutes::websocket_only(Exchange& ex) {
  ex.respond(make_response(ex.req, http::status::upgrade_required,
                           "This endpoint speaks WebSocket only\n", kTextPlain));
}

}  // namespace tandem::net
