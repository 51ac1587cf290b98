#include "cluster/cluster_metrics.hpp"

namespace tandem::cluster {

ClusterMetrics::ClusterMetrics(obs::Registry& registry)
    : conflicts(registry.counter("tandem_cluster_cas_conflicts_total",
                                 "Room mutations that met a newer version and were re-applied")),
      failed(registry.counter("tandem_cluster_ops_failed_total",
                              "Room operations given up (Redis unreachable, conflicts exhausted, "
                              "queue full)")),
      messages_in(
          registry.counter("tandem_cluster_messages_in_total", "Room channel messages received")),
      bad_messages(registry.counter("tandem_cluster_bad_messages_total",
                                    "Room channel messages that could not be decoded")),
      dead_members(registry.counter("tandem_cluster_dead_node_members_removed_total",
                                    "Members removed because their node died")),
      restored(
          registry.counter("tandem_cluster_rooms_restored_total",
                           "Rooms Redis had lost, re-created from a node's copy or the record")),
      lost_registration(registry.counter(
          "tandem_cluster_registration_lost_total",
          "Times this node found its liveness key gone (declared dead, or Redis emptied)")) {}

}  // namespace tandem::cluster
