#include "mimamori/net/rules/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

namespace mimamori::net::rules {
namespace {

// A pipeline stand-in: one packet, optional app buffers, records alerts and drops.
class FakeContext : public DetectContext {
 public:
  Packet pkt;
  std::map<Buffer, std::vector<std::string>> buffers;
  std::vector<core::Alert> alerts;
  std::vector<std::string> verdicts;
  int drops = 0;         // whole-flow drops
  int packet_drops = 0;  // this packet only
  bool ips = false;

  const Packet& packet() const override { return pkt; }
  bool stream_data() const override { return false; }
  std::string_view buffer(Buffer b, std::size_t index) const override {
    auto it = buffers.find(b);
    if (it == buffers.end() || index >= it->second.size()) return {};
    return it->second[index];
  }
  std::size_t buffer_count(Buffer b) const override {
    auto it = buffers.find(b);
    return it == buffers.end() ? 0 : it->second.size();
  }
  void alert(const core::Alert& a) override { alerts.push_back(a); }
  void alert_verdict(const core::Alert& a, std::string_view verdict,
                     const core::Fields* extra) override {
    alerts.push_back(a);
    verdicts.emplace_back(verdict);
    extras.push_back(extra ? *extra : core::Fields{});
  }
  std::vector<core::Fields> extras;
  void drop() override { ++drops; }
  void drop_packet() override { ++packet_drops; }
  bool ips_mode() const override { return ips; }
  void emit(core::Event&) override {}

  std::vector<uint64_t> sids() const {
    std::vector<uint64_t> out;
    for (const auto& a : alerts) out.push_back(a.signature_id);
    return out;
  }
};

std::shared_ptr<const RuleEngine> engine_for(std::string_view rules,
                                             const EngineOptions& options = {}) {
  RuleLoader loader;
  EXPECT_TRUE(
      loader
          .load_classification_text(
              "config classification: trojan-activity,A Network Trojan was detected,1\n", "c")
          .ok());
  loader.load_text(rules, "test.rules");
  auto set = loader.take();
  for (const auto& s : set.skipped) ADD_FAILURE() << s.line << ": " << s.reason;
  auto e = RuleEngine::build(std::move(set), options);
  EXPECT_TRUE(e.ok()) << (e.ok() ? "" : e.error().message);
  return e.ok() ? *e : nullptr;
}

void udp_packet(FakeContext& ctx, Flow* flow, std::string_view payload) {
  ctx.pkt = Packet{};
  ctx.pkt.ip_version = 4;
  ctx.pkt.src_ip = *core::IpAddress::parse("10.0.0.1");
  ctx.pkt.dst_ip = *core::IpAddress::parse("8.8.8.8");
  ctx.pkt.proto = ip_proto::kUdp;
  ctx.pkt.l4_header = "12345678";
  ctx.pkt.src_port = 40000;
  ctx.pkt.dst_port = 53;
  ctx.pkt.payload = payload;
  ctx.pkt.flow = flow;
  ctx.pkt.timestamp = core::Timestamp::from_seconds(1000);
  if (flow) ++flow->pkts[0];
}

TEST(Engine, PayloadContentModifiersAndBacktracking) {
  auto e = engine_for(
      "alert udp any any -> any 53 (msg:\"a\"; content:\"abc\"; content:\"xyz\"; distance:1; "
      "within:4; sid:1;)\n"
      "alert udp any any -> any 53 (msg:\"b\"; content:\"ABC\"; nocase; depth:3; sid:2;)\n"
      "alert udp any any -> any 53 (msg:\"c\"; content:\"abc\"; content:!\"evil\"; sid:3;)\n"
      "alert udp any any -> any 80 (msg:\"port\"; content:\"abc\"; sid:4;)\n"
      "alert udp any any -> any any (msg:\"ends\"; content:\"end\"; endswith; sid:5;)\n"
      "alert udp any any -> any any (msg:\"pcre\"; content:\"key=\"; pcre:\"/^[0-9]{3}\\//R\"; "
      "sid:6;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  // "abc" first occurs too far from "xyz"; the second occurrence fits: needs backtracking.
  udp_packet(ctx, nullptr, "abc.......abc.xyz end");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{1, 2, 3, 5}));
  ctx.alerts.clear();
  udp_packet(ctx, nullptr, "zabc evil key=123/ end.");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{6}));
}

TEST(Engine, CaselessSearchAcrossLongPayloads) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"a\"; content:\"XyZ\"; nocase; sid:80;)\n"
      "alert udp any any -> any any (msg:\"b\"; content:\"|00|aB\"; nocase; sid:81;)\n"
      "alert udp any any -> any any (msg:\"c\"; content:\"@q\"; nocase; sid:82;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  // The matches sit past the first 16-byte block and at the very end; '`Q' must not match
  // "@q" although '`' | 0x20 == '@' | 0x20.
  std::string data =
      std::string(33, '.') + "xYz" + std::string(20, '-') + "`Q" + std::string("\0Ab", 3);
  udp_packet(ctx, nullptr, data);
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{80, 81}));
}

TEST(Engine, RelativeContentAfterManyAnchors) {
  // "run" occurs many times; "exec(" must follow one of them (distance:0, no within), and the
  // pcre after it must hold too, which only the last "exec(" satisfies.
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"a\"; content:\"run\"; content:\"exec(\"; "
      "distance:0; sid:120;)\n"
      "alert udp any any -> any any (msg:\"b\"; content:\"run\"; content:\"exec(\"; "
      "distance:0; pcre:\"/^9/R\"; sid:121;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  std::string many;
  for (int i = 0; i < 500; ++i) many += "run ";
  auto sids_for = [&](const std::string& payload) {
    ctx.alerts.clear();
    udp_packet(ctx, nullptr, payload);
    det.on_packet(ctx.pkt, ctx);
    return ctx.sids();
  };
  using V = std::vector<uint64_t>;
  EXPECT_EQ(sids_for(many), V{});
  EXPECT_EQ(sids_for("exec( " + many), V{});
  EXPECT_EQ(sids_for(many + "exec(1 run exec(9"), (V{120, 121}));
  EXPECT_EQ(sids_for(many + "exec(1"), V{120});
}

TEST(Engine, PacketPrefilterSplitByPortAndPayloadSize) {
  // More destination port sets than the prefilter keeps groups for (some groups are merged),
  // a source-port rule, a bidirectional one and dsize bounds on both sides of the size classes:
  // each rule fires exactly where its header and dsize allow.
  std::string rules;
  for (int i = 0; i < 8; ++i) {
    rules += "alert udp any any -> any " + std::to_string(1000 + i) +
             " (msg:\"p\"; content:\"needle\"; sid:" + std::to_string(100 + i) + ";)\n";
  }
  rules +=
      "alert udp any any -> any [2000:2010,3000] (msg:\"r\"; content:\"needle\"; sid:108;)\n"
      "alert udp any 7000 -> any any (msg:\"s\"; content:\"needle\"; sid:114;)\n"
      "alert udp any any <> any 9000 (msg:\"b\"; content:\"needle\"; sid:115;)\n"
      "alert udp any any -> any any (msg:\"t\"; content:\"tiny\"; dsize:<10; sid:110;)\n"
      "alert udp any any -> any any (msg:\"h\"; content:\"huge\"; dsize:>100; sid:111;)\n"
      "alert udp any any -> any any (msg:\"e\"; content:\"edge\"; dsize:64; sid:112;)\n"
      "alert udp any any -> any any (msg:\"f\"; content:\"edge\"; dsize:65; sid:113;)\n"
      "alert udp any any -> any any (msg:\"w\"; content:\"wide\"; dsize:50<>70; sid:116;)\n";
  auto e = engine_for(rules);
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  auto sids_for = [&](uint16_t sport, uint16_t dport, const std::string& payload) {
    ctx.alerts.clear();
    udp_packet(ctx, nullptr, payload);
    ctx.pkt.src_port = sport;
    ctx.pkt.dst_port = dport;
    det.on_packet(ctx.pkt, ctx);
    return ctx.sids();
  };
  using V = std::vector<uint64_t>;
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(sids_for(40000, static_cast<uint16_t>(1000 + i), "a needle"),
              V{static_cast<uint64_t>(100 + i)});
  }
  EXPECT_EQ(sids_for(40000, 2005, "a needle"), V{108});
  EXPECT_EQ(sids_for(40000, 3000, "a needle"), V{108});
  EXPECT_EQ(sids_for(40000, 2011, "a needle"), V{});
  EXPECT_EQ(sids_for(7000, 1, "a needle"), V{114});
  EXPECT_EQ(sids_for(9000, 5, "a needle"), V{115});
  EXPECT_EQ(sids_for(5, 9000, "a needle"), V{115});
  EXPECT_EQ(sids_for(40000, 5, "tiny"), V{110});
  EXPECT_EQ(sids_for(40000, 5, "tiny" + std::string(20, '.')), V{});
  EXPECT_EQ(sids_for(40000, 5, "huge" + std::string(97, '.')), V{111});
  EXPECT_EQ(sids_for(40000, 5, "huge" + std::string(96, '.')), V{});
  EXPECT_EQ(sids_for(40000, 5, "edge" + std::string(60, '.')), V{112});
  EXPECT_EQ(sids_for(40000, 5, "edge" + std::string(61, '.')), V{113});
  EXPECT_EQ(sids_for(40000, 5, "wide" + std::string(60, '.')), V{116});
  EXPECT_EQ(sids_for(40000, 5, "wide" + std::string(62, '.')), V{116});
  EXPECT_EQ(sids_for(40000, 5, "wide" + std::string(66, '.')), V{});
}

TEST(Engine, IcmpPrefilterSplitByType) {
  // ICMP rules are grouped by the types their itype allows; more distinct type sets than groups.
  auto e = engine_for(
      "alert icmp any any -> any any (msg:\"echo\"; itype:8; content:\"ping\"; sid:130;)\n"
      "alert icmp any any -> any any (msg:\"reply\"; itype:0; content:\"ping\"; sid:131;)\n"
      "alert icmp any any -> any any (msg:\"unreach\"; itype:3; content:\"ping\"; sid:132;)\n"
      "alert icmp any any -> any any (msg:\"high\"; itype:>40; content:\"ping\"; sid:133;)\n"
      "alert icmp any any -> any any (msg:\"mid\"; itype:10<>14; content:\"ping\"; sid:134;)\n"
      "alert icmp any any -> any any (msg:\"any\"; content:\"ping\"; sid:135;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  auto sids_for = [&](uint8_t type) {
    ctx.alerts.clear();
    udp_packet(ctx, nullptr, "a ping");
    ctx.pkt.proto = ip_proto::kIcmp;
    ctx.pkt.src_port = ctx.pkt.dst_port = 0;
    ctx.pkt.icmp_type = type;
    det.on_packet(ctx.pkt, ctx);
    return ctx.sids();
  };
  using V = std::vector<uint64_t>;
  EXPECT_EQ(sids_for(8), (V{130, 135}));
  EXPECT_EQ(sids_for(0), (V{131, 135}));
  EXPECT_EQ(sids_for(3), (V{132, 135}));
  EXPECT_EQ(sids_for(41), (V{133, 135}));
  EXPECT_EQ(sids_for(12), (V{134, 135}));
  EXPECT_EQ(sids_for(5), (V{135}));
}

TEST(Engine, ByteChecks) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"len\"; content:\"|ff|\"; byte_extract:1,0,n,relative; "
      "content:\"Z\"; distance:n; within:1; sid:10;)\n"
      "alert udp any any -> any any (msg:\"bt\"; content:\"|ff|\"; byte_test:1,>,2,0,relative; "
      "byte_jump:1,0,relative; content:\"Q\"; within:1; sid:11;)\n"
      "alert udp any any -> any any (msg:\"isdataat\"; content:\"|ff|\"; isdataat:!10,relative; "
      "sid:12;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  // ff 03 then 3 bytes then Z: extract 3 -> Z at distance 3 after the length byte.
  std::string data(
      "\xff\x03"
      "abcZ",
      6);
  udp_packet(ctx, nullptr, data);
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{10, 12}));
  ctx.alerts.clear();
  std::string data2(
      "\xff\x03"
      "abcQ",
      6);
  udp_packet(ctx, nullptr, data2);
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{11, 12}));
}

// byte_jump as Suricata: a 0-byte read moves by post_offset only; a jump before the start
// lands on it; one that reaches the end of the buffer fails.
TEST(Engine, ByteJumpBoundsAsSuricata) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"back\"; content:\"XY\"; "
      "byte_jump:0,0,relative,post_offset -4; pcre:\"/^abXY/R\"; sid:90;)\n"
      "alert udp any any -> any any (msg:\"clamp\"; content:\"XY\"; "
      "byte_jump:0,0,relative,post_offset -40; content:\"ab\"; within:2; sid:91;)\n"
      "alert udp any any -> any any (msg:\"end\"; content:\"R\"; "
      "byte_jump:1,0,relative; sid:92;)\n"
      "alert udp any any -> any any (msg:\"inside\"; content:\"Q\"; "
      "byte_jump:1,0,relative; content:\"Z\"; within:1; sid:93;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  // After "Q", 1 skips "-" to "Z" (inside); after "R", 2 lands on the end (no match).
  std::string data("abXYQ\x01-ZR\x02..", 12);
  udp_packet(ctx, nullptr, data);
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{90, 91, 93}));
}

// Suricata: dsize `!N`, `>N`, `>=N` and ranges need a payload; `<N` and `N` do not.
TEST(Engine, DsizeOnEmptyPackets) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"ne\"; dsize:!9; sid:100;)\n"
      "alert udp any any -> any any (msg:\"lt\"; dsize:<10; sid:101;)\n"
      "alert udp any any -> any any (msg:\"ge\"; dsize:>=0; sid:102;)\n"
      "alert udp any any -> any any (msg:\"eq\"; dsize:0; sid:103;)\n"
      "alert udp any any -> any any (msg:\"range\"; dsize:0<>5; sid:104;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  udp_packet(ctx, nullptr, "");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{101, 103}));
  ctx.alerts.clear();
  udp_packet(ctx, nullptr, "abc");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{100, 101, 102, 104}));
}

void tcp_packet(FakeContext& ctx, Flow* flow, std::string_view payload) {
  udp_packet(ctx, flow, payload);
  ctx.pkt.proto = ip_proto::kTcp;
  ctx.pkt.l4_header = "12345678901234567890";
  ctx.pkt.dst_port = 80;
}

// The packet that completes the TCP handshake is not yet "established" (Suricata updates the
// session after inspecting it); the next one is.
TEST(Engine, EstablishedAfterTheHandshakeAck) {
  auto e = engine_for("alert tcp any any -> any any (msg:\"est\"; flow:established; sid:110;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  flow.proto = ip_proto::kTcp;
  flow.tcp_state = TcpState::kEstablished;
  flow.pkts[0] = 1;
  flow.pkts[1] = 1;
  tcp_packet(ctx, &flow, "");  // the third packet: the handshake's ACK
  flow.set_established();
  det.on_packet(ctx.pkt, ctx);
  EXPECT_TRUE(ctx.alerts.empty());
  tcp_packet(ctx, &flow, "GET");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{110}));
}

// A TCP flow without a session (no handshake seen, no midstream pick-up) is never
// reassembled: its packets' payload is inspected by the stream rules.
TEST(Engine, StreamRulesInspectPacketsOfFlowsWithoutSession) {
  auto e = engine_for("alert tcp any any -> any any (msg:\"c\"; content:\"needle\"; sid:120;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  flow.proto = ip_proto::kTcp;
  tcp_packet(ctx, &flow, "hay needle hay");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{120}));
  ctx.alerts.clear();
  flow.tcp_state = TcpState::kEstablished;  // tracked: the stream callback inspects it
  det.on_packet(ctx.pkt, ctx);
  EXPECT_TRUE(ctx.alerts.empty());
}

TEST(Engine, ActionOrderParsing) {
  auto r = parse_action_order({"drop", "alert"});
  ASSERT_TRUE(r.ok());
  // drop 0, alert 1, then the others in the default order: pass 2, reject 3.
  EXPECT_EQ((*r)[static_cast<size_t>(Action::kDrop)], 0);
  EXPECT_EQ((*r)[static_cast<size_t>(Action::kAlert)], 1);
  EXPECT_EQ((*r)[static_cast<size_t>(Action::kPass)], 2);
  EXPECT_EQ((*r)[static_cast<size_t>(Action::kReject)], 3);
  EXPECT_FALSE(parse_action_order({"drop", "drop"}).ok());
  auto bad = parse_action_order({"allow"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("allow"), std::string::npos);
}

// Rules run in action-order; a pass match ends the packet's inspection; each alert carries
// the packet's verdict.
TEST(Engine, ActionOrderPassAndVerdict) {
  std::string rules =
      "alert udp any any -> any any (msg:\"a\"; content:\"hi\"; sid:130;)\n"
      "pass udp any any -> any any (msg:\"p\"; content:\"hi\"; sid:131;)\n"
      "drop udp any any -> any any (msg:\"d\"; content:\"hi\"; sid:132;)\n";
  {
    auto e = engine_for(rules);  // default: pass first
    ASSERT_TRUE(e);
    RuleDetector det(e);
    FakeContext ctx;
    udp_packet(ctx, nullptr, "hi");
    det.on_packet(ctx.pkt, ctx);
    EXPECT_TRUE(ctx.alerts.empty());
  }
  EngineOptions o;
  o.action_rank = *parse_action_order({"drop", "alert", "pass", "reject"});
  auto e = engine_for(rules, o);
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  udp_packet(ctx, nullptr, "hi");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{132, 130}));
  EXPECT_EQ(ctx.verdicts, (std::vector<std::string>{"pass", "pass"}));
  ctx.alerts.clear();
  ctx.verdicts.clear();
  ctx.ips = true;
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.verdicts, (std::vector<std::string>{"drop", "drop"}));
  EXPECT_EQ(ctx.alerts[0].action, "blocked");
  // A payload match drops the packet, not the flow.
  EXPECT_EQ(ctx.packet_drops, 1);
  EXPECT_EQ(ctx.drops, 0);
}

// Header-only drop rules drop the flow; a noalert one still does, silently.
TEST(Engine, HeaderOnlyDropActsOnTheFlowEvenWithoutAlert) {
  auto e = engine_for(
      "drop udp any any -> any 53 (msg:\"quiet\"; noalert; sid:140;)\n"
      "alert udp any any -> any 53 (msg:\"seen\"; content:\"q\"; sid:141;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  ctx.ips = true;
  Flow flow;
  udp_packet(ctx, &flow, "q");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{141}));
  EXPECT_EQ(ctx.drops, 1);
  EXPECT_EQ(ctx.packet_drops, 0);
}

// packet-alert-max: alerts past the limit are not written, but their drop still applies.
TEST(Engine, PacketAlertMax) {
  EngineOptions o;
  o.packet_alert_max = 2;
  o.action_rank = *parse_action_order({"alert", "drop"});
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"1\"; content:\"x\"; sid:160;)\n"
      "alert udp any any -> any any (msg:\"2\"; content:\"x\"; sid:161;)\n"
      "drop udp any any -> any any (msg:\"3\"; content:\"x\"; sid:162;)\n",
      o);
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  ctx.ips = true;
  udp_packet(ctx, nullptr, "x");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{160, 161}));
  EXPECT_EQ(ctx.packet_drops, 1);
}

// Flowbits named traffic/id/.. and traffic/label/.. tag the flow's alerts.
TEST(Engine, TrafficTagsFromFlowbits) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"tag\"; content:\"curl\"; "
      "flowbits:set,traffic/label/cli-http; flowbits:set,traffic/id/curl; flowbits:set,junk; "
      "sid:170;)\n"
      "alert udp any any -> any any (msg:\"later\"; content:\"more\"; sid:171;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  udp_packet(ctx, &flow, "more");
  det.on_packet(ctx.pkt, ctx);
  ASSERT_EQ(ctx.extras.size(), 1u);
  EXPECT_TRUE(ctx.extras[0].empty());  // nothing set yet
  udp_packet(ctx, &flow, "curl more");
  det.on_packet(ctx.pkt, ctx);
  ASSERT_EQ(ctx.extras.size(), 3u);
  for (std::size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(ctx.extras[i].find_string("traffic.id.0"), "curl");
    EXPECT_EQ(ctx.extras[i].find_string("traffic.label.0"), "cli-http");
    EXPECT_FALSE(ctx.extras[i].find("traffic.label.1").has_value());
  }
}

// app-layer-protocol compares the protocol of the packet's direction by default, or of the
// side, either side, or the flow's, as its mode says.
TEST(Engine, AppLayerProtocolModes) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"sides\"; app-layer-protocol:http1,to_server; "
      "app-layer-protocol:ssh,to_client; sid:180;)\n"
      "alert udp any any -> any any (msg:\"dir\"; app-layer-protocol:ssh; sid:181;)\n"
      "alert udp any any -> any any (msg:\"final\"; app-layer-protocol:!tls,final; sid:182;)\n"
      "alert udp any any -> any any (msg:\"either\"; app-layer-protocol:ssh,either; "
      "sid:183;)\n"
      "alert udp any any -> any any (msg:\"unknown\"; app-layer-protocol:unknown; sid:184;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  udp_packet(ctx, &flow, "x");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{184}));  // nothing detected yet
  ctx.alerts.clear();
  flow.app_proto = flow.app_proto_ts = AppProto::kHttp;  // an HTTP client
  flow.app_proto_tc = AppProto::kSsh;                    // to an SSH server
  udp_packet(ctx, &flow, "x");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{180, 182, 183}));
  ctx.alerts.clear();
  ctx.pkt.direction = Direction::kToClient;
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{180, 181, 182, 183}));
  RuleLoader loader;
  loader.load_text(
      "alert udp any any -> any any (msg:\"x\"; app-layer-protocol:!unknown; sid:185;)\n"
      "alert udp any any -> any any (msg:\"x\"; app-layer-protocol:http,sideways; sid:186;)\n",
      "t");
  EXPECT_EQ(loader.take().skipped.size(), 2u);
}

TEST(Engine, ThresholdBackoff) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"b\"; content:\"x\"; "
      "threshold:type backoff, track by_flow, count 2, multiplier 3; sid:150;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  std::vector<int> alerted_at;
  for (int i = 1; i <= 20; ++i) {
    udp_packet(ctx, &flow, "x");
    std::size_t before = ctx.alerts.size();
    det.on_packet(ctx.pkt, ctx);
    if (ctx.alerts.size() > before) alerted_at.push_back(i);
  }
  EXPECT_EQ(alerted_at, (std::vector<int>{2, 6, 18}));
  RuleLoader loader;
  loader.load_text(
      "alert udp any any -> any any (msg:\"x\"; threshold:type backoff, track by_flow, count 1, "
      "seconds 60; sid:151;)\n",
      "t");
  auto set = loader.take();
  ASSERT_EQ(set.skipped.size(), 1u);
  EXPECT_NE(set.skipped[0].reason.find("multiplier"), std::string::npos);
}

TEST(Engine, FlowbitsAcrossPacketsAndThreshold) {
  auto e = engine_for(
      "alert udp any any -> any any (msg:\"set\"; content:\"login\"; flowbits:set,seen; "
      "flowbits:noalert; sid:20;)\n"
      "alert udp any any -> any any (msg:\"check\"; content:\"data\"; flowbits:isset,seen; "
      "threshold:type limit, track by_src, count 2, seconds 60; sid:21;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  udp_packet(ctx, &flow, "data");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_TRUE(ctx.alerts.empty());  // bit not set yet
  udp_packet(ctx, &flow, "login");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_TRUE(ctx.alerts.empty());  // noalert
  for (int i = 0; i < 4; ++i) {
    udp_packet(ctx, &flow, "data");
    det.on_packet(ctx.pkt, ctx);
  }
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{21, 21}));  // limited to 2 per minute
  EXPECT_EQ(det.stats().suppressed, 2u);
}

TEST(Engine, AppBuffersOncePerTransaction) {
  auto e = engine_for(
      "alert http any any -> any any (msg:\"uri\"; flow:established,to_server; http.method; "
      "content:\"GET\"; http.uri; content:\"/evil\"; fast_pattern; endswith; "
      "classtype:trojan-activity; metadata:k v1, k v2; sid:30; rev:2;)\n"
      "alert dns any any -> any any (msg:\"dns\"; dns.query; dotprefix; content:\".bad.example\"; "
      "endswith; sid:31;)\n");
  ASSERT_TRUE(e);
  RuleDetector det(e);
  FakeContext ctx;
  Flow flow;
  flow.app_proto = AppProto::kHttp;
  flow.set_established();
  udp_packet(ctx, &flow, "");
  ctx.pkt.proto = ip_proto::kTcp;
  ctx.buffers[Buffer::kHttpMethod] = {"GET"};
  ctx.buffers[Buffer::kHttpUri] = {"/x/evil"};
  AppEvent ev{AppProto::kHttp, AppProgress::kHttpRequestHeaders, Direction::kToServer, 0};
  det.on_app(ev, ctx);
  ev.progress = AppProgress::kHttpRequestBody;
  det.on_app(ev, ctx);
  ASSERT_EQ(ctx.sids(), (std::vector<uint64_t>{30}));
  EXPECT_EQ(ctx.alerts[0].category, "A Network Trojan was detected");
  EXPECT_EQ(ctx.alerts[0].severity, 1);
  EXPECT_EQ(ctx.alerts[0].rev, 2u);
  EXPECT_EQ(ctx.alerts[0].metadata.find("k.1")->str, "v2");
  ev.tx_id = 1;
  ctx.buffers[Buffer::kHttpMethod] = {"POST"};
  det.on_app(ev, ctx);
  EXPECT_EQ(ctx.alerts.size(), 1u);
  // DNS: query names are a multi-buffer; dotprefix makes "bad.example" match the label.
  Flow dflow;
  dflow.app_proto = AppProto::kDns;
  udp_packet(ctx, &dflow, "");
  ctx.buffers.clear();
  ctx.buffers[Buffer::kDnsQuery] = {"ok.example", "bad.example"};
  det.on_app(AppEvent{AppProto::kDns, AppProgress::kDnsQuery, Direction::kToServer, 0}, ctx);
  EXPECT_EQ(ctx.alerts.back().signature_id, 31u);
  EXPECT_EQ(ctx.alerts.size(), 2u);
}

TEST(Engine, IpOnlyAndDropInIpsMode) {
  auto e = engine_for(
      "drop ip [1.2.3.0/24,5.6.7.8] any -> $HOME_NET any (msg:\"rep\"; sid:40;)\n"
      "alert udp any any -> any any (msg:\"other\"; content:\"zz\"; sid:41;)\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->stats().ip_only, 1u);
  RuleDetector det(e);
  FakeContext ctx;
  udp_packet(ctx, nullptr, "aa");
  ctx.pkt.src_ip = *core::IpAddress::parse("1.2.3.99");
  ctx.pkt.dst_ip = *core::IpAddress::parse("192.168.1.1");
  det.on_packet(ctx.pkt, ctx);
  ASSERT_EQ(ctx.sids(), (std::vector<uint64_t>{40}));
  EXPECT_EQ(ctx.alerts[0].action, "allowed");
  EXPECT_EQ(ctx.drops, 0);
  ctx.ips = true;
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.alerts.back().action, "blocked");
  EXPECT_EQ(ctx.drops, 1);
  ctx.alerts.clear();
  ctx.pkt.src_ip = *core::IpAddress::parse("1.2.4.1");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_TRUE(ctx.alerts.empty());
}

TEST(Engine, SuppressFromThresholdConfig) {
  RuleLoader loader;
  loader.load_text("alert udp any any -> any any (msg:\"a\"; content:\"hi\"; sid:60;)\n", "t");
  auto set = loader.take();
  ASSERT_TRUE(apply_threshold_config(set,
                                     "suppress gen_id 1, sig_id 60, track by_src, ip 10.0.0.1\n",
                                     "threshold.config", default_address_variables())
                  .ok());
  auto e = RuleEngine::build(std::move(set));
  ASSERT_TRUE(e.ok());
  RuleDetector det(*e);
  FakeContext ctx;
  udp_packet(ctx, nullptr, "hi");  // from 10.0.0.1: suppressed
  det.on_packet(ctx.pkt, ctx);
  EXPECT_TRUE(ctx.alerts.empty());
  ctx.pkt.src_ip = *core::IpAddress::parse("10.0.0.2");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{60}));
}

TEST(Engine, RateFilterSwitchesTheActionForTheTimeout) {
  RuleLoader loader;
  loader.load_text("alert udp any any -> any any (msg:\"a\"; content:\"hi\"; sid:61;)\n", "t");
  auto set = loader.take();
  ASSERT_TRUE(apply_threshold_config(set,
                                     "rate_filter gen_id 1, sig_id 61, track by_src, count 2, "
                                     "seconds 60, new_action pass, timeout 10\n",
                                     "threshold.config", default_address_variables())
                  .ok());
  auto e = RuleEngine::build(std::move(set));
  ASSERT_TRUE(e.ok());
  RuleDetector det(*e);
  FakeContext ctx;
  udp_packet(ctx, nullptr, "hi");
  for (int i = 0; i < 4; ++i) det.on_packet(ctx.pkt, ctx);
  // Two matches alert; the third goes over the rate, and `pass` holds for the timeout.
  EXPECT_EQ(ctx.alerts.size(), 2u);
  ctx.pkt.timestamp = core::Timestamp::from_seconds(ctx.pkt.timestamp.seconds() + 11);
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.alerts.size(), 3u);
}

TEST(Engine, ReloadThroughTheSlotTakesEffectOnTheNextPacket) {
  auto first = engine_for("alert udp any any -> any any (msg:\"old\"; content:\"x\"; sid:70;)\n");
  auto second = engine_for("alert udp any any -> any any (msg:\"new\"; content:\"x\"; sid:71;)\n");
  ASSERT_TRUE(first && second);
  auto slot = std::make_shared<EngineSlot>(first);
  RuleDetector det{std::shared_ptr<const EngineSlot>(slot)};
  FakeContext ctx;
  udp_packet(ctx, nullptr, "x");
  det.on_packet(ctx.pkt, ctx);
  slot->set(second);
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{70, 71}));
}

TEST(Engine, DatabaseCacheIsUsedOnRebuild) {
  auto dir = std::filesystem::temp_directory_path() / "mimamori_rules_cache_test";
  std::filesystem::remove_all(dir);
  std::string rules =
      "alert udp any any -> any any (msg:\"a\"; content:\"hello\"; sid:50;)\n"
      "alert http any any -> any any (msg:\"b\"; http.uri; content:\"/x\"; sid:51;)\n";
  auto first = engine_for(rules, {dir});
  ASSERT_TRUE(first);
  // Both directions of a rule without flow direction share one database file.
  EXPECT_LT(first->stats().cache_hits, first->stats().databases);
  auto second = engine_for(rules, {dir});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stats().cache_hits, second->stats().databases);
  RuleDetector det(second);
  FakeContext ctx;
  udp_packet(ctx, nullptr, "say hello");
  det.on_packet(ctx.pkt, ctx);
  EXPECT_EQ(ctx.sids(), (std::vector<uint64_t>{50}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mimamori::net::rules
