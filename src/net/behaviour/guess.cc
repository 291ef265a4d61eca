// Password guessing against one server from one client: many short sessions of one shape
// (sid +1: encrypted protocols such as SSH and RDP show nothing else), failed logins the
// protocol shows (sid +2: FTP 530, SMTP 535, POP3 -ERR, IMAP NO, Telnet "Login incorrect",
// SMB2 STATUS_LOGON_FAILURE, HTTP 401), and a login that succeeds after them (sid +10: the
// protocol's success reply, or a session that lasts far longer than the guesses).

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "behaviour/detectors.h"
#include "mimamori/net/flow.h"

namespace mimamori::net::behaviour {

namespace {

struct Entry {
  int64_t last = 0, start = 0;
  std::vector<uint32_t> sizes;  // to-server bytes of recent short sessions (at most 64)
  uint32_t next = 0;            // ring position once full
  uint32_t failures = 0, shape = 0;
  bool shape_alerted = false, fail_alerted = false, success_alerted = false;
};

constexpr size_t kMaxSizes = 64;

enum class Reply : uint8_t { kNone, kFailure, kSuccess };

bool starts(std::string_view line, std::string_view prefix) {
  return line.size() >= prefix.size() && line.compare(0, prefix.size(), prefix) == 0;
}
bool has(std::string_view line, std::string_view what) {
  return line.find(what) != std::string_view::npos;
}

// A server's reply line, judged by the protocol of its port.
Reply judge_line(uint16_t port, std::string_view line) {
  switch (port) {
    case 21:
      if (starts(line, "530")) return Reply::kFailure;
      if (starts(line, "230")) return Reply::kSuccess;
      break;
    case 25:
    case 465:
    case 587:
      if (starts(line, "535")) return Reply::kFailure;
      if (starts(line, "235")) return Reply::kSuccess;
      break;
    case 110:
      if (starts(line, "-ERR") && (has(line, "uth") || has(line, "assword") || has(line, "ogin")))
        return Reply::kFailure;
      break;
    case 143:
      if (has(line, " NO ") &&
          (has(line, "AUTHENTICATIONFAILED") || has(line, "uthentication fail") ||
           has(line, "ogin fail") || has(line, "LOGIN")))
        return Reply::kFailure;
      if (has(line, " OK ") && (has(line, "Logged in") || has(line, "LOGIN completed")))
        return Reply::kSuccess;
      break;
    case 23:
      if (has(line, "Login incorrect") || has(line, "Login failed")) return Reply::kFailure;
      break;
    default:
      break;
  }
  return Reply::kNone;
}

uint32_t le32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only (x86-64, arm64)
}
uint16_t le16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

}  // namespace

struct GuessDetector::Impl {
  Shared& s;
  const BehaviourOptions::Guess& o;
  CappedTable<Entry> table;
  explicit Impl(Shared& sh)
      : s(sh), o(sh.opt.guess), table(o.max_entries, sh.evicted(BehaviourKind::kGuess)) {}

  static bool auth_port(uint16_t port) {
    switch (port) {
      case 21:
      case 22:
      case 23:
      case 25:
      case 110:
      case 143:
      case 445:
      case 465:
      case 587:
      case 993:
      case 995:
      case 1433:
      case 3306:
      case 3389:
      case 5432:
      case 5900:
      case 5901:
        return true;
      default:
        return false;
    }
  }

  Entry& entry(const Flow& f, int64_t now) {
    uint64_t k = mix(key_of(f.server_ip, key_of(f.client_ip)), f.server_port);
    Entry& e = table.get(k, now, o.window_s * kSecond);
    if (e.start == 0 || now - e.start > o.window_s * kSecond) {
      e = Entry{};
      e.start = e.last = now;
    }
    return e;
  }

  void raise(const Packet& p, const Flow& f, uint32_t sid, int severity, std::string what,
             const Entry& e, DetectContext& ctx) {
    core::Alert a = make_alert(BehaviourKind::kGuess, sid, severity, std::move(what),
                               "Attempted User Privilege Gain");
    a.extra.begin_object("behaviour")
        .add("detector", "guess")
        .add("service", service_name(f.server_port))
        .add("client", f.client_ip.to_string())
        .add("server", f.server_ip.to_string())
        .add("short_sessions", static_cast<uint64_t>(e.shape))
        .add("failed_logins", static_cast<uint64_t>(e.failures))
        .add("window_s", o.window_s)
        .end();
    s.count_alert(BehaviourKind::kGuess);
    (void)p;
    ctx.alert(a);
  }

  bool guessing(const Entry& e) const { return e.shape_alerted || e.fail_alerted; }

  void success(const Packet& p, const Flow& f, Entry& e, const char* how, DetectContext& ctx) {
    if (e.success_alerted) return;
    e.success_alerted = true;
    raise(p, f, 10, 1,
          fmt::format("MIMAMORI login succeeded after password guessing on {} ({})",
                      service_name(f.server_port), how),
          e, ctx);
  }

  // Counts the shape of a short session; alerts once enough share one shape.
  void short_session(const Packet& p, const Flow& f, Entry& e, DetectContext& ctx) {
    uint32_t size = static_cast<uint32_t>(std::min<uint64_t>(f.bytes[0], UINT32_MAX));
    if (e.sizes.size() < kMaxSizes) {
      e.sizes.push_back(size);
    } else {
      e.sizes[e.next++ % kMaxSizes] = size;
    }
    std::vector<uint32_t> sorted = e.sizes;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    double median = sorted[sorted.size() / 2];
    uint32_t alike = 0;
    for (uint32_t v : e.sizes)
      if (std::abs(static_cast<double>(v) - median) <= o.shape_tolerance * median) ++alike;
    e.shape = alike;
    if (alike < o.sessions || e.shape_alerted) return;
    e.shape_alerted = true;
    raise(p, f, 1, 2,
          fmt::format("MIMAMORI password guessing on {}: many short sessions of one shape",
                      service_name(f.server_port)),
          e, ctx);
  }

  void on_packet(const Packet& p, FlowMarks& m, DetectContext& ctx) {
    Flow& f = *p.flow;
    if (!f.established()) return;
    const int64_t now = p.timestamp.micros;
    const int64_t age = now - f.start.micros;
    if (!m.session_done && (p.tcp_flags & (tcp_flag::kFin | tcp_flag::kRst))) {
      m.session_done = true;
      Entry& e = entry(f, now);
      if (age < o.short_s * kSecond) {
        short_session(p, f, e, ctx);
      } else if (age >= o.success_s * kSecond && guessing(e) && !m.success_done) {
        m.success_done = true;
        success(p, f, e, "a long session after the guesses", ctx);
      }
      return;
    }
    if (!m.success_done && age >= o.success_s * kSecond) {
      m.success_done = true;
      Entry* e = table.find(mix(key_of(f.server_ip, key_of(f.client_ip)), f.server_port));
      if (e && guessing(*e) && now - e->start <= o.window_s * kSecond * 2)
        success(p, f, *e, "a long session after the guesses", ctx);
    }
  }

  void failure(const Packet& p, const Flow& f, DetectContext& ctx) {
    Entry& e = entry(f, p.timestamp.micros);
    ++e.failures;
    if (e.failures < o.failures || e.fail_alerted) return;
    e.fail_alerted = true;
    raise(p, f, 2, 2,
          fmt::format("MIMAMORI password guessing on {}: repeated failed logins",
                      f.server_port == 80 || f.server_port == 8080 || f.server_port == 443
                          ? std::string("HTTP")
                          : service_name(f.server_port)),
          e, ctx);
  }

  void on_reply(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
    (void)m;
    const Packet& p = ctx.packet();
    const Flow& f = *p.flow;
    std::string_view d = c.data;
    if (f.server_port == 445 || f.server_port == 139) {
      // SMB2 messages after their 4-byte NetBIOS header: SESSION_SETUP (1) answers.
      while (d.size() >= 4 + 16) {
        uint32_t len = (static_cast<uint8_t>(d[1]) << 16) | (static_cast<uint8_t>(d[2]) << 8) |
                       static_cast<uint8_t>(d[3]);
        if (d.compare(4, 4, "\xfeSMB") != 0) break;
        uint32_t status = le32(d.data() + 4 + 8);
        uint16_t command = le16(d.data() + 4 + 12);
        if (command == 1 && status == 0xC000006Du) failure(p, f, ctx);
        if (command == 1 && status == 0) {
          Entry* e = table.find(mix(key_of(f.server_ip, key_of(f.client_ip)), f.server_port));
          if (e && guessing(*e)) success(p, f, *e, "the server accepted a login", ctx);
        }
        if (len + 4 >= d.size()) break;
        d.remove_prefix(len + 4);
      }
      return;
    }
    while (!d.empty()) {
      size_t nl = d.find('\n');
      std::string_view line = d.substr(0, nl);
      Reply r = judge_line(f.server_port, line);
      if (r == Reply::kFailure) {
        failure(p, f, ctx);
      } else if (r == Reply::kSuccess) {
        Entry* e = table.find(mix(key_of(f.server_ip, key_of(f.client_ip)), f.server_port));
        if (e && guessing(*e)) success(p, f, *e, "the server accepted a login", ctx);
      }
      if (nl == std::string_view::npos) break;
      d.remove_prefix(nl + 1);
    }
  }
};

GuessDetector::GuessDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
GuessDetector::~GuessDetector() = default;
bool GuessDetector::auth_port(uint16_t port) const { return Impl::auth_port(port); }
void GuessDetector::on_packet(const Packet& p, FlowMarks& m, DetectContext& ctx) {
  impl_->on_packet(p, m, ctx);
}
void GuessDetector::on_reply(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
  impl_->on_reply(c, m, ctx);
}
void GuessDetector::on_http_status(std::string_view status, DetectContext& ctx) {
  if (status != "401" || !ctx.flow()) return;
  impl_->failure(ctx.packet(), *ctx.flow(), ctx);
}

}  // namespace mimamori::net::behaviour
