#include "redis/redis_subscriber.hpp"

#include "redis/redis_link.hpp"

#include <utility>

namespace tandem::redis {
namespace {

RedisConfig subscriber_config(RedisConfig config) {
  if (config.name == RedisConfig{}.name) config.name = "subscriber";
  return config;
}

}  // namespace

RedisSubscriber::RedisSubscriber(Executor executor, RedisConfig config, obs::Logger& logger,
                                 obs::Registry& registry)
    : link_(std::make_shared<detail::RedisLink>(std::move(executor),
                                                subscriber_config(std::move(config)), logger,
                                                registry, detail::RedisLink::Role::subscriber)) {}

RedisSubscriber::~RedisSubscriber() {
  link_->shutdown();
}

void RedisSubscriber::on_message(MessageHandler handler) {
  link_->set_message_handler(std::move(handler));
}

void RedisSubscriber::on_subscribed(SubscribedHandler handler) {
  link_->set_subscribed_handler(std::move(handler));
}

void RedisSubscriber::on_state_change(StateHandler handler) {
  link_->set_state_handler(std::move(handler));
}

void RedisSubscriber::start() {
  link_->start();
}

bool RedisSubscriber::connected() const noexcept {
  return link_->connected();
}

void RedisSubscriber::subscribe(const std::string& channel) {
  link_->subscribe(channel);
}

void RedisSubscriber::unsubscribe(const std::string& channel) {
  link_->unsubscribe(channel);
}

const std::set<std::string>& RedisSubscriber::channels() const noexcept {
  return link_->channels();
}

}  // namespace tandem::redis
