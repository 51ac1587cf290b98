#include "redis/redis_connection.hpp"

#include "redis/redis_link.hpp"

#include <utility>

namespace tandem::redis {

RedisConnection::RedisConnection(Executor executor, RedisConfig config, obs::Logger& logger,
                                 obs::Registry& registry)
    : link_(std::make_shared<detail::RedisLink>(std::move(executor), std::move(config), logger,
                                                registry, detail::RedisLink::Role::command)) {}

RedisConnection::~RedisConnection() {
  link_->shutdown();
}

void RedisConnection::on_state_change(StateHandler handler) {
  link_->set_state_handler(std::move(handler));
}

void RedisConnection::start() {
  link_->start();
}

bool RedisConnection::connected() const noexcept {
  return link_->connected();
}

std::size_t RedisConnection::pending() const noexcept {
  return link_->pending();
}

void RedisConnection::command(const std::vector<std::string>& args, ReplyCallback callback) {
  link_->command(args, std::move(callback));
}

void RedisConnection::eval_sha(const LuaScript& script, const std::vector<std::string>& keys,
                               const std::vector<std::string>& args, ReplyCallback callback) {
  std::vector<std::string> request;
  request.reserve(3 + keys.size() + args.size());
  request.emplace_back("EVALSHA");
  request.push_back(script.sha1());
  request.push_back(std::to_string(keys.size()));
  request.insert(request.end(), keys.begin(), keys.end());
  request.insert(request.end(), args.begin(), args.end());
  link_->command(request,
                 [weak = std::weak_ptr<detail::RedisLink>(link_), source = script.shared_source(),
                  request, callback = std::move(callback)](Reply reply) mutable {
                   if (!reply.is_error() || reply.error_code() != "NOSCRIPT") {
                     callback(std::move(reply));
                     return;
                   }
                   const auto link = weak.lock();
                   if (!link) return;  // unreachable: callbacks do not run after destruction
                   request[0] = "EVAL";
                   request[1] = *source;
                   link->command(request, std::move(callback));
                 });
}

}  // namespace tandem::redis
