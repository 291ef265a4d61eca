// The `tag` keyword: parsing as Suricata's, and which packets the detector tags after an alert.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {
namespace {

// A pipeline stand-in that records which packets were alerted on and which were tagged.
class TagContext : public DetectContext {
 public:
  Packet pkt;
  std::vector<uint64_t> alerted;  // packet numbers
  std::vector<uint64_t> tagged;   // packet numbers

  const Packet& packet() const override { return pkt; }
  bool stream_data() const override { return false; }
  std::string_view buffer(Buffer, std::size_t) const override { return {}; }
  std::size_t buffer_count(Buffer) const override { return 0; }
  void alert(const core::Alert&) override { alerted.push_back(pkt.number); }
  void drop() override {}
  bool ips_mode() const override { return false; }
  void emit(core::Event&) override {}
  void tagged_packet() override { tagged.push_back(pkt.number); }
};

RuleSet load(std::string_view rules) {
  RuleLoader loader;
  loader.load_text(rules, "test.rules");
  return loader.take();
}

std::shared_ptr<const RuleEngine> engine_for(std::string_view rules) {
  auto set = load(rules);
  for (const auto& s : set.skipped) ADD_FAILURE() << s.line << ": " << s.reason;
  auto e = RuleEngine::build(std::move(set), {});
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : nullptr;
}

// Feeds UDP packets through a detector; each carries its number (1, 2, ...) as its pcap count.
class Feeder {
 public:
  explicit Feeder(std::shared_ptr<const RuleEngine> e) : det_(std::move(e)) {}

  void send(Flow* flow, const char* src, const char* dst, std::string_view payload,
            int64_t seconds = 1000, std::size_t frame_bytes = 100) {
    frame_.assign(frame_bytes, 'x');
    Packet& p = ctx.pkt;
    p = Packet{};
    p.ip_version = 4;
    p.src_ip = *core::IpAddress::parse(src);
    p.dst_ip = *core::IpAddress::parse(dst);
    p.proto = ip_proto::kUdp;
    p.l4_header = "12345678";
    p.src_port = 40000;
    p.dst_port = 53;
    p.payload = payload;
    p.data = frame_;
    p.flow = flow;
    p.timestamp = core::Timestamp::from_seconds(seconds);
    p.number = ++number_;
    if (flow) ++flow->pkts[0];
    det_.on_packet(p, ctx);
  }
  RuleDetector& detector() { return det_; }

  TagContext ctx;

 private:
  RuleDetector det_;
  std::string frame_;
  uint64_t number_ = 0;
};

constexpr const char* kA = "10.0.0.1";
constexpr const char* kB = "10.0.0.2";
constexpr const char* kC = "10.0.0.3";

TEST(Tag, ParsesScopeCountMetricAndDirectionAsSuricata) {
  auto set = load(
      "alert udp any any -> any any (msg:\"a\"; tag:session; sid:1;)\n"
      "alert udp any any -> any any (msg:\"b\"; tag:host; sid:2;)\n"
      "alert udp any any -> any any (msg:\"c\"; tag:host, 200, bytes, src; sid:3;)\n"
      "alert udp any any -> any any (msg:\"d\"; tag:Session,1000,packets; sid:4;)\n"
      "alert udp any any -> any any (msg:\"e\"; tag:host,60,seconds,dst; tag:session,5,packets;"
      " sid:5;)\n"
      "alert udp any any -> any any (msg:\"f\"; tag:session,5,packets,src; sid:6;)\n");
  ASSERT_TRUE(set.skipped.empty()) << set.skipped[0].reason;
  ASSERT_EQ(set.signatures.size(), 6u);
  auto one = [&](std::size_t i) {
    EXPECT_EQ(set.signatures[i].tags.size(), 1u);
    return set.signatures[i].tags.at(0);
  };
  using Scope = TagSpec::Scope;
  using Metric = TagSpec::Metric;
  TagSpec a = one(0);
  EXPECT_EQ(a.scope, Scope::kSession);
  EXPECT_EQ(a.metric, Metric::kPackets);
  EXPECT_EQ(a.count, 256u);  // Suricata's default
  TagSpec b = one(1);
  EXPECT_EQ(b.scope, Scope::kHost);
  EXPECT_FALSE(b.src);  // the destination by default
  EXPECT_EQ(b.count, 256u);
  TagSpec c = one(2);
  EXPECT_EQ(c.metric, Metric::kBytes);
  EXPECT_EQ(c.count, 200u);
  EXPECT_TRUE(c.src);
  EXPECT_EQ(one(3).count, 256u);  // a packet count is capped at 256
  ASSERT_EQ(set.signatures[4].tags.size(), 2u);
  EXPECT_EQ(set.signatures[4].tags[0].metric, Metric::kSeconds);
  EXPECT_EQ(set.signatures[4].tags[0].count, 60u);
  EXPECT_EQ(set.signatures[4].tags[1].scope, Scope::kSession);
  EXPECT_FALSE(one(5).src);  // a direction on a session tag is ignored
}

TEST(Tag, BadOptionsSkipTheRuleWithTheReason) {
  auto reason = [](std::string_view opt) {
    auto set = load("alert udp any any -> any any (msg:\"x\"; " + std::string(opt) + " sid:1;)\n");
    EXPECT_EQ(set.skipped.size(), 1u) << opt;
    return set.skipped.empty() ? std::string() : set.skipped[0].reason;
  };
  EXPECT_EQ(reason("tag:flow;"), "tag scope must be session or host, got 'flow'");
  EXPECT_EQ(reason("tag:session,5;"), "tag takes scope[,count,metric[,src|dst]], got 'session,5'");
  EXPECT_EQ(reason("tag:host,5,minutes;"),
            "tag metric must be packets, seconds or bytes, got 'minutes'");
  EXPECT_EQ(reason("tag:host,5,packets,both;"), "tag direction must be src or dst, got 'both'");
  EXPECT_EQ(reason("tag:host,many,packets;"),
            "tag count 'many' is not a number from 0 to 4294967295");
  EXPECT_EQ(reason("tag;"), "'tag' needs a value");
}

TEST(Tag, SessionTagLogsTheNextPacketsOfTheFlowOnly) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"t\"; content:\"evil\"; tag:session,3,packets; "
      "sid:1;)\n");
  ASSERT_TRUE(e);
  Feeder f(e);
  Flow flow, other;
  f.send(&flow, kA, kB, "hello");   // 1: before the alert
  f.send(&flow, kA, kB, "evil");    // 2: alerts; counts as the tag's first packet
  f.send(&other, kA, kC, "hello");  // 3: another flow
  f.send(&flow, kB, kA, "reply");   // 4: tagged (2 of 3)
  f.send(&flow, kA, kB, "more");    // 5: tagged (3 of 3)
  f.send(&flow, kA, kB, "more");    // 6: the tag has run out
  EXPECT_EQ(f.ctx.alerted, (std::vector<uint64_t>{2}));
  EXPECT_EQ(f.ctx.tagged, (std::vector<uint64_t>{4, 5}));
  // The rule alerting again starts the tag afresh.
  f.send(&flow, kA, kB, "evil");  // 7
  f.send(&flow, kA, kB, "x");     // 8
  f.send(&flow, kA, kB, "x");     // 9
  f.send(&flow, kA, kB, "x");     // 10
  EXPECT_EQ(f.ctx.tagged, (std::vector<uint64_t>{4, 5, 8, 9}));
  EXPECT_EQ(f.detector().stats().tagged_packets, 4u);
  // A flow that ends takes its tags along (the same Flow object fed again is not tagged).
  f.send(&flow, kA, kB, "evil");  // 11
  f.detector().on_flow_end(flow);
  f.send(&flow, kA, kB, "x");  // 12
  EXPECT_EQ(f.ctx.alerted, (std::vector<uint64_t>{2, 7, 11}));
  EXPECT_EQ(f.ctx.tagged.size(), 4u);
}

TEST(Tag, AlertingAgainRestartsARunningTagUpToTenTimes) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"t\"; content:\"evil\"; tag:session,3,packets; "
      "sid:1;)\n");
  ASSERT_TRUE(e);
  Feeder f(e);
  Flow flow;
  f.send(&flow, kA, kB, "evil");  // 1: starts the tag
  f.send(&flow, kA, kB, "x");     // 2: tagged (2 of 3)
  f.send(&flow, kA, kB, "evil");  // 3: tagged (3 of 3), and the tag starts over from here
  f.send(&flow, kA, kB, "x");     // 4: tagged (2 of 3)
  f.send(&flow, kA, kB, "x");     // 5: tagged (3 of 3)
  f.send(&flow, kA, kB, "x");     // 6: over
  EXPECT_EQ(f.ctx.alerted, (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(f.ctx.tagged, (std::vector<uint64_t>{2, 3, 4, 5}));
  // A rule alerting on every packet restarts its tag only so often (as Suricata: the 10th
  // match and later ones do not): started at 7 and restarted by 8..16, the tag runs out at 19,
  // where the alert starts a new one.
  Flow busy;
  f.ctx.tagged.clear();
  for (int i = 0; i < 20; ++i) f.send(&busy, kA, kC, "evil");  // 7..26
  std::vector<uint64_t> want;
  for (uint64_t n = 8; n <= 26; ++n) {
    if (n != 19) want.push_back(n);
  }
  EXPECT_EQ(f.ctx.tagged, want);
}

TEST(Tag, HostTagFollowsTheHostAcrossFlowsUntilTheBytesRunOut) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"t\"; content:\"evil\"; tag:host,350,bytes,src; "
      "sid:1;)\n");
  ASSERT_TRUE(e);
  Feeder f(e);
  Flow f1, f2, f3;
  f.send(&f1, kA, kB, "evil");         // 1: alerts; host A tagged, 100 bytes counted
  f.send(&f2, kC, kB, "x");            // 2: neither end is A
  f.send(&f2, kA, kC, "x");            // 3: from A, another flow: 200 bytes
  f.send(&f3, kC, kA, "x");            // 4: to A: 300 bytes
  f.send(&f1, kB, kA, "x", 1000, 40);  // 5: 340 bytes
  f.send(&f1, kA, kB, "x");            // 6: 440 > 350: over
  f.send(&f1, kA, kB, "x");            // 7
  EXPECT_EQ(f.ctx.alerted, (std::vector<uint64_t>{1}));
  EXPECT_EQ(f.ctx.tagged, (std::vector<uint64_t>{3, 4, 5}));
}

TEST(Tag, HostAndSessionTagsOfOnePacketLogItOnce) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"t\"; content:\"evil\"; tag:host,10,packets,dst; "
      "tag:session; tag:host,10,packets,src; sid:1;)\n");
  ASSERT_TRUE(e);
  Feeder f(e);
  Flow flow;
  f.send(&flow, kA, kB, "evil");  // 1
  f.send(&flow, kB, kA, "x");     // 2: session, host A and host B: one record
  f.send(nullptr, kC, kB, "x");   // 3: flow-less, to host B
  EXPECT_EQ(f.ctx.tagged, (std::vector<uint64_t>{2, 3}));
}

TEST(Tag, SecondsMetricCountsFromTheAlert) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"t\"; content:\"evil\"; tag:session,10,seconds; "
      "sid:1;)\n");
  ASSERT_TRUE(e);
  Feeder f(e);
  Flow flow;
  f.send(&flow, kA, kB, "evil", 1000);  // 1
  f.send(&flow, kA, kB, "x", 1005);     // 2
  f.send(&flow, kA, kB, "x", 1010);     // 3: 10 seconds on: still within
  f.send(&flow, kA, kB, "x", 1011);     // 4: past
  f.send(&flow, kA, kB, "x", 1012);     // 5
  EXPECT_EQ(f.ctx.tagged, (std::vector<uint64_t>{2, 3}));
}

TEST(Tag, NoTagWithoutAnAlert) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"t\"; content:\"evil\"; noalert; tag:session; sid:1;)\n"
      "alert udp any any -> any 53 (msg:\"u\"; content:\"bad\"; sid:2;)\n");
  ASSERT_TRUE(e);
  Feeder f(e);
  Flow flow;
  f.send(&flow, kA, kB, "evil");  // matches, but writes no alert: nothing is tagged
  f.send(&flow, kA, kB, "bad");   // an alert of a rule without tag
  f.send(&flow, kA, kB, "x");
  EXPECT_EQ(f.ctx.alerted, (std::vector<uint64_t>{2}));
  EXPECT_TRUE(f.ctx.tagged.empty());
  EXPECT_EQ(f.detector().stats().tagged_packets, 0u);
}

}  // namespace
}  // namespace mimamori::net::rules
