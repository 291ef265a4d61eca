#include "mimamori/net/pipeline.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "app/app.h"
#include "eve_util.h"
#include "flow_internals.h"
#include "flow_table.h"
#include "mimamori/core/config.h"
#include "mimamori/core/log.h"

namespace mimamori::net {

std::string_view proto_name(uint8_t proto, std::string& scratch) {
  switch (proto) {
    case ip_proto::kTcp:
      return "TCP";
    case ip_proto::kUdp:
      return "UDP";
    case ip_proto::kIcmp:
      return "ICMP";
    case ip_proto::kIcmpv6:
      return "IPv6-ICMP";
    case ip_proto::kSctp:
      return "SCTP";
    case ip_proto::kGre:
      return "GRE";
    case ip_proto::kIpip:
      return "IP-in-IP";
    case ip_proto::kIpv6InIp:
      return "IPv6";
    default:
      scratch = std::to_string(proto);
      return scratch;
  }
}

// A byte size as Suricata's configuration writes it: a number, or one with a kb/mb/gb
// suffix (powers of 1024).
static unsigned size_option(const core::Config& c, const std::string& key, unsigned fallback) {
  if (!c.has(key)) return fallback;
  auto text = c.get<std::string>(key, "");
  std::size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') v = v * 10 + (text[i++] - '0');
  std::string unit;
  for (; i < text.size(); ++i)
    if (text[i] != ' ') unit.push_back(static_cast<char>(std::tolower(text[i])));
  uint64_t mult = unit.empty() || unit == "b"                    ? 1
                  : unit == "kb" || unit == "k" || unit == "kib" ? 1024
                  : unit == "mb" || unit == "m" || unit == "mib" ? 1024 * 1024
                  : unit == "gb" || unit == "g" || unit == "gib" ? 1024ull * 1024 * 1024
                                                                 : 0;
  if (mult == 0 || text.empty() || !(text[0] >= '0' && text[0] <= '9') || v * mult > UINT32_MAX)
    throw core::ConfigError(
        key + ": expected a size (a number, optionally with kb, mb or gb), got '" + text + "'");
  return static_cast<unsigned>(v * mult);
}

PipelineOptions PipelineOptions::from_config(const core::Config& c) {
  PipelineOptions o;
  o.frag_trackers = c.get<unsigned>("defrag.trackers", o.frag_trackers);
  o.frag_timeout_s = c.get<int64_t>("defrag.timeout", o.frag_timeout_s);
  o.flow_memcap = c.get<uint64_t>("flow.memcap", o.flow_memcap);
  o.flow_hash_size = c.get<unsigned>("flow.hash-size", o.flow_hash_size);
  o.tcp_new_s = c.get<int64_t>("flow-timeouts.tcp.new", o.tcp_new_s);
  o.tcp_established_s = c.get<int64_t>("flow-timeouts.tcp.established", o.tcp_established_s);
  o.tcp_closed_s = c.get<int64_t>("flow-timeouts.tcp.closed", o.tcp_closed_s);
  o.udp_new_s = c.get<int64_t>("flow-timeouts.udp.new", o.udp_new_s);
  o.udp_established_s = c.get<int64_t>("flow-timeouts.udp.established", o.udp_established_s);
  o.other_new_s = c.get<int64_t>("flow-timeouts.default.new", o.other_new_s);
  o.other_established_s =
      c.get<int64_t>("flow-timeouts.default.established", o.other_established_s);
  o.midstream = c.get<bool>("stream.midstream", o.midstream);
  o.vxlan = c.get<bool>("decoder.vxlan.enabled", o.vxlan);
  o.geneve = c.get<bool>("decoder.geneve.enabled", o.geneve);
  o.teredo = c.get<bool>("decoder.teredo.enabled", o.teredo);
  o.tunnel_depth_in_key =
      c.get<bool>("decoder.recursion-level.use-for-tracking", o.tunnel_depth_in_key);
  o.stream_depth = c.get<uint64_t>("stream.reassembly.depth", o.stream_depth);
  o.stream_memcap = c.get<uint64_t>("stream.reassembly.memcap", o.stream_memcap);
  // Suricata's libhtp default-config keys, or the shorter ones of this sensor.
  constexpr std::string_view kHtp = "app-layer.protocols.http.libhtp.default-config.";
  o.request_body_limit = size_option(
      c, std::string(kHtp) + "request-body-limit",
      size_option(c, "app-layer.protocols.http.request-body-limit", o.request_body_limit));
  o.response_body_limit = size_option(
      c, std::string(kHtp) + "response-body-limit",
      size_option(c, "app-layer.protocols.http.response-body-limit", o.response_body_limit));
  o.decompress_layers = c.get<unsigned>(
      "app-layer.protocols.http.libhtp.default-config.response-body-decompress-layer-limit",
      o.decompress_layers);
  o.ips = c.get<bool>("ips", o.ips);
  o.log_flow = c.get<bool>("outputs.eve.flow", o.log_flow);
  o.log_dns = c.get<bool>("outputs.eve.dns", o.log_dns);
  o.log_dns_requests = c.get<bool>("outputs.eve.dns-requests", o.log_dns_requests);
  o.log_dns_responses = c.get<bool>("outputs.eve.dns-responses", o.log_dns_responses);
  o.http_extended = c.get<bool>("outputs.eve.http-extended", o.http_extended);
  o.community_id = c.get<bool>("outputs.eve.community-id", o.community_id);
  o.alert_verdict = c.get<bool>("outputs.eve.alert-verdict", o.alert_verdict);
  o.xff = c.get<bool>("outputs.eve.xff.enabled", o.xff);
  if (o.xff) {
    auto mode = c.get<std::string>("outputs.eve.xff.mode", "extra-data");
    auto deployment = c.get<std::string>("outputs.eve.xff.deployment", "reverse");
    if (mode != "extra-data" && mode != "overwrite")
      throw core::ConfigError("outputs.eve.xff.mode: expected extra-data or overwrite, got '" +
                              mode + "'");
    if (deployment != "reverse" && deployment != "forward")
      throw core::ConfigError("outputs.eve.xff.deployment: expected reverse or forward, got '" +
                              deployment + "'");
    o.xff_overwrite = mode == "overwrite";
    o.xff_reverse = deployment == "reverse";
    o.xff_header = c.get<std::string>("outputs.eve.xff.header", o.xff_header);
  }
  o.community_id_seed = c.get<unsigned>("outputs.eve.community-id-seed", o.community_id_seed);
  o.log_http = c.get<bool>("outputs.eve.http", o.log_http);
  o.log_tls = c.get<bool>("outputs.eve.tls", o.log_tls);
  o.log_ssh = c.get<bool>("outputs.eve.ssh", o.log_ssh);
  o.log_anomaly = c.get<bool>("outputs.eve.anomaly", o.log_anomaly);
  o.alert_payload = c.get<bool>("outputs.eve.alert.payload", o.alert_payload);
  o.alert_payload_printable =
      c.get<bool>("outputs.eve.alert.payload-printable", o.alert_payload_printable);
  o.alert_packet = c.get<bool>("outputs.eve.alert.packet", o.alert_packet);
  o.alert_tagged_packets = c.get<bool>("outputs.eve.alert.tagged-packets", o.alert_tagged_packets);
  o.ethernet = c.get<bool>("outputs.eve.ethernet", o.ethernet);
  std::string tz = c.get<std::string>("outputs.eve.timezone", "jst");
  o.format.utc_offset_minutes = tz == "utc" || tz == "UTC" ? 0 : core::kJstOffsetMinutes;
  return o;
}

void PipelineStats::add(const PipelineStats& o) {
  auto* a = reinterpret_cast<uint64_t*>(&decode);
  auto* b = reinterpret_cast<const uint64_t*>(&o.decode);
  for (std::size_t i = 0; i < sizeof(DecodeStats) / sizeof(uint64_t); ++i) a[i] += b[i];
  // Everything after `decode` is uint64_t counters too.
  auto* x = reinterpret_cast<uint64_t*>(&flows_created);
  auto* y = reinterpret_cast<const uint64_t*>(&o.flows_created);
  std::size_t n =
      (reinterpret_cast<const char*>(&events + 1) - reinterpret_cast<const char*>(&flows_created)) /
      sizeof(uint64_t);
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
}

void PipelineStats::append_to(core::Fields& f, int64_t uptime_s) const {
  const DecodeStats& d = decode;
  f.begin_object("stats");
  f.add("uptime", uptime_s);
  f.begin_object("decoder")
      .add("pkts", d.pkts)
      .add("bytes", d.bytes)
      .add("invalid", d.invalid)
      .add("ipv4", d.ipv4)
      .add("ipv6", d.ipv6)
      .add("ethernet", d.ethernet)
      .add("sll", d.sll)
      .add("raw", d.raw)
      .add("tcp", d.tcp)
      .add("udp", d.udp)
      .add("icmpv4", d.icmpv4)
      .add("icmpv6", d.icmpv6)
      .add("vlan", d.vlan)
      .add("pppoe", d.pppoe)
      .add("gre", d.gre)
      .add("vxlan", d.vxlan)
      .add("geneve", d.geneve)
      .add("teredo", d.teredo)
      .add("ipip", d.ipip)
      .add("erspan", d.erspan)
      .add("nsh", d.nsh)
      .add("arp", d.arp)
      .add("other", d.other)
      .add("checksum_errors", d.checksum_bad);
  f.begin_object("event");
  for (int i = 1; i < static_cast<int>(Anomaly::kCount); ++i)
    if (d.anomalies[i]) f.add(anomaly_name(static_cast<Anomaly>(i)), d.anomalies[i]);
  f.end();
  f.end();
  f.begin_object("defrag")
      .add("fragments", d.frag_fragments)
      .add("reassembled", d.frag_reassembled)
      .add("timeouts", d.frag_timeouts)
      .add("overlaps", d.frag_overlaps)
      .add("memcap", d.frag_memcap)
      .end();
  f.begin_object("flow")
      .add("total", flows_created)
      .add("tcp", flows_tcp)
      .add("udp", flows_udp)
      .add("icmp", flows_icmp)
      .add("other", flows_other)
      .add("active", flows_active)
      .add("timeout", flows_timeout)
      .add("evicted", flows_evicted)
      .add("memcap", flow_memcap)
      .end();
  f.begin_object("tcp")
      .add("sessions", tcp_sessions)
      .add("midstream_pickups", tcp_midstream)
      .add("reassembly_gap", tcp_reassembly_gap)
      .add("overlap", tcp_overlap)
      .add("out_of_order", tcp_ooo)
      .add("memcap", tcp_memcap)
      .add("depth_reached", tcp_depth_reached)
      .add("reassembled_bytes", tcp_bytes)
      .end();
  f.begin_object("app_layer");
  f.begin_object("flow");
  for (int i = 1; i < 6; ++i) f.add(app_proto_name(static_cast<AppProto>(i)), app_flows[i]);
  f.end();
  f.begin_object("tx");
  for (int i = 1; i < 5; ++i) f.add(app_proto_name(static_cast<AppProto>(i)), app_tx[i]);
  f.end();
  f.add("anomalies", app_anomalies);
  f.end();
  f.begin_object("detect").add("alert", alerts).end();
  f.begin_object("ips").add("drop", drops).end();
  f.end();
}

// ---------------------------------------------------------------------------------------------

class PipelineImpl final : public DetectContext, public AppSink {
 public:
  PipelineImpl(const PipelineOptions& o, std::vector<std::unique_ptr<Detector>> detectors,
               EveSink* sink)
      : opt_(o),
        decoder_(make_decode_options(o)),
        flows_(make_flow_options(o), [this](Flow& f, FlowEndReason r) { flow_end(f, r); }),
        detectors_(std::move(detectors)),
        sink_(sink) {
    limits_.request_body_limit = o.request_body_limit;
    limits_.response_body_limit = o.response_body_limit;
    limits_.decompress_layers = o.decompress_layers;
    limits_.http_extended = o.http_extended;
    for (unsigned i = 0; i < detectors_.size(); ++i) detectors_[i]->set_flow_slot(i);
    if (o.checksums == ChecksumMode::kNone) decoder_.set_check_checksums(false);
    out_.reserve(1 << 17);
  }

  static DecodeOptions make_decode_options(const PipelineOptions& o) {
    DecodeOptions d;
    d.check_checksums = o.checksums != ChecksumMode::kNone;
    d.frag_trackers = o.frag_trackers;
    d.frag_timeout_us = o.frag_timeout_s * 1'000'000;
    d.vxlan = o.vxlan;
    d.geneve = o.geneve;
    d.teredo = o.teredo;
    return d;
  }
  static FlowTableOptions make_flow_options(const PipelineOptions& o) {
    FlowTableOptions f;
    f.memcap = o.flow_memcap;
    f.hash_size = o.flow_hash_size;
    f.tcp = {o.tcp_new_s, o.tcp_established_s, o.tcp_closed_s};
    f.udp = {o.udp_new_s, o.udp_established_s, 0};
    f.icmp = {o.other_new_s, o.other_established_s, 0};
    f.other = {o.other_new_s, o.other_established_s, 0};
    f.midstream = o.midstream;
    f.tunnel_depth_in_key = o.tunnel_depth_in_key;
    return f;
  }

  // --- the data path ---------------------------------------------------------------------

  bool process(const RawPacket& raw, uint64_t number) {
    Anomaly a = Anomaly::kNone;
    Decoder::Outcome oc = decoder_.decode(raw, pkt_, a);
    pkt_.number = number;
    auto_checksums();
    if (a != Anomaly::kNone && opt_.log_anomaly) decode_anomaly(a);
    if (oc == Decoder::Outcome::kFragment) return true;
    if (pkt_.timestamp.micros - last_tick_.micros >= 1'000'000 || pkt_.timestamp < last_tick_) {
      tick(pkt_.timestamp);
    }
    verdict_drop_ = false;
    if (int layers = decoder_.tunnel_layers()) {
      // Tunnels: each layer's packet is inspected first, outermost first (in its own flow,
      // except GRE), then the inner one.
      Packet inner = pkt_;
      bool pass = true;
      for (int i = 0; i < layers; ++i) {
        pkt_ = decoder_.tunnel_layer(i);
        pkt_.number = number;
        verdict_drop_ = false;
        if (!handle(Anomaly::kNone, decoder_.tunnel_layer_has_flow(i))) pass = false;
      }
      pkt_ = inner;
      verdict_drop_ = false;
      if (!handle(a, true)) pass = false;
      return pass;
    }
    return handle(a, true);
  }

  // Flow, detectors and app-layer for the decoded packet in pkt_.
  bool handle(Anomaly a, bool track) {
    Flow* flow = nullptr;
    // Some anomalies leave a whole packet (an atomic IPv6 fragment, overlapping fragments
    // reassembled first-wins): it is still tracked and inspected, as Suricata does.
    bool whole = a == Anomaly::kNone || a == Anomaly::kIpv6ExthdrUselessFh ||
                 (a == Anomaly::kFragOverlap && pkt_.reassembled);
    if (pkt_.ip_version != 0 && whole && track) flow = flows_.update(pkt_);
    if (flow && flow->drop && opt_.ips) {
      ++stats_.drops;
      return false;
    }
    stream_ = false;
    for (auto& d : detectors_) d->on_packet(pkt_, *this);
    if (flow && !checksum_blocks()) {
      if (pkt_.is_tcp())
        tcp(*flow);
      else if (pkt_.is_udp() && !pkt_.payload.empty())
        udp(*flow);
    }
    if (verdict_drop_) ++stats_.drops;
    if (out_.size() > (1 << 16)) flush();
    return !verdict_drop_;
  }

  void auto_checksums() {
    if (opt_.checksums != ChecksumMode::kAuto || checksum_decided_) return;
    const DecodeStats& d = decoder_.stats();
    if (d.pkts >= 1000 || (d.checksum_bad >= 10 && d.checksum_bad * 10 >= d.pkts)) {
      // As Suricata's pcap "auto" mode: captures where offloading left many checksums unset.
      if (d.checksum_bad * 10 >= d.pkts && d.checksum_bad > 0) {
        decoder_.set_check_checksums(false);
        spdlog::info("{} of the first {} packets have bad checksums: checksum checks disabled",
                     d.checksum_bad, d.pkts);
      }
      checksum_decided_ = true;
    }
  }

  // Packets seen before the auto decision keep their bad-checksum mark; in auto mode the
  // mark only counts once validation stays on, so early offloaded packets are not lost.
  bool checksum_blocks() const {
    return pkt_.checksum_bad && (opt_.checksums == ChecksumMode::kAll || checksum_decided_);
  }

  void tick(core::Timestamp now) {
    last_tick_ = now;
    flows_.expire(now);
  }

  // --- TCP ---------------------------------------------------------------------------------

  void tcp(Flow& f) {
    FlowInternals& fi = *f.internals;
    if (!fi.stream_tracked) return;
    if (f.midstream && pkt_.direction == Direction::kToServer &&
        f.app_proto == AppProto::kUnknown && fi.side[0].delivered == 0 &&
        fi.side[1].delivered == 0 && is_server_reply(pkt_.payload))
      swap_sides(f);
    if (f.pkts[0] + f.pkts[1] == 1) {
      ++stats_.tcp_sessions;
      if (f.midstream) ++stats_.tcp_midstream;
    }
    int d = static_cast<int>(pkt_.direction);
    StreamSide& s = fi.side[d];
    uint8_t fl = pkt_.tcp_flags;
    if (fl & tcp_flag::kSyn) {
      s.init = true;
      s.next_seq = pkt_.tcp_seq + 1;
      // TCP Fast Open: a SYN may carry the first request.
      if (!pkt_.payload.empty()) segment(f, d, pkt_.tcp_seq + 1, pkt_.payload);
      return;
    }
    if (!s.init) {
      // Missed the SYN (or midstream): start at this segment.
      s.init = true;
      s.next_seq = pkt_.tcp_seq;
    }
    // What the peer acknowledged tells, later, whether missing bytes were lost for good.
    if (fl & tcp_flag::kAck) {
      StreamSide& o = fi.side[1 - d];
      if (!o.peer_ack_seen || static_cast<int32_t>(pkt_.tcp_ack - o.peer_acked) > 0) {
        o.peer_acked = pkt_.tcp_ack;
        o.peer_ack_seen = true;
      }
    }
    if (!pkt_.payload.empty()) segment(f, d, pkt_.tcp_seq, pkt_.payload);
    if (fl & (tcp_flag::kFin | tcp_flag::kRst)) s.fin = true;
  }

  // True when `d` can only have come from a server: an HTTP response, or an SMB message with
  // its reply flag (SMB1 flags bit 0x80, SMB2 SERVER_TO_REDIR) after the NetBIOS session header.
  static bool is_server_reply(std::string_view d) {
    if (d.substr(0, 7) == "HTTP/1.") return true;
    if (d.size() < 4 + 20 || d[0] != 0) return false;
    std::string_view smb = d.substr(4);
    if (smb.substr(0, 4) == "\xffSMB") return (static_cast<uint8_t>(smb[9]) & 0x80) != 0;
    if (smb.substr(0, 4) == "\xfeSMB") return (static_cast<uint8_t>(smb[16]) & 0x01) != 0;
    return false;
  }

  // A session picked up midstream whose first data is a server's reply: the side we took for
  // the client is the server. Turn the flow around (as Suricata does) so that records name
  // the real client and the parser sees the response on the server's side.
  void swap_sides(Flow& f) {
    std::swap(f.client_ip, f.server_ip);
    std::swap(f.client_port, f.server_port);
    std::swap(f.pkts[0], f.pkts[1]);
    std::swap(f.bytes[0], f.bytes[1]);
    std::swap(f.tcp_flags[0], f.tcp_flags[1]);
    FlowInternals& fi = *f.internals;
    std::swap(fi.side[0], fi.side[1]);
    std::swap(fi.probe_bytes[0], fi.probe_bytes[1]);
    if (fi.probe_buf) std::swap(fi.probe_buf[0], fi.probe_buf[1]);
    pkt_.direction = Direction::kToClient;
  }

  // Bytes [next_seq, to) of direction d were lost; the stream continues at `to`.
  void skip_to(Flow& f, int d, uint32_t to) {
    StreamSide& s = f.internals->side[d];
    uint32_t lost = to - s.next_seq;
    s.next_seq = to;
    gap(f, d, lost);
  }

  void gap(Flow& f, int d, uint32_t lost) {
    ++stats_.tcp_reassembly_gap;
    StreamSide& s = f.internals->side[d];
    s.gap_pending = true;
    if (f.internals->parser) f.internals->parser->gap(static_cast<Direction>(d), lost);
  }

  void segment(Flow& f, int d, uint32_t seq, std::string_view data) {
    StreamSide& s = f.internals->side[d];
    if (s.closed) return;
    int32_t diff = static_cast<int32_t>(seq - s.next_seq);
    if (diff < 0) {
      int64_t end = static_cast<int64_t>(diff) + static_cast<int64_t>(data.size());
      ++stats_.tcp_overlap;
      if (end <= 0) return;  // all old: first copy won
      stream_anomaly(f, "stream.reassembly_overlap");
      data.remove_prefix(static_cast<std::size_t>(-diff));
      diff = 0;
    }
    if (diff == 0) {
      deliver(f, d, data);
      drain(f, d);
      return;
    }
    // Out of order. If the receiver already acknowledged the missing bytes, the capture lost
    // them and they will not come: record a gap and go on from here.
    if (s.peer_ack_seen && static_cast<int32_t>(s.peer_acked - seq) >= 0) {
      skip_to(f, d, seq);
      deliver(f, d, data);
      drain(f, d);
      return;
    }
    // Otherwise hold a copy, within the per-worker memcap.
    ++stats_.tcp_ooo;
    if (ooo_bytes_ + data.size() > opt_.stream_memcap || s.ooo.size() >= 1024) {
      ++stats_.tcp_memcap;
      // Give up waiting: skip to the held data (gap) so memory stays bounded.
      if (!s.ooo.empty()) {
        uint32_t lowest = s.ooo[0].seq;
        for (auto& sg : s.ooo)
          if (static_cast<int32_t>(sg.seq - lowest) < 0) lowest = sg.seq;
        skip_to(f, d, lowest);
        drain(f, d);
      }
      return;
    }
    for (auto& sg : s.ooo)
      if (sg.seq == seq && sg.data.size() >= data.size()) return;  // retransmission: first wins
    s.ooo.push_back({seq, std::string(data)});
    s.buffered += data.size();
    ooo_bytes_ += data.size();
  }

  void drain(Flow& f, int d) {
    StreamSide& s = f.internals->side[d];
    bool progress = true;
    while (progress && !s.ooo.empty()) {
      progress = false;
      for (std::size_t i = 0; i < s.ooo.size(); ++i) {
        auto& sg = s.ooo[i];
        int32_t diff = static_cast<int32_t>(sg.seq - s.next_seq);
        if (diff > 0) continue;
        std::string data = std::move(sg.data);
        s.buffered -= data.size();
        ooo_bytes_ -= data.size();
        s.ooo.erase(s.ooo.begin() + static_cast<long>(i));
        int64_t end = static_cast<int64_t>(diff) + static_cast<int64_t>(data.size());
        if (end > 0) {
          if (diff < 0) ++stats_.tcp_overlap;
          deliver(f, d, std::string_view(data).substr(static_cast<std::size_t>(-diff)));
        }
        progress = true;
        break;
      }
    }
  }

  void release_ooo(Flow& f) {
    for (auto& s : f.internals->side) {
      ooo_bytes_ -= s.buffered;
      s.buffered = 0;
      s.ooo.clear();
    }
  }

  void deliver(Flow& f, int d, std::string_view data) {
    StreamSide& s = f.internals->side[d];
    s.next_seq += static_cast<uint32_t>(data.size());
    if (s.closed) return;
    if (s.delivered + data.size() > opt_.stream_depth) {
      data = data.substr(0, static_cast<std::size_t>(opt_.stream_depth - s.delivered));
      s.closed = true;
      ++stats_.tcp_depth_reached;
    }
    if (data.empty()) return;
    StreamChunk chunk{static_cast<Direction>(d), s.delivered, data, s.gap_pending};
    s.delivered += data.size();
    s.gap_pending = false;
    stats_.tcp_bytes += data.size();
    stream_ = true;
    for (auto& det : detectors_) det->on_stream(chunk, *this);
    app_data(f, static_cast<Direction>(d), data, true);
    stream_ = false;
  }

  // --- app layer ---------------------------------------------------------------------------

  void udp(Flow& f) {
    FlowInternals& fi = *f.internals;
    if (f.app_proto == AppProto::kUnknown) {
      if (looks_like_dns(pkt_.payload)) {
        set_proto(f, AppProto::kDns, false);
      } else if (++fi.udp_probes >= 4) {
        f.app_proto = AppProto::kFailed;
      }
    }
    if (fi.parser) {
      stream_ = true;
      app_data(f, pkt_.direction, pkt_.payload, false);
      stream_ = false;
    }
  }

  void set_proto(Flow& f, AppProto p, bool tcp) {
    FlowInternals& fi = *f.internals;
    f.app_proto = p;
    ++stats_.app_flows[static_cast<int>(p)];
    if (p == AppProto::kFailed) return;
    // Parsers are kept per protocol in a small free list, so flows reuse them.
    auto& spare = spare_parsers_[static_cast<int>(p)][tcp ? 1 : 0];
    if (!spare.empty()) {
      fi.parser = std::move(spare.back());
      spare.pop_back();
      return;
    }
    switch (p) {
      case AppProto::kHttp:
        fi.parser = make_http_parser(limits_);
        break;
      case AppProto::kDns:
        fi.parser = make_dns_parser(tcp);
        break;
      case AppProto::kTls:
        fi.parser = make_tls_parser();
        break;
      case AppProto::kSsh:
        fi.parser = make_ssh_parser();
        break;
      default:
        break;
    }
  }

  void app_data(Flow& f, Direction dir, std::string_view data, bool tcp) {
    FlowInternals& fi = *f.internals;
    int d = static_cast<int>(dir);
    std::string* held = nullptr;  // probe bytes to hand to the parser with this chunk
    const std::size_t chunk = data.size();
    if (fi.probe_buf && !fi.probe_buf[d].empty()) {
      held = &fi.probe_buf[d];
      held->append(data);
      data = *held;
    }
    if (tcp && f.app_proto == AppProto::kUnknown) {
      bool give_up = false;
      fi.probe_bytes[d] += static_cast<uint32_t>(chunk);
      AppProto p = detect_tcp_proto(dir, data, give_up);
      if (p == AppProto::kUnknown && !give_up && data.size() < 64) {
        // Too short to tell (e.g. "GE" of a GET split over segments): keep it for the next.
        if (!held) {
          if (!fi.probe_buf) fi.probe_buf = std::make_unique<std::string[]>(2);
          fi.probe_buf[d].assign(data);
        }
        return;
      }
      if (p != AppProto::kUnknown) {
        (dir == Direction::kToServer ? f.app_proto_ts : f.app_proto_tc) = p;
        set_proto(f, p, true);
      } else if (give_up) {
        fi.probe_bytes[d] = std::max<uint32_t>(fi.probe_bytes[d], 4096);
        if (fi.probe_bytes[0] >= 4096 && fi.probe_bytes[1] >= 4096)
          set_proto(f, AppProto::kFailed, true);
        else if (fi.probe_bytes[d] >= 4096 && (fi.probe_bytes[1 - d] > 0 || data.size() > 512))
          set_proto(f, AppProto::kFailed, true);
      }
    }
    if (!fi.parser) {
      if (held) held->clear();
      return;
    }
    cur_flow_ = &f;
    switch_pending_ = false;
    fi.parser->parse(dir, data, *this);
    cur_flow_ = nullptr;
    if (held) held->clear();
    if (switch_pending_ && tcp) {
      // Detect the tunnelled protocol from the next bytes of either side.
      switch_pending_ = false;
      fi.parser->reset();
      auto& spare = spare_parsers_[static_cast<int>(f.app_proto)][1];
      if (spare.size() < 64) spare.push_back(std::move(fi.parser));
      fi.parser.reset();
      f.app_proto = f.app_proto_ts = f.app_proto_tc = AppProto::kUnknown;
      fi.probe_bytes[0] = fi.probe_bytes[1] = 0;
      fi.probe_buf.reset();
    }
  }

  void switch_protocol() override { switch_pending_ = true; }

  // AppSink
  void progress(const AppEvent& ev) override {
    // A DNS message reports its progress just before its record: it tells query from answer.
    if (ev.proto == AppProto::kDns) dns_answer_ = ev.progress == AppProgress::kDnsAnswer;
    if (detectors_.empty() || !cur_flow_) return;
    app_parser_ = cur_flow_->internals->parser.get();
    bool was = stream_;
    stream_ = true;
    app_tx_ = static_cast<int64_t>(ev.tx_id);
    if (closing_) {
      // At flow end (a body cut short, read until close) no packet of the flow is at hand:
      // detectors see a payload-less pseudo packet of the flow in the event's direction, as
      // Suricata's flow-end pseudo packets.
      Packet saved = pkt_;
      set_pseudo_packet(*cur_flow_, ev.direction, saved.number);
      for (auto& d : detectors_) d->on_app(ev, *this);
      pkt_ = saved;
    } else {
      for (auto& d : detectors_) d->on_app(ev, *this);
    }
    stream_ = was;
    app_parser_ = nullptr;
    app_tx_ = -1;
  }

  void set_pseudo_packet(Flow& f, Direction dir, uint64_t number) {
    static constexpr char kNoHeader[20] = {};
    bool ts = dir == Direction::kToServer;
    pkt_ = Packet{};
    pkt_.timestamp = f.last;
    pkt_.number = number;
    pkt_.ip_version = f.client_ip.is_v6() ? 6 : 4;
    pkt_.src_ip = ts ? f.client_ip : f.server_ip;
    pkt_.dst_ip = ts ? f.server_ip : f.client_ip;
    pkt_.src_port = ts ? f.client_port : f.server_port;
    pkt_.dst_port = ts ? f.server_port : f.client_port;
    pkt_.proto = f.proto;
    pkt_.l4_header = std::string_view(kNoHeader, sizeof(kNoHeader));
    pkt_.flow = &f;
    pkt_.direction = dir;
    pkt_.origin = PacketOrigin::kFlowEnd;
  }

  void record(std::string_view type, const core::Fields& fields, Direction dir) override {
    Flow* f = cur_flow_;
    if (!f) return;
    ++stats_.app_tx[static_cast<int>(f->app_proto)];
    bool want = (type == "dns" && opt_.log_dns &&
                 (dns_answer_ ? opt_.log_dns_responses : opt_.log_dns_requests)) ||
                (type == "http" && opt_.log_http) || (type == "tls" && opt_.log_tls) ||
                (type == "ssh" && opt_.log_ssh);
    if (!want) return;
    ev_.clear();
    ev_.timestamp = closing_ ? f->last : pkt_.timestamp;
    ev_.event_type.assign(type);
    ev_.flow_id = f->id;
    ev_.in_iface = opt_.in_iface;
    // DNS records follow the message's direction; the others are written client to server.
    bool reverse = type == "dns" && dir == Direction::kToClient;
    set_endpoints(*f, reverse);
    ev_.fields.clear();
    add_vlan(f->vlan, f->vlan_count);
    ev_.fields.add("ip_v", f->client_ip.is_v6() ? 6 : 4);
    add_community_id(*f);
    ev_.fields.append(fields);
    if (!closing_) ev_.fields.add("pcap_cnt", pkt_.number);
    write_event();
  }

  void anomaly(std::string_view event) override {
    ++stats_.app_anomalies;
    Flow* f = cur_flow_;
    if (!opt_.log_anomaly || !f) return;
    ev_.clear();
    ev_.timestamp = closing_ ? f->last : pkt_.timestamp;
    ev_.event_type.assign(core::event_type::kAnomaly);
    ev_.flow_id = f->id;
    set_endpoints(*f, false);
    ev_.app_proto.assign(app_proto_name(f->app_proto));
    ev_.fields.begin_object("anomaly")
        .add("app_proto", app_proto_name(f->app_proto))
        .add("type", "applayer")
        .add("event", event)
        .add("layer", "proto_parser")
        .end();
    write_event();
  }

  void add_vlan(const uint16_t* vlan, uint8_t n) {
    if (!n) return;
    ev_.fields.begin_array("vlan");
    for (uint8_t i = 0; i < n; ++i) ev_.fields.add("", vlan[i]);
    ev_.fields.end();
  }

  void set_endpoints(const Flow& f, bool reverse) {
    ev_.src_ip = reverse ? f.server_ip : f.client_ip;
    ev_.dest_ip = reverse ? f.client_ip : f.server_ip;
    ev_.proto.assign(proto_name(f.proto, scratch_));
    if (f.proto == ip_proto::kTcp || f.proto == ip_proto::kUdp || f.proto == ip_proto::kSctp) {
      ev_.src_port = reverse ? f.server_port : f.client_port;
      ev_.dest_port = reverse ? f.client_port : f.server_port;
    }
  }

  // Community ID v1 (corelight/community-id-spec): base64 SHA-1 over the seed and the
  // flow's endpoints in a canonical order, so other tools name the same flow the same way.
  void add_community_id(const Flow& f) {
    if (!opt_.community_id) return;
    if (f.proto != ip_proto::kTcp && f.proto != ip_proto::kUdp && f.proto != ip_proto::kSctp)
      return;  // ICMP needs the spec's type/code pairing: not written
    std::size_t alen = f.client_ip.is_v6() ? 16 : 4;
    const uint8_t* a = f.client_ip.bytes().data();
    const uint8_t* b = f.server_ip.bytes().data();
    uint16_t pa = f.client_port, pb = f.server_port;
    int c = std::memcmp(a, b, alen);
    if (c > 0 || (c == 0 && pa > pb)) {
      std::swap(a, b);
      std::swap(pa, pb);
    }
    uint8_t buf[2 + 16 + 16 + 2 + 4];
    std::size_t n = 0;
    buf[n++] = static_cast<uint8_t>(opt_.community_id_seed >> 8);
    buf[n++] = static_cast<uint8_t>(opt_.community_id_seed);
    std::memcpy(buf + n, a, alen);
    n += alen;
    std::memcpy(buf + n, b, alen);
    n += alen;
    buf[n++] = f.proto;
    buf[n++] = 0;
    buf[n++] = static_cast<uint8_t>(pa >> 8);
    buf[n++] = static_cast<uint8_t>(pa);
    buf[n++] = static_cast<uint8_t>(pb >> 8);
    buf[n++] = static_cast<uint8_t>(pb);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(buf, n, md, &mdlen, EVP_sha1(), nullptr);
    char b64[64] = "1:";
    int len =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64 + 2), md, static_cast<int>(mdlen));
    ev_.fields.add("community_id", std::string_view(b64, static_cast<std::size_t>(2 + len)));
  }

  void set_packet_endpoints(const Packet& p) {
    ev_.src_ip = p.src_ip;
    ev_.dest_ip = p.dst_ip;
    if (p.ip_version) ev_.proto.assign(proto_name(p.proto, scratch_));
    if (p.is_tcp() || p.is_udp() || p.is_sctp()) {
      ev_.src_port = p.src_port;
      ev_.dest_port = p.dst_port;
    }
  }

  void decode_anomaly(Anomaly a) {
    ev_.clear();
    ev_.timestamp = pkt_.timestamp;
    ev_.event_type.assign(core::event_type::kAnomaly);
    ev_.in_iface = opt_.in_iface;
    if (pkt_.ip_version) set_packet_endpoints(pkt_);
    ev_.fields.begin_object("anomaly").add("type", "decode").add("event", anomaly_name(a)).end();
    ev_.fields.add("pcap_cnt", pkt_.number);
    write_event();
  }

  void stream_anomaly(Flow& f, std::string_view event) {
    if (!opt_.log_anomaly) return;
    ev_.clear();
    ev_.timestamp = pkt_.timestamp;
    ev_.event_type.assign(core::event_type::kAnomaly);
    ev_.flow_id = f.id;
    set_packet_endpoints(pkt_);
    ev_.fields.begin_object("anomaly").add("type", "stream").add("event", event).end();
    ev_.fields.add("pcap_cnt", pkt_.number);
    write_event();
  }

  // --- flow end ----------------------------------------------------------------------------

  void flow_end(Flow& f, FlowEndReason reason) {
    FlowInternals& fi = *f.internals;
    closing_ = true;
    if (f.proto == ip_proto::kTcp && fi.stream_tracked) {
      // Hand over what is still held out of order, after a gap.
      for (int d = 0; d < 2; ++d) {
        StreamSide& s = fi.side[d];
        while (!s.ooo.empty()) {
          uint32_t lowest = s.ooo[0].seq;
          for (auto& sg : s.ooo)
            if (static_cast<int32_t>(sg.seq - lowest) < 0) lowest = sg.seq;
          if (lowest != s.next_seq) skip_to(f, d, lowest);
          drain(f, d);
        }
      }
    }
    if (fi.parser) {
      cur_flow_ = &f;
      fi.parser->close(*this);
      cur_flow_ = nullptr;
    }
    for (auto& d : detectors_) d->on_flow_end(f);
    if (f.proto == ip_proto::kTcp && f.app_proto == AppProto::kUnknown &&
        (fi.probe_bytes[0] || fi.probe_bytes[1]))
      f.app_proto = AppProto::kFailed;
    if (opt_.log_flow) log_flow(f, reason);
    closing_ = false;
    release_ooo(f);
    if (fi.parser) {
      fi.parser->reset();
      int p = static_cast<int>(fi.parser->proto());
      auto& spare = spare_parsers_[p][f.proto == ip_proto::kTcp ? 1 : 0];
      if (spare.size() < 64) spare.push_back(std::move(fi.parser));
      fi.parser.reset();
    }
  }

  void log_flow(const Flow& f, FlowEndReason reason) {
    ev_.clear();
    ev_.timestamp = f.last;
    ev_.event_type.assign(core::event_type::kFlow);
    ev_.flow_id = f.id;
    ev_.in_iface = opt_.in_iface;
    set_endpoints(f, false);
    ev_.app_proto.assign(app_proto_name(f.app_proto));
    auto& o = ev_.fields;
    if (f.proto == ip_proto::kIcmp || f.proto == ip_proto::kIcmpv6) {
      // ICMP flows carry no ports: the first type/code each way instead, as Suricata logs.
      o.add("icmp_type", f.icmp_type[0]).add("icmp_code", f.icmp_code[0]);
      if (f.pkts[1])
        o.add("response_icmp_type", f.icmp_type[1]).add("response_icmp_code", f.icmp_code[1]);
    }
    add_vlan(f.vlan, f.vlan_count);
    o.add("ip_v", f.client_ip.is_v6() ? 6 : 4);
    add_community_id(f);
    o.begin_object("flow")
        .add("pkts_toserver", f.pkts[0])
        .add("pkts_toclient", f.pkts[1])
        .add("bytes_toserver", f.bytes[0])
        .add("bytes_toclient", f.bytes[1]);
    tmp_.clear();
    core::append_eve_time(tmp_, f.start, opt_.format.utc_offset_minutes);
    o.add("start", tmp_);
    tmp_.clear();
    core::append_eve_time(tmp_, f.last, opt_.format.utc_offset_minutes);
    o.add("end", tmp_);
    o.add("age", f.last.seconds() - f.start.seconds());
    std::string_view state = "new";
    if (f.proto == ip_proto::kTcp &&
        (f.tcp_state == TcpState::kClosed || f.tcp_state == TcpState::kTimeWait ||
         f.tcp_state == TcpState::kLastAck || f.tcp_state == TcpState::kClosing))
      state = "closed";
    else if (f.established())
      state = "established";
    o.add("state", state);
    o.add("reason", flow_end_reason_name(reason));
    o.add("alerted", f.internals->alerted != 0);
    o.end();
    if (f.proto == ip_proto::kTcp) {
      uint8_t all = f.tcp_flags[0] | f.tcp_flags[1];
      tmp_.clear();
      append_hex2(tmp_, all);
      o.begin_object("tcp").add("tcp_flags", tmp_);
      tmp_.clear();
      append_hex2(tmp_, f.tcp_flags[0]);
      o.add("tcp_flags_ts", tmp_);
      tmp_.clear();
      append_hex2(tmp_, f.tcp_flags[1]);
      o.add("tcp_flags_tc", tmp_);
      if (all & tcp_flag::kSyn) o.add("syn", true);
      if (all & tcp_flag::kFin) o.add("fin", true);
      if (all & tcp_flag::kRst) o.add("rst", true);
      if (all & tcp_flag::kPsh) o.add("psh", true);
      if (all & tcp_flag::kAck) o.add("ack", true);
      if (all & tcp_flag::kUrg) o.add("urg", true);
      if (all & tcp_flag::kEce) o.add("ecn", true);
      if (all & tcp_flag::kCwr) o.add("cwr", true);
      o.add("state", tcp_state_name(f.tcp_state));
      o.end();
    }
    write_event();
  }

  static void append_hex2(std::string& s, uint8_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    s.push_back(kHex[v >> 4]);
    s.push_back(kHex[v & 15]);
  }

  // --- output ------------------------------------------------------------------------------

  void write_event() {
    ++stats_.events;
    std::size_t start = out_.size();
    core::append_eve(ev_, out_, opt_.format);
    // Suricata writes IPv6 addresses as eight full groups; the core writer uses RFC 5952.
    if (ev_.src_ip.is_v6()) patch_ip(start, "\"src_ip\":\"", ev_.src_ip);
    if (ev_.dest_ip.is_v6()) patch_ip(start, "\"dest_ip\":\"", ev_.dest_ip);
    out_.push_back('\n');
  }

  void patch_ip(std::size_t start, std::string_view key, const core::IpAddress& a) {
    std::size_t k = out_.find(key, start);
    if (k == std::string::npos) return;
    std::size_t b = k + key.size();
    std::size_t e = out_.find('"', b);
    if (e == std::string::npos) return;
    tmp_.clear();
    append_suricata_ip(tmp_, a);
    out_.replace(b, e - b, tmp_);
  }

  void flush() {
    if (out_.empty()) return;
    if (sink_) sink_->write(out_);
    out_.clear();
  }

  void finish() {
    flows_.shutdown();
    flush();
    if (sink_) sink_->flush();
  }

  const PipelineStats& stats() {
    stats_.decode = decoder_.stats();
    const FlowTableStats& fs = flows_.stats();
    stats_.flows_created = fs.created;
    stats_.flows_tcp = fs.tcp;
    stats_.flows_udp = fs.udp;
    stats_.flows_icmp = fs.icmp;
    stats_.flows_other = fs.other;
    stats_.flows_timeout = fs.timeouts;
    stats_.flows_evicted = fs.evicted;
    stats_.flow_memcap = fs.memcap;
    stats_.flows_active = fs.active;
    return stats_;
  }

  // --- DetectContext -----------------------------------------------------------------------

  const Packet& packet() const override { return pkt_; }
  bool stream_data() const override { return stream_; }
  std::string_view buffer(Buffer b, std::size_t index) const override {
    return app_parser_ ? app_parser_->buffer(b, index) : std::string_view{};
  }
  std::size_t buffer_count(Buffer b) const override {
    return app_parser_ ? app_parser_->buffer_count(b) : 0;
  }
  void alert(const core::Alert& alert) override { alert_verdict(alert, {}); }
  void alert_verdict(const core::Alert& alert, std::string_view verdict,
                     const core::Fields* extra = nullptr) override {
    ++stats_.alerts;
    ev_.clear();
    ev_.timestamp = pkt_.timestamp;
    ev_.event_type.assign(core::event_type::kAlert);
    ev_.in_iface = opt_.in_iface;
    set_packet_endpoints(pkt_);
    ev_.alert = alert;
    Flow* f = pkt_.flow;
    if (opt_.xff && f && f->app_proto == AppProto::kHttp && f->internals->parser) {
      std::string_view text;
      auto ip = xff_address(f->internals->parser->request_header(opt_.xff_header), opt_.xff_reverse,
                            text);
      if (ip && opt_.xff_overwrite) {
        (pkt_.direction == Direction::kToClient ? ev_.dest_ip : ev_.src_ip) = *ip;
      } else if (ip) {
        ev_.alert->extra.add("xff", text);
      }
    }
    if (f) {
      ev_.flow_id = f->id;
      f->internals->alerted = 1;
      ev_.app_proto.assign(app_proto_name(f->app_proto));
      add_vlan(f->vlan, f->vlan_count);
      ev_.fields.add("ip_v", f->client_ip.is_v6() ? 6 : 4);
      ev_.fields.add("direction",
                     pkt_.direction == Direction::kToServer ? "to_server" : "to_client");
      // An alert on an app-layer transaction names it, as Suricata does.
      if (app_tx_ >= 0) ev_.fields.add("tx_id", app_tx_);
      if (f->internals->parser) f->internals->parser->append_record(ev_.fields);
      ev_.fields.begin_object("flow")
          .add("pkts_toserver", f->pkts[0])
          .add("pkts_toclient", f->pkts[1])
          .add("bytes_toserver", f->bytes[0])
          .add("bytes_toclient", f->bytes[1]);
      tmp_.clear();
      core::append_eve_time(tmp_, f->start, opt_.format.utc_offset_minutes);
      ev_.fields.add("start", tmp_).end();
    }
    ev_.fields.add("pcap_cnt", pkt_.number);
    // Where the alerting packet came from, as Suricata names it: a captured one, a
    // reassembled or tunnelled one, or the pseudo packet of a flow's end.
    ev_.fields.add("pkt_src", packet_origin_name(closing_ ? PacketOrigin::kFlowEnd : pkt_.origin));
    if (pkt_.root) add_tunnel(*pkt_.root);
    if (opt_.ethernet) add_ether(pkt_);
    if (opt_.alert_payload || opt_.alert_payload_printable) add_payload();
    if (opt_.alert_packet && !closing_ && !pkt_.data.empty()) add_packet();
    if (opt_.alert_verdict && !verdict.empty()) {
      ev_.fields.begin_object("verdict").add("action", verdict).end();
    }
    if (extra) ev_.fields.append(*extra);
    write_event();
  }

  // The outermost packet of a tunnel, as Suricata's alert `tunnel` object gives it.
  void add_tunnel(const Packet& root) {
    tmp_.clear();
    append_suricata_ip(tmp_, root.src_ip);
    ev_.fields.begin_object("tunnel").add("src_ip", tmp_);
    bool ports = root.is_tcp() || root.is_udp() || root.is_sctp();
    ev_.fields.add("src_port", ports ? root.src_port : 0);
    tmp_.clear();
    append_suricata_ip(tmp_, root.dst_ip);
    ev_.fields.add("dest_ip", tmp_);
    ev_.fields.add("dest_port", ports ? root.dst_port : 0);
    ev_.fields.add("proto", proto_name(root.proto, scratch_));
    ev_.fields.add("depth", pkt_.tunnel_depth);
    if (pkt_.number) ev_.fields.add("pcap_cnt", pkt_.number);
    ev_.fields.add("pkt_src", packet_origin_name(root.origin));
    ev_.fields.end();
  }

  // Source and destination MAC of an Ethernet frame.
  void add_ether(const Packet& p) {
    if (p.link_type != 1 || p.data.size() < 14) return;
    auto mac = [this](const char* b) {
      tmp_.clear();
      for (int i = 0; i < 6; ++i) {
        if (i) tmp_.push_back(':');
        append_hex2(tmp_, static_cast<uint8_t>(b[i]));
      }
      return std::string_view(tmp_);
    };
    ev_.fields.begin_object("ether");
    ev_.fields.add("src_mac", mac(p.data.data() + 6));
    ev_.fields.add("dest_mac", mac(p.data.data()));
    ev_.fields.end();
  }

  // The alerting packet's payload (`payload` base64, `payload_printable`), and whether the
  // match was on stream data.
  void add_payload() {
    std::string_view data = pkt_.payload;
    if (opt_.alert_payload) add_base64("payload", data);
    if (opt_.alert_payload_printable) {
      // Printable ASCII, CR and LF as they are; anything else as '.'.
      tmp_.assign(data);
      for (char& c : tmp_) {
        auto u = static_cast<unsigned char>(c);
        if (!((u >= 0x20 && u < 0x7f) || u == '\n' || u == '\r')) c = '.';
      }
      ev_.fields.add("payload_printable", tmp_);
    }
    bool stream = pkt_.is_tcp() && stream_;
    ev_.fields.add("stream", stream ? 1 : 0);
  }

  // The current packet's frame (`packet`, base64) and its link type (`packet_info`).
  void add_packet() {
    add_base64("packet", pkt_.data);
    ev_.fields.begin_object("packet_info").add("linktype", pkt_.link_type);
    std::string_view name = link_type_name(pkt_.link_type);
    if (!name.empty()) ev_.fields.add("linktype_name", name);
    ev_.fields.end();
  }

  void add_base64(std::string_view key, std::string_view data) {
    tmp_.resize(4 * ((data.size() + 2) / 3) + 1);
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(tmp_.data()),
                            reinterpret_cast<const unsigned char*>(data.data()),
                            static_cast<int>(data.size()));
    ev_.fields.add(key, std::string_view(tmp_.data(), static_cast<std::size_t>(n)));
  }
  void drop() override {
    if (!opt_.ips) return;
    verdict_drop_ = true;
    if (pkt_.flow) pkt_.flow->drop = true;
  }
  void drop_packet() override {
    if (opt_.ips) verdict_drop_ = true;
  }
  bool ips_mode() const override { return opt_.ips; }
  // A tagged packet, as Suricata's alert output writes one: the packet's header fields and the
  // frame (`packet`, `packet_info.linktype`).
  void tagged_packet() override {
    if (!opt_.alert_tagged_packets || closing_ || pkt_.data.empty()) return;
    ev_.clear();
    ev_.timestamp = pkt_.timestamp;
    ev_.event_type.assign("packet");
    ev_.in_iface = opt_.in_iface;
    set_packet_endpoints(pkt_);
    if (pkt_.flow) ev_.flow_id = pkt_.flow->id;
    add_vlan(pkt_.vlan, pkt_.vlan_count);
    ev_.fields.add("pcap_cnt", pkt_.number);
    ev_.fields.add("pkt_src", packet_origin_name(pkt_.origin));
    add_packet();
    write_event();
  }
  void emit(core::Event& event) override {
    if (event.flow_id == 0 && pkt_.flow) event.flow_id = pkt_.flow->id;
    std::swap(ev_, event);
    write_event();
    std::swap(ev_, event);
  }

 private:
  PipelineOptions opt_;
  AppLimits limits_;
  Decoder decoder_;
  FlowTable flows_;
  std::vector<std::unique_ptr<Detector>> detectors_;
  EveSink* sink_;
  Packet pkt_;
  PipelineStats stats_;
  core::Event ev_;
  std::string out_, tmp_, scratch_;
  core::Timestamp last_tick_;
  uint64_t ooo_bytes_ = 0;
  bool checksum_decided_ = false;
  bool verdict_drop_ = false;
  bool stream_ = false;
  bool closing_ = false;
  bool switch_pending_ = false;  // the parser asked for protocol detection afresh
  bool dns_answer_ = false;      // the DNS message being recorded is a response
  Flow* cur_flow_ = nullptr;
  AppParser* app_parser_ = nullptr;
  int64_t app_tx_ = -1;  // the transaction of the on_app callback in progress, else -1
  std::vector<std::unique_ptr<AppParser>> spare_parsers_[6][2];
};

Pipeline::Pipeline(const PipelineOptions& options, std::vector<std::unique_ptr<Detector>> detectors,
                   EveSink* sink)
    : impl_(std::make_unique<PipelineImpl>(options, std::move(detectors), sink)) {}
Pipeline::~Pipeline() = default;
bool Pipeline::process(const RawPacket& raw, uint64_t number) {
  return impl_->process(raw, number);
}
void Pipeline::tick(core::Timestamp now) { impl_->tick(now); }
void Pipeline::finish() { impl_->finish(); }
void Pipeline::flush() { impl_->flush(); }
const PipelineStats& Pipeline::stats() { return impl_->stats(); }

}  // namespace mimamori::net
