#pragma once
// Short ids in cluster mode: the policy of short_ids.hpp (standalone) kept in Redis, so
// every node sees the same ids and the same bounds.
//
// Keys (redis_keys.hpp): tandem:short:ID -> room and tandem:{room:ID}:short -> id, with the
// id's TTL (SET NX makes ids unique); tandem:short:evictable, a sorted set of the ids of
// rooms that do not exist (scored by expiry), at most SHORT_ID_MAX_PENDING of them: past
// it the lowest scores are popped and their keys deleted; tandem:{addr:A}:shortids, the
// per-address counter of new ids for absent rooms (INCR, TTL = the window). "The room
// exists": its state key is persistent (an emptied room's is a tombstone with a TTL).
//
// The steps are separate commands (the keys live in different Redis Cluster slots), so
// nodes racing on one room may briefly over-fill the evictable set by the requests in
// flight, and an id's score may be earlier than its real expiry (it is evicted a little
// sooner); an id is never served for the wrong room.
#include "cluster/room_journal.hpp"
#include "cluster/rooms.hpp"
#include "cluster/short_id_metrics.hpp"
#include "cluster/short_ids.hpp"
#include "redis/lua_script.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tandem::redis {
class RedisConnection;
struct Reply;
}  // namespace tandem::redis

namespace tandem::cluster {

struct RedisShortIdOptions {
  ShortIdOptions ids;
  std::size_t max_new_per_address = 60;
  protocol::Millis rate_window = 60'000;
};

class RedisShortIds {
 public:
  RedisShortIds(redis::RedisConnection& redis, RedisShortIdOptions options,
                ShortIdMetrics& metrics, RoomJournal* journal, std::function<protocol::Millis()> clock);
  ~RedisShortIds();
  RedisShortIds(const RedisShortIds&) = delete;
  RedisShortIds& operator=(const RedisShortIds&) = delete;

  void issue(const std::string& room_id, const std::string& address,
             std::function<void(ShortIdAnswer)> done);
  void resolve(const std::string& short_id, std::function<void(std::optional<std::string>)> done);
  // The room was created (its pending id gets the full TTL) or ended (its id becomes
  // evictable). Best effort: a failure leaves the id as it was.
  void room_created(const std::string& room_id);
  void room_ended(const std::string& room_id);

 private:
  using Done = std::shared_ptr<std::function<void(ShortIdAnswer)>>;
  // The room's live id (refreshed) or a new one; `exists`: the room has members.
  void serve(const std::string& room_id, const std::string& address, bool exists,
             const redis::Reply& current, const Done& done);
  void create(const std::string& room_id, bool exists, const Done& done);
  void claim(const std::string& room_id, bool exists, int tries_left, const Done& done);
  // Pops evictable ids until at most `keep` remain (expired ones first, not counted).
  void make_room(std::size_t keep, std::function<void()> then);
  void evict(const std::string& short_id);
  void journal(const std::string& short_id, const std::string& room_id, protocol::Millis expires_at);

  redis::RedisConnection& redis_;
  RedisShortIdOptions options_;
  ShortIdMetrics& metrics_;
  RoomJournal* journal_;
  std::function<protocol::Millis()> clock_;
  redis::LuaScript rate_script_;
  redis::LuaScript make_room_script_;
  redis::LuaScript unbind_script_;
  std::shared_ptr<RedisShortIds*> alive_;
};

}  // namespace tandem::cluster
