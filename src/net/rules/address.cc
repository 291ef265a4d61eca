#include "mimamori/net/rules/address.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "rule_text.h"

namespace mimamori::net::rules {

namespace {

using U128 = Uint128;

template <class T>
using Ranges = std::vector<std::pair<T, T>>;

template <class T>
void normalise_ranges(Ranges<T>& r) {
  std::sort(r.begin(), r.end());
  Ranges<T> out;
  for (const auto& x : r) {
    if (!out.empty() &&
        (x.first <= out.back().second || (out.back().second != std::numeric_limits<T>::max() &&
                                          x.first == out.back().second + 1))) {
      out.back().second = std::max(out.back().second, x.second);
    } else {
      out.push_back(x);
    }
  }
  r.swap(out);
}

template <class T>
Ranges<T> complement(Ranges<T> r) {
  normalise_ranges(r);
  Ranges<T> out;
  T next = 0;
  bool done = false;
  for (const auto& x : r) {
    if (x.first > next) out.emplace_back(next, x.first - 1);
    if (x.second == std::numeric_limits<T>::max()) {
      done = true;
      break;
    }
    next = x.second + 1;
  }
  if (!done) out.emplace_back(next, std::numeric_limits<T>::max());
  return out;
}

template <class T>
Ranges<T> intersect(const Ranges<T>& a, const Ranges<T>& b) {
  Ranges<T> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    T lo = std::max(a[i].first, b[j].first);
    T hi = std::min(a[i].second, b[j].second);
    if (lo <= hi) out.emplace_back(lo, hi);
    if (a[i].second < b[j].second) {
      ++i;
    } else {
      ++j;
    }
  }
  return out;
}

template <class T>
bool ranges_contain(const Ranges<T>& r, T v) {
  auto it = std::upper_bound(r.begin(), r.end(), v,
                             [](T value, const std::pair<T, T>& x) { return value < x.first; });
  if (it == r.begin()) return false;
  --it;
  return v >= it->first && v <= it->second;
}

// Blanks inside address and port groups: spaces and tabs only. A CR or LF in a group (a
// variable written as a YAML block scalar) stays an error, as it always was; core::trim would
// strip it.
constexpr std::string_view kGroupBlanks = " \t";

// Splits a bracketed list at top-level commas.
core::Result<std::vector<std::string_view>> split_list(std::string_view s) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') ++depth;
    if (s[i] == ']') {
      if (--depth < 0) return core::make_error("unbalanced ']' in '{}'", s);
    }
    if (s[i] == ',' && depth == 0) {
      out.push_back(strip(s.substr(start, i - start), kGroupBlanks));
      start = i + 1;
    }
  }
  if (depth != 0) return core::make_error("unbalanced '[' in '{}'", s);
  out.push_back(strip(s.substr(start), kGroupBlanks));
  return out;
}

U128 v6_value(const core::IpAddress& ip) {
  U128 v = 0;
  for (int i = 0; i < 16; ++i) v = (v << 8) | ip.bytes()[i];
  return v;
}

constexpr int kMaxDepth = 16;

}  // namespace

struct AddressParser {
  const Variables& vars;

  struct Sets {
    Ranges<uint32_t> v4;
    Ranges<U128> v6;
  };

  static Sets all() {
    return Sets{{{0u, std::numeric_limits<uint32_t>::max()}}, {{U128(0), ~U128(0)}}};
  }

  static Sets negate(Sets s) {
    return Sets{complement(std::move(s.v4)), complement(std::move(s.v6))};
  }

  core::Result<Sets> parse_item(std::string_view item, int depth) {
    item = strip(item, kGroupBlanks);
    if (depth > kMaxDepth) return core::make_error("address variables nest too deep (a cycle?)");
    if (item.empty()) return core::make_error("empty address");
    if (item.front() == '!') {
      auto inner = parse_item(item.substr(1), depth + 1);
      if (!inner) return inner;
      return negate(std::move(*inner));
    }
    if (item.front() == '[') {
      if (item.back() != ']') return core::make_error("address list '{}' lacks ']'", item);
      auto parts = split_list(item.substr(1, item.size() - 2));
      if (!parts) return parts.error();
      Sets pos, neg;
      bool any_pos = false;
      for (auto p : *parts) {
        bool negated = !p.empty() && p.front() == '!';
        auto s = parse_item(negated ? p.substr(1) : p, depth + 1);
        if (!s) return s;
        Sets& into = negated ? neg : pos;
        any_pos |= !negated;
        into.v4.insert(into.v4.end(), s->v4.begin(), s->v4.end());
        into.v6.insert(into.v6.end(), s->v6.begin(), s->v6.end());
      }
      if (!any_pos) pos = all();
      normalise_ranges(pos.v4);
      normalise_ranges(pos.v6);
      Sets n = negate(std::move(neg));
      return Sets{intersect(pos.v4, n.v4), intersect(pos.v6, n.v6)};
    }
    if (item.front() == '$') {
      auto it = vars.find(item.substr(1));
      if (it == vars.end()) return core::make_error("unknown address variable '{}'", item);
      return parse_item(it->second, depth + 1);
    }
    if (item == "any") return all();
    Sets out;
    // a-b range
    if (auto dash = item.find('-'); dash != std::string_view::npos) {
      auto lo = core::IpAddress::parse(strip(item.substr(0, dash), kGroupBlanks));
      auto hi = core::IpAddress::parse(strip(item.substr(dash + 1), kGroupBlanks));
      if (!lo || !hi || lo->family() != hi->family()) {
        return core::make_error("bad address range '{}'", item);
      }
      if (lo->is_v4()) {
        out.v4.emplace_back(lo->v4_host_order(), hi->v4_host_order());
      } else {
        out.v6.emplace_back(v6_value(*lo), v6_value(*hi));
      }
      if (!out.v4.empty() && out.v4[0].first > out.v4[0].second) {
        return core::make_error("address range '{}' runs backwards", item);
      }
      if (!out.v6.empty() && out.v6[0].first > out.v6[0].second) {
        return core::make_error("address range '{}' runs backwards", item);
      }
      return out;
    }
    std::string_view addr = item, prefix;
    if (auto slash = item.find('/'); slash != std::string_view::npos) {
      addr = item.substr(0, slash);
      prefix = item.substr(slash + 1);
    }
    auto ip = core::IpAddress::parse(addr);
    if (!ip) return core::make_error("bad address '{}'", item);
    int bits = ip->is_v4() ? 32 : 128;
    if (!prefix.empty()) {
      if (ip->is_v4() && prefix.find('.') != std::string_view::npos) {
        auto mask = core::IpAddress::parse(prefix);
        if (!mask || !mask->is_v4()) return core::make_error("bad netmask in '{}'", item);
        uint32_t m = mask->v4_host_order();
        bits = 0;
        while (bits < 32 && (m & (0x80000000u >> bits))) ++bits;
      } else {
        int b = -1;
        auto [p, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), b);
        if (ec != std::errc() || p != prefix.data() + prefix.size() || b < 0 ||
            b > (ip->is_v4() ? 32 : 128)) {
          return core::make_error("bad prefix length in '{}'", item);
        }
        bits = b;
      }
    }
    if (ip->is_v4()) {
      uint32_t v = ip->v4_host_order();
      uint32_t mask = bits == 0 ? 0 : (~uint32_t(0) << (32 - bits));
      out.v4.emplace_back(v & mask, (v & mask) | ~mask);
    } else {
      U128 v = v6_value(*ip);
      U128 mask = bits == 0 ? U128(0) : (~U128(0) << (128 - bits));
      out.v6.emplace_back(v & mask, (v & mask) | ~mask);
    }
    return out;
  }
};

Variables default_address_variables() {
  Variables v;
  v["HOME_NET"] = "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]";
  v["EXTERNAL_NET"] = "!$HOME_NET";
  for (const char* n : {"HTTP_SERVERS", "SMTP_SERVERS", "SQL_SERVERS", "DNS_SERVERS",
                        "TELNET_SERVERS", "DC_SERVERS", "DNP3_SERVER", "DNP3_CLIENT",
                        "MODBUS_CLIENT", "MODBUS_SERVER", "ENIP_CLIENT", "ENIP_SERVER"}) {
    v[n] = "$HOME_NET";
  }
  v["AIM_SERVERS"] = "$EXTERNAL_NET";
  return v;
}

Variables default_port_variables() {
  Variables v;
  v["HTTP_PORTS"] = "80";
  v["SHELLCODE_PORTS"] = "!80";
  v["ORACLE_PORTS"] = "1521";
  v["SSH_PORTS"] = "22";
  v["DNP3_PORTS"] = "20000";
  v["MODBUS_PORTS"] = "502";
  v["FILE_DATA_PORTS"] = "[$HTTP_PORTS,110,143]";
  v["FTP_PORTS"] = "21";
  v["GENEVE_PORTS"] = "6081";
  v["VXLAN_PORTS"] = "4789";
  v["TEREDO_PORTS"] = "3544";
  return v;
}

core::Result<AddressSet> AddressSet::parse(std::string_view text, const Variables& vars) {
  AddressParser p{vars};
  auto s = p.parse_item(text, 0);
  if (!s) return s.error();
  AddressSet out;
  out.v4_ = std::move(s->v4);
  out.v6_ = std::move(s->v6);
  out.normalise();
  if (out.v4_.empty() && out.v6_.empty()) {
    return core::make_error("address group '{}' matches no address", text);
  }
  return out;
}

void AddressSet::normalise() {
  normalise_ranges(v4_);
  normalise_ranges(v6_);
  any_ = v4_.size() == 1 && v4_[0].first == 0 && v4_[0].second == ~uint32_t(0) && v6_.size() == 1 &&
         v6_[0].first == 0 && v6_[0].second == ~U128(0);
}

AddressSet AddressSet::any() {
  AddressSet s;
  s.v4_ = {{0u, ~uint32_t(0)}};
  s.v6_ = {{U128(0), ~U128(0)}};
  s.any_ = true;
  return s;
}

bool AddressSet::contains(const core::IpAddress& ip) const {
  if (any_) return true;
  if (ip.is_v4()) return ranges_contain(v4_, ip.v4_host_order());
  if (ip.is_v6()) return ranges_contain(v6_, v6_value(ip));
  return false;
}

struct PortParser {
  const Variables& vars;

  core::Result<Ranges<uint16_t>> parse_item(std::string_view item, int depth) {
    item = strip(item, kGroupBlanks);
    if (depth > kMaxDepth) return core::make_error("port variables nest too deep (a cycle?)");
    if (item.empty()) return core::make_error("empty port");
    if (item.front() == '!') {
      auto inner = parse_item(item.substr(1), depth + 1);
      if (!inner) return inner;
      return complement(std::move(*inner));
    }
    if (item.front() == '[') {
      if (item.back() != ']') return core::make_error("port list '{}' lacks ']'", item);
      auto parts = split_list(item.substr(1, item.size() - 2));
      if (!parts) return parts.error();
      Ranges<uint16_t> pos, neg;
      bool any_pos = false;
      for (auto p : *parts) {
        bool negated = !p.empty() && p.front() == '!';
        auto s = parse_item(negated ? p.substr(1) : p, depth + 1);
        if (!s) return s;
        auto& into = negated ? neg : pos;
        any_pos |= !negated;
        into.insert(into.end(), s->begin(), s->end());
      }
      if (!any_pos) pos = {{uint16_t(0), uint16_t(65535)}};
      normalise_ranges(pos);
      return intersect(pos, complement(std::move(neg)));
    }
    if (item.front() == '$') {
      auto it = vars.find(item.substr(1));
      if (it == vars.end()) return core::make_error("unknown port variable '{}'", item);
      return parse_item(it->second, depth + 1);
    }
    if (item == "any") return Ranges<uint16_t>{{0, 65535}};
    auto number = [&](std::string_view s, uint16_t fallback) -> core::Result<uint16_t> {
      s = strip(s, kGroupBlanks);
      if (s.empty()) return fallback;
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size() || v > 65535) {
        return core::make_error("bad port '{}'", item);
      }
      return static_cast<uint16_t>(v);
    };
    if (auto colon = item.find(':'); colon != std::string_view::npos) {
      auto lo = number(item.substr(0, colon), 0);
      auto hi = number(item.substr(colon + 1), 65535);
      if (!lo) return lo.error();
      if (!hi) return hi.error();
      if (*lo > *hi) return core::make_error("port range '{}' runs backwards", item);
      return Ranges<uint16_t>{{*lo, *hi}};
    }
    auto v = number(item, 0);
    if (!v) return v.error();
    return Ranges<uint16_t>{{*v, *v}};
  }
};

core::Result<PortSet> PortSet::parse(std::string_view text, const Variables& vars) {
  PortParser p{vars};
  auto r = p.parse_item(text, 0);
  if (!r) return r.error();
  normalise_ranges(*r);
  if (r->empty()) return core::make_error("port group '{}' matches no port", text);
  PortSet out;
  out.ranges_ = std::move(*r);
  out.any_ = out.ranges_.size() == 1 && out.ranges_[0].first == 0 && out.ranges_[0].second == 65535;
  return out;
}

PortSet PortSet::any() {
  PortSet s;
  s.ranges_ = {{0, 65535}};
  s.any_ = true;
  return s;
}

bool PortSet::contains(uint16_t port) const { return any_ || ranges_contain(ranges_, port); }

}  // namespace mimamori::net::rules
