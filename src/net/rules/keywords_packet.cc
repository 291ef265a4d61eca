// Packet and header fields: dsize, itype, icode, flags, ip_proto, tls.version.

#include <utility>

#include "keyword_table.h"
#include "mimamori/core/text.h"
#include "rule_text.h"

namespace mimamori::net::rules::keywords {

using core::make_error;

core::Status dsize(SignatureDraft& d, const Option& o, const Keyword&) {
  auto r = parse_range(o.value, "dsize");
  if (!r) return r.error();
  d.sig.dsize = *r;
  return {};
}

core::Status icmp_field(SignatureDraft& d, const Option& o, const Keyword&) {
  auto n = o.name;
  auto r = parse_range(o.value, n);
  if (!r) return r.error();
  (n == "itype" ? d.sig.itype : d.sig.icode) = *r;
  return {};
}

core::Status flags(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  TcpFlagsCheck f;
  auto parts = split(value, ',');
  auto spec = parts[0];
  auto bit = [](char c) -> int {
    switch (c) {
      case 'F':
      case 'f':
        return 1;
      case 'S':
      case 's':
        return 2;
      case 'R':
      case 'r':
        return 4;
      case 'P':
      case 'p':
        return 8;
      case 'A':
      case 'a':
        return 16;
      case 'U':
      case 'u':
        return 32;
      case 'E':
      case 'e':
      case '2':
        return 64;
      case 'C':
      case 'c':
      case '1':
        return 128;
      default:
        return -1;
    }
  };
  for (char c : spec) {
    if (c == '+')
      f.mode = TcpFlagsCheck::Mode::kAll;
    else if (c == '*')
      f.mode = TcpFlagsCheck::Mode::kAny;
    else if (c == '!')
      f.mode = TcpFlagsCheck::Mode::kNot;
    else if (c == '0')
      continue;
    else {
      int b = bit(c);
      if (b < 0) return make_error("flags: unknown flag '{}'", c);
      f.flags |= static_cast<uint8_t>(b);
    }
  }
  if (parts.size() > 1) {
    for (char c : parts[1]) {
      int b = bit(c);
      if (b < 0) return make_error("flags: unknown flag '{}' in the ignore mask", c);
      f.ignore |= static_cast<uint8_t>(b);
    }
  }
  d.sig.tcp_flags = f;
  return {};
}

core::Status ip_proto(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view v = o.value;
  Range r;
  if (v.starts_with("!"))
    r.op = Range::Op::kNe, v.remove_prefix(1);
  else if (v.starts_with("<"))
    r.op = Range::Op::kLt, v.remove_prefix(1);
  else if (v.starts_with(">"))
    r.op = Range::Op::kGt, v.remove_prefix(1);
  v = strip(v);
  if (!parse_int(v, r.lo)) {
    constexpr std::pair<std::string_view, int> kNames[] = {
        {"ICMP", 1}, {"IGMP", 2},       {"TCP", 6},     {"UDP", 17},   {"GRE", 47}, {"ESP", 50},
        {"AH", 51},  {"IPV6-ICMP", 58}, {"ICMPV6", 58}, {"SCTP", 132}, {"IPIP", 4}};
    bool found = false;
    for (auto [name, num] : kNames) {
      if (core::iequals(name, v)) r.lo = static_cast<uint64_t>(num), found = true;
    }
    if (!found) return make_error("ip_proto: unknown protocol '{}'", v);
  }
  d.sig.ip_proto_check = r;
  return {};
}

core::Status tls_version(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view v = o.value;
  uint16_t ver = 0;
  if (v == "1.0")
    ver = 0x0301;
  else if (v == "1.1")
    ver = 0x0302;
  else if (v == "1.2")
    ver = 0x0303;
  else if (v == "1.3")
    ver = 0x0304;
  else if (!parse_number(v, ver))
    return make_error("tls.version: bad version '{}'", v);
  d.sig.tls_version = ver;
  return {};
}

}  // namespace mimamori::net::rules::keywords
