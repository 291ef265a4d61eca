// Threat intelligence from list files (`behaviour.intel.lists`, in the formats public feeds
// ship: plain lines or CSV; and the server's indicators): a flow with a listed address at either
// end (sid +1, once per flow), a DNS lookup of a listed domain or a subdomain of one (sid +2), a
// TLS SNI or HTTP Host naming one (sid +3), a TLS client hello with a listed JA3 or JA4 (sid +4).
// The lists are the workers' current LiveLists snapshot (live_lists.cc).

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "behaviour/detectors.h"
#include "behaviour/list_csv.h"
#include "mimamori/core/log.h"
#include "mimamori/core/text.h"

namespace mimamori::net {

namespace {

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
  if (d.front() == '.' || d.front() == '-') return false;
  return std::all_of(d.begin(), d.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

// The host of a URL ("http://evil.example/x" -> "evil.example"), else the text itself.
std::string_view url_host(std::string_view s) {
  size_t scheme = s.find("://");
  if (scheme == std::string_view::npos) return s;
  s.remove_prefix(scheme + 3);
  s = s.substr(0, s.find_first_of("/?#"));
  if (size_t at = s.rfind('@'); at != std::string_view::npos) s.remove_prefix(at + 1);
  if (!s.empty() && s.front() == '[') return s.substr(1, s.find(']') - 1);
  if (size_t colon = s.rfind(':');
      colon != std::string_view::npos && s.find(':') == colon)  // host:port, not an IPv6 address
    s = s.substr(0, colon);
  return s;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// A JA4 fingerprint: t13d1516h2_8daaf6152771_b186095e22b6 (protocol, version, SNI, counts,
// ALPN; then two 12-digit hex hashes).
bool is_ja4(std::string_view s) {
  if (s.size() != 36 || s[10] != '_' || s[23] != '_') return false;
  if (s[0] != 't' && s[0] != 'q' && s[0] != 'd') return false;
  if (s[3] != 'd' && s[3] != 'i') return false;
  return is_hex(s.substr(11, 12)) && is_hex(s.substr(24, 12)) &&
         std::all_of(s.begin() + 1, s.begin() + 10,
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

// A TLS fingerprint indicator: "ja3:<32 hex>", "ja4:<ja4>" or a bare JA4. Lowercase into
// `value`; which one in `kind`.
bool tls_fingerprint(std::string_view f, std::string& kind, std::string& value) {
  std::string lower = core::to_lower(f);
  std::string_view v = lower;
  if (v.starts_with("ja3:")) {
    v.remove_prefix(4);
    if (v.size() != 32 || !is_hex(v)) return false;
    kind = "ja3";
  } else {
    if (v.starts_with("ja4:")) v.remove_prefix(4);
    if (!is_ja4(v)) return false;
    kind = "ja4";
  }
  value = std::string(v);
  return true;
}

}  // namespace

core::Status IntelList::add_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return core::make_error("{}: is a folder, not a indicator list file", path);
  std::ifstream in(path);
  if (!in) return core::make_error("{}: cannot read the indicator list", path);
  std::string list = std::filesystem::path(path).filename().string();
  std::string line;
  int n = 0;
  size_t added = 0;
  while (std::getline(in, line)) {
    ++n;
    // Blanks only: quotes belong to the CSV fields (a quoted row is not one quoted field).
    std::string_view l = line;
    while (!l.empty() && std::isspace(static_cast<unsigned char>(l.front()))) l.remove_prefix(1);
    while (!l.empty() && std::isspace(static_cast<unsigned char>(l.back()))) l.remove_suffix(1);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    std::vector<std::string> fields;
    if (l.find(',') != std::string_view::npos || l.front() == '"') {
      fields = behaviour::csv_fields(l);
    } else {
      fields.emplace_back(l.substr(0, l.find_first_of(" \t")));
    }
    bool ok = false;
    for (std::string_view f : fields) {
      std::string kind, value;
      if (tls_fingerprint(f, kind, value)) {
        (kind == "ja3" ? ja3 : ja4).emplace(std::move(value), list);
        ok = true;
        break;
      }
      std::string_view host = url_host(f);
      if (auto net = IpNetwork::parse(host); net.ok()) {
        if (net->base.is_v4()) {
          uint32_t base = net->base.v4_host_order();
          uint32_t mask = net->prefix == 0 ? 0 : ~0u << (32 - net->prefix);
          v4.push_back({base & mask, (base & mask) | ~mask, list});
        } else {
          v6.emplace_back(*net, list);
        }
        ok = true;
        break;
      }
      std::string d = core::to_lower(host);
      if (!d.empty() && d.back() == '.') d.pop_back();
      if (valid_domain(d) && !std::all_of(d.begin(), d.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
          })) {
        domains.emplace(std::move(d), list);
        ok = true;
        break;
      }
    }
    if (!ok) {
      // A CSV header row names no indicator: skipped quietly.
      if (n == 1 && fields.size() > 1) continue;
      spdlog::warn(
          "{}:{}: '{}' is not an address, CIDR block, domain, URL or TLS fingerprint (ja3:<md5>, "
          "ja4:<ja4>); skipped",
          path, n, std::string(l.substr(0, 60)));
      continue;
    }
    ++added;
  }
  spdlog::info("{}: {} indicators", path, added);
  return {};
}

void IntelList::finish() {
  std::sort(v4.begin(), v4.end(), [](const Range& a, const Range& b) { return a.lo < b.lo; });
  // Merge overlaps so that a binary search finds any covering range.
  std::vector<Range> merged;
  for (auto& r : v4) {
    if (!merged.empty() && r.lo <= merged.back().hi) {
      merged.back().hi = std::max(merged.back().hi, r.hi);
    } else {
      merged.push_back(std::move(r));
    }
  }
  v4 = std::move(merged);
}

const std::string* IntelList::find(const core::IpAddress& a) const {
  if (a.is_v4()) {
    uint32_t v = a.v4_host_order();
    auto it = std::upper_bound(v4.begin(), v4.end(), v,
                               [](uint32_t x, const Range& r) { return x < r.lo; });
    if (it == v4.begin()) return nullptr;
    --it;
    return v <= it->hi ? &it->name : nullptr;
  }
  for (const auto& [n, name] : v6)
    if (n.contains(a)) return &name;
  return nullptr;
}

const std::string* IntelList::find_domain(std::string_view name) const {
  if (domains.empty()) return nullptr;
  std::string key(name);
  for (;;) {
    if (auto it = domains.find(key); it != domains.end()) return &it->second;
    size_t dot = key.find('.');
    if (dot == std::string::npos) return nullptr;
    key.erase(0, dot + 1);
  }
}

const std::string* IntelList::find_ja3(std::string_view hash) const {
  if (ja3.empty() || hash.empty()) return nullptr;
  auto it = ja3.find(core::to_lower(hash));
  return it == ja3.end() ? nullptr : &it->second;
}

const std::string* IntelList::find_ja4(std::string_view fingerprint) const {
  if (ja4.empty() || fingerprint.empty()) return nullptr;
  auto it = ja4.find(core::to_lower(fingerprint));
  return it == ja4.end() ? nullptr : &it->second;
}

namespace behaviour {

struct IntelDetector::Impl {
  Shared& s;
  LiveLists& live;
  std::shared_ptr<const IntelList> held;  // this worker's snapshot
  uint64_t held_version = 0;
  std::string lower;
  explicit Impl(Shared& sh) : s(sh), live(*sh.opt.lists) { refresh(); }

  void refresh() {
    held_version = live.version();
    held = live.intel();
  }
  const IntelList& list() {
    if (live.version() != held_version) refresh();
    return *held;
  }

  void raise(uint32_t sid, std::string what, std::string_view indicator, std::string_view from,
             DetectContext& ctx) {
    core::Alert a =
        make_alert(BehaviourKind::kIntel, sid, 1, std::move(what), "A Network Trojan was detected");
    a.extra.begin_object("behaviour")
        .add("detector", "intel")
        .add("indicator", indicator)
        .add("list", from)
        .end();
    s.count_alert(BehaviourKind::kIntel);
    ctx.alert(a);
  }

  void on_new_flow(const Packet& p, DetectContext& ctx) {
    const IntelList& l = list();
    const std::string* from = l.find(p.dst_ip);
    const core::IpAddress* hit = &p.dst_ip;
    if (!from) {
      from = l.find(p.src_ip);
      hit = &p.src_ip;
    }
    if (!from) return;
    raise(1, "MIMAMORI threat intelligence: traffic with a listed address", hit->to_string(), *from,
          ctx);
  }

  void on_name(std::string_view name, Where where, DetectContext& ctx) {
    if (name.empty() || name.size() > 253) return;
    lower.assign(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!lower.empty() && lower.back() == '.') lower.pop_back();
    const std::string* from = list().find_domain(lower);
    if (!from) return;
    if (where == kLookup)
      raise(2, "MIMAMORI threat intelligence: lookup of a listed domain", lower, *from, ctx);
    else
      raise(3,
            fmt::format("MIMAMORI threat intelligence: {} connection to a listed domain",
                        where == kTls ? "TLS" : "HTTP"),
            lower, *from, ctx);
  }

  void on_fingerprint(std::string_view ja3, std::string_view ja4, DetectContext& ctx) {
    const IntelList& l = list();
    if (const std::string* from = l.find_ja3(ja3))
      raise(4, "MIMAMORI threat intelligence: TLS client with a listed JA3 fingerprint",
            core::to_lower(ja3), *from, ctx);
    else if (const std::string* from4 = l.find_ja4(ja4))
      raise(4, "MIMAMORI threat intelligence: TLS client with a listed JA4 fingerprint",
            core::to_lower(ja4), *from4, ctx);
  }
};

IntelDetector::IntelDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
IntelDetector::~IntelDetector() = default;
void IntelDetector::on_new_flow(const Packet& p, DetectContext& ctx) { impl_->on_new_flow(p, ctx); }
void IntelDetector::on_name(std::string_view name, Where where, DetectContext& ctx) {
  impl_->on_name(name, where, ctx);
}
void IntelDetector::on_fingerprint(std::string_view ja3, std::string_view ja4, DetectContext& ctx) {
  impl_->on_fingerprint(ja3, ja4, ctx);
}

}  // namespace behaviour
}  // namespace mimamori::net
