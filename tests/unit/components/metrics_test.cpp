#include "net/http_routes.hpp"
#include "obs/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace tandem {
namespace {

TEST(Metrics, RendersPrometheusTextFormat) {
  obs::Registry registry;
  registry.counter("tandem_x_total", "Things", {{"type", "A"}}).inc(3);
  registry.counter("tandem_x_total", "Things", {{"type", "B\"q"}}).inc();
  registry.gauge("tandem_g", "A gauge").set(2.5);
  registry.gauge_callback("tandem_cb", "Callback", [] { return 7.0; });
  const std::string text = registry.render();
  EXPECT_NE(text.find("# HELP tandem_x_total Things\n# TYPE tandem_x_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("tandem_x_total{type=\"A\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("tandem_x_total{type=\"B\\\"q\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE tandem_g gauge\ntandem_g 2.5\n"), std::string::npos);
  EXPECT_NE(text.find("tandem_cb 7\n"), std::string::npos);
}

TEST(Metrics, SameNameAndLabelsIsTheSameInstrument) {
  obs::Registry registry;
  auto& a = registry.counter("c_total", "h", {{"k", "v"}});
  auto& b = registry.counter("c_total", "h", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
  a.inc();
  EXPECT_EQ(registry.sample("c_total", {{"k", "v"}}), 1);
}

TEST(Metrics, CounterSetFoldsUnknownValuesIntoOther) {
  obs::Registry registry;
  obs::CounterSet set(registry, "m_total", "h", "type", {"JOIN", "PING"});
  set["JOIN"].inc();
  set["WHATEVER"].inc(2);
  EXPECT_EQ(registry.sample("m_total", {{"type", "JOIN"}}), 1);
  EXPECT_EQ(registry.sample("m_total", {{"type", "other"}}), 2);
}

TEST(Metrics, HistogramRendersCumulativeBucketsSumAndCount) {
  obs::Registry registry;
  auto& h = registry.histogram("spread_seconds", "Spread", {0.04, 0.01});  // sorted on creation
  EXPECT_EQ(&registry.histogram("spread_seconds", "Spread", {1}), &h);
  h.observe(0.005);
  h.observe(0.01);  // a bound is inclusive (le)
  h.observe(0.03);
  h.observe(7);
  h.observe(std::numeric_limits<double>::quiet_NaN());  // not an observation
  EXPECT_EQ(h.count(), 4U);
  const std::string text = registry.render();
  EXPECT_NE(text.find("# TYPE spread_seconds histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("spread_seconds_bucket{le=\"0.01\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("spread_seconds_bucket{le=\"0.04\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("spread_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("spread_seconds_sum 7.045\n"), std::string::npos) << text;
  EXPECT_NE(text.find("spread_seconds_count 4\n"), std::string::npos) << text;
}

TEST(HttpRoutes, PathAndQueryParsing) {
  EXPECT_EQ(net::path_of("/status?roomId=abc"), "/status");
  EXPECT_EQ(net::path_of("/room/abc#frag"), "/room/abc");
  EXPECT_EQ(net::query_param("/status?roomId=abc&x=1", "roomId"), "abc");
  EXPECT_EQ(net::query_param("/status?x=1&roomId=a%2Db", "roomId"), "a-b");
  EXPECT_EQ(net::query_param("/status?roomId=", "roomId"), "");
  EXPECT_FALSE(net::query_param("/status?room=1", "roomId"));
  EXPECT_FALSE(net::query_param("/status", "roomId"));
  EXPECT_EQ(net::query_param("/s?roomId=bad%2", "roomId"), "bad%2");
}

}  // namespace
}  // namespace tandem
