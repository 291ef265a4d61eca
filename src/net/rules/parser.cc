// Rule text -> Signature: the header, the option block cut into options, and each option
// handed to its row of the keyword table (keyword_table.cc) in rule order.

#include <algorithm>
#include <cctype>
#include <charconv>

#include "keyword_table.h"
#include "mimamori/core/text.h"
#include "mimamori/net/rules/loader.h"
#include "rule_text.h"

namespace mimamori::net::rules {

namespace {

using core::make_error;

// Splits "(a:b; c; d:"x\;y";)" body into options; `;` inside values is escaped as `\;`.
core::Result<std::vector<Option>> split_options(std::string_view body) {
  std::vector<Option> out;
  size_t i = 0;
  while (i < body.size()) {
    while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
    if (i >= body.size()) break;
    size_t start = i;
    bool escaped = false;
    size_t end = std::string_view::npos;
    for (; i < body.size(); ++i) {
      char c = body[i];
      if (escaped) {
        escaped = false;
        continue;
      }
      if (c == '\\') {
        escaped = true;
      } else if (c == ';') {
        end = i;
        break;
      }
    }
    if (end == std::string_view::npos) {
      std::string_view rest = strip(body.substr(start));
      if (rest.empty()) break;
      return make_error("option '{}' is not terminated by ';'",
                        rest.substr(0, std::min<size_t>(rest.size(), 40)));
    }
    std::string_view opt = strip(body.substr(start, end - start));
    ++i;
    if (opt.empty()) continue;
    Option o;
    auto colon = opt.find(':');
    if (colon == std::string_view::npos) {
      o.name = opt;
    } else {
      o.name = strip(opt.substr(0, colon));
      o.value = strip(opt.substr(colon + 1));
      o.has_value = true;
    }
    out.push_back(o);
  }
  return out;
}

// Protocols a rule header may name; app-layer ones carry their name in Signature::app_proto.
struct ProtoInfo {
  std::string_view name;
  uint8_t ip_proto;  // 0: any; for app-layer protocols, the transport
  bool app;
};
constexpr ProtoInfo kProtocols[] = {
    {"ip", 0, false},         {"pkthdr", 0, false},   {"tcp", 6, false},
    {"udp", 17, false},       {"icmp", 1, false},     {"icmpv4", 1, false},
    {"icmpv6", 58, false},    {"sctp", 132, false},   {"tcp-pkt", 6, false},
    {"tcp-stream", 6, false}, {"http", 6, true},      {"http1", 6, true},
    {"dns", 0, true},         {"tls", 6, true},       {"ssh", 6, true},
    {"smtp", 6, true},        {"ftp", 6, true},       {"ftp-data", 6, true},
    {"smb", 6, true},         {"dcerpc", 0, true},    {"dhcp", 17, true},
    {"ntp", 17, true},        {"snmp", 17, true},     {"sip", 0, true},
    {"krb5", 0, true},        {"nfs", 0, true},       {"tftp", 17, true},
    {"imap", 6, true},        {"pop3", 6, true},      {"irc", 6, true},
    {"rdp", 6, true},         {"rfb", 6, true},       {"mqtt", 6, true},
    {"modbus", 6, true},      {"dnp3", 6, true},      {"enip", 0, true},
    {"ikev2", 17, true},      {"quic", 17, true},     {"http2", 6, true},
    {"pgsql", 6, true},       {"telnet", 6, true},    {"bittorrent-dht", 17, true},
    {"ldap", 0, true},        {"websocket", 6, true},
};

core::Result<Action> parse_action(std::string_view a) {
  if (a == "alert") return Action::kAlert;
  if (a == "drop") return Action::kDrop;
  if (a == "pass") return Action::kPass;
  if (a == "reject" || a == "rejectsrc" || a == "rejectdst" || a == "rejectboth") {
    return Action::kReject;
  }
  if (a.find(':') != std::string_view::npos || a == "accept" || a == "config") {
    return make_error("unsupported action '{}' (firewall rules)", a);
  }
  return make_error("unknown action '{}'", a);
}

// Splits the header at whitespace, keeping bracketed groups whole.
std::vector<std::string_view> header_tokens(std::string_view h) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && std::isspace(static_cast<unsigned char>(h[i]))) ++i;
    if (i >= h.size()) break;
    size_t start = i;
    int depth = 0;
    while (i < h.size() && (depth > 0 || !std::isspace(static_cast<unsigned char>(h[i])))) {
      if (h[i] == '[') ++depth;
      if (h[i] == ']') --depth;
      ++i;
    }
    out.push_back(h.substr(start, i - start));
  }
  return out;
}

}  // namespace

BufferChecks& SignatureDraft::list(BufferId id) {
  for (auto& b : sig.buffers) {
    if (b.buffer == id) return b;
  }
  sig.buffers.push_back(BufferChecks{id, false, {}});
  return sig.buffers.back();
}

Content* SignatureDraft::last_content() {
  if (last_list < 0) return nullptr;
  for (auto& b : sig.buffers) {
    if (b.buffer == static_cast<BufferId>(last_list)) {
      if (last_item < b.items.size()) return std::get_if<Content>(&b.items[last_item]);
    }
  }
  return nullptr;
}

BufferChecks& SignatureDraft::relative_list() {
  if (sticky_set) return current_list();
  if (last_match_list >= 0) return list(static_cast<BufferId>(last_match_list));
  return current_list();
}

core::Result<int8_t> SignatureDraft::var_or_int(std::string_view v, int32_t& out,
                                                std::string_view what) {
  v = strip(v);
  if (parse_number(v, out)) return int8_t(-1);
  auto it = vars.find(std::string(v));
  if (it == vars.end())
    return make_error("{}: '{}' is neither a number nor a byte_extract variable", what, v);
  return it->second;
}

namespace {

// One option through its keyword's row: the checks every row's flags ask for, then the
// handler.
core::Status apply_option(SignatureDraft& d, const Option& o) {
  auto n = o.name;
  const Keyword* k = find_keyword(n);
  if (!k) return make_error("unknown keyword '{}'", n);
  if (k->flags & kUnsupported) return make_error("unsupported keyword '{}'", n);
  if ((k->flags & kNeedsValue) && (!o.has_value || o.value.empty())) {
    return make_error("'{}' needs a value", n);
  }
  if ((k->flags & kStickyBuffer) && o.has_value) {
    return make_error("sticky buffer '{}' takes no value (old '{}:' form unsupported)", n, n);
  }
  if ((k->flags & kNeedsContent) && !d.last_content()) {
    return make_error("'{}' needs a content before it", n);
  }
  return k->parse(d, o, *k);
}

// What holds only for the rule as a whole.
core::Status finish(SignatureDraft& d) {
  if (!d.seen_sid) return make_error("rule has no sid");
  if (!d.seen_msg) d.sig.msg.clear();
  // Empty sticky-buffer lists (a buffer selected but nothing checked in it) are an error in
  // Suricata too: the buffer would match nothing meaningful.
  for (const auto& b : d.sig.buffers) {
    if (b.items.empty() && b.buffer != BufferId::kPayload) {
      return make_error("sticky buffer {} is selected but nothing inspects it",
                        buffer_name(b.buffer));
    }
  }
  std::erase_if(d.sig.buffers, [](const BufferChecks& b) { return b.items.empty(); });
  // Header protocol and buffers must agree (`alert dns ... http.uri` can never match).
  for (const auto& b : d.sig.buffers) {
    auto proto = buffer_protocol(b.buffer);
    if (proto.empty()) continue;
    if (!d.sig.app_proto.empty() && d.sig.app_proto != proto &&
        !(d.sig.app_proto == "http1" && proto == "http")) {
      return make_error("buffer {} conflicts with protocol '{}' of the rule header",
                        buffer_name(b.buffer), d.sig.app_proto);
    }
  }
  for (const auto& b : d.sig.buffers) {
    int fp = 0;
    for (const auto& it : b.items) {
      if (auto* c = std::get_if<Content>(&it); c && c->fast_pattern) ++fp;
    }
    if (fp > 1) return make_error("more than one fast_pattern in {}", buffer_name(b.buffer));
  }
  return {};
}

}  // namespace

bool Range::check(uint64_t v) const {
  switch (op) {
    case Op::kEq:
      return v == lo;
    case Op::kNe:
      return v != lo;
    case Op::kLt:
      return v < lo;
    case Op::kGt:
      return v > lo;
    case Op::kLe:
      return v <= lo;
    case Op::kGe:
      return v >= lo;
    case Op::kBetween:
      return v > lo && v < hi;
  }
  return false;
}

bool TcpFlagsCheck::check(uint8_t f) const {
  f = static_cast<uint8_t>(f & ~ignore);
  switch (mode) {
    case Mode::kExact:
      return f == flags;
    case Mode::kAll:
      return (f & flags) == flags;
    case Mode::kAny:
      return (f & flags) != 0 || flags == 0;
    case Mode::kNot:
      return (f & flags) == 0;
  }
  return false;
}

bool Signature::ip_only() const {
  // Setting flowbits happens after the match (reputation rules do it), so it does not stop a
  // rule from being decided by its addresses alone; reading them does.
  for (const auto& f : flowbits) {
    if (f.cmd == FlowbitOp::Cmd::kIsSet || f.cmd == FlowbitOp::Cmd::kIsNotSet) return false;
  }
  return buffers.empty() && !flow && xbits.empty() && flowints.empty() && !dsize && !itype &&
         !icode && !tcp_flags && !ip_proto_check && !stream_size && app_layer_protocols.empty() &&
         !tls_version && app_proto.empty() && src_ports.is_any() && dst_ports.is_any() &&
         !tcp_pkt && !tcp_stream;
}

uint64_t sniff_sid(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("sid", pos)) != std::string_view::npos) {
    bool boundary =
        pos == 0 || text[pos - 1] == ';' || text[pos - 1] == ' ' || text[pos - 1] == '(';
    size_t p = pos + 3;
    while (p < text.size() && text[p] == ' ') ++p;
    if (boundary && p < text.size() && text[p] == ':') {
      ++p;
      while (p < text.size() && text[p] == ' ') ++p;
      uint64_t v = 0;
      auto [e, ec] = std::from_chars(text.data() + p, text.data() + text.size(), v);
      if (ec == std::errc()) return v;
    }
    pos += 3;
  }
  return 0;
}

core::Result<Signature> parse_rule(std::string_view text, const ParseContext& ctx) {
  text = strip(text);
  auto open = text.find('(');
  if (open == std::string_view::npos) return make_error("rule has no '(' option block");
  if (text.back() != ')') return make_error("rule does not end with ')'");
  auto header = header_tokens(text.substr(0, open));
  if (header.size() != 7) {
    return make_error("rule header needs 7 fields (action proto src sport dir dst dport), got {}",
                      header.size());
  }
  Signature sig;
  auto action = parse_action(header[0]);
  if (!action) return action.error();
  sig.action = *action;
  const ProtoInfo* proto = nullptr;
  for (const auto& p : kProtocols) {
    if (core::iequals(p.name, header[1])) proto = &p;
  }
  if (!proto) return make_error("unknown protocol '{}'", header[1]);
  // Only these app-layer protocols are recognised and parsed by the sensor; a rule for another
  // one could never match, so it is reported instead of being loaded dead.
  if (proto->app && proto->name != "http" && proto->name != "http1" && proto->name != "dns" &&
      proto->name != "tls" && proto->name != "ssh") {
    return make_error("app-layer protocol '{}' is not parsed by this sensor", header[1]);
  }
  sig.ip_proto = proto->ip_proto;
  if (proto->app) sig.app_proto = std::string(proto->name == "http1" ? "http" : proto->name);
  sig.tcp_pkt = proto->name == "tcp-pkt";
  sig.tcp_stream = proto->name == "tcp-stream";
  static const Variables kNoVars;
  const Variables& av = ctx.address_vars ? *ctx.address_vars : kNoVars;
  const Variables& pv = ctx.port_vars ? *ctx.port_vars : kNoVars;
  // Memoised by text: ET Open repeats a handful of groups across 25 k rules.
  auto parse_address = [&](std::string_view group) -> core::Result<AddressSet> {
    if (ctx.address_memo) {
      if (auto it = ctx.address_memo->find(group); it != ctx.address_memo->end()) return it->second;
    }
    auto set = AddressSet::parse(group, av);
    if (set && ctx.address_memo) ctx.address_memo->emplace(std::string(group), *set);
    return set;
  };
  auto parse_ports = [&](std::string_view group) -> core::Result<PortSet> {
    if (ctx.port_memo) {
      if (auto it = ctx.port_memo->find(group); it != ctx.port_memo->end()) return it->second;
    }
    auto set = PortSet::parse(group, pv);
    if (set && ctx.port_memo) ctx.port_memo->emplace(std::string(group), *set);
    return set;
  };
  auto src = parse_address(header[2]);
  if (!src) return make_error("source address: {}", src.error().message);
  auto sp = parse_ports(header[3]);
  if (!sp) return make_error("source port: {}", sp.error().message);
  if (header[4] == "<>") {
    sig.bidirectional = true;
  } else if (header[4] == "=>") {
    return make_error("unsupported direction '=>' (transactional rules)");
  } else if (header[4] != "->") {
    return make_error("direction must be '->' or '<>', got '{}'", header[4]);
  }
  auto dst = parse_address(header[5]);
  if (!dst) return make_error("destination address: {}", dst.error().message);
  auto dp = parse_ports(header[6]);
  if (!dp) return make_error("destination port: {}", dp.error().message);
  if ((sig.ip_proto == 1 || sig.ip_proto == 58) && (!sp->is_any() || !dp->is_any())) {
    return make_error("ports given for protocol '{}', which has none", header[1]);
  }
  sig.src = std::move(*src);
  sig.dst = std::move(*dst);
  sig.src_ports = std::move(*sp);
  sig.dst_ports = std::move(*dp);

  auto body = text.substr(open + 1, text.size() - open - 2);
  auto options = split_options(body);
  if (!options) return options.error();
  SignatureDraft draft(ctx, sig);
  for (const auto& o : *options) {
    if (auto s = apply_option(draft, o); !s) return s.error();
  }
  if (auto s = finish(draft); !s) return s.error();
  return sig;
}

}  // namespace mimamori::net::rules
