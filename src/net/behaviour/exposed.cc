// Exposed services: a host of HOME_NET that *accepts* (completes the TCP handshake of) a
// connection from the internet on a management or file-sharing port. One alert per service
// (host and port) for as long as the sensor runs (sid +1).

#include <fmt/format.h>

#include <algorithm>

#include "behaviour/detectors.h"

namespace mimamori::net::behaviour {

namespace {
struct Entry {
  int64_t last = 0;
  uint64_t connections = 0;
};
}  // namespace

struct ExposedDetector::Impl {
  Shared& s;
  const BehaviourOptions::Exposed& o;
  CappedTable<Entry> seen;
  std::vector<bool> watched = std::vector<bool>(65536, false);
  explicit Impl(Shared& sh)
      : s(sh), o(sh.opt.exposed), seen(o.max_entries, sh.evicted(BehaviourKind::kExposed)) {
    for (uint16_t p : o.ports) watched[p] = true;
  }

  void on_packet(const Packet& p, FlowMarks& m, DetectContext& ctx) {
    Flow& f = *p.flow;
    // The client's packet after the server's SYN-ACK: the service accepted the connection.
    if (p.direction != Direction::kToServer || !f.established() ||
        !(f.tcp_flags[1] & tcp_flag::kSyn) || !(f.tcp_flags[1] & tcp_flag::kAck))
      return;
    m.exposed_done = true;
    if (s.home.contains(f.client_ip) || !s.home.contains(f.server_ip)) return;
    // Never forgotten by age: one alert per service while the sensor runs (the cap still holds).
    Entry& e = seen.get(mix(key_of(f.server_ip), f.server_port), p.timestamp.micros, INT64_MAX / 2);
    if (e.connections++ > 0) return;
    core::Alert a = make_alert(
        BehaviourKind::kExposed, 1, 2,
        fmt::format("MIMAMORI exposed service: {} of an internal host accepts connections from "
                    "the internet",
                    service_name(f.server_port)),
        "Potentially Bad Traffic");
    a.extra.begin_object("behaviour")
        .add("detector", "exposed")
        .add("service", service_name(f.server_port))
        .add("host", f.server_ip.to_string())
        .add("port", f.server_port)
        .add("first_client", f.client_ip.to_string())
        .end();
    s.count_alert(BehaviourKind::kExposed);
    ctx.alert(a);
  }
};

ExposedDetector::ExposedDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
ExposedDetector::~ExposedDetector() = default;
bool ExposedDetector::watched(uint16_t port) const { return impl_->watched[port]; }
void ExposedDetector::on_packet(const Packet& p, FlowMarks& m, DetectContext& ctx) {
  impl_->on_packet(p, m, ctx);
}

}  // namespace mimamori::net::behaviour
