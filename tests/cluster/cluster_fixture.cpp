#include "cluster/cluster_fixture.hpp"

namespace tandem::test {

void ClusterFixture::SetUp() { redis.start(); }

Env ClusterFixture::node_env(std::size_t index, const Env& extra) const {
  Env env{{"REDIS_URL", redis.url()},
          {"NODE_ID", "node-" + std::to_string(index)},
          {"NODE_DEAD_AFTER_MS", "2000"},
          {"CLUSTER_SWEEP_MS", "200"}};
  for (const auto& [key, value] : extra) env[key] = value;
  return env;
}

void ClusterFixture::start_nodes(std::size_t n, const Env& extra) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t index = nodes_started++;
    start_server(node_env(index, extra));
    if (!wait_ready(index, 200)) {
      fail_at(std::source_location::current(), "node-" + std::to_string(index) + " never got ready");
    }
  }
}

bool ClusterFixture::wait_ready(std::size_t index, int status, Millis timeout) {
  return eventually(
      [&] { return http_get(port(index), "/ready", {}, kTimeout).status == status; }, timeout);
}

}  // namespace tandem::test
