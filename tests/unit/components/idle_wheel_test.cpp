// IdleWheel (net/idle_wheel.hpp): a connection is expired once silent for more than the
// timeout's whole ticks and not before; one that keeps speaking never is; closed ones are
// dropped without being expired; under churn the wheel stays within 2 x live + kSlack ids.
#include "net/idle_wheel.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

namespace tandem::net {
namespace {

// Fake sessions: id -> last active tick.
struct Sessions {
  std::map<cluster::ConnId, std::uint64_t> active;
  std::vector<cluster::ConnId> expired;

  void open(IdleWheel& wheel, cluster::ConnId id) {
    active[id] = wheel.now();
    wheel.watch(id, active.size(), [this](cluster::ConnId c) { return active.contains(c); });
  }
  void advance(IdleWheel& wheel) {
    wheel.advance(
        [this](cluster::ConnId id) -> std::optional<std::uint64_t> {
          const auto it = active.find(id);
          if (it == active.end()) return std::nullopt;
          return it->second;
        },
        [this](cluster::ConnId id) {
          expired.push_back(id);
          active.erase(id);  // the session closes at once, as WsSession::expire_idle may
        });
  }
};

TEST(IdleWheel, ASilentConnectionExpiresAfterTheWholeTimeoutAndNotBefore) {
  IdleWheel wheel(4);
  Sessions s;
  s.open(wheel, 1);
  for (int i = 0; i < 4; ++i) {
    s.advance(wheel);
    EXPECT_TRUE(s.expired.empty()) << "tick " << wheel.now();
  }
  s.advance(wheel);  // tick 5: silent since tick 0, i.e. for more than 4 whole ticks
  EXPECT_EQ(s.expired, std::vector<cluster::ConnId>{1});
  EXPECT_EQ(wheel.entries(), 0U);
}

TEST(IdleWheel, ATalkerIsReFiledAndExpiresOnlyOnceSilent) {
  IdleWheel wheel(3);
  Sessions s;
  s.open(wheel, 7);
  for (int i = 0; i < 40; ++i) {  // ten timeouts, speaking every other tick
    s.advance(wheel);
    if (i % 2 == 0) s.active[7] = wheel.now();
  }
  EXPECT_TRUE(s.expired.empty());
  EXPECT_EQ(wheel.entries(), 1U) << "one slot holds it, never two";
  const std::uint64_t last = s.active[7];
  while (s.expired.empty() && wheel.now() < last + 10) s.advance(wheel);
  EXPECT_EQ(s.expired, std::vector<cluster::ConnId>{7});
  EXPECT_EQ(wheel.now(), last + 4);
}

TEST(IdleWheel, ClosedConnectionsAreDroppedNotExpired) {
  IdleWheel wheel(2);
  Sessions s;
  s.open(wheel, 1);
  s.open(wheel, 2);
  s.active.erase(1);  // closed by its client
  for (int i = 0; i < 3; ++i) s.advance(wheel);
  EXPECT_EQ(s.expired, std::vector<cluster::ConnId>{2});
  EXPECT_EQ(wheel.entries(), 0U);
}

TEST(IdleWheel, ChurnKeepsTheWheelWithinTwiceTheLiveConnectionsPlusSlack) {
  IdleWheel wheel(120);
  Sessions s;
  for (cluster::ConnId id = 1; id <= 10; ++id) s.open(wheel, id);  // stay, silent
  cluster::ConnId next = 100;
  for (int tick = 0; tick < 100; ++tick) {  // under the timeout: no slot comes due for these
    for (int i = 0; i < 1000; ++i) {
      s.open(wheel, next);
      ASSERT_LE(wheel.entries(), 2 * s.active.size() + IdleWheel::kSlack);
      s.active.erase(next++);  // closed at once
    }
    s.advance(wheel);
  }
  EXPECT_TRUE(s.expired.empty());
  // The ten silent ones survived every sweep and still expire on time.
  while (wheel.now() < 121) s.advance(wheel);
  EXPECT_EQ(s.expired.size(), 10U);
  EXPECT_TRUE(s.active.empty());
}

}  // namespace
}  // namespace tandem::net
