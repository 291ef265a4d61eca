// Scans: one source probing many ports of one host (vertical), one port of many hosts
// (horizontal, TCP SYN), many hosts over UDP on one port, or pinging many hosts (ICMP sweep).
// A probe is the first packet of a new flow. Sids: +1/+2 vertical, +11/+12 horizontal,
// +21/+22 UDP sweep, +31/+32 ICMP sweep (odd: from the internet, even: from an internal host).

#include <fmt/format.h>

#include "behaviour/detectors.h"

namespace mimamori::net::behaviour {

namespace {

struct Entry {
  int64_t last = 0, start = 0;
  Distinct seen;
  bool alerted = false;
};

enum Kind : uint32_t { kVertical = 1, kHorizontal = 11, kUdp = 21, kIcmp = 31 };

}  // namespace

struct ScanDetector::Impl {
  Shared& s;
  const BehaviourOptions::Scan& o;
  CappedTable<Entry> vertical, horizontal;
  explicit Impl(Shared& sh)
      : s(sh),
        o(sh.opt.scan),
        vertical(o.max_entries, sh.evicted(BehaviourKind::kScan)),
        horizontal(o.max_entries, sh.evicted(BehaviourKind::kScan)) {}

  void count(CappedTable<Entry>& t, uint64_t key, uint32_t value, uint32_t limit, Kind kind,
             const Packet& p, DetectContext& ctx) {
    const int64_t now = p.timestamp.micros, window = o.window_s * kSecond;
    Entry& e = t.get(key, now, window);
    if (e.start == 0 || now - e.start > window) {
      e.start = now;
      e.seen.values.clear();
      e.alerted = false;
    }
    size_t n = e.seen.add(value, limit);
    if (n < limit || e.alerted) return;
    e.alerted = true;
    bool internal = s.home.contains(p.src_ip);
    bool inbound = !internal && s.home.contains(p.dst_ip);
    const char* from = internal ? "from an internal host" : "from the internet";
    std::string what;
    switch (kind) {
      case kVertical:
        what = fmt::format("MIMAMORI SCAN {}: vertical port scan of one host", from);
        break;
      case kHorizontal:
        what = fmt::format("MIMAMORI SCAN {}: horizontal scan of {} on many hosts", from,
                           service_name(p.dst_port));
        break;
      case kUdp:
        what = fmt::format("MIMAMORI SCAN {}: UDP sweep of {}", from, service_name(p.dst_port));
        break;
      case kIcmp:
        what = fmt::format("MIMAMORI SCAN {}: ICMP ping sweep", from);
        break;
    }
    core::Alert a = make_alert(BehaviourKind::kScan, kind + (internal ? 1 : 0), internal ? 2 : 3,
                               std::move(what), "Detection of a Network Scan");
    a.extra.begin_object("behaviour")
        .add("detector", "scan")
        .add("direction", internal ? (s.home.contains(p.dst_ip) ? "internal" : "outbound")
                                   : (inbound ? "inbound" : "external"))
        .add(kind == kVertical ? "ports" : "hosts", static_cast<uint64_t>(n))
        .add("threshold", static_cast<uint64_t>(limit))
        .add("window_s", o.window_s)
        .add("seconds", static_cast<double>(now - e.start) / kSecond)
        .end();
    s.count_alert(BehaviourKind::kScan);
    ctx.alert(a);
  }

  void on_new_flow(const Packet& p, DetectContext& ctx) {
    if (p.direction != Direction::kToServer || not_unicast(p.dst_ip, s.home)) return;
    const uint64_t src = key_of(p.src_ip);
    if (p.is_tcp()) {
      if ((p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) != tcp_flag::kSyn) return;
      count(vertical, mix(key_of(p.dst_ip, src), 6), p.dst_port, o.ports, kVertical, p, ctx);
      count(horizontal, mix(mix(src, p.dst_port), 6), tag_of(p.dst_ip), o.hosts, kHorizontal, p,
            ctx);
    } else if (p.is_udp()) {
      count(vertical, mix(key_of(p.dst_ip, src), 17), p.dst_port, o.ports, kVertical, p, ctx);
      count(horizontal, mix(mix(src, p.dst_port), 17), tag_of(p.dst_ip), o.hosts, kUdp, p, ctx);
    } else if (p.is_icmp()) {
      bool echo = p.proto == ip_proto::kIcmp ? p.icmp_type == 8 : p.icmp_type == 128;
      if (!echo) return;
      count(horizontal, mix(src, 1), tag_of(p.dst_ip), o.hosts, kIcmp, p, ctx);
    }
  }
};

ScanDetector::ScanDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
ScanDetector::~ScanDetector() = default;
void ScanDetector::on_new_flow(const Packet& p, DetectContext& ctx) { impl_->on_new_flow(p, ctx); }

}  // namespace mimamori::net::behaviour
