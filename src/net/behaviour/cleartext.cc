// Cleartext credentials: a password sent where anyone on the path can read it — FTP and POP3
// `USER`/`PASS`, IMAP `LOGIN`, SMTP `AUTH PLAIN`/`AUTH LOGIN` before any STARTTLS, and HTTP
// Basic authorization on plain HTTP, and Telnet logins (the server's "login:"/"Username:" prompt,
// the typed user, its "Password:" prompt, a typed password; option negotiation is skipped and
// character-at-a-time sessions are followed key by key). One alert per client, server and port
// while the logins go on (again after an hour without one: a password guesser's hundred logins are
// one finding): sid +1 when the server is on the internet (severity 2), sid +2 inside HOME_NET
// (severity 3: printers and NAS boxes often ask so, a finding, not an incident). The alert names
// the protocol and the user, never the password.

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "behaviour/detectors.h"
#include "mimamori/core/text.h"

namespace mimamori::net::behaviour {

namespace {

struct Seen {
  int64_t last = 0;
  bool alerted = false;
};
constexpr int64_t kQuiet = 3600 * kSecond;  // a client-server pair is reported again after this
constexpr size_t kMaxPairs = 16384;

constexpr uint32_t kScanLimit = 4096;           // client bytes looked at per connection
constexpr uint32_t kTelnetServerLimit = 16384;  // Telnet: server bytes looked at (banner, prompts)
constexpr size_t kTail = 24;                    // Telnet: server text kept to find a prompt

// Telnet option negotiation (RFC 854/855): IAC (255) starts a command — IAC IAC is a data 255,
// WILL/WONT/DO/DONT (251-254) take one option byte, SB (250) runs to IAC SE (240). `state`
// carries across segments. True when `b` is a data byte.
bool telnet_data(uint8_t& state, uint8_t b) {
  switch (state) {
    case 0:
      if (b != 255) return true;
      state = 1;
      return false;
    case 1:
      if (b == 255) {
        state = 0;
        return true;
      }
      state = (b >= 251 && b <= 254) ? 2 : b == 250 ? 3 : 0;
      return false;
    case 2:
      state = 0;
      return false;
    case 3:
      if (b == 255) state = 4;
      return false;
    default:  // 4: IAC inside a subnegotiation
      state = b == 240 ? 0 : 3;
      return false;
  }
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool starts_caseless(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// The printable first `max` characters of a user name (the alert is read by people).
std::string shown_user(std::string_view u, size_t max = 64) {
  std::string out;
  for (char c : u.substr(0, max))
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  return out;
}

// The next CRLF- or LF-terminated line from `data` at `pos`; false when none is complete.
bool next_line(std::string_view data, size_t& pos, std::string_view& line) {
  size_t nl = data.find('\n', pos);
  if (nl == std::string_view::npos) return false;
  line = data.substr(pos, nl - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = nl + 1;
  return true;
}

}  // namespace

struct CleartextDetector::Impl {
  Shared& s;
  CappedTable<Seen> pairs;
  explicit Impl(Shared& sh) : s(sh), pairs(kMaxPairs, sh.evicted(BehaviourKind::kCleartext)) {}

  void raise(const Flow& f, std::string_view protocol, std::string_view user, DetectContext& ctx) {
    Seen& seen = pairs.get(mix(mix(key_of(f.client_ip), key_of(f.server_ip)), f.server_port),
                           ctx.packet().timestamp.micros, kQuiet);
    if (std::exchange(seen.alerted, true)) return;
    const bool internal = s.home.contains(f.server_ip);
    core::Alert a =
        make_alert(BehaviourKind::kCleartext, internal ? 2 : 1, internal ? 3 : 2,
                   fmt::format("MIMAMORI cleartext password: {} login {}", protocol,
                               internal ? "inside the network" : "to a server on the internet"),
                   "Potential Corporate Privacy Violation");
    a.extra.begin_object("behaviour")
        .add("detector", "cleartext")
        .add("protocol", protocol)
        .add("user", shown_user(user))
        .add("server", f.server_ip.to_string())
        .add("port", f.server_port)
        .end();
    s.count_alert(BehaviourKind::kCleartext);
    ctx.alert(a);
  }

  // Client lines of a mail or file-transfer login. `m.cleartext_user` keeps the FTP/POP3 user
  // until its PASS, and SMTP's AUTH LOGIN step.
  void on_request(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
    Flow& f = *ctx.flow();
    if (m.cleartext_done) return;
    if (c.offset >= kScanLimit) {
      m.cleartext_done = true;
      return;
    }
    // Lines may be split between chunks: keep the unfinished end.
    m.cleartext_pending.append(c.data.substr(0, kScanLimit - c.offset));
    std::string_view data = m.cleartext_pending;
    size_t pos = 0;
    std::string_view line;
    const uint16_t port = f.server_port;
    size_t line_start = pos;
    auto mark_user = [&m](std::string_view user) {
      m.cleartext_user.assign(1, '\x02');
      m.cleartext_user.append(user);
    };
    while (!m.cleartext_done && (line_start = pos, next_line(data, pos, line))) {
      if (starts_caseless(line, "starttls") || starts_caseless(line, "stls") ||
          starts_caseless(line, "auth tls") || starts_caseless(line, "auth ssl")) {
        m.cleartext_done = true;  // what follows is encrypted
      } else if (port == 21 || port == 110) {
        if (starts_caseless(line, "user ")) {
          m.cleartext_user = std::string(line.substr(5));
        } else if (starts_caseless(line, "pass ") && line.size() > 5) {
          raise(f, port == 21 ? "FTP" : "POP3", m.cleartext_user, ctx);
          m.cleartext_done = true;
        }
      } else if (port == 143) {
        // "a1 LOGIN user password"
        size_t sp = line.find(' ');
        if (sp != std::string_view::npos && starts_caseless(line.substr(sp + 1), "login ")) {
          std::string_view rest = line.substr(sp + 7);
          raise(f, "IMAP", rest.substr(0, rest.find(' ')), ctx);
          m.cleartext_done = true;
        }
      } else if (starts_caseless(line, "auth plain")) {
        // AUTH PLAIN base64(authzid \0 user \0 password), on the line or the next one.
        std::string_view b64 = line.size() > 11 ? line.substr(11) : std::string_view();
        if (b64.empty() && !next_line(data, pos, b64)) {
          pos = line_start;  // wait for the next line
          break;
        }
        std::string user;
        if (auto d = core::base64_decode(b64)) {
          size_t z = d->find('\0');
          if (z != std::string::npos) user = d->substr(z + 1, d->find('\0', z + 1) - z - 1);
        }
        raise(f, "SMTP", user, ctx);
        m.cleartext_done = true;
      } else if (starts_caseless(line, "auth login")) {
        m.cleartext_user.assign(1, '\x01');  // the user's base64 comes next (or on this line)
        if (line.size() > 11)
          if (auto d = core::base64_decode(line.substr(11))) mark_user(*d);
      } else if (!m.cleartext_user.empty() && m.cleartext_user[0] == '\x01') {
        auto d = core::base64_decode(line);
        mark_user(d ? std::string_view(*d) : std::string_view());
      } else if (!m.cleartext_user.empty() && m.cleartext_user[0] == '\x02') {
        raise(f, "SMTP", std::string_view(m.cleartext_user).substr(1), ctx);
        m.cleartext_done = true;
      }
    }
    m.cleartext_pending.erase(0, std::min(pos, m.cleartext_pending.size()));
    if (m.cleartext_done) {
      m.cleartext_pending.clear();
      m.cleartext_pending.shrink_to_fit();
    }
  }

  // A Telnet connection, both directions. The server's text (lowercased, its last kTail
  // characters in `m.cleartext_pending`) is watched for the prompts; the client's keys after a
  // user prompt make the user (backspace and DEL honoured), after a password prompt they are
  // only counted. A password line with at least one character raises.
  void on_telnet(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
    const bool to_server = c.direction == Direction::kToServer;
    const uint32_t limit = to_server ? kScanLimit : kTelnetServerLimit;
    if (c.offset >= limit) {
      if (to_server || m.telnet == 0) m.cleartext_done = true;
      if (m.cleartext_done) m.cleartext_pending = std::string();
      return;
    }
    std::string_view data = c.data.substr(0, limit - c.offset);
    uint8_t& iac = m.telnet_iac[to_server ? 0 : 1];
    std::string& tail = m.cleartext_pending;
    std::string& user = m.cleartext_user;
    for (unsigned char b : data) {
      if (!telnet_data(iac, b)) continue;
      if (!to_server) {
        if (b < 0x20) continue;  // CR, LF, NUL and the terminal's controls
        if (tail.size() >= kTail) tail.erase(0, tail.size() - kTail + 1);
        tail += static_cast<char>(std::tolower(b));
        if (b != ':') continue;
        if (ends_with(tail, "login:") || ends_with(tail, "username:") ||
            ends_with(tail, "user name:")) {
          m.telnet = 1;
          user.clear();
        } else if (ends_with(tail, "password:")) {
          m.telnet = 3;
          m.telnet_typed = 0;
        }
        continue;
      }
      if (m.telnet == 1) {
        if (b == '\r' || b == '\n') {
          if (!user.empty()) m.telnet = 2;
        } else if (b == 0x08 || b == 0x7f) {
          if (!user.empty()) user.pop_back();
        } else if (b >= 0x20 && user.size() < 128) {
          user += static_cast<char>(b);
        }
      } else if (m.telnet == 3) {
        if (b == '\r' || b == '\n') {
          if (m.telnet_typed > 0) {
            raise(*ctx.flow(), "Telnet", user, ctx);
            m.cleartext_done = true;
            tail = std::string();
            user = std::string();
            return;
          }
        } else if (b == 0x08 || b == 0x7f) {
          if (m.telnet_typed > 0) --m.telnet_typed;
        } else if (b >= 0x20 && m.telnet_typed < 0xffff) {
          ++m.telnet_typed;
        }
      }
    }
  }

  bool on_http_request(DetectContext& ctx) {
    Flow* f = ctx.flow();
    if (!f) return false;
    std::string_view headers = ctx.buffer(Buffer::kHttpHeader);
    size_t pos = 0;
    std::string_view line;
    while (next_line(headers, pos, line)) {
      if (!starts_caseless(line, "authorization:")) continue;
      std::string_view v = line.substr(14);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (!starts_caseless(v, "basic ")) return false;
      std::string user;
      if (auto d = core::base64_decode(v.substr(6))) user = d->substr(0, d->find(':'));
      raise(*f, "HTTP Basic", user, ctx);
      return true;
    }
    return false;
  }
};

CleartextDetector::CleartextDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
CleartextDetector::~CleartextDetector() = default;
bool CleartextDetector::login_port(uint16_t port) {
  return port == 21 || port == 110 || port == 143 || port == 25 || port == 587 || port == 23;
}
void CleartextDetector::on_telnet(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
  impl_->on_telnet(c, m, ctx);
}
void CleartextDetector::on_request(const StreamChunk& c, FlowMarks& m, DetectContext& ctx) {
  impl_->on_request(c, m, ctx);
}
bool CleartextDetector::on_http_request(DetectContext& ctx) { return impl_->on_http_request(ctx); }

}  // namespace mimamori::net::behaviour
