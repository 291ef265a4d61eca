// The inline sensor's pieces that need no kernel: the IPS policy (networks, gid ranges, what
// it makes of alerts), the pipeline's verdicts under it, the packets of a reject, the verdict
// latency histogram and `-q` queue numbers. The kernel path is tests/sensor_inline_test.py.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"
#include "mimamori/net/decode.h"
#include "mimamori/net/inline_queue.h"
#include "mimamori/net/ips_policy.h"
#include "mimamori/net/pipeline.h"

namespace mimamori::net {
namespace {

core::IpAddress ip(const char* s) { return *core::IpAddress::parse(s); }

TEST(IpNetwork, ParsesAndContains) {
  auto n = IpNetwork::parse("192.0.2.0/24");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->contains(ip("192.0.2.77")));
  EXPECT_FALSE(n->contains(ip("192.0.3.1")));
  EXPECT_FALSE(n->contains(ip("::ffff:192.0.2.1")));  // another family
  auto odd = IpNetwork::parse("10.1.128.0/17");
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->contains(ip("10.1.200.1")));
  EXPECT_FALSE(odd->contains(ip("10.1.127.255")));
  auto host = IpNetwork::parse("2001:db8::1");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->prefix, 128);
  EXPECT_TRUE(host->contains(ip("2001:db8::1")));
  EXPECT_FALSE(host->contains(ip("2001:db8::2")));
  auto v6 = IpNetwork::parse("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->contains(ip("2001:db8:ffff::9")));
  auto all = IpNetwork::parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->contains(ip("203.0.113.9")));
}

TEST(IpNetwork, RejectsBadText) {
  EXPECT_FALSE(IpNetwork::parse("192.0.2.0/33").ok());
  EXPECT_FALSE(IpNetwork::parse("192.0.2.0/").ok());
  EXPECT_FALSE(IpNetwork::parse("192.0.2/24").ok());
  EXPECT_FALSE(IpNetwork::parse("example.jp").ok());
  auto e = IpNetwork::parse("10.0.0.0/x");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("10.0.0.0/x"), std::string::npos);
}

core::Alert alert(uint32_t gid, std::string category, std::string action = "allowed") {
  core::Alert a;
  a.gid = gid;
  a.signature_id = 1;
  a.category = std::move(category);
  a.action = std::move(action);
  return a;
}

TEST(IpsPolicy, DecidesByGidAndCategory) {
  auto c = core::Config::from_string(R"(
ips-policy:
  drop-gids: ["9000000-9099999", "7"]
  drop-categories: ["A Network Trojan was detected"]
  alert-only-gids: ["9050000-9050009"]
  alert-only-categories: ["Potential Corporate Privacy Violation"]
  allow: [10.0.0.0/8]
  deny: ["198.51.100.7", "2001:db8::/32"]
  deny-action: drop
)");
  IpsPolicy p = IpsPolicy::from_config(c);
  using D = IpsPolicy::Decision;
  EXPECT_EQ(p.decide(alert(1, "")), D::kAsAsked);
  EXPECT_EQ(p.decide(alert(7, "")), D::kBlock);
  EXPECT_EQ(p.decide(alert(9000000, "")), D::kBlock);
  EXPECT_EQ(p.decide(alert(9099999, "")), D::kBlock);
  EXPECT_EQ(p.decide(alert(9100000, "")), D::kAsAsked);
  EXPECT_EQ(p.decide(alert(1, "A Network Trojan was detected")), D::kBlock);
  // alert-only wins over the drop lists.
  EXPECT_EQ(p.decide(alert(9050003, "")), D::kAlertOnly);
  EXPECT_EQ(p.decide(alert(7, "Potential Corporate Privacy Violation")), D::kAlertOnly);
  EXPECT_TRUE(p.allowed(ip("203.0.113.1"), ip("10.9.9.9")));
  EXPECT_FALSE(p.allowed(ip("203.0.113.1"), ip("11.0.0.1")));
  EXPECT_NE(p.denied(ip("198.51.100.7"), ip("203.0.113.1")), nullptr);
  EXPECT_NE(p.denied(ip("2001:db8::5"), ip("2001:db9::1")), nullptr);
  EXPECT_EQ(p.denied(ip("198.51.100.8"), ip("203.0.113.1")), nullptr);
  EXPECT_FALSE(p.deny_reject);
  EXPECT_FALSE(p.trivial());
  EXPECT_TRUE(IpsPolicy::from_config(core::Config{}).trivial());
}

TEST(IpsPolicy, RuleActionsOffMeansAlertOnly) {
  auto c = core::Config::from_string("ips-policy: {drop-rule-actions: false, drop-gids: [5]}");
  IpsPolicy p = IpsPolicy::from_config(c);
  EXPECT_EQ(p.decide(alert(1, "", "blocked")), IpsPolicy::Decision::kAlertOnly);
  EXPECT_EQ(p.decide(alert(5, "")), IpsPolicy::Decision::kBlock);
}

TEST(IpsPolicy, BadValuesNameTheKey) {
  auto bad = [](const char* yaml) -> std::string {
    try {
      IpsPolicy::from_config(core::Config::from_string(yaml));
    } catch (const core::ConfigError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(bad("ips-policy: {drop-gids: ['9-1']}").find("ips-policy.drop-gids"),
            std::string::npos);
  EXPECT_NE(bad("ips-policy: {allow: ['10.0.0.0/40']}").find("ips-policy.allow"),
            std::string::npos);
  EXPECT_NE(bad("ips-policy: {deny-action: refuse}").find("ips-policy.deny-action"),
            std::string::npos);
}

// --- the pipeline under a policy ---------------------------------------------------------------

uint16_t csum(const std::string& s, std::size_t from, std::size_t n, uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    acc += (uint8_t(s[from + i]) << 8) | uint8_t(s[from + i + 1]);
  if (n & 1) acc += uint8_t(s[from + n - 1]) << 8;
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

// An IPv4 packet (no options) of protocol `proto` with the transport bytes `l4`.
std::string ipv4(const char* src, const char* dst, uint8_t proto, const std::string& l4) {
  std::string p(20, '\0');
  p[0] = 0x45;
  p[2] = static_cast<char>((20 + l4.size()) >> 8);
  p[3] = static_cast<char>(20 + l4.size());
  p[8] = 64;
  p[9] = static_cast<char>(proto);
  auto s = ip(src).bytes(), d = ip(dst).bytes();
  for (int i = 0; i < 4; ++i) {
    p[12 + i] = static_cast<char>(s[i]);
    p[16 + i] = static_cast<char>(d[i]);
  }
  uint16_t c = csum(p, 0, 20);
  p[10] = static_cast<char>(c >> 8);
  p[11] = static_cast<char>(c);
  return p + l4;
}

std::string udp(const char* src, const char* dst, uint16_t sport, uint16_t dport,
                const std::string& payload) {
  std::string u(8, '\0');
  u[0] = static_cast<char>(sport >> 8);
  u[1] = static_cast<char>(sport);
  u[2] = static_cast<char>(dport >> 8);
  u[3] = static_cast<char>(dport);
  u[4] = static_cast<char>((8 + payload.size()) >> 8);
  u[5] = static_cast<char>(8 + payload.size());
  return ipv4(src, dst, 17, u + payload);  // checksum 0: none, valid for UDP over IPv4
}

std::string tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint32_t seq,
                uint32_t ack, uint8_t flags, const std::string& payload) {
  std::string t(20, '\0');
  auto put = [&](std::size_t at, uint32_t v, int n) {
    for (int i = 0; i < n; ++i) t[at + i] = static_cast<char>(v >> (8 * (n - 1 - i)));
  };
  put(0, sport, 2);
  put(2, dport, 2);
  put(4, seq, 4);
  put(8, ack, 4);
  t[12] = 0x50;
  t[13] = static_cast<char>(flags);
  put(14, 65535, 2);
  t += payload;
  std::string pseudo(12, '\0');
  auto s = ip(src).bytes(), d = ip(dst).bytes();
  for (int i = 0; i < 4; ++i) {
    pseudo[i] = static_cast<char>(s[i]);
    pseudo[4 + i] = static_cast<char>(d[i]);
  }
  pseudo[9] = 6;
  pseudo[10] = static_cast<char>(t.size() >> 8);
  pseudo[11] = static_cast<char>(t.size());
  std::string all = pseudo + t;
  uint16_t c = csum(all, 0, all.size());
  put(16, c, 2);
  return ipv4(src, dst, 6, t);
}

class StringSink : public EveSink {
 public:
  void write(std::string_view lines) override { text.append(lines); }
  void flush() override {}
  std::string text;
};

// Alerts on payload words: "EVIL" a blocking alert (as a `reject` rule of gid 1), "TROJAN"
// an alert-only one of a category, "NOISE" a blocking one of gid 9050001.
class WordDetector : public Detector {
 public:
  std::string_view name() const override { return "words"; }
  void on_packet(const Packet& p, DetectContext& ctx) override {
    if (p.payload.find("EVIL") != std::string_view::npos) {
      core::Alert a = alert(1, "", "blocked");
      a.signature_id = 11;
      ctx.alert(a);
      ctx.reject(false);
    }
    if (p.payload.find("TROJAN") != std::string_view::npos) {
      core::Alert a = alert(1, "A Network Trojan was detected");
      a.signature_id = 12;
      ctx.alert(a);
    }
    if (p.payload.find("NOISE") != std::string_view::npos) {
      core::Alert a = alert(9050001, "", "blocked");
      a.signature_id = 13;
      ctx.alert(a);
      ctx.drop();
    }
  }
};

struct Inline {
  explicit Inline(const char* yaml) {
    PipelineOptions o = PipelineOptions::from_config(core::Config::from_string(yaml));
    o.ips = true;
    o.checksums = ChecksumMode::kNone;
    std::vector<std::unique_ptr<Detector>> d;
    d.push_back(std::make_unique<WordDetector>());
    pipeline = std::make_unique<Pipeline>(o, std::move(d), &sink);
  }
  PacketVerdict send(const std::string& pkt) {
    RawPacket raw;
    raw.timestamp = core::Timestamp{1'700'000'000'000'000 + int64_t(n) * 1000};
    raw.data = pkt;
    raw.wire_length = static_cast<uint32_t>(pkt.size());
    raw.link_type = kLinkTypeRaw;
    pipeline->process(raw, ++n);
    return pipeline->verdict();
  }
  // The `alert.action` of every alert written, in order, as "sid:action".
  std::vector<std::string> actions() {
    pipeline->flush();
    std::vector<std::string> out;
    std::size_t at = 0;
    while ((at = sink.text.find("\"signature_id\":", at)) != std::string::npos) {
      at += 15;
      std::string sid = sink.text.substr(at, sink.text.find(',', at) - at);
      std::size_t act = sink.text.rfind("\"action\":\"", at);
      std::string action = sink.text.substr(act + 10, sink.text.find('"', act + 10) - act - 10);
      out.push_back(sid + ":" + action);
    }
    return out;
  }
  StringSink sink;
  std::unique_ptr<Pipeline> pipeline;
  uint64_t n = 0;
};

TEST(IpsPipeline, RejectIsAPacketVerdictWithAnswer) {
  Inline s("ips-policy: {}");
  PacketVerdict v = s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "hello"));
  EXPECT_FALSE(v.drop);
  v = s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "EVIL"));
  EXPECT_TRUE(v.drop);
  EXPECT_TRUE(v.reject);
  EXPECT_FALSE(v.flow);
  // A payload match drops that packet only: the flow goes on.
  v = s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "fine"));
  EXPECT_FALSE(v.drop);
  EXPECT_EQ(s.actions(), std::vector<std::string>{"11:blocked"});
}

TEST(IpsPipeline, DropCategoryBlocksTheFlowAndSaysSo) {
  Inline s("ips-policy: {drop-categories: ['A Network Trojan was detected']}");
  PacketVerdict v = s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "TROJAN"));
  EXPECT_TRUE(v.drop);
  EXPECT_TRUE(v.flow);
  EXPECT_FALSE(v.reject);
  v = s.send(udp("10.0.0.2", "10.0.0.1", 9999, 4000, "answer"));
  EXPECT_TRUE(v.drop) << "later packets of the flow, either way";
  EXPECT_TRUE(v.flow);
  EXPECT_FALSE(s.send(udp("10.0.0.1", "10.0.0.3", 4000, 9999, "other flow")).drop);
  EXPECT_EQ(s.actions(), std::vector<std::string>{"12:blocked"});
}

TEST(IpsPipeline, WithoutPolicyAnAlertOnlyCategoryPasses) {
  Inline s("ips-policy: {}");
  EXPECT_FALSE(s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "TROJAN")).drop);
  EXPECT_EQ(s.actions(), std::vector<std::string>{"12:allowed"});
}

TEST(IpsPipeline, AlertOnlyGidAndAllowListDemoteBlocks) {
  Inline s("ips-policy: {alert-only-gids: ['9050000-9059999'], allow: ['10.0.9.0/24']}");
  PacketVerdict v = s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "NOISE"));
  EXPECT_FALSE(v.drop) << "gid 9050001 only alerts";
  v = s.send(udp("10.0.0.1", "10.0.9.5", 4000, 9999, "EVIL"));
  EXPECT_FALSE(v.drop) << "the allow-list passes";
  EXPECT_FALSE(v.reject);
  v = s.send(udp("10.0.0.1", "10.0.0.2", 4000, 9999, "EVIL"));
  EXPECT_TRUE(v.drop) << "a gid 1 block elsewhere still blocks";
  EXPECT_EQ(s.actions(), (std::vector<std::string>{"13:allowed", "11:allowed", "11:blocked"}));
}

TEST(IpsPipeline, DenyListBlocksWithItsOwnAlert) {
  Inline s("ips-policy: {deny: ['192.0.2.0/24'], allow: ['192.0.2.9']}");
  PacketVerdict v = s.send(udp("10.0.0.1", "192.0.2.1", 4000, 9999, "anything"));
  EXPECT_TRUE(v.drop);
  EXPECT_TRUE(v.reject);  // deny-action defaults to reject
  EXPECT_TRUE(v.flow);
  EXPECT_FALSE(s.send(udp("10.0.0.1", "192.0.2.9", 4000, 9999, "allowed wins")).drop);
  EXPECT_FALSE(s.send(udp("10.0.0.1", "198.51.100.1", 4000, 9999, "elsewhere")).drop);
  s.pipeline->flush();
  EXPECT_NE(s.sink.text.find("\"gid\":9990"), std::string::npos);
  EXPECT_NE(s.sink.text.find("MIMAMORI IPS deny list 192.0.2.0/24"), std::string::npos);
  EXPECT_EQ(s.actions(), std::vector<std::string>{"1:blocked"});
}

// --- reject packets --------------------------------------------------------------------------

Packet decode(Decoder& d, const std::string& bytes) {
  RawPacket raw;
  raw.data = bytes;
  raw.wire_length = static_cast<uint32_t>(bytes.size());
  raw.link_type = kLinkTypeRaw;
  Packet p;
  Anomaly a = Anomaly::kNone;
  d.decode(raw, p, a);
  EXPECT_EQ(a, Anomaly::kNone);
  return p;
}

TEST(Reject, TcpResetsBothWays) {
  std::string data = tcp("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000, 0x18, "GET /EVIL");
  auto out = build_reject(data);
  ASSERT_EQ(out.size(), 2u);
  Decoder d;  // checksums checked
  Packet to_sender = decode(d, out[0]);
  EXPECT_FALSE(to_sender.checksum_bad);
  EXPECT_EQ(to_sender.src_ip, ip("10.0.0.2"));
  EXPECT_EQ(to_sender.dst_ip, ip("10.0.0.1"));
  EXPECT_EQ(to_sender.src_port, 80);
  EXPECT_EQ(to_sender.dst_port, 40000);
  EXPECT_EQ(to_sender.tcp_flags, tcp_flag::kRst | tcp_flag::kAck);
  EXPECT_EQ(to_sender.tcp_seq, 5000u);      // what the sender expects next
  EXPECT_EQ(to_sender.tcp_ack, 1000u + 9);  // its data acknowledged
  Packet to_receiver = decode(d, out[1]);
  EXPECT_FALSE(to_receiver.checksum_bad);
  EXPECT_EQ(to_receiver.src_ip, ip("10.0.0.1"));
  EXPECT_EQ(to_receiver.dst_port, 80);
  EXPECT_EQ(to_receiver.tcp_seq, 1000u);  // where the dropped segment began
  EXPECT_EQ(to_receiver.tcp_flags, tcp_flag::kRst | tcp_flag::kAck);
}

TEST(Reject, SynGetsResetAcknowledgingIt) {
  auto out = build_reject(tcp("10.0.0.1", "10.0.0.2", 40000, 80, 77, 0, 0x02, ""));
  ASSERT_EQ(out.size(), 2u);
  Decoder d;
  Packet p = decode(d, out[0]);
  EXPECT_EQ(p.tcp_seq, 0u);
  EXPECT_EQ(p.tcp_ack, 78u);
}

TEST(Reject, UdpGetsPortUnreachableQuotingIt) {
  std::string data = udp("10.0.0.1", "10.0.0.2", 4000, 53, "query");
  auto out = build_reject(data);
  ASSERT_EQ(out.size(), 1u);
  Decoder d;
  Packet p = decode(d, out[0]);
  EXPECT_FALSE(p.checksum_bad);
  EXPECT_EQ(p.proto, ip_proto::kIcmp);
  EXPECT_EQ(p.icmp_type, 3);
  EXPECT_EQ(p.icmp_code, 3);
  EXPECT_EQ(p.src_ip, ip("10.0.0.2"));
  EXPECT_EQ(p.dst_ip, ip("10.0.0.1"));
  EXPECT_NE(out[0].find(data), std::string::npos) << "the datagram is quoted";
}

TEST(Reject, NeverAnswersResetsOrIcmpErrors) {
  EXPECT_TRUE(build_reject(tcp("10.0.0.1", "10.0.0.2", 1, 2, 3, 4, 0x04, "")).empty());
  std::string unreach("\x03\x01\0\0\0\0\0\0", 8);  // ICMP host unreachable
  EXPECT_TRUE(build_reject(ipv4("10.0.0.1", "10.0.0.2", 1, unreach)).empty());
  EXPECT_TRUE(build_reject("").empty());
  EXPECT_TRUE(build_reject("\x45garbage").empty());
}

// --- counters and options ----------------------------------------------------------------------

TEST(LatencyHistogram, QuantilesWithinABucket) {
  LatencyHistogram h;
  for (int i = 1; i <= 1000; ++i) h.add(static_cast<uint64_t>(i) * 1000);  // 1..1000 µs
  uint64_t p50 = h.quantile(0.5), p99 = h.quantile(0.99);
  EXPECT_GE(p50, 500'000u);
  EXPECT_LE(p50, 500'000u * 113 / 100);
  EXPECT_GE(p99, 990'000u);
  EXPECT_LE(p99, 1'000'000u);  // capped at the largest value seen
  EXPECT_EQ(h.max_ns, 1'000'000u);
  EXPECT_EQ(LatencyHistogram{}.quantile(0.5), 0u);
  for (uint64_t v : {0ull, 7ull, 8ull, 1000ull, 123456789ull})
    EXPECT_GE(LatencyHistogram::upper(LatencyHistogram::bucket(v)), v);
}

// The heartbeat's member is exactly one JSON member: in an object it parses, with every
// counter the documentation names.
TEST(InlineStats, HeartbeatMemberIsOneJsonMember) {
  InlineStats st;
  st.accepted = 7;
  st.dropped = 3;
  st.rejected = 2;
  st.flow_marked = 1;
  st.fail_open_events = 1;
  st.kernel_queue_dropped = 5;
  for (uint64_t us : {10, 20, 900}) st.latency.add(us * 1000);
  std::string member = st.json_member();
  ASSERT_EQ(member.rfind("\"ips\":{", 0), 0u) << member;
  core::Fields f;
  ASSERT_TRUE(core::parse_json_object("{\"uptime_s\":1," + member + "}", f).ok()) << member;
  EXPECT_EQ(*f.find("ips.verdicts.accept")->as_int(), 7);
  EXPECT_EQ(*f.find("ips.verdicts.drop")->as_int(), 3);
  EXPECT_EQ(*f.find("ips.verdicts.reject")->as_int(), 2);
  EXPECT_EQ(*f.find("ips.verdicts.flow_marked")->as_int(), 1);
  EXPECT_EQ(*f.find("ips.fail_open.events")->as_int(), 1);
  EXPECT_EQ(*f.find("ips.kernel.queue_dropped")->as_int(), 5);
  EXPECT_TRUE(f.find("ips.fail_open.handoff_full").has_value());
  EXPECT_TRUE(f.find("ips.kernel.user_dropped").has_value());
  EXPECT_EQ(*f.find("ips.latency_us.count")->as_int(), 3);
  EXPECT_TRUE(f.find("ips.latency_us.p99").has_value());
}

TEST(InlineOptions, QueueSpecs) {
  EXPECT_EQ(*parse_queue_spec("0"), std::vector<uint16_t>{0});
  EXPECT_EQ(*parse_queue_spec("0:3"), (std::vector<uint16_t>{0, 1, 2, 3}));
  EXPECT_EQ(*parse_queue_spec("5,7"), (std::vector<uint16_t>{5, 7}));
  EXPECT_FALSE(parse_queue_spec("3:1").ok());
  EXPECT_FALSE(parse_queue_spec("a").ok());
  EXPECT_FALSE(parse_queue_spec("").ok());
  EXPECT_FALSE(parse_queue_spec("70000").ok());
  EXPECT_FALSE(parse_queue_spec("0:99").ok());
}

TEST(InlineOptions, MarksAndBounds) {
  auto o = InlineOptions::from_config(
      core::Config::from_string("nfq: {drop-mark: '0x100', drop-mask: '0xff00', watchdog: 50}"),
      {0});
  EXPECT_EQ(o.drop_mark, 0x100u);
  EXPECT_EQ(o.drop_mask, 0xff00u);
  EXPECT_EQ(o.watchdog_ms, 50);
  EXPECT_THROW(
      InlineOptions::from_config(core::Config::from_string("nfq: {drop-mark: '0x3', drop-mask: "
                                                           "'0x1'}"),
                                 {0}),
      core::ConfigError);
  EXPECT_THROW(InlineOptions::from_config(core::Config::from_string("nfq: {watchdog: 1}"), {0}),
               core::ConfigError);
}

}  // namespace
}  // namespace mimamori::net
