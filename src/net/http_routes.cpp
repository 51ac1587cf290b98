#include "net/http_routes.hpp"

#include "cluster/short_ids.hpp"
#include "net/server.hpp"
#include "obs/clock.hpp"
#include "obs/metrics.hpp"
#include "protocol/text.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace tandem::net {

namespace http = beast::http;

namespace {

// GET /status listing pages (docs/PROTOCOL.md).
constexpr std::size_t kStatusPageDefault = 100;
constexpr std::size_t kStatusPageMax = 1000;

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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "/room/abc/1234/" into segments, ignoring empty ones (a trailing slash).
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Compares without an early exit, so the time taken does not reveal the matching prefix.
bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < b.size(); ++i) {
    diff |= static_cast<unsigned char>((i < a.size() ? a[i] : 0) ^ b[i]);
  }
  return diff == 0;
}

// The request carries `Authorization: Bearer <token>`.
bool bearer_matches(const HttpRequest& req, const std::string& token) {
  const auto auth = req[http::field::authorization];
  return constant_time_equal(std::string_view(auth.data(), auth.size()), "Bearer " + token);
}

HttpResponse unauthorized(const HttpRequest& req) {
  auto res = json_response(req, http::status::unauthorized,
                           boost::json::object{{"error", "Unauthorized"}});
  res.set(http::field::www_authenticate, "Bearer");
  return res;
}

}  // namespace

std::string_view path_of(std::string_view target) noexcept {
  const std::size_t q = target.find_first_of("?#");
  return q == std::string_view::npos ? target : target.substr(0, q);
}

std::optional<std::string> query_param(std::string_view target, std::string_view key) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  if (const std::size_t hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != key) continue;
    const std::string_view raw = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    std::string value;
    value.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '+') {
        value.push_back(' ');
      } else if (raw[i] == '%' && i + 2 < raw.size() && hex_value(raw[i + 1]) >= 0 &&
                 hex_value(raw[i + 2]) >= 0) {
        value.push_back(static_cast<char>(hex_value(raw[i + 1]) * 16 + hex_value(raw[i + 2])));
        i += 2;
      } else {
        value.push_back(raw[i]);
      }
    }
    return value;
  }
  return std::nullopt;
}

HttpRoutes::HttpRoutes(Server& server, obs::Registry& registry)
    : server_(server), registry_(registry), started_(std::chrono::steady_clock::now()) {
  registry_.gauge_callback("tandem_uptime_seconds", "Seconds since the process started", [this] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  });
}

HttpResponse HttpRoutes::refuse_upgrade(const HttpRequest& request, http::status status,
                                        std::string_view why) const {
  auto res = json_response(request, status, boost::json::object{{"error", why}});
  res.keep_alive(false);
  return res;
}

HttpResponse HttpRoutes::refuse(http::status status, std::string_view why) const {
  return refuse_upgrade(HttpRequest{http::verb::get, "/", 11}, status, why);
}

void HttpRoutes::status(const HttpRequest& req, std::string_view target,
                        std::function<void(HttpResponse)> respond) {
  const NetConfig& config = server_.config();
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  boost::json::object base{{"nodeId", config.node_id},
                           {"timestamp", obs::wall_clock_ms()},
                           {"localConnections", server_.session_count()},
                           {"localRooms", server_.rooms().room_count()},
                           {"uptime", uptime}};
  // Adds "nodes", serializes, answers (and keeps the body when it is the cached page).
  auto finish = [this, req, respond](boost::json::object body, bool cache) {
    server_.rooms().nodes([this, req, respond, cache,
                           body = std::move(body)](boost::json::array nodes) mutable {
      body["nodes"] = std::move(nodes);
      std::string text = boost::json::serialize(body);
      if (cache) {
        status_body_ = text;
        status_built_ = std::chrono::steady_clock::now();
      }
      respond(make_response(req, http::status::ok, std::move(text), "application/json"));
    });
  };

  if (auto room_id = query_param(target, "roomId")) {
    // One room, always live (the extension finds its own room this way).
    if (!protocol::is_valid_room_id(*room_id)) {
      base["rooms"] = boost::json::array{};
      respond(json_response(req, http::status::ok, base));
      return;
    }
    server_.rooms().room_status(
        *room_id, [finish, base = std::move(base)](boost::json::array rooms) mutable {
          base["rooms"] = std::move(rooms);
          finish(std::move(base), false);
        });
    return;
  }
  if (!config.status_list_rooms) {  // listing restricted: answer with no rooms
    base["rooms"] = boost::json::array{};
    respond(json_response(req, http::status::ok, base));
    return;
  }
  // The listing, a page at a time (docs/PROTOCOL.md): ?limit= rooms (default 100, at most
  // 1000) in roomId order, after ?cursor= (the nextCursor of the previous page). The work
  // per request is bounded by the page, whatever the number of rooms.
  std::size_t limit = kStatusPageDefault;
  if (auto text = query_param(target, "limit")) {
    std::size_t value = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || p != text->data() + text->size() || value < 1 ||
        value > kStatusPageMax) {
      respond(json_response(req, http::status::bad_request,
                            boost::json::object{{"error", "limit must be 1-" +
                                                              std::to_string(kStatusPageMax)}}));
      return;
    }
    limit = value;
  }
  std::string cursor = query_param(target, "cursor").value_or("");
  if (!cursor.empty() && !protocol::is_valid_room_id(cursor)) {
    respond(json_response(req, http::status::bad_request,
                          boost::json::object{{"error", "Invalid cursor"}}));
    return;
  }
  // Every client polls the first page: it is rebuilt at most once per STATUS_CACHE_MS.
  const bool cacheable =
      cursor.empty() && limit == kStatusPageDefault && config.status_cache.count() > 0;
  if (cacheable && !status_body_.empty() &&
      std::chrono::steady_clock::now() - status_built_ < config.status_cache) {
    respond(make_response(req, http::status::ok, status_body_, "application/json"));
    return;
  }
  server_.rooms().list_rooms(
      cursor, limit,
      [finish, cacheable, base = std::move(base)](cluster::RoomPage page) mutable {
        base["rooms"] = std::move(page.rooms);
        base["totalRooms"] = page.total;
        base["nextCursor"] = page.next_cursor ? boost::json::value(*page.next_cursor) : nullptr;
        finish(std::move(base), cacheable);
      });
}

void HttpRoutes::handle(const HttpRequest& req, const std::string& client_address,
                        std::function<void(HttpResponse)> respond) {
  auto& counters = server_.metrics().http_requests;
  const NetConfig& config = server_.config();
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = path_of(target);

  if (req.method() == http::verb::options) {
    counters["OPTIONS"].inc();
    respond(make_response(req, http::status::ok, "", ""));
    return;
  }
  const auto parts = segments(path);
  const bool is_get = req.method() == http::verb::get || req.method() == http::verb::head;
  const auto not_found = [&] {
    counters["not_found"].inc();
    respond(make_response(req, http::status::not_found, "Not found\n", "text/plain; charset=utf-8"));
  };
  if (!is_get) {
    counters["not_found"].inc();
    auto res = make_response(req, http::status::method_not_allowed, "Method not allowed\n",
                             "text/plain; charset=utf-8");
    res.set(http::field::allow, "GET, OPTIONS");
    respond(std::move(res));
    return;
  }

  if (parts.empty()) {
    counters["/"].inc();
    std::string banner = "tandem.watch signaling server (node " + config.node_id + ")\n" +
                         "WebSocket: /ws\n"
                         "HTTP: /health /ready /status /metrics /api/short-id/{roomId} "
                         "/api/room/{shortId} /room/{shortId}[/{pin}]\n"
                         "Web: /demo?room={roomId} (watch party) /dashboard (operations)\n";
    respond(make_response(req, http::status::ok, std::move(banner), "text/plain; charset=utf-8"));
    return;
  }
  const std::string_view head = parts[0];

  if (parts.size() == 1 && head == "health") {
    counters["/health"].inc();
    respond(json_response(req, http::status::ok,
                          boost::json::object{{"status", "ok"}, {"nodeId", config.node_id}}));
    return;
  }
  if (parts.size() == 1 && head == "ready") {
    counters["/ready"].inc();
    const bool draining = server_.draining();
    const bool backends = server_.rooms().backends_ready();
    const bool store = !store_ready_ || store_ready_();
    const bool ready = !draining && backends && store;
    boost::json::object body{
        {"status", ready ? "ready" : (draining ? "draining" : "unavailable")},
        {"nodeId", config.node_id}};
    if (!draining && !ready) body["reason"] = backends ? "store" : "redis";
    respond(json_response(req, ready ? http::status::ok : http::status::service_unavailable, body));
    return;
  }
  if (parts.size() == 1 && head == "metrics") {
    counters["/metrics"].inc();
    respond(make_response(req, http::status::ok, registry_.render(),
                          "text/plain; version=0.0.4; charset=utf-8"));
    return;
  }
  if (parts.size() == 1 && head == "status") {
    counters["/status"].inc();
    status(req, target, std::move(respond));
    return;
  }
  if ((head == "demo" || head == "dashboard") && parts.size() <= 2) {
    // The web pages (web/demo, web/dashboard). The dashboard page holds no data: what it
    // shows comes from /api/dashboard/*, which ADMIN_TOKEN guards.
    const EmbeddedFile* file = assets_.find(path);
    if (file == nullptr) {
      not_found();
      return;
    }
    const bool demo = head == "demo";
    counters[demo ? "/demo" : "/dashboard"].inc();
    const std::string csp = demo ? demo_csp(query_param(target, "src")) : dashboard_csp();
    auto res = static_response(req, *file, csp);
    add_cors(res);
    respond(std::move(res));
    return;
  }
  if (head == "api" && parts.size() == 3 && parts[1] == "dashboard" &&
      (parts[2] == "metrics" || parts[2] == "status")) {
    counters["/api/dashboard"].inc();
    // Open when no ADMIN_TOKEN is set (the same data as /metrics and /status); otherwise the
    // dashboard sends the token it asked its user for as a Bearer token.
    if (!config.admin_token.empty() && !bearer_matches(req, config.admin_token)) {
      respond(unauthorized(req));
      return;
    }
    if (parts[2] == "metrics") {
      respond(make_response(req, http::status::ok, registry_.render(),
                            "text/plain; version=0.0.4; charset=utf-8"));
    } else {
      status(req, target, std::move(respond));
    }
    return;
  }
  if (head == "api" && parts.size() == 3 && parts[1] == "short-id") {
    counters["/api/short-id"].inc();
    const std::string room_id(parts[2]);
    if (!protocol::is_valid_room_id(room_id)) {
      respond(json_response(req, http::status::bad_request,
                            boost::json::object{{"error", "Invalid roomId"}}));
      return;
    }
    server_.rooms().short_id_for(
        room_id, client_address,
        [req, room_id, base = config.public_url,
         respond = std::move(respond)](cluster::ShortIdAnswer answer) {
          if (answer.refusal == cluster::ShortIdAnswer::Refusal::rate_limited) {
            auto res = json_response(
                req, http::status::too_many_requests,
                boost::json::object{{"error", "Too many new short ids from this address"}});
            res.set(http::field::retry_after, std::to_string((answer.retry_after + 999) / 1000));
            respond(std::move(res));
            return;
          }
          if (!answer.short_id) {
            respond(json_response(req, http::status::service_unavailable,
                                  boost::json::object{{"error", "Short ids unavailable"}}));
            return;
          }
          const std::string& id = *answer.short_id;
          respond(json_response(req, http::status::ok,
                                boost::json::object{{"shortId", id},
                                                    {"roomId", room_id},
                                                    {"shortUrl", base + "/room/" + id}}));
        });
    return;
  }
  if (head == "api" && parts.size() == 3 && parts[1] == "room") {
    counters["/api/room"].inc();
    const std::string short_id(parts[2]);
    const auto room_not_found = [req](const std::function<void(HttpResponse)>& reply) {
      reply(json_response(req, http::status::not_found,
                          boost::json::object{{"error", "Room not found"}}));
    };
    if (!cluster::ShortIds::is_well_formed(short_id)) {
      room_not_found(respond);
      return;
    }
    server_.rooms().room_for_short_id(
        short_id, [req, short_id, room_not_found,
                   respond = std::move(respond)](std::optional<std::string> room_id) {
          if (!room_id) {
            room_not_found(respond);
            return;
          }
          respond(json_response(req, http::status::ok,
                                boost::json::object{{"roomId", *room_id}, {"shortId", short_id}}));
        });
    return;
  }
  if (head == "room" && (parts.size() == 2 || parts.size() == 3)) {
    counters["/room"].inc();
    const std::string short_id(parts[1]);
    std::string pin = parts.size() == 3 ? std::string(parts[2]) : std::string();
    const auto room_not_found = [req](const std::function<void(HttpResponse)>& reply) {
      reply(make_response(req, http::status::not_found, "Room not found\n",
                          "text/plain; charset=utf-8"));
    };
    if (!cluster::ShortIds::is_well_formed(short_id) ||
        (!pin.empty() && !protocol::is_valid_pin(pin))) {
      room_not_found(respond);
      return;
    }
    server_.rooms().room_for_short_id(
        short_id, [req, pin = std::move(pin), room_not_found,
                   respond = std::move(respond)](std::optional<std::string> room_id) {
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
    return;
  }
  if (head == "api" && parts.size() == 4 && parts[1] == "rooms" && parts[3] == "events") {
    counters["/api/rooms/events"].inc();
    // Disabled unless an admin token is configured: the audit log shows who watched what.
    if (config.admin_token.empty() || !events_) {
      not_found();
      return;
    }
    if (!bearer_matches(req, config.admin_token)) {
      respond(unauthorized(req));
      return;
    }
    const std::string room_id(parts[2]);
    if (!protocol::is_valid_room_id(room_id)) {
      respond(json_response(req, http::status::bad_request,
                            boost::json::object{{"error", "Invalid roomId"}}));
      return;
    }
    std::size_t limit = 100;
    if (auto text = query_param(target, "limit")) {
      std::size_t value = 0;
      auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
      if (ec != std::errc{} || p != text->data() + text->size() || value < 1 || value > 1000) {
        respond(json_response(req, http::status::bad_request,
                              boost::json::object{{"error", "limit must be 1-1000"}}));
        return;
      }
      limit = value;
    }
    events_(room_id, limit,
            [req, room_id, respond = std::move(respond)](std::optional<boost::json::array> rows) {
              if (!rows) {
                respond(json_response(req, http::status::service_unavailable,
                                      boost::json::object{{"error", "Store unavailable"}}));
                return;
              }
              respond(json_response(req, http::status::ok,
                                    boost::json::object{{"roomId", room_id},
                                                        {"events", std::move(*rows)}}));
            });
    return;
  }
  if (parts.size() == 1 && head == "ws") {
    counters["/ws"].inc();
    respond(make_response(req, http::status::upgrade_required,
                          "This endpoint speaks WebSocket only\n", "text/plain; charset=utf-8"));
    return;
  }
  not_found();
}

}  // namespace tandem::net
