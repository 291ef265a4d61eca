// DNS tunnels and DGA names, from the queries a client sends. The registered domain of a name
// comes from the Public Suffix List (libpsl, the list Debian ships). A tunnel (sid +1) is one
// client asking for many different long, random-looking names under one registered domain
// (data encoded in the labels); a DGA (sid +2) is one client asking for many different
// registered domains that look machine-made (long, high entropy, few vowels or many digits).
// The answers feed the tunnel judgement too (sid +1): many distinct names under one domain whose
// answers are mostly TXT/NULL records or larger than `dns.large-answer` — a tunnel carrying its
// data back in the answers, whose queries may be short.

#include <fmt/format.h>
#include <libpsl.h>

#include <array>
#include <cmath>
#include <mutex>

#include "behaviour/detectors.h"
#include "mimamori/core/text.h"

namespace mimamori::net::behaviour {

namespace {

const psl_ctx_t* psl() {
  static const psl_ctx_t* ctx = [] {
    const psl_ctx_t* c = psl_latest(nullptr);
    return c ? c : psl_builtin();
  }();
  return ctx;
}

// The registered domain of a lowercase name ("a.b.example.co.jp" -> "example.co.jp"); the last
// two labels when the list does not know the name.
std::string_view registered_domain(std::string_view name, std::string& scratch) {
  if (const psl_ctx_t* ctx = psl()) {
    scratch.assign(name);
    if (const char* r = psl_registrable_domain(ctx, scratch.c_str())) {
      return name.substr(static_cast<size_t>(r - scratch.c_str()));
    }
    return {};
  }
  size_t last = name.rfind('.');
  if (last == std::string_view::npos || last == 0) return {};
  size_t prev = name.rfind('.', last - 1);
  return prev == std::string_view::npos ? name : name.substr(prev + 1);
}

// Shannon entropy in bits per character, of letters and digits only.
double entropy(std::string_view s) {
  std::array<uint16_t, 256> counts{};
  size_t n = 0;
  for (unsigned char c : s) {
    if (c == '.' || c == '-') continue;
    ++counts[c];
    ++n;
  }
  if (n == 0) return 0;
  double h = 0;
  for (uint16_t c : counts) {
    if (!c) continue;
    double p = static_cast<double>(c) / n;
    h -= p * std::log2(p);
  }
  return h;
}

bool looks_generated(std::string_view label) {
  if (label.size() < 12) return false;
  size_t vowels = 0, digits = 0, run = 0, max_run = 0;
  for (char c : label) {
    bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
    bool digit = c >= '0' && c <= '9';
    vowels += vowel;
    digits += digit;
    run = (!vowel && !digit && c != '-') ? run + 1 : 0;
    max_run = std::max(max_run, run);
  }
  double v = static_cast<double>(vowels) / label.size();
  return entropy(label) >= 3.2 &&
         (v < 0.25 || max_run >= 5 || (digits >= 3 && digits < label.size()));
}

struct Entry {
  int64_t last = 0, start = 0;
  Distinct names;
  uint64_t queries = 0;
  bool alerted = false;
  // Answer side: responses under the domain, those with a TXT or NULL answer, those larger
  // than dns.large-answer, and the distinct names answered.
  uint32_t answers = 0, txt_null = 0, large = 0;
  Distinct answered;
};

// The offset after the (possibly compressed) name at `off`, or 0 when it runs out of `m`.
size_t skip_name(std::string_view m, size_t off) {
  for (int labels = 0; off < m.size() && labels < 128; ++labels) {
    uint8_t len = static_cast<uint8_t>(m[off]);
    if (len == 0) return off + 1;
    if ((len & 0xc0) == 0xc0) return off + 2 <= m.size() ? off + 2 : 0;
    off += 1 + len;
  }
  return 0;
}

uint16_t be16(std::string_view m, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(m[off]) << 8 |
                               static_cast<uint8_t>(m[off + 1]));
}

// Whether a DNS response message has a TXT (16) or NULL (10) record in its answer section.
bool has_txt_or_null(std::string_view m) {
  if (m.size() < 12) return false;
  const uint16_t qd = be16(m, 4), an = be16(m, 6);
  size_t off = 12;
  for (uint16_t i = 0; i < qd && i < 4; ++i) {
    off = skip_name(m, off);
    if (!off || off + 4 > m.size()) return false;
    off += 4;
  }
  for (uint16_t i = 0; i < an && i < 64; ++i) {
    off = skip_name(m, off);
    if (!off || off + 10 > m.size()) return false;
    const uint16_t type = be16(m, off);
    if (type == 16 || type == 10) return true;
    off += 10 + be16(m, off + 8);
  }
  return false;
}

}  // namespace

struct DnsDetector::Impl {
  Shared& s;
  const BehaviourOptions::Dns& o;
  CappedTable<Entry> tunnels, dga;
  std::string lower, scratch;
  explicit Impl(Shared& sh)
      : s(sh),
        o(sh.opt.dns),
        tunnels(o.max_entries, sh.evicted(BehaviourKind::kDns)),
        dga(o.max_entries, sh.evicted(BehaviourKind::kDns)) {}

  bool allowed(std::string_view domain) const {
    for (const auto& a : o.allow)
      if (domain == a) return true;
    return false;
  }

  Entry& window(CappedTable<Entry>& t, uint64_t key, int64_t now) {
    Entry& e = t.get(key, now, o.window_s * kSecond);
    if (e.start == 0 || now - e.start > o.window_s * kSecond) {
      e.start = now;
      e.names.values.clear();
      e.queries = 0;
      e.alerted = false;
      e.answers = e.txt_null = e.large = 0;
      e.answered.values.clear();
    }
    return e;
  }

  void raise(uint32_t sid, std::string what, std::string_view domain, std::string_view example,
             const Entry& e, uint32_t limit, DetectContext& ctx) {
    core::Alert a =
        make_alert(BehaviourKind::kDns, sid, 2, std::move(what), "Potentially Bad Traffic");
    a.extra.begin_object("behaviour")
        .add("detector", "dns")
        .add(sid == 1 ? "domain" : "last_domain", domain)
        .add(sid == 1 ? "long_random_names" : "generated_domains",
             static_cast<uint64_t>(e.names.values.size()))
        .add("threshold", static_cast<uint64_t>(limit))
        .add("queries", e.queries)
        .add("window_s", o.window_s)
        .add("example", example)
        .end();
    s.count_alert(BehaviourKind::kDns);
    ctx.alert(a);
  }

  // The registered domain of `name` (lowercased into `lower`), or empty when it has none or is
  // allowed.
  std::string_view domain_of(std::string_view name) {
    if (name.empty() || name.size() > 253) return {};
    lower.assign(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.back() == '.') lower.pop_back();
    std::string_view domain = registered_domain(lower, scratch);
    if (domain.empty() || allowed(domain)) return {};
    return domain;
  }

  // A response over UDP (the message is the packet's payload): the share of answers that are
  // TXT/NULL or large, among many distinct names under one domain — a tunnel whose data comes
  // back in the answers (downstream) while its queries stay short.
  void on_answer(const Packet& p, std::string_view name, DetectContext& ctx) {
    if (!p.is_udp() || p.payload.size() < 12) return;
    std::string_view domain = domain_of(name);
    if (domain.empty()) return;
    const std::string_view n = lower;
    const int64_t now = p.timestamp.micros;
    Entry& e = window(tunnels, core::fnv1a64(domain, key_of(p.dst_ip)), now);
    ++e.answers;
    if (has_txt_or_null(p.payload)) ++e.txt_null;
    if (p.payload.size() > o.large_answer) ++e.large;
    const size_t count = e.answered.add(static_cast<uint32_t>(core::fnv1a64(n)), o.answer_names);
    if (e.alerted || count < o.answer_names) return;
    const double txt = static_cast<double>(e.txt_null) / e.answers;
    const double large = static_cast<double>(e.large) / e.answers;
    if (txt < o.txt_ratio && large < o.large_ratio) return;
    e.alerted = true;
    core::Alert a = make_alert(
        BehaviourKind::kDns, 1, 2,
        "MIMAMORI DNS tunnel: many names under one domain answered with TXT/NULL or large records",
        "Potentially Bad Traffic");
    a.extra.begin_object("behaviour")
        .add("detector", "dns")
        .add("domain", domain)
        .add("names_answered", static_cast<uint64_t>(count))
        .add("threshold", static_cast<uint64_t>(o.answer_names))
        .add("answers", static_cast<uint64_t>(e.answers))
        .add("txt_null_ratio", txt)
        .add("large_ratio", large)
        .add("large_answer_bytes", static_cast<uint64_t>(o.large_answer))
        .add("window_s", o.window_s)
        .add("example", n)
        .end();
    s.count_alert(BehaviourKind::kDns);
    ctx.alert(a);
  }

  void on_query(const Packet& p, std::string_view name, DetectContext& ctx) {
    std::string_view domain = domain_of(name);
    if (domain.empty()) return;
    std::string_view n = lower;
    const int64_t now = p.timestamp.micros;
    const uint64_t client = key_of(p.src_ip);
    // Tunnel: the part before the registered domain, long and random.
    if (n.size() > domain.size() + 1) {
      std::string_view sub = n.substr(0, n.size() - domain.size() - 1);
      size_t letters = sub.size() - static_cast<size_t>(std::count(sub.begin(), sub.end(), '.'));
      if (letters >= o.min_label && entropy(sub) >= o.min_entropy) {
        Entry& e = window(tunnels, core::fnv1a64(domain, client), now);
        ++e.queries;
        size_t count = e.names.add(static_cast<uint32_t>(core::fnv1a64(sub)), o.tunnel_names);
        if (count >= o.tunnel_names && !e.alerted) {
          e.alerted = true;
          raise(1, "MIMAMORI DNS tunnel: many long random names under one domain", domain, n, e,
                o.tunnel_names, ctx);
        }
      }
    }
    // DGA: the registered domain's own label looks generated.
    std::string_view label = domain.substr(0, domain.find('.'));
    if (looks_generated(label)) {
      Entry& e = window(dga, mix(client, 0xd6a), now);
      ++e.queries;
      size_t count = e.names.add(static_cast<uint32_t>(core::fnv1a64(domain)), o.dga_domains);
      if (count >= o.dga_domains && !e.alerted) {
        e.alerted = true;
        raise(2, "MIMAMORI DGA: many machine-generated domain names looked up by one host", domain,
              n, e, o.dga_domains, ctx);
      }
    }
  }
};

DnsDetector::DnsDetector(Shared& s) : impl_(std::make_unique<Impl>(s)) {}
DnsDetector::~DnsDetector() = default;
void DnsDetector::on_query(const Packet& p, std::string_view name, DetectContext& ctx) {
  impl_->on_query(p, name, ctx);
}
void DnsDetector::on_answer(const Packet& p, std::string_view name, DetectContext& ctx) {
  impl_->on_answer(p, name, ctx);
}

}  // namespace mimamori::net::behaviour
