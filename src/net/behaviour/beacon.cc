// Beaconing: an internal host opening connections to one external address and port at a
// regular period. A first guess of the period is the median interval between connection
// starts; each interval is then read as a whole number k (1-4) of periods, so missed beacons do
// not hide the rest, and the period is the median of the intervals divided by their k. An
// interval fits when it is within the jitter of k periods, the jitter growing as sqrt(k): an
// interval of k periods carries k independent jitters. Destinations whose name (TLS SNI, HTTP Host)
// ends in an allowed domain (updates, telemetry, the provider's list) are never reported. Sid +1.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "behaviour/detectors.h"
#include "mimamori/core/text.h"

namespace mimamori::net::behaviour {

namespace {

constexpr size_t kMaxStarts = 32;

struct Entry {
  int64_t last = 0;
  std::vector<int64_t> starts;  // ring of connection start times (micros)
  uint32_t next = 0, total = 0;
  std::string name;
  bool done = false;  // alerted, or found allowed
};

}  // namespace

struct BeaconDetector::Impl {
  Shared& s;
  const BehaviourOptions::Beacon& o;
  CappedTable<Entry> table;
  std::vector<bool> ignored = std::vector<bool>(65536, false);
  std::vector<int64_t> scratch;
  std::vector<double> per_period;
  explicit Impl(Shared& sh)
      : s(sh), o(sh.opt.beacon), table(o.max_entries, sh.evicted(BehaviourKind::kBeacon)) {
    for (uint16_t p : o.ignore_ports) ignored[p] = true;
  }

  static uint64_t key(const core::IpAddress& c, const core::IpAddress& srv, uint16_t port,
                      uint8_t proto) {
    return mix(mix(key_of(srv, key_of(c)), port), proto);
  }

  void on_new_flow(const Packet& p, DetectContext& ctx) {
    if (p.direction != Direction::kToServer || ignored[p.dst_port] || not_unicast(p.dst_ip, s.home))
      return;
    if (p.is_tcp() && (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) != tcp_flag::kSyn) return;
    if (!p.is_tcp() && !p.is_udp()) return;
    if (!s.home.contains(p.src_ip) || s.home.contains(p.dst_ip)) return;
    const int64_t now = p.timestamp.micros;
    Entry& e =
        table.get(key(p.src_ip, p.dst_ip, p.dst_port, p.proto), now, o.max_period_s * 4 * kSecond);
    if (e.done) return;
    if (e.starts.size() < kMaxStarts) {
      e.starts.push_back(now);
    } else {
      e.starts[e.next++ % kMaxStarts] = now;
    }
    ++e.total;
    if (e.total < o.min_count) return;
    judge(p, e, ctx);
  }

  void judge(const Packet& p, Entry& e, DetectContext& ctx) {
    scratch.assign(e.starts.begin(), e.starts.end());
    std::sort(scratch.begin(), scratch.end());
    std::vector<int64_t> gaps;
    gaps.reserve(scratch.size());
    for (size_t i = 1; i < scratch.size(); ++i) gaps.push_back(scratch[i] - scratch[i - 1]);
    std::vector<int64_t> sorted = gaps;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    const double guess = static_cast<double>(sorted[sorted.size() / 2]);
    if (guess <= 0) return;
    per_period.clear();
    for (int64_t g : gaps) {
      double k = std::round(g / guess);
      if (k >= 1 && k <= 4) per_period.push_back(g / k);
    }
    if (per_period.empty()) return;
    std::nth_element(per_period.begin(), per_period.begin() + per_period.size() / 2,
                     per_period.end());
    const double period = per_period[per_period.size() / 2];
    if (period < o.min_period_s * kSecond || period > o.max_period_s * kSecond) return;
    size_t fit = 0;
    double deviation = 0;
    for (int64_t g : gaps) {
      double k = std::round(g / period);
      if (k < 1 || k > 4) continue;
      double dev = std::abs(g - k * period) / (period * std::sqrt(k));
      if (dev <= o.jitter) {
        ++fit;
        deviation += dev;
      }
    }
    if (fit + 1 < o.min_count || fit < o.fit * gaps.size()) return;
    e.done = true;
    if (!e.name.empty() && allowed_name(o.allow, e.name)) return;
    core::Alert a =
        make_alert(BehaviourKind::kBeacon, 1, 2,
                   fmt::format("MIMAMORI beaconing: periodic connections to an external host on {}",
                               service_name(p.dst_port)),
                   "A Network Trojan was detected");
    a.extra.begin_object("behaviour")
        .add("detector", "beacon")
        .add("connections", static_cast<uint64_t>(e.total))
        .add("period_s", period / kSecond)
        .add("mean_jitter", fit ? deviation / fit : 0.0)
        .add("intervals_fitting", static_cast<uint64_t>(fit))
        .add("intervals", static_cast<uint64_t>(gaps.size()));
    if (!e.name.empty()) a.extra.add("name", e.name);
    a.extra.end();
    s.count_alert(BehaviourKind::kBeacon);
    ctx.alert(a);
  }

  void on_name(const Flow& f, std::string_view name) {
    if (name.empty() || f.client_port == 0) return;
    Entry* e = table.find(key(f.client_ip, f.server_ip, f.server_port, f.proto));
    if (!e) return;
    e->name = core::to_lower(name.substr(0, 253));
    if (!e->done && allowed_name(o.allow, e->name)) e->done = true;
  }
};

BeaconDetector::BeaconDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
BeaconDetector::~BeaconDetector() = default;
void BeaconDetector::on_new_flow(const Packet& p, DetectContext& ctx) {
  impl_->on_new_flow(p, ctx);
}
void BeaconDetector::on_name(const Flow& f, std::string_view name) { impl_->on_name(f, name); }

}  // namespace mimamori::net::behaviour
