// Lateral movement: one internal host opening connections to many internal hosts on the ports
// of remote administration (SMB, RPC, RDP, WinRM, SSH) within a short time (sid +1); and, in
// SMB requests, a tree connect to an administrative share (ADMIN$, C$: sid +2) or the service
// control pipe (svcctl: sid +3, how PsExec-like tools start a program on another host).

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "behaviour/detectors.h"

namespace mimamori::net::behaviour {

namespace {

struct Entry {
  int64_t last = 0, start = 0;
  Distinct hosts;
  uint32_t ports_seen = 0;  // bit i: lateral port i of the configuration
  bool alerted = false;
};

constexpr uint32_t kSmbScanBytes = 64 * 1024;

// UTF-16LE forms of what admin-share tools send, searched case-sensitively in the usual case.
const std::string kAdminShare = std::string("\\\0A\0D\0M\0I\0N\0$\0", 14);
const std::string kCShare = std::string("\\\0C\0$\0", 6);
const std::string kSvcctl = std::string("s\0v\0c\0c\0t\0l\0", 12);

bool contains(std::string_view hay, const std::string& needle) {
  return hay.find(needle) != std::string_view::npos;  // memchr-driven in libstdc++
}

}  // namespace

struct LateralDetector::Impl {
  Shared& s;
  const BehaviourOptions::Lateral& o;
  CappedTable<Entry> table;
  std::vector<int8_t> port_index = std::vector<int8_t>(65536, -1);
  explicit Impl(Shared& sh)
      : s(sh), o(sh.opt.lateral), table(o.max_entries, sh.evicted(BehaviourKind::kLateral)) {
    for (size_t i = 0; i < o.ports.size() && i < 31; ++i)
      port_index[o.ports[i]] = static_cast<int8_t>(i);
  }

  bool allowed(const core::IpAddress& a) const {
    for (const auto& n : o.allow)
      if (n.contains(a)) return true;
    return false;
  }

  void on_new_flow(const Packet& p, DetectContext& ctx) {
    if (!p.is_tcp() || p.direction != Direction::kToServer) return;
    if ((p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) != tcp_flag::kSyn) return;
    int idx = port_index[p.dst_port];
    if (idx < 0 || not_unicast(p.dst_ip, s.home)) return;
    if (!s.home.contains(p.src_ip) || !s.home.contains(p.dst_ip) || allowed(p.src_ip)) return;
    const int64_t now = p.timestamp.micros, window = o.window_s * kSecond;
    Entry& e = table.get(key_of(p.src_ip), now, window);
    if (e.start == 0 || now - e.start > window) {
      e = Entry{};
      e.start = e.last = now;
    }
    e.ports_seen |= 1u << idx;
    size_t n = e.hosts.add(tag_of(p.dst_ip), o.hosts);
    if (n < o.hosts || e.alerted) return;
    e.alerted = true;
    core::Alert a = make_alert(
        BehaviourKind::kLateral, 1, 1,
        fmt::format("MIMAMORI lateral movement: one internal host reaching many internal hosts "
                    "over {}",
                    service_name(p.dst_port)),
        "Misc activity");
    a.extra.begin_object("behaviour")
        .add("detector", "lateral")
        .add("hosts", static_cast<uint64_t>(n))
        .add("threshold", static_cast<uint64_t>(o.hosts))
        .add("window_s", o.window_s)
        .add("seconds", static_cast<double>(now - e.start) / kSecond)
        .begin_array("ports");
    for (size_t i = 0; i < o.ports.size() && i < 31; ++i)
      if (e.ports_seen & (1u << i)) a.extra.add({}, o.ports[i]);
    a.extra.end().end();
    s.count_alert(BehaviourKind::kLateral);
    ctx.alert(a);
  }

  void on_smb_request(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
    if (m.smb_scanned >= kSmbScanBytes) return;
    std::string_view d = c.data.substr(0, kSmbScanBytes - m.smb_scanned);
    m.smb_scanned += static_cast<uint32_t>(d.size());
    const Flow& f = *ctx.flow();
    bool internal = s.home.contains(f.client_ip) && s.home.contains(f.server_ip);
    auto found = [&](uint8_t bit, uint32_t sid, int severity, const char* what) {
      if (m.smb_seen & bit) return;
      m.smb_seen |= bit;
      core::Alert a =
          make_alert(BehaviourKind::kLateral, sid, severity,
                     fmt::format("MIMAMORI lateral movement: {}", what), "Misc activity");
      a.extra.begin_object("behaviour")
          .add("detector", "lateral")
          .add("client", f.client_ip.to_string())
          .add("server", f.server_ip.to_string())
          .add("internal", internal)
          .end();
      s.count_alert(BehaviourKind::kLateral);
      ctx.alert(a);
    };
    if (contains(d, kAdminShare))
      found(1, 2, 2, "administrative share ADMIN$ opened over SMB");
    else if (contains(d, kCShare))
      found(2, 2, 2, "administrative share C$ opened over SMB");
    if (contains(d, kSvcctl))
      found(4, 3, internal ? 1 : 2, "service control (svcctl) opened over SMB");
  }
};

LateralDetector::LateralDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
LateralDetector::~LateralDetector() = default;
void LateralDetector::on_new_flow(const Packet& p, DetectContext& ctx) {
  impl_->on_new_flow(p, ctx);
}
void LateralDetector::on_smb_request(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
  impl_->on_smb_request(c, m, ctx);
}

}  // namespace mimamori::net::behaviour
