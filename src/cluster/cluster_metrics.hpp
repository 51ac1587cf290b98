#pragma once
// The counters of cluster mode's room runtime (RedisRooms, its queue and its channel).
#include "obs/metrics.hpp"

namespace tandem::cluster {

struct ClusterMetrics {
  explicit ClusterMetrics(obs::Registry& registry);

  obs::Counter& conflicts;
  obs::Counter& failed;
  obs::Counter& messages_in;
  obs::Counter& bad_messages;
  obs::Counter& dead_members;
  obs::Counter& restored;
  obs::Counter& lost_registration;
};

}  // namespace tandem::cluster
