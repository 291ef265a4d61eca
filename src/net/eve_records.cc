#include "eve_records.h"

#include <openssl/evp.h>

#include <cstring>
#include <utility>

#include "app/app.h"
#include "eve_util.h"
#include "flow_internals.h"

namespace mimamori::net {
namespace {

void append_hex2(std::string& s, uint8_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  s.push_back(kHex[v >> 4]);
  s.push_back(kHex[v & 15]);
}

}  // namespace

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

EveRecords::EveRecords(const PipelineOptions& options, EveSink* sink, PipelineStats& stats)
    : opt_(options), sink_(sink), stats_(stats) {
  out_.reserve(1 << 17);
}

void EveRecords::decode_anomaly(const Packet& p, Anomaly a) {
  ev_.clear();
  ev_.timestamp = p.timestamp;
  ev_.event_type.assign(core::event_type::kAnomaly);
  ev_.in_iface = opt_.in_iface;
  if (p.ip_version) set_packet_endpoints(p);
  ev_.fields.begin_object("anomaly").add("type", "decode").add("event", anomaly_name(a)).end();
  ev_.fields.add("pcap_cnt", p.number);
  write_event();
}

void EveRecords::stream_anomaly(const Packet& p, const Flow& f, std::string_view event) {
  ev_.clear();
  ev_.timestamp = p.timestamp;
  ev_.event_type.assign(core::event_type::kAnomaly);
  ev_.flow_id = f.id;
  set_packet_endpoints(p);
  ev_.fields.begin_object("anomaly").add("type", "stream").add("event", event).end();
  ev_.fields.add("pcap_cnt", p.number);
  write_event();
}

void EveRecords::app_record(const Packet& p, const Flow& f, std::string_view type,
                            const core::Fields& fields, Direction dir, bool flow_end) {
  ev_.clear();
  ev_.timestamp = flow_end ? f.last : p.timestamp;
  ev_.event_type.assign(type);
  ev_.flow_id = f.id;
  ev_.in_iface = opt_.in_iface;
  // DNS records follow the message's direction; the others are written client to server.
  bool reverse = type == "dns" && dir == Direction::kToClient;
  set_endpoints(f, reverse);
  ev_.fields.clear();
  add_vlan(f.vlan, f.vlan_count);
  ev_.fields.add("ip_v", f.client_ip.is_v6() ? 6 : 4);
  add_community_id(f);
  ev_.fields.append(fields);
  if (!flow_end) ev_.fields.add("pcap_cnt", p.number);
  write_event();
}

void EveRecords::app_anomaly(const Packet& p, const Flow& f, std::string_view event,
                             bool flow_end) {
  ev_.clear();
  ev_.timestamp = flow_end ? f.last : p.timestamp;
  ev_.event_type.assign(core::event_type::kAnomaly);
  ev_.flow_id = f.id;
  set_endpoints(f, false);
  ev_.app_proto.assign(app_proto_name(f.app_proto));
  ev_.fields.begin_object("anomaly")
      .add("app_proto", app_proto_name(f.app_proto))
      .add("type", "applayer")
      .add("event", event)
      .add("layer", "proto_parser")
      .end();
  write_event();
}

void EveRecords::flow(const Flow& f, FlowEndReason reason) {
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

void EveRecords::write_event() {
  ++stats_.events;
  std::size_t start = out_.size();
  core::append_eve(ev_, out_, opt_.format);
  // Suricata writes IPv6 addresses as eight full groups; the core writer uses RFC 5952.
  if (ev_.src_ip.is_v6()) patch_ip(start, "\"src_ip\":\"", ev_.src_ip);
  if (ev_.dest_ip.is_v6()) patch_ip(start, "\"dest_ip\":\"", ev_.dest_ip);
  out_.push_back('\n');
}

void EveRecords::patch_ip(std::size_t start, std::string_view key, const core::IpAddress& a) {
  std::size_t k = out_.find(key, start);
  if (k == std::string::npos) return;
  std::size_t b = k + key.size();
  std::size_t e = out_.find('"', b);
  if (e == std::string::npos) return;
  tmp_.clear();
  append_suricata_ip(tmp_, a);
  out_.replace(b, e - b, tmp_);
}

void EveRecords::add_vlan(const uint16_t* vlan, uint8_t n) {
  if (!n) return;
  ev_.fields.begin_array("vlan");
  for (uint8_t i = 0; i < n; ++i) ev_.fields.add("", vlan[i]);
  ev_.fields.end();
}

void EveRecords::set_endpoints(const Flow& f, bool reverse) {
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
void EveRecords::add_community_id(const Flow& f) {
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
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64 + 2), md, static_cast<int>(mdlen));
  ev_.fields.add("community_id", std::string_view(b64, static_cast<std::size_t>(2 + len)));
}

void EveRecords::set_packet_endpoints(const Packet& p) {
  ev_.src_ip = p.src_ip;
  ev_.dest_ip = p.dst_ip;
  if (p.ip_version) ev_.proto.assign(proto_name(p.proto, scratch_));
  if (p.is_tcp() || p.is_udp() || p.is_sctp()) {
    ev_.src_port = p.src_port;
    ev_.dest_port = p.dst_port;
  }
}

void EveRecords::alert(const AlertSite& site, const core::Alert& alert, std::string_view verdict,
                       const core::Fields* extra) {
  const Packet& p = *site.packet;
  ++stats_.alerts;
  ev_.clear();
  ev_.timestamp = p.timestamp;
  ev_.event_type.assign(core::event_type::kAlert);
  ev_.in_iface = opt_.in_iface;
  set_packet_endpoints(p);
  ev_.alert = alert;
  Flow* f = p.flow;
  if (opt_.xff && f && f->app_proto == AppProto::kHttp && f->internals->parser) {
    std::string_view text;
    auto ip =
        xff_address(f->internals->parser->request_header(opt_.xff_header), opt_.xff_reverse, text);
    if (ip && opt_.xff_overwrite) {
      (p.direction == Direction::kToClient ? ev_.dest_ip : ev_.src_ip) = *ip;
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
    ev_.fields.add("direction", p.direction == Direction::kToServer ? "to_server" : "to_client");
    // An alert on an app-layer transaction names it, as Suricata does.
    if (site.tx_id >= 0) ev_.fields.add("tx_id", site.tx_id);
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
  ev_.fields.add("pcap_cnt", p.number);
  // Where the alerting packet came from, as Suricata names it: a captured one, a
  // reassembled or tunnelled one, or the pseudo packet of a flow's end.
  ev_.fields.add("pkt_src", packet_origin_name(site.flow_end ? PacketOrigin::kFlowEnd : p.origin));
  if (p.root) add_tunnel(p, *p.root);
  if (opt_.ethernet) add_ether(p);
  if (opt_.alert_payload || opt_.alert_payload_printable) add_payload(p, site.stream);
  if (opt_.alert_packet && !site.flow_end && !p.data.empty()) add_packet(p);
  if (opt_.alert_verdict && !verdict.empty()) {
    ev_.fields.begin_object("verdict").add("action", verdict).end();
  }
  if (extra) ev_.fields.append(*extra);
  write_event();
}

// The outermost packet of a tunnel, as Suricata's alert `tunnel` object gives it.
void EveRecords::add_tunnel(const Packet& p, const Packet& root) {
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
  ev_.fields.add("depth", p.tunnel_depth);
  if (p.number) ev_.fields.add("pcap_cnt", p.number);
  ev_.fields.add("pkt_src", packet_origin_name(root.origin));
  ev_.fields.end();
}

// Source and destination MAC of an Ethernet frame.
void EveRecords::add_ether(const Packet& p) {
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
void EveRecords::add_payload(const Packet& p, bool stream_data) {
  std::string_view data = p.payload;
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
  bool stream = p.is_tcp() && stream_data;
  ev_.fields.add("stream", stream ? 1 : 0);
}

// The current packet's frame (`packet`, base64) and its link type (`packet_info`).
void EveRecords::add_packet(const Packet& p) {
  add_base64("packet", p.data);
  ev_.fields.begin_object("packet_info").add("linktype", p.link_type);
  std::string_view name = link_type_name(p.link_type);
  if (!name.empty()) ev_.fields.add("linktype_name", name);
  ev_.fields.end();
}

void EveRecords::add_base64(std::string_view key, std::string_view data) {
  tmp_.resize(4 * ((data.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(tmp_.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  ev_.fields.add(key, std::string_view(tmp_.data(), static_cast<std::size_t>(n)));
}

// A tagged packet, as Suricata's alert output writes one: the packet's header fields and the
// frame (`packet`, `packet_info.linktype`).
void EveRecords::tagged_packet(const Packet& p, bool flow_end) {
  if (!opt_.alert_tagged_packets || flow_end || p.data.empty()) return;
  ev_.clear();
  ev_.timestamp = p.timestamp;
  ev_.event_type.assign("packet");
  ev_.in_iface = opt_.in_iface;
  set_packet_endpoints(p);
  if (p.flow) ev_.flow_id = p.flow->id;
  add_vlan(p.vlan, p.vlan_count);
  ev_.fields.add("pcap_cnt", p.number);
  ev_.fields.add("pkt_src", packet_origin_name(p.origin));
  add_packet(p);
  write_event();
}

void EveRecords::event(const core::Event& event) {
  ev_ = event;
  write_event();
}

void EveRecords::flush() {
  if (out_.empty()) return;
  if (sink_) sink_->write(out_);
  out_.clear();
}

void EveRecords::finish() {
  flush();
  if (sink_) sink_->flush();
}

}  // namespace mimamori::net
