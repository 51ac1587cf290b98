#pragma once
// The base of the cluster tests: a real redis-server of the test's own, and nodes
// (real tandem-server processes) joined through it, numbered node-0, node-1, ...
#include "redis/redis_server.hpp"
#include "support/fixture.hpp"

namespace tandem::test {

class ClusterFixture : public TandemTest {
 protected:
  void SetUp() override;

  // Environment of node `index`: REDIS_URL, NODE_ID=node-<index>, quick liveness
  // (NODE_DEAD_AFTER_MS 2000, CLUSTER_SWEEP_MS 200), then `extra`.
  Env node_env(std::size_t index, const Env& extra = {}) const;
  // Starts `n` more nodes and waits until each listens and is ready (Redis reached).
  void start_nodes(std::size_t n, const Env& extra = {});
  // Waits until GET /ready of node `index` answers `status` (200 or 503).
  bool wait_ready(std::size_t index, int status, Millis timeout = kTimeout);

  RedisServer redis;
  std::size_t nodes_started = 0;
};

}  // namespace tandem::test
