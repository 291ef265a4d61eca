// The flow table on hand-made packets: both directions in one flow, expiry by timeout class,
// and the memcap bound (eviction counted) when the pool is full.

#include "flow_table.h"

#include <gtest/gtest.h>

#include <vector>

#include "flow_internals.h"

namespace mimamori::net {
namespace {

Packet udp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, int64_t t_us) {
  Packet p;
  p.timestamp = core::Timestamp{t_us};
  p.ip_version = 4;
  p.src_ip = core::IpAddress::v4(src);
  p.dst_ip = core::IpAddress::v4(dst);
  p.proto = ip_proto::kUdp;
  p.src_port = sport;
  p.dst_port = dport;
  return p;
}

struct Ended {
  std::vector<std::pair<uint64_t, FlowEndReason>> flows;
  FlowTable::EndFn fn() {
    return [this](Flow& f, FlowEndReason r) { flows.emplace_back(f.id, r); };
  }
};

TEST(FlowTable, BothDirectionsShareOneFlow) {
  Ended ended;
  FlowTable table(FlowTableOptions{}, ended.fn());
  Packet a = udp(0x0a000001, 5000, 0x0a000002, 53, 1'000'000);
  Flow* f = table.update(a);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(a.direction, Direction::kToServer);
  Packet b = udp(0x0a000002, 53, 0x0a000001, 5000, 1'100'000);
  EXPECT_EQ(table.update(b), f);
  EXPECT_EQ(b.direction, Direction::kToClient);
  EXPECT_EQ(f->pkts[0], 1u);
  EXPECT_EQ(f->pkts[1], 1u);
  EXPECT_EQ(table.stats().created, 1u);
  EXPECT_EQ(table.stats().udp, 1u);
  EXPECT_EQ(table.stats().active, 1u);
}

TEST(FlowTable, FlowsExpireByTheirTimeoutClass) {
  Ended ended;
  FlowTableOptions o;
  o.udp = {30, 300, 0};
  FlowTable table(o, ended.fn());
  Packet one_way = udp(0x0a000001, 1111, 0x0a000002, 53, 0);
  ASSERT_NE(table.update(one_way), nullptr);
  Packet a = udp(0x0a000001, 2222, 0x0a000002, 53, 0);
  Packet b = udp(0x0a000002, 53, 0x0a000001, 2222, 1);
  ASSERT_NE(table.update(a), nullptr);
  ASSERT_NE(table.update(b), nullptr);  // answered: established

  table.expire(core::Timestamp::from_seconds(29));
  EXPECT_TRUE(ended.flows.empty());
  table.expire(core::Timestamp::from_seconds(31));  // the new flow's 30 s passed
  ASSERT_EQ(ended.flows.size(), 1u);
  EXPECT_EQ(ended.flows[0].second, FlowEndReason::kTimeout);
  EXPECT_EQ(table.stats().timeouts, 1u);
  table.expire(core::Timestamp::from_seconds(301));  // the established one's 300 s
  EXPECT_EQ(ended.flows.size(), 2u);
  EXPECT_EQ(table.stats().timeouts, 2u);

  table.shutdown();
  EXPECT_EQ(ended.flows.size(), 2u);
}

TEST(FlowTable, MemcapEvictsTheOldestAndCountsIt) {
  Ended ended;
  FlowTableOptions o;
  o.memcap = 1;  // the smallest pool the table allows
  FlowTable table(o, ended.fn());
  const uint64_t max = table.max_flows();
  ASSERT_GE(max, 1u);
  for (uint64_t i = 0; i < max; ++i) {
    Packet p =
        udp(0x0a000001, static_cast<uint16_t>(1000 + i), 0x0a000002, 53, static_cast<int64_t>(i));
    ASSERT_NE(table.update(p), nullptr);
  }
  EXPECT_EQ(table.stats().memcap, 0u);
  EXPECT_TRUE(ended.flows.empty());
  Packet extra = udp(0x0a000003, 9, 0x0a000002, 53, 1'000'000);
  ASSERT_NE(table.update(extra), nullptr);
  EXPECT_EQ(table.stats().memcap, 1u);
  EXPECT_EQ(table.stats().evicted, 1u);
  ASSERT_EQ(ended.flows.size(), 1u);
  EXPECT_EQ(ended.flows[0].second, FlowEndReason::kForced);
  table.shutdown();
  EXPECT_EQ(ended.flows.size(), max + 1);
  EXPECT_EQ(ended.flows.back().second, FlowEndReason::kShutdown);
}

}  // namespace
}  // namespace mimamori::net
