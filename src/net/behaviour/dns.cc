// DNS tunnels and DGA names, from the queries a client sends. The registered domain of a name
// comes from the Public Suffix List (libpsl, the list Debian ships). A tunnel (sid +1) is one
// client asking for many different long, random-looking names under one registered domain
// (data encoded in the labels); a DGA (sid +2) is one client asking for many different
// registered domains that look machine-made (long, high entropy, few vowels or many digits).

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
};

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

  void on_query(const Packet& p, std::string_view name, DetectContext& ctx) {
    if (name.empty() || name.size() > 253) return;
    lower.assign(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.back() == '.') lower.pop_back();
    std::string_view n = lower;
    std::string_view domain = registered_domain(n, scratch);
    if (domain.empty() || allowed(domain)) return;
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

}  // namespace mimamori::net::behaviour
