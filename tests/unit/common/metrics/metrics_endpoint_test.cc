#include "common/metrics/metrics_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace synmap::common {
namespace {

using ::synmap::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class MetricsEndpointTest : public ::testing::Test {
 protected:
  MetricsEndpointTest() : packets_(registry_.AddCounter("packets_total", "Packets.")) {}

  std::unique_ptr<MetricsEndpoint> StartEndpoint() {
    absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
        MetricsEndpoint::Bind("127.0.0.1:0", registry_);
    EXPECT_OK(endpoint.status());
    if (!endpoint.ok()) {
      return nullptr;
    }
    const absl::Status started = (*endpoint)->Start();
    EXPECT_OK(started);
    return *std::move(endpoint);
  }

  MetricsRegistry registry_;
  Counter& packets_;
};

TEST_F(MetricsEndpointTest, GetMetricsServesTheRegistryAsPrometheusText) {
  packets_.Increment(7);
  std::unique_ptr<MetricsEndpoint> endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  EXPECT_EQ(endpoint->address(), absl::StrCat("127.0.0.1:", endpoint->port()));
  httplib::Client client("127.0.0.1", endpoint->port());
  httplib::Result result = client.Get("/metrics");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(result->body,
            "# HELP packets_total Packets.\n# TYPE packets_total counter\n"
            "packets_total 7\n");
}

TEST_F(MetricsEndpointTest, OtherPathsAre404AndOtherMethods405) {
  std::unique_ptr<MetricsEndpoint> endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  httplib::Client client("127.0.0.1", endpoint->port());
  httplib::Result other = client.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  httplib::Result post = client.Post("/metrics", "x=1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  httplib::Result del = client.Delete("/metrics");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
}

TEST_F(MetricsEndpointTest, APortInUseIsRefusedByName) {
  std::unique_ptr<MetricsEndpoint> first = StartEndpoint();
  ASSERT_NE(first, nullptr);
  const std::string address = absl::StrCat("127.0.0.1:", first->port());
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> second =
      MetricsEndpoint::Bind(address, registry_);
  EXPECT_THAT(second.status(), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr(absl::StrCat(address, ": address already in use")));
}

TEST_F(MetricsEndpointTest, MalformedAddressesAreInvalidArguments) {
  for (const char* bad :
       {"9101", ":9101", "127.0.0.1", "127.0.0.1:70000", "::1:9101", "host:port", "127.0.0.1:-1"}) {
    EXPECT_THAT(MetricsEndpoint::Bind(bad, registry_).status(),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
  std::string host;
  int port = 0;
  ASSERT_OK(SplitListenAddress("[::1]:9101", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9101);
}

TEST_F(MetricsEndpointTest, StopClosesThePortAndIsIdempotent) {
  std::unique_ptr<MetricsEndpoint> endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  const int port = endpoint->port();
  httplib::Client client("127.0.0.1", port);
  ASSERT_TRUE(client.Get("/metrics"));  // Leaves a keep-alive connection open.
  endpoint->Stop();
  endpoint->Stop();
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1);
  EXPECT_FALSE(after.Get("/metrics"));
  // The port is free again for the next process.
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> again =
      MetricsEndpoint::Bind(absl::StrCat("127.0.0.1:", port), registry_);
  EXPECT_OK(again.status());
}

TEST_F(MetricsEndpointTest, StopRightAfterStartAndWithoutStartReturns) {
  for (int i = 0; i < 20; ++i) {
    std::unique_ptr<MetricsEndpoint> endpoint = StartEndpoint();
    ASSERT_NE(endpoint, nullptr);
    endpoint->Stop();
  }
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> never_started =
      MetricsEndpoint::Bind("127.0.0.1:0", registry_);
  ASSERT_OK(never_started.status());
  const int port = (*never_started)->port();
  never_started->reset();
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> rebound =
      MetricsEndpoint::Bind(absl::StrCat("127.0.0.1:", port), registry_);
  EXPECT_OK(rebound.status());
}

TEST_F(MetricsEndpointTest, ScrapesRacingWithCountingSeeMonotonicValues) {
  Histogram& latency = registry_.AddHistogram("latency_seconds", "x", DurationBucketsSeconds());
  std::unique_ptr<MetricsEndpoint> endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  std::atomic<bool> done{false};
  std::vector<std::thread> counters;
  for (int t = 0; t < 2; ++t) {
    counters.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        packets_.Increment();
        latency.Observe(0.001 * (i % 7));
      }
    });
  }
  std::thread scraper([&] {
    httplib::Client client("127.0.0.1", endpoint->port());
    uint64_t last = 0;
    while (!done.load()) {
      httplib::Result r = client.Get("/metrics");
      ASSERT_TRUE(r);
      const size_t at = r->body.find("\npackets_total ");
      ASSERT_NE(at, std::string::npos);
      const uint64_t value = std::strtoull(r->body.c_str() + at + 15, nullptr, 10);
      EXPECT_GE(value, last);
      last = value;
    }
  });
  for (std::thread& t : counters) {
    t.join();
  }
  done.store(true);
  scraper.join();
  httplib::Client client("127.0.0.1", endpoint->port());
  httplib::Result r = client.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_THAT(r->body, HasSubstr("\npackets_total 40000\n"));
  EXPECT_THAT(r->body, HasSubstr("latency_seconds_bucket{le=\"+Inf\"} 40000\n"));
  EXPECT_THAT(r->body, HasSubstr("latency_seconds_count 40000\n"));
  EXPECT_THAT(r->body, StartsWith("# HELP packets_total"));
}

}  // namespace
}  // namespace synmap::common
