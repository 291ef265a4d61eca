// End-to-end tests of one worker's pipeline on corpus captures: what detectors see through
// the Detector interface, and the EVE records written.

#include "mimamori/net/pipeline.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "mimamori/core/config.h"
#include "mimamori/core/eve.h"

namespace mimamori::net {
namespace {

const std::string kSv = std::string(MIMAMORI_CORPUS_DIR) + "/suricata-verify/tests/";

class StringSink : public EveSink {
 public:
  void write(std::string_view lines) override {
    std::lock_guard l(mu_);
    text.append(lines);
  }
  void flush() override {}
  std::vector<core::Event> events() const {
    std::vector<core::Event> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto e = core::parse_eve(line);
      EXPECT_TRUE(e.ok()) << line;
      if (e.ok()) out.push_back(std::move(*e));
    }
    return out;
  }
  std::string text;

 private:
  std::mutex mu_;
};

struct Seen {
  uint64_t packets = 0, stream_bytes[2] = {0, 0};
  std::vector<std::pair<AppProgress, std::map<std::string, std::string>>> apps;
  bool only_stream_in_app = true, established_in_app = true;
  int flow_ends = 0;
};

// Records every call; raises an alert on the first HTTP request whose host it is told.
class RecordingDetector : public Detector {
 public:
  RecordingDetector(Seen* seen, std::string alert_host)
      : seen_(seen), host_(std::move(alert_host)) {}
  std::string_view name() const override { return "recording"; }
  void on_packet(const Packet& p, DetectContext& ctx) override {
    ++seen_->packets;
    EXPECT_FALSE(ctx.stream_data());
    EXPECT_EQ(ctx.buffer_count(Buffer::kHttpUri), 0u);
    (void)p;
  }
  void on_stream(const StreamChunk& c, DetectContext& ctx) override {
    seen_->stream_bytes[static_cast<int>(c.direction)] += c.data.size();
    EXPECT_TRUE(ctx.stream_data());
  }
  void on_app(const AppEvent& ev, DetectContext& ctx) override {
    std::map<std::string, std::string> bufs;
    for (std::size_t i = 0; i < static_cast<std::size_t>(Buffer::kCount); ++i) {
      auto b = static_cast<Buffer>(i);
      for (std::size_t k = 0; k < ctx.buffer_count(b); ++k) {
        std::string key(buffer_name(b));
        if (k) key.append("#").append(std::to_string(k));
        bufs[key] = std::string(ctx.buffer(b, k));
      }
    }
    if (!ctx.stream_data()) seen_->only_stream_in_app = false;
    if (ev.proto == AppProto::kHttp && (!ctx.flow() || !ctx.flow()->established()))
      seen_->established_in_app = false;
    if (ev.progress == AppProgress::kHttpRequestHeaders && !alerted_ &&
        ctx.buffer(Buffer::kHttpHost) == host_) {
      alerted_ = true;
      core::Alert a;
      a.signature_id = 4242;
      a.signature = "test: host seen";
      ctx.alert(a);
      // Per-flow state survives until the flow ends.
      struct Mark : FlowState {};
      ctx.flow()->set_state(flow_slot(), std::make_unique<Mark>());
    }
    seen_->apps.emplace_back(ev.progress, std::move(bufs));
  }
  void on_flow_end(Flow& f) override {
    ++seen_->flow_ends;
    if (f.state(flow_slot())) marked_end_ = true;
  }
  bool marked_end_ = false;

 private:
  Seen* seen_;
  std::string host_;
  bool alerted_ = false;
};

struct Capture {
  Seen seen;
  StringSink sink;
  PipelineStats stats;
  bool marked_end = false;
};

void run(const std::string& pcap, Capture& r, std::string host = "", PipelineOptions opt = {}) {
  std::vector<std::unique_ptr<Detector>> dets;
  auto* det = new RecordingDetector(&r.seen, host);
  dets.emplace_back(det);
  opt.checksums = ChecksumMode::kNone;
  Pipeline p(opt, std::move(dets), &r.sink);
  auto src = PacketSource::open_read(pcap);
  ASSERT_TRUE(src.ok()) << src.error().message;
  std::atomic<bool> stop{false};
  RawPacket raw;
  uint64_t n = 0;
  while (true) {
    auto more = (*src)->next(raw, stop);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    p.process(raw, ++n);
  }
  p.finish();
  r.stats = p.stats();
  r.marked_end = det->marked_end_;
}

TEST(Pipeline, HttpOverPppoeGivesBuffersRecordAndAlertWithHttpAttached) {
  Capture r;
  run(kSv + "bug-4810/pppoe-session-http.pcap", r, "www.google.nl");
  EXPECT_EQ(r.seen.packets, 30u);
  EXPECT_GT(r.seen.stream_bytes[0], 0u);
  EXPECT_GT(r.seen.stream_bytes[1], r.seen.stream_bytes[0]);
  ASSERT_FALSE(r.seen.apps.empty());
  EXPECT_TRUE(r.seen.only_stream_in_app);
  EXPECT_TRUE(r.seen.established_in_app);
  const auto& req = r.seen.apps[0];
  EXPECT_EQ(req.first, AppProgress::kHttpRequestHeaders);
  EXPECT_EQ(req.second.at("http.method"), "GET");
  EXPECT_EQ(req.second.at("http.uri"), "/");
  EXPECT_EQ(req.second.at("http.host"), "www.google.nl");
  EXPECT_EQ(req.second.at("http.user_agent"), "curl/7.76.1");
  EXPECT_EQ(req.second.at("http.request_line"), "GET / HTTP/1.1");
  EXPECT_EQ(req.second.count("http.stat_code"), 0u);
  bool saw_response = false;
  for (const auto& [prog, bufs] : r.seen.apps)
    if (prog == AppProgress::kHttpResponseHeaders) {
      saw_response = true;
      EXPECT_EQ(bufs.at("http.stat_code"), "200");
      EXPECT_EQ(bufs.at("http.protocol"), "HTTP/1.1");
    }
  EXPECT_TRUE(saw_response);
  EXPECT_TRUE(r.marked_end);
  EXPECT_EQ(r.seen.flow_ends, 1);

  auto events = r.sink.events();
  int http = 0, alerts = 0, flows = 0;
  for (const auto& e : events) {
    if (e.event_type == "http") {
      ++http;
      EXPECT_EQ(e.fields.find_string("http.hostname"), "www.google.nl");
      EXPECT_EQ(e.fields.find_string("http.http_method"), "GET");
      EXPECT_EQ(e.fields.find("http.status")->as_int(), 200);
      EXPECT_EQ(e.src_ip.to_string(), "10.100.0.0");
    } else if (e.event_type == "alert") {
      ++alerts;
      ASSERT_TRUE(e.alert.has_value());
      EXPECT_EQ(e.alert->signature_id, 4242u);
      EXPECT_EQ(e.app_proto, "http");
      EXPECT_EQ(e.fields.find_string("http.hostname"), "www.google.nl");
      EXPECT_EQ(e.fields.find_string("direction"), "to_server");
    } else if (e.event_type == "flow") {
      ++flows;
      EXPECT_EQ(e.app_proto, "http");
      EXPECT_EQ(e.fields.find("flow.alerted")->b, true);
      EXPECT_EQ(e.fields.find("flow.pkts_toserver")->as_int(), 16);
      EXPECT_EQ(e.fields.find("flow.pkts_toclient")->as_int(), 14);
    }
  }
  EXPECT_EQ(http, 1);
  EXPECT_EQ(alerts, 1);
  EXPECT_EQ(flows, 1);
}

// Alerts on every packet that carries payload.
class PayloadAlerter : public Detector {
 public:
  std::string_view name() const override { return "payload"; }
  void on_packet(const Packet& p, DetectContext& ctx) override {
    if (p.payload.empty()) return;
    core::Alert a;
    a.signature_id = 7;
    a.signature = "test: payload";
    ctx.alert(a);
  }
};

TEST(Pipeline, AlertsOnIpInIpNameTheTunnelAndCarryPacketAndPayload) {
  PipelineOptions opt;
  opt.checksums = ChecksumMode::kNone;
  opt.midstream = true;
  opt.alert_packet = opt.alert_payload = opt.alert_payload_printable = opt.ethernet = true;
  std::vector<std::unique_ptr<Detector>> dets;
  dets.emplace_back(new PayloadAlerter);
  StringSink sink;
  Pipeline pipe(opt, std::move(dets), &sink);
  auto src = PacketSource::open_read(kSv + "bug-4571-01/ipv4_over_ipv4.pcap");
  ASSERT_TRUE(src.ok()) << src.error().message;
  std::atomic<bool> stop{false};
  RawPacket raw;
  uint64_t n = 0;
  while (true) {
    auto more = src.value()->next(raw, stop);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    pipe.process(raw, ++n);
  }
  pipe.finish();
  int outer = 0, inner = 0, outer_flows = 0, inner_flows = 0;
  for (const auto& e : sink.events()) {
    if (e.event_type == "flow") {
      (e.proto == "IP-in-IP" ? outer_flows : inner_flows) += 1;
      continue;
    }
    if (e.event_type != "alert") continue;
    EXPECT_EQ(e.fields.find("stream")->as_int(), 0);
    EXPECT_FALSE(e.fields.find_string("payload").empty());
    if (e.proto == "IP-in-IP") {
      // The outer packet, as captured: Ethernet, with its MAC addresses.
      ++outer;
      EXPECT_EQ(e.fields.find_string("pkt_src"), "wire/pcap");
      EXPECT_EQ(e.fields.find("packet_info.linktype")->as_int(), 1);
      EXPECT_EQ(e.fields.find_string("packet_info.linktype_name"), "EN10MB");
      EXPECT_EQ(e.fields.find_string("ether.src_mac").size(), 17u);
      EXPECT_FALSE(e.fields.find("tunnel.src_ip").has_value());
    } else {
      ++inner;
      EXPECT_EQ(e.proto, "TCP");
      EXPECT_EQ(e.src_ip.to_string(), "10.1.0.3");
      EXPECT_EQ(e.fields.find_string("pkt_src"), "ipv4 tunnel");
      EXPECT_EQ(e.fields.find_string("tunnel.src_ip"), "10.1.0.1");
      EXPECT_EQ(e.fields.find_string("tunnel.dest_ip"), "10.1.0.2");
      EXPECT_EQ(e.fields.find_string("tunnel.proto"), "IP-in-IP");
      EXPECT_EQ(e.fields.find("tunnel.depth")->as_int(), 1);
      EXPECT_EQ(e.fields.find_string("tunnel.pkt_src"), "wire/pcap");
      EXPECT_EQ(e.fields.find_string("packet_info.linktype_name"), "RAW");
      EXPECT_NE(e.fields.find_string("payload_printable").find("hello"), std::string::npos);
    }
  }
  EXPECT_GT(outer, 0);
  EXPECT_EQ(inner, outer);  // every payload-carrying outer packet carries an inner one
  EXPECT_EQ(outer_flows, 1);
  EXPECT_EQ(inner_flows, 1);
}

TEST(Pipeline, DnsOverTcpQueryAndAnswer) {
  Capture r;
  run(kSv + "dns/dns-tcp-www-google-com/dns.pcap", r);
  std::vector<std::string> queries;
  for (const auto& [prog, bufs] : r.seen.apps)
    if (prog == AppProgress::kDnsQuery) queries.push_back(bufs.at("dns.query"));
  ASSERT_EQ(queries.size(), 1u);
  EXPECT_EQ(queries[0], "www.google.com");
  int req = 0, resp = 0;
  for (const auto& e : r.sink.events()) {
    if (e.event_type != "dns") continue;
    if (e.fields.find_string("dns.type") == "request") {
      ++req;
      EXPECT_EQ(e.fields.find_string("dns.queries.0.rrname"), "www.google.com");
      EXPECT_EQ(e.fields.find_string("dns.queries.0.rrtype"), "A");
    } else {
      ++resp;
      EXPECT_EQ(e.fields.find_string("dns.rcode"), "NOERROR");
      EXPECT_EQ(e.fields.find_string("dns.answers.0.rdata"), "216.197.242.244");
      EXPECT_EQ(e.fields.find_string("dns.grouped.A.11"), "216.197.242.216");
      EXPECT_EQ(e.src_port, 53);
    }
  }
  EXPECT_EQ(req, 1);
  EXPECT_EQ(resp, 1);
}

TEST(Pipeline, TlsHelloAndCertificate) {
  Capture r;
  run(kSv + "bug-2646-01/" + "input.pcap", r);
  std::map<std::string, std::string> cert;
  bool hello = false;
  for (const auto& [prog, bufs] : r.seen.apps) {
    if (prog == AppProgress::kTlsClientHello) {
      hello = true;
      EXPECT_EQ(bufs.at("tls.sni"), "raw.githubusercontent.com");
      EXPECT_EQ(bufs.at("ja3.hash").size(), 32u);
      EXPECT_EQ(bufs.at("ja4.hash").substr(0, 4), "t12d");
    }
    if (prog == AppProgress::kTlsCertificate) cert = bufs;
  }
  EXPECT_TRUE(hello);
  EXPECT_EQ(cert["tls.cert_subject"],
            "C=US, ST=California, L=San Francisco, O=GitHub, Inc., CN=www.github.com");
  EXPECT_EQ(cert["tls.cert_serial"], "08:3A:84:59:2F:77:F2:E7:95:1B:F8:87:CE:DE:C9:66");
  EXPECT_FALSE(cert["tls.certs"].empty());
  int tls = 0;
  for (const auto& e : r.sink.events())
    if (e.event_type == "tls") {
      ++tls;
      EXPECT_EQ(e.fields.find_string("tls.fingerprint"),
                "cc:aa:48:48:66:46:0e:91:53:2c:9c:7c:23:2a:b1:74:4d:29:9d:33");
      EXPECT_EQ(e.fields.find_string("tls.version"), "TLS 1.2");
      EXPECT_EQ(e.fields.find_string("tls.notafter"), "2020-05-13T12:00:00");
    }
  EXPECT_EQ(tls, 1);
}

// X-Forwarded-For on alerts: the last address (reverse proxy) as alert.xff, or the first
// (forward proxy) in place of the packet's source address.
TEST(Pipeline, HttpXffOnAlerts) {
  const std::string pcap = kSv + "http-xff-eve-reverse-overwrite/test.pcap";
  {
    Capture r;
    PipelineOptions opt;
    opt.xff = true;
    run(pcap, r, "www.testmyids.com", opt);
    int alerts = 0;
    for (const auto& e : r.sink.events()) {
      if (e.event_type != "alert") continue;
      ++alerts;
      EXPECT_EQ(e.alert->extra.find_string("xff"), "10.3.3.3");
      EXPECT_NE(e.src_ip.to_string(), "10.3.3.3");
    }
    EXPECT_EQ(alerts, 1);
  }
  Capture r;
  PipelineOptions opt;
  opt.xff = true;
  opt.xff_overwrite = true;
  opt.xff_reverse = false;
  run(pcap, r, "www.testmyids.com", opt);
  int alerts = 0;
  for (const auto& e : r.sink.events()) {
    if (e.event_type != "alert") continue;
    ++alerts;
    EXPECT_EQ(e.src_ip.to_string(), "10.2.2.2");  // the request's sender, replaced
    EXPECT_FALSE(e.alert->extra.find("xff").has_value());
  }
  EXPECT_EQ(alerts, 1);
}

// Suricata's libhtp key names and sizes ("1mb") set the body limits.
TEST(Pipeline, BodyLimitsFromLibhtpKeys) {
  core::Config c;
  c.set("app-layer.protocols.http.libhtp.default-config.response-body-limit=1mb");
  c.set("app-layer.protocols.http.request-body-limit=3kb");
  auto o = PipelineOptions::from_config(c);
  EXPECT_EQ(o.response_body_limit, 1024u * 1024u);
  EXPECT_EQ(o.request_body_limit, 3u * 1024u);
  core::Config bad;
  bad.set("app-layer.protocols.http.request-body-limit=lots");
  EXPECT_THROW(PipelineOptions::from_config(bad), core::ConfigError);
}

// A gzip-encoded request body is inspected decompressed.
TEST(Pipeline, CompressedRequestBodyIsInspectedDecompressed) {
  Capture r;
  run(kSv + "http-post-data-decompression/input.pcap", r);
  bool body = false;
  for (const auto& [prog, bufs] : r.seen.apps) {
    if (prog != AppProgress::kHttpRequestBody) continue;
    body = true;
    EXPECT_NE(bufs.at("http.request_body").find("name"), std::string::npos);
  }
  EXPECT_TRUE(body);
}

// Mutual TLS: the client's certificate is served in the certificate buffers while it is
// inspected, the server's otherwise.
TEST(Pipeline, TlsClientCertificate) {
  Capture r;
  run(kSv + "tls/tls-store-02/tls-client-auth.pcap", r);
  std::vector<std::string> subjects, fingerprints;
  for (const auto& [prog, bufs] : r.seen.apps)
    if (prog == AppProgress::kTlsCertificate) {
      subjects.push_back(bufs.count("tls.cert_subject") ? bufs.at("tls.cert_subject") : "");
      fingerprints.push_back(bufs.count("tls.cert_fingerprint") ? bufs.at("tls.cert_fingerprint")
                                                                : "");
    }
  ASSERT_EQ(subjects.size(), 2u);
  EXPECT_EQ(subjects[0].find("TLSClientAuthSampleClient"), std::string::npos);
  EXPECT_NE(subjects[1].find("O=TLSClientAuthSampleClient"), std::string::npos);
  EXPECT_EQ(fingerprints[1], "32:56:41:d0:6a:ff:47:cb:21:e4:89:c5:ae:2a:a2:d8:1b:c9:70:0c");
}

TEST(Pipeline, FlowMemcapEvictsOldestFlowsAndSaysSo) {
  PipelineOptions opt;
  opt.flow_memcap = 1;  // below the floor: the table keeps its minimum of 16 flows
  opt.checksums = ChecksumMode::kNone;
  StringSink sink;
  Pipeline p(opt, {}, &sink);
  // 100 UDP flows (raw IPv4 frames, link type 12), one packet each.
  for (int i = 0; i < 100; ++i) {
    std::string f(28, '\0');
    f[0] = 0x45;
    f[3] = 28;
    f[8] = 64;
    f[9] = 17;
    f[12] = 10, f[15] = 1;
    f[16] = 10, f[19] = 2;
    f[20] = static_cast<char>(0x80 + (i >> 8));
    f[21] = static_cast<char>(i & 0xff);
    f[23] = 99;
    f[25] = 8;
    RawPacket raw;
    raw.timestamp.micros = 1'000'000'000 + i;
    raw.data = f;
    raw.wire_length = 28;
    raw.link_type = 12;
    p.process(raw, static_cast<uint64_t>(i + 1));
  }
  p.finish();
  const auto& st = p.stats();
  EXPECT_EQ(st.flows_created, 100u);
  EXPECT_EQ(st.flows_evicted, 84u);
  EXPECT_EQ(st.flow_memcap, 84u);
  int forced = 0, shutdown = 0;
  for (const auto& e : sink.events()) {
    if (e.event_type != "flow") continue;
    auto reason = e.fields.find_string("flow.reason");
    forced += reason == "forced";
    shutdown += reason == "shutdown";
  }
  EXPECT_EQ(forced, 84);
  EXPECT_EQ(shutdown, 16);
}

}  // namespace
}  // namespace mimamori::net
