// Rule text -> Signature. Keyword handlers follow Suricata's semantics: content modifiers act on
// the last content of the rule, sticky buffers select the list later checks go to, legacy
// http_* modifiers move the content just before them.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {

namespace {

using core::make_error;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

template <class T>
bool parse_int(std::string_view s, T& out, int base = 10) {
  s = trim(s);
  if (base == 16 && s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// Any integer, with 0x prefix accepted.
template <class T>
bool parse_number(std::string_view s, T& out) {
  s = trim(s);
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return parse_int(s, out, 16);
  return parse_int(s, out, 10);
}

// Removes the quotes around a string value and undoes \" \; \\ escapes.
core::Result<std::string> unquote(std::string_view v, std::string_view what) {
  v = trim(v);
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    return make_error("{} value must be in double quotes", what);
  }
  v = v.substr(1, v.size() - 2);
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      out += v[++i];
    } else {
      out += v[i];
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// content:"abc|0d 0a|def" -> bytes; `!` before the quote negates.
core::Result<std::string> parse_content_bytes(std::string_view v, bool& negated) {
  v = trim(v);
  negated = false;
  if (!v.empty() && v.front() == '!') {
    negated = true;
    v = trim(v.substr(1));
  }
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') {
    return make_error("content must be in double quotes");
  }
  v = v.substr(1, v.size() - 2);
  std::string out;
  bool hex = false;
  int pending = -1;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (hex) {
      if (c == '|') {
        if (pending >= 0) return make_error("odd number of hex digits in content");
        hex = false;
      } else if (c == ' ' || c == '\t') {
        continue;
      } else {
        int d = hex_digit(c);
        if (d < 0) return make_error("bad hex character '{}' in content", c);
        if (pending < 0) {
          pending = d;
        } else {
          out += static_cast<char>(pending * 16 + d);
          pending = -1;
        }
      }
      continue;
    }
    if (c == '|') {
      hex = true;
    } else if (c == '\\') {
      if (i + 1 >= v.size()) return make_error("content ends in a lone backslash");
      char n = v[++i];
      if (n != '"' && n != ';' && n != '\\' && n != ':' && n != '|') {
        return make_error("bad escape '\\{}' in content", n);
      }
      out += n;
    } else if (c == '"') {
      return make_error("unescaped '\"' in content");
    } else {
      out += c;
    }
  }
  if (hex) return make_error("unterminated hex block in content");
  if (out.empty()) return make_error("empty content");
  return out;
}

core::Result<Range> parse_range(std::string_view v, std::string_view what) {
  v = trim(v);
  Range r;
  uint64_t a = 0, b = 0;
  if (auto p = v.find("<>"); p != std::string_view::npos) {
    if (!parse_int(v.substr(0, p), a) || !parse_int(v.substr(p + 2), b) || a >= b) {
      return make_error("bad {} range '{}'", what, v);
    }
    r.op = Range::Op::kBetween;
    r.lo = a;
    r.hi = b;
    return r;
  }
  if (v.starts_with("<=")) {
    r.op = Range::Op::kLe;
    v.remove_prefix(2);
  } else if (v.starts_with(">=")) {
    r.op = Range::Op::kGe;
    v.remove_prefix(2);
  } else if (v.starts_with("<")) {
    r.op = Range::Op::kLt;
    v.remove_prefix(1);
  } else if (v.starts_with(">")) {
    r.op = Range::Op::kGt;
    v.remove_prefix(1);
  } else if (v.starts_with("!=")) {
    r.op = Range::Op::kNe;
    v.remove_prefix(2);
  } else if (v.starts_with("!")) {
    r.op = Range::Op::kNe;
    v.remove_prefix(1);
  } else if (v.starts_with("=")) {
    v.remove_prefix(1);
  }
  if (!parse_int(v, a)) return make_error("bad {} value '{}'", what, v);
  r.lo = a;
  return r;
}

struct Option {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

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
      std::string_view rest = trim(body.substr(start));
      if (rest.empty()) break;
      return make_error("option '{}' is not terminated by ';'",
                        rest.substr(0, std::min<size_t>(rest.size(), 40)));
    }
    std::string_view opt = trim(body.substr(start, end - start));
    ++i;
    if (opt.empty()) continue;
    Option o;
    auto colon = opt.find(':');
    if (colon == std::string_view::npos) {
      o.name = opt;
    } else {
      o.name = trim(opt.substr(0, colon));
      o.value = trim(opt.substr(colon + 1));
      o.has_value = true;
    }
    out.push_back(o);
  }
  return out;
}

// Suricata keywords Mimamori does not evaluate: named so the skip reason is precise.
constexpr std::string_view kKnownUnsupported[] = {"base64_decode",
                                                  "base64_data",
                                                  "app-layer-event",
                                                  "asn1",
                                                  "lua",
                                                  "luajit",
                                                  "filestore",
                                                  "filemagic",
                                                  "filename",
                                                  "fileext",
                                                  "filemd5",
                                                  "filesha1",
                                                  "filesha256",
                                                  "filesize",
                                                  "file.name",
                                                  "file.magic",
                                                  "byte_math",
                                                  "iprep",
                                                  "geoip",
                                                  "datarep",
                                                  "dataset",
                                                  "decode-event",
                                                  "stream-event",
                                                  "engine-event",
                                                  "ssl_state",
                                                  "ssl_version",
                                                  "tls.store",
                                                  "tls_cert_notbefore",
                                                  "tls_cert_notafter",
                                                  "tls_cert_expired",
                                                  "tls_cert_valid",
                                                  "tls.subjectaltname",
                                                  "dnp3_func",
                                                  "dnp3_ind",
                                                  "dnp3_obj",
                                                  "dnp3_data",
                                                  "modbus",
                                                  "enip_command",
                                                  "cip_service",
                                                  "dce_iface",
                                                  "dce_opnum",
                                                  "dce_stub_data",
                                                  "smb.named_pipe",
                                                  "smb.share",
                                                  "krb5_msg_type",
                                                  "krb5_cname",
                                                  "krb5_sname",
                                                  "sip.method",
                                                  "sip.uri",
                                                  "http2.header",
                                                  "http2.frametype",
                                                  "quic.sni",
                                                  "snmp.community",
                                                  "ftpbounce",
                                                  "ftpdata_command",
                                                  "pkt_data_raw",
                                                  "replace",
                                                  "ttl",
                                                  "tos",
                                                  "id",
                                                  "ipopts",
                                                  "fragbits",
                                                  "fragoffset",
                                                  "seq",
                                                  "ack",
                                                  "window",
                                                  "icmp_id",
                                                  "icmp_seq",
                                                  "sameip",
                                                  "rpc",
                                                  "tcp.mss",
                                                  "ipv4.hdr",
                                                  "tcp.hdr",
                                                  "udp.hdr",
                                                  "icmpv4.hdr",
                                                  "ipv6.hdr",
                                                  "frame",
                                                  "to_lowercase",
                                                  "to_uppercase",
                                                  "to_md5",
                                                  "to_sha1",
                                                  "to_sha256",
                                                  "compress_whitespace",
                                                  "strip_whitespace",
                                                  "url_decode",
                                                  "xor",
                                                  "pcrexform",
                                                  "header_lowercase",
                                                  "strip_pseudo_headers",
                                                  "from_base64",
                                                  "luaxform",
                                                  "transforms",
                                                  "config",
                                                  "requires",
                                                  "prefilter",
                                                  "entropy",
                                                  "ja4s.hash",
                                                  "ssh.hassh",
                                                  "ssh.hassh.server",
                                                  "ssh.hassh.string",
                                                  "ssh.hassh.server.string",
                                                  "hassh",
                                                  "dns.opcode",
                                                  "dns.answer.name",
                                                  "dns.queries.rrname",
                                                  "dns.answers.rrname",
                                                  "dns.rrtype",
                                                  "http.request_header",
                                                  "http.response_header",
                                                  "mqtt.type",
                                                  "rfb.name",
                                                  "smtp.helo",
                                                  "smtp.mail_from",
                                                  "smtp.rcpt_to",
                                                  "email.from",
                                                  "email.to",
                                                  "email.subject",
                                                  "krb5.cname"};

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

class RuleCompiler {
 public:
  RuleCompiler(const ParseContext& ctx, Signature& sig) : ctx_(ctx), sig_(sig) {}

  core::Status option(const Option& o);
  core::Status finish();

 private:
  BufferChecks& list(BufferId id) {
    for (auto& b : sig_.buffers) {
      if (b.buffer == id) return b;
    }
    sig_.buffers.push_back(BufferChecks{id, false, {}});
    return sig_.buffers.back();
  }
  BufferChecks& current() { return list(current_); }
  Content* last_content() {
    if (last_list_ < 0) return nullptr;
    for (auto& b : sig_.buffers) {
      if (b.buffer == static_cast<BufferId>(last_list_)) {
        if (last_item_ < b.items.size()) return std::get_if<Content>(&b.items[last_item_]);
      }
    }
    return nullptr;
  }
  // The list a relative non-content check goes to: that of the last content/pcre.
  BufferChecks& relative_list() {
    if (sticky_set_) return current();
    if (last_match_list_ >= 0) return list(static_cast<BufferId>(last_match_list_));
    return current();
  }
  core::Result<int8_t> var_or_int(std::string_view v, int32_t& out, std::string_view what) {
    v = trim(v);
    if (parse_number(v, out)) return int8_t(-1);
    auto it = vars_.find(std::string(v));
    if (it == vars_.end())
      return make_error("{}: '{}' is neither a number nor a byte_extract variable", what, v);
    return it->second;
  }
  core::Status content(std::string_view value);
  core::Status content_modifier(const Option& o);
  core::Status pcre(std::string_view value);
  core::Status byte_read_opts(std::vector<std::string_view>& parts, size_t from, ByteRead& r,
                              uint32_t* multiplier, bool* align, ByteJump* jump,
                              std::string_view what);
  core::Status byte_test(std::string_view value);
  core::Status byte_jump(std::string_view value);
  core::Status byte_extract(std::string_view value);
  core::Status isdataat(std::string_view value);
  core::Status flow(std::string_view value);
  core::Status flowbits(std::string_view value);
  core::Status xbits(std::string_view value);
  core::Status flowint(std::string_view value);
  core::Result<Threshold> threshold(std::string_view value, bool detection_filter);
  core::Status flags(std::string_view value);
  core::Status tag(std::string_view value);
  core::Status metadata(std::string_view value);

  const ParseContext& ctx_;
  Signature& sig_;
  BufferId current_ = BufferId::kPayload;
  int last_list_ = -1;
  size_t last_item_ = 0;
  int last_match_list_ = -1;
  bool seen_sid_ = false;
  bool seen_msg_ = false;
  bool has_priority_ = false;
  bool sticky_set_ = false;
  std::map<std::string, int8_t> vars_;
};

core::Status RuleCompiler::content(std::string_view value) {
  Content c;
  auto bytes = parse_content_bytes(value, c.negated);
  if (!bytes) return bytes.error();
  c.bytes = std::move(*bytes);
  auto& l = current();
  l.items.push_back(std::move(c));
  last_list_ = static_cast<int>(l.buffer);
  last_item_ = l.items.size() - 1;
  last_match_list_ = last_list_;
  return {};
}

core::Status RuleCompiler::content_modifier(const Option& o) {
  Content* c = last_content();
  if (!c) return make_error("'{}' needs a content before it", o.name);
  auto n = o.name;
  if (n == "nocase") {
    c->nocase = true;
  } else if (n == "rawbytes") {
    c->rawbytes = true;
  } else if (n == "startswith") {
    if (c->has_depth || c->has_offset || c->relative()) {
      return make_error("'startswith' cannot be mixed with depth/offset/distance/within");
    }
    c->startswith = true;
  } else if (n == "endswith") {
    c->endswith = true;
  } else if (n == "fast_pattern") {
    if (o.has_value) {
      if (o.value == "only") {
        c->fast_pattern_only = true;
      } else {
        auto parts = split(o.value, ',');
        if (parts.size() != 2 || !parse_int(parts[0], c->fp_offset) ||
            !parse_int(parts[1], c->fp_length)) {
          return make_error("bad fast_pattern value '{}'", o.value);
        }
        if (size_t(c->fp_offset) + c->fp_length > c->bytes.size() || c->fp_length == 0) {
          return make_error("fast_pattern:{} lies outside the content", o.value);
        }
      }
    }
    c->fast_pattern = true;
  } else {
    int32_t v = 0;
    if (!o.has_value) return make_error("'{}' needs a value", n);
    auto var = var_or_int(o.value, v, n);
    if (!var) return var.error();
    if (c->startswith) return make_error("'{}' cannot be mixed with startswith", n);
    if (n == "depth") {
      if (*var < 0 && v <= 0) return make_error("depth must be positive, got {}", v);
      c->has_depth = true, c->depth = v, c->depth_var = *var;
    } else if (n == "offset") {
      if (*var < 0 && v < 0) return make_error("offset must not be negative, got {}", v);
      c->has_offset = true, c->offset = v, c->offset_var = *var;
    } else if (n == "distance") {
      c->has_distance = true, c->distance = v, c->distance_var = *var;
    } else if (n == "within") {
      if (*var < 0 && v <= 0) return make_error("within must be positive, got {}", v);
      if (*var < 0 && static_cast<size_t>(v) < c->bytes.size()) {
        return make_error("within:{} is shorter than the content ({} bytes)", v, c->bytes.size());
      }
      c->has_within = true, c->within = v, c->within_var = *var;
    }
    if ((c->has_depth || c->has_offset) && c->relative()) {
      return make_error("depth/offset and distance/within on the same content conflict");
    }
  }
  return {};
}

core::Status RuleCompiler::pcre(std::string_view value) {
  Pcre p;
  value = trim(value);
  if (!value.empty() && value.front() == '!') {
    p.negated = true;
    value = trim(value.substr(1));
  }
  // Suricata also accepts the pattern without quotes (pcre:/x/U;).
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  if (value.empty() || value.front() != '/') return make_error("pcre must start with '/'");
  auto last = value.rfind('/');
  if (last == 0) return make_error("pcre lacks its closing '/'");
  std::string pattern(value.substr(1, last - 1));
  std::string_view flags = value.substr(last + 1);
  if (flags.find(',') != std::string_view::npos) {
    return make_error("unsupported pcre capture into variables ('{}')", trim(flags));
  }
  match::RegexOptions ro;
  std::optional<BufferId> buf;
  for (char f : flags) {
    switch (f) {
      case 'i':
        ro.caseless = true;
        break;
      case 's':
        ro.dotall = true;
        break;
      case 'm':
        ro.multiline = true;
        break;
      case 'x':
        ro.extended = true;
        break;
      case 'A':
        ro.anchored = true;
        break;
      case 'E':
        ro.dollar_endonly = true;
        break;
      case 'G':
        ro.ungreedy = true;
        break;
      case 'R':
        p.relative = true;
        break;
      case 'O':
        break;  // match limits: PCRE2's defaults apply
      case 'B':
        p.rawbytes = true;
        break;
      case 'U':
        buf = BufferId::kHttpUri;
        break;
      case 'I':
        buf = BufferId::kHttpUriRaw;
        break;
      case 'P':
        buf = BufferId::kHttpRequestBody;
        break;
      case 'Q':
        buf = BufferId::kHttpResponseBody;
        break;
      case 'H':
        buf = BufferId::kHttpHeader;
        break;
      case 'D':
        buf = BufferId::kHttpHeaderRaw;
        break;
      case 'M':
        buf = BufferId::kHttpMethod;
        break;
      case 'C':
        buf = BufferId::kHttpCookie;
        break;
      case 'S':
        buf = BufferId::kHttpStatCode;
        break;
      case 'Y':
        buf = BufferId::kHttpStatMsg;
        break;
      case 'V':
        buf = BufferId::kHttpUserAgent;
        break;
      case 'W':
        buf = BufferId::kHttpHost;
        break;
      case 'Z':
        buf = BufferId::kHttpHostRaw;
        break;
      default:
        return make_error("unknown pcre flag '{}'", f);
    }
  }
  // Rule sets repeat many patterns (ET Open: 4.6 k pcre options, 1.7 k distinct); a JIT
  // compile is the dearest step of loading, so equal patterns share one Regex.
  static_assert(sizeof(match::RegexOptions) == 8, "the memo key lists every option");
  std::string key;
  if (ctx_.regex_memo) {
    key = fmt::format("{:d}{:d}{:d}{:d}{:d}{:d}{:d}{:d}/{}", ro.caseless, ro.multiline, ro.dotall,
                      ro.extended, ro.anchored, ro.dollar_endonly, ro.ungreedy, ro.utf, pattern);
    if (auto it = ctx_.regex_memo->find(key); it != ctx_.regex_memo->end()) p.regex = it->second;
  }
  if (!p.regex) {
    auto re = match::Regex::compile(pattern, ro);
    if (!re) return make_error("pcre does not compile: {}", re.error().message);
    p.regex = std::make_shared<const match::Regex>(std::move(*re));
    if (ctx_.regex_memo) ctx_.regex_memo->emplace(std::move(key), p.regex);
  }
  p.text = std::string(value);
  auto& l = buf ? list(*buf) : (p.relative ? relative_list() : current());
  l.items.push_back(std::move(p));
  last_match_list_ = static_cast<int>(l.buffer);
  return {};
}

core::Status RuleCompiler::byte_read_opts(std::vector<std::string_view>& parts, size_t from,
                                          ByteRead& r, uint32_t* multiplier, bool* align,
                                          ByteJump* jump, std::string_view what) {
  for (size_t i = from; i < parts.size(); ++i) {
    auto p = parts[i];
    if (p == "relative") {
      r.relative = true;
    } else if (p == "little") {
      r.little = true;
    } else if (p == "big") {
      r.little = false;
    } else if (p == "string") {
      r.string = true;
    } else if (p == "hex") {
      r.base = 16;
    } else if (p == "dec") {
      r.base = 10;
    } else if (p == "oct") {
      r.base = 8;
    } else if (p == "dce") {
      r.dce = true;
    } else if (p == "align" && align) {
      *align = true;
    } else if (p.starts_with("align") && align && !jump) {
      *align = true;  // byte_extract: align 2/4
    } else if (p == "from_beginning" && jump) {
      jump->from_beginning = true;
    } else if (p == "from_end" && jump) {
      jump->from_end = true;
    } else if (p.starts_with("post_offset") && jump) {
      if (!parse_int(trim(p.substr(11)), jump->post_offset)) {
        return make_error("{}: bad post_offset '{}'", what, p);
      }
    } else if (p.starts_with("multiplier") && multiplier) {
      if (!parse_int(trim(p.substr(10)), *multiplier) || *multiplier == 0) {
        return make_error("{}: bad multiplier '{}'", what, p);
      }
    } else if (p.starts_with("bitmask")) {
      if (!parse_number(trim(p.substr(7)), r.bitmask) || r.bitmask == 0) {
        return make_error("{}: bad bitmask '{}'", what, p);
      }
    } else {
      return make_error("{}: unknown option '{}'", what, p);
    }
  }
  if (r.string) {
    if (r.nbytes > 32) return make_error("{}: at most 32 bytes of string, got {}", what, r.nbytes);
  } else if (r.nbytes > 8) {
    return make_error("{}: 1 to 8 bytes for a binary number, got {}", what, r.nbytes);
  }
  // `string` with 0 bytes reads the digits that are there (ET uses it); binary needs a size,
  // except byte_jump's, where 0 bytes read the value 0 (a plain move by post_offset).
  if (r.nbytes == 0 && !r.string && !jump) {
    return make_error("{}: number of bytes must be positive", what);
  }
  return {};
}

core::Status RuleCompiler::byte_test(std::string_view value) {
  auto parts = split(value, ',');
  if (parts.size() < 4) return make_error("byte_test needs bytes, operator, value, offset");
  ByteTest t;
  if (!parse_int(parts[0], t.read.nbytes)) {
    auto it = vars_.find(std::string(parts[0]));
    if (it == vars_.end()) return make_error("byte_test: bad byte count '{}'", parts[0]);
    t.read.nbytes_var = it->second;
    t.read.nbytes = 8;  // the variable's value is checked when evaluated
  }
  auto op = parts[1];
  if (!op.empty() && op.front() == '!') {
    t.negate = true;
    op = trim(op.substr(1));
  }
  if (op == "<")
    t.op = ByteTest::Op::kLt;
  else if (op == ">")
    t.op = ByteTest::Op::kGt;
  else if (op == "=")
    t.op = ByteTest::Op::kEq;
  else if (op == "<=")
    t.op = ByteTest::Op::kLe;
  else if (op == ">=")
    t.op = ByteTest::Op::kGe;
  else if (op == "&")
    t.op = ByteTest::Op::kAnd;
  else if (op == "^" || op == "|")
    t.op = ByteTest::Op::kOr;
  else
    return make_error("byte_test: unknown operator '{}'", parts[1]);
  if (!parse_number(parts[2], t.value)) {
    auto it = vars_.find(std::string(parts[2]));
    if (it == vars_.end()) return make_error("byte_test: bad value '{}'", parts[2]);
    t.value_var = it->second;
  }
  auto var = var_or_int(parts[3], t.read.offset, "byte_test offset");
  if (!var) return var.error();
  t.read.offset_var = *var;
  if (auto s = byte_read_opts(parts, 4, t.read, nullptr, nullptr, nullptr, "byte_test"); !s)
    return s;
  auto& l = t.read.relative ? relative_list() : current();
  l.items.push_back(t);
  return {};
}

core::Status RuleCompiler::byte_jump(std::string_view value) {
  auto parts = split(value, ',');
  if (parts.size() < 2) return make_error("byte_jump needs bytes and offset");
  ByteJump j;
  if (!parse_int(parts[0], j.read.nbytes)) {
    auto it = vars_.find(std::string(parts[0]));
    if (it == vars_.end()) return make_error("byte_jump: bad byte count '{}'", parts[0]);
    j.read.nbytes_var = it->second;
    j.read.nbytes = 8;  // the variable's value is checked when evaluated
  }
  auto var = var_or_int(parts[1], j.read.offset, "byte_jump offset");
  if (!var) return var.error();
  j.read.offset_var = *var;
  if (auto s = byte_read_opts(parts, 2, j.read, &j.multiplier, &j.align, &j, "byte_jump"); !s)
    return s;
  auto& l = j.read.relative ? relative_list() : current();
  l.items.push_back(j);
  last_match_list_ = static_cast<int>(l.buffer);
  return {};
}

core::Status RuleCompiler::byte_extract(std::string_view value) {
  auto parts = split(value, ',');
  if (parts.size() < 3) return make_error("byte_extract needs bytes, offset and a name");
  ByteExtract e;
  if (!parse_int(parts[0], e.read.nbytes))
    return make_error("byte_extract: bad byte count '{}'", parts[0]);
  if (!parse_int(parts[1], e.read.offset))
    return make_error("byte_extract: bad offset '{}'", parts[1]);
  std::string name(parts[2]);
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
    return make_error("byte_extract: bad variable name '{}'", name);
  }
  if (vars_.size() >= 16) return make_error("byte_extract: more than 16 variables");
  if (auto s = byte_read_opts(parts, 3, e.read, &e.multiplier, &e.align, nullptr, "byte_extract");
      !s)
    return s;
  e.var = static_cast<int8_t>(vars_.size());
  vars_[name] = e.var;
  sig_.byte_vars = static_cast<uint8_t>(vars_.size());
  auto& l = e.read.relative ? relative_list() : current();
  l.items.push_back(e);
  last_match_list_ = static_cast<int>(l.buffer);
  return {};
}

core::Status RuleCompiler::isdataat(std::string_view value) {
  auto parts = split(value, ',');
  IsDataAt d;
  auto first = parts[0];
  if (!first.empty() && first.front() == '!') {
    d.negated = true;
    first = trim(first.substr(1));
  }
  auto var = var_or_int(first, d.offset, "isdataat");
  if (!var) return var.error();
  d.offset_var = *var;
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "relative") {
      d.relative = true;
    } else if (parts[i] != "rawbytes") {
      return make_error("isdataat: unknown option '{}'", parts[i]);
    }
  }
  auto& l = d.relative ? relative_list() : current();
  l.items.push_back(d);
  return {};
}

core::Status RuleCompiler::flow(std::string_view value) {
  FlowCheck f;
  for (auto p : split(value, ',')) {
    if (p == "established")
      f.established = true;
    else if (p == "not_established")
      f.not_established = true;
    else if (p == "stateless")
      f.stateless = true;
    else if (p == "to_server" || p == "from_client")
      f.to_server = true;
    else if (p == "to_client" || p == "from_server")
      f.to_client = true;
    else if (p == "only_stream")
      f.only_stream = true;
    else if (p == "no_stream")
      f.no_stream = true;
    else if (p == "only_frag")
      f.only_frag = true;
    else if (p == "no_frag")
      f.no_frag = true;
    else
      return make_error("flow: unknown option '{}'", p);
  }
  if (f.to_server && f.to_client) return make_error("flow: to_server and to_client together");
  if (f.established && f.not_established) {
    return make_error("flow: established and not_established together");
  }
  sig_.flow = f;
  return {};
}

core::Status RuleCompiler::flowbits(std::string_view value) {
  auto parts = split(value, ',');
  auto cmd = parts[0];
  if (cmd == "noalert") {
    if (parts.size() != 1) return make_error("flowbits:noalert takes no name");
    sig_.noalert = true;
    return {};
  }
  if (parts.size() != 2 || parts[1].empty()) {
    return make_error("flowbits:{} needs exactly one name (or a|b group)", cmd);
  }
  FlowbitOp op;
  if (cmd == "set")
    op.cmd = FlowbitOp::Cmd::kSet;
  else if (cmd == "unset")
    op.cmd = FlowbitOp::Cmd::kUnset;
  else if (cmd == "toggle")
    op.cmd = FlowbitOp::Cmd::kToggle;
  else if (cmd == "isset")
    op.cmd = FlowbitOp::Cmd::kIsSet;
  else if (cmd == "isnotset")
    op.cmd = FlowbitOp::Cmd::kIsNotSet;
  else
    return make_error("flowbits: unknown command '{}'", cmd);
  auto names = parts[1];
  char sep = names.find('|') != std::string_view::npos ? '|' : '&';
  op.any_of = sep == '|';
  for (auto n : split(names, sep)) {
    if (n.empty()) return make_error("flowbits: empty name in '{}'", names);
    op.ids.push_back(ctx_.flowbits->intern(n));
  }
  sig_.flowbits.push_back(std::move(op));
  return {};
}

core::Status RuleCompiler::xbits(std::string_view value) {
  auto parts = split(value, ',');
  if (parts.size() == 1 && parts[0] == "noalert") {
    sig_.noalert = true;
    return {};
  }
  if (parts.size() < 3) return make_error("xbits needs command, name and track");
  XbitOp x;
  auto cmd = parts[0];
  if (cmd == "set")
    x.cmd = FlowbitOp::Cmd::kSet;
  else if (cmd == "unset")
    x.cmd = FlowbitOp::Cmd::kUnset;
  else if (cmd == "toggle")
    x.cmd = FlowbitOp::Cmd::kToggle;
  else if (cmd == "isset")
    x.cmd = FlowbitOp::Cmd::kIsSet;
  else if (cmd == "isnotset")
    x.cmd = FlowbitOp::Cmd::kIsNotSet;
  else
    return make_error("xbits: unknown command '{}'", cmd);
  x.id = ctx_.xbits->intern(parts[1]);
  for (size_t i = 2; i < parts.size(); ++i) {
    auto p = parts[i];
    if (p.starts_with("track")) {
      auto t = trim(p.substr(5));
      if (t == "ip_src")
        x.track = XbitOp::Track::kIpSrc;
      else if (t == "ip_dst")
        x.track = XbitOp::Track::kIpDst;
      else if (t == "ip_pair")
        x.track = XbitOp::Track::kIpPair;
      else
        return make_error("xbits: unknown track '{}'", t);
    } else if (p.starts_with("expire")) {
      if (!parse_int(trim(p.substr(6)), x.expire_seconds)) {
        return make_error("xbits: bad expire '{}'", p);
      }
    } else {
      return make_error("xbits: unknown option '{}'", p);
    }
  }
  sig_.xbits.push_back(x);
  return {};
}

core::Status RuleCompiler::flowint(std::string_view value) {
  auto parts = split(value, ',');
  if (parts.size() < 2) return make_error("flowint needs a name and an operation");
  FlowintOp f;
  f.id = ctx_.flowints->intern(parts[0]);
  auto op = parts[1];
  if (op == "isset") {
    f.cmd = FlowintOp::Cmd::kIsSet;
  } else if (op == "notset" || op == "isnotset") {
    f.cmd = FlowintOp::Cmd::kNotSet;
  } else {
    if (parts.size() != 3) return make_error("flowint:{},{} needs a value", parts[0], op);
    if (op == "=")
      f.cmd = FlowintOp::Cmd::kSet;
    else if (op == "+")
      f.cmd = FlowintOp::Cmd::kAdd;
    else if (op == "-")
      f.cmd = FlowintOp::Cmd::kSub;
    else {
      f.cmd = FlowintOp::Cmd::kCompare;
      if (op == "==")
        f.op = ByteTest::Op::kEq;
      else if (op == "!=")
        f.op = ByteTest::Op::kEq, f.not_equal = true;
      else if (op == "<")
        f.op = ByteTest::Op::kLt;
      else if (op == ">")
        f.op = ByteTest::Op::kGt;
      else if (op == "<=")
        f.op = ByteTest::Op::kLe;
      else if (op == ">=")
        f.op = ByteTest::Op::kGe;
      else
        return make_error("flowint: unknown operator '{}'", op);
    }
    if (!parse_number(parts[2], f.value)) {
      if (parts[2].empty()) return make_error("flowint: empty value");
      f.value_var = static_cast<int32_t>(ctx_.flowints->intern(parts[2]));
    }
  }
  sig_.flowints.push_back(f);
  return {};
}

core::Result<Threshold> RuleCompiler::threshold(std::string_view value, bool detection_filter) {
  Threshold t;
  if (detection_filter) t.type = Threshold::Type::kDetectionFilter;
  bool have_type = detection_filter, have_track = false, have_count = false, have_seconds = false;
  for (auto p : split(value, ',')) {
    auto sp = p.find_first_of(" \t");
    if (sp == std::string_view::npos) return make_error("threshold: bad option '{}'", p);
    auto k = p.substr(0, sp);
    auto v = trim(p.substr(sp));
    if (k == "type" && !detection_filter) {
      if (v == "limit")
        t.type = Threshold::Type::kLimit;
      else if (v == "threshold")
        t.type = Threshold::Type::kThreshold;
      else if (v == "both")
        t.type = Threshold::Type::kBoth;
      else if (v == "backoff")
        t.type = Threshold::Type::kBackoff;
      else
        return make_error("threshold: unknown type '{}'", v);
      have_type = true;
    } else if (k == "track") {
      if (v == "by_src")
        t.track = Threshold::Track::kBySrc;
      else if (v == "by_dst")
        t.track = Threshold::Track::kByDst;
      else if (v == "by_rule")
        t.track = Threshold::Track::kByRule;
      else if (v == "by_both")
        t.track = Threshold::Track::kByBoth;
      else if (v == "by_flow")
        t.track = Threshold::Track::kByFlow;
      else
        return make_error("threshold: unknown track '{}'", v);
      have_track = true;
    } else if (k == "count") {
      if (!parse_int(v, t.count) || t.count == 0) return make_error("threshold: bad count '{}'", v);
      have_count = true;
    } else if (k == "seconds") {
      if (!parse_int(v, t.seconds)) return make_error("threshold: bad seconds '{}'", v);
      have_seconds = true;
    } else if (k == "multiplier" && !detection_filter) {
      if (!parse_int(v, t.multiplier) || t.multiplier < 2) {
        return make_error("threshold: bad multiplier '{}' (at least 2)", v);
      }
    } else {
      return make_error("threshold: unknown option '{}'", k);
    }
  }
  bool backoff = t.type == Threshold::Type::kBackoff;
  if (backoff && (t.multiplier == 0 || have_seconds)) {
    return make_error("threshold: type backoff needs a multiplier and no seconds");
  }
  if (!backoff && t.multiplier != 0) {
    return make_error("threshold: multiplier belongs to type backoff");
  }
  if (!have_type || !have_track || !have_count || (!have_seconds && !backoff)) {
    return make_error("{} needs type, track, count and seconds",
                      detection_filter ? "detection_filter" : "threshold");
  }
  return t;
}

// tag:session[,count,metric] or tag:host[,count,metric[,src|dst]], as Suricata's (names in any
// case; a packet count is capped at Suricata's 256).
core::Status RuleCompiler::tag(std::string_view value) {
  constexpr uint32_t kMaxPackets = 256;
  auto parts = split(value, ',');
  TagSpec t;
  if (iequals(parts[0], "session")) {
    t.scope = TagSpec::Scope::kSession;
  } else if (iequals(parts[0], "host")) {
    t.scope = TagSpec::Scope::kHost;
  } else {
    return make_error("tag scope must be session or host, got '{}'", parts[0]);
  }
  if (parts.size() == 2 || parts.size() > 4)
    return make_error("tag takes scope[,count,metric[,src|dst]], got '{}'", value);
  if (parts.size() >= 3) {
    if (!parse_int(parts[1], t.count))
      return make_error("tag count '{}' is not a number from 0 to 4294967295", parts[1]);
    if (iequals(parts[2], "packets")) {
      t.metric = TagSpec::Metric::kPackets;
      t.count = std::min(t.count, kMaxPackets);
    } else if (iequals(parts[2], "seconds")) {
      t.metric = TagSpec::Metric::kSeconds;
    } else if (iequals(parts[2], "bytes")) {
      t.metric = TagSpec::Metric::kBytes;
    } else {
      return make_error("tag metric must be packets, seconds or bytes, got '{}'", parts[2]);
    }
  }
  if (parts.size() == 4) {
    bool src = iequals(parts[3], "src");
    if (!src && !iequals(parts[3], "dst"))
      return make_error("tag direction must be src or dst, got '{}'", parts[3]);
    // Suricata accepts a direction on a session tag (with a warning) and ignores it.
    t.src = t.scope == TagSpec::Scope::kHost && src;
  }
  sig_.tags.push_back(t);
  return {};
}

core::Status RuleCompiler::flags(std::string_view value) {
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
  sig_.tcp_flags = f;
  return {};
}

core::Status RuleCompiler::metadata(std::string_view value) {
  for (auto p : split(value, ',')) {
    if (p.empty()) continue;
    auto sp = p.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      sig_.metadata.emplace_back(std::string(p), std::string());
    } else {
      sig_.metadata.emplace_back(std::string(p.substr(0, sp)), std::string(trim(p.substr(sp))));
    }
  }
  return {};
}

core::Status RuleCompiler::option(const Option& o) {
  auto n = o.name;
  auto need_value = [&]() -> core::Status {
    if (!o.has_value || o.value.empty()) return make_error("'{}' needs a value", n);
    return {};
  };
  if (n == "msg") {
    if (auto s = need_value(); !s) return s;
    auto m = unquote(o.value, "msg");
    if (!m) return m.error();
    sig_.msg = std::move(*m);
    seen_msg_ = true;
  } else if (n == "sid") {
    if (!parse_int(o.value, sig_.sid) || sig_.sid == 0) return make_error("bad sid '{}'", o.value);
    seen_sid_ = true;
  } else if (n == "rev") {
    if (!parse_int(o.value, sig_.rev)) return make_error("bad rev '{}'", o.value);
  } else if (n == "gid") {
    if (!parse_int(o.value, sig_.gid)) return make_error("bad gid '{}'", o.value);
  } else if (n == "classtype") {
    if (auto s = need_value(); !s) return s;
    sig_.classtype = std::string(o.value);
    if (ctx_.classtypes && !ctx_.classtypes->empty()) {
      auto it = ctx_.classtypes->find(o.value);
      if (it == ctx_.classtypes->end()) {
        return make_error("unknown classtype '{}' (not in classification.config)", o.value);
      }
      sig_.category = it->second.description;
      if (!has_priority_) sig_.priority = it->second.priority;
    }
  } else if (n == "priority") {
    if (!parse_int(o.value, sig_.priority) || sig_.priority < 1 || sig_.priority > 255) {
      return make_error("bad priority '{}'", o.value);
    }
    has_priority_ = true;
  } else if (n == "reference") {
    if (auto s = need_value(); !s) return s;
    sig_.references.emplace_back(o.value);
  } else if (n == "metadata") {
    return metadata(o.value);
  } else if (n == "target") {
    if (o.value != "src_ip" && o.value != "dest_ip") {
      return make_error("target must be src_ip or dest_ip, got '{}'", o.value);
    }
    sig_.target = std::string(o.value);
  } else if (n == "content") {
    if (auto s = need_value(); !s) return s;
    return content(o.value);
  } else if (n == "nocase" || n == "depth" || n == "offset" || n == "distance" || n == "within" ||
             n == "fast_pattern" || n == "startswith" || n == "endswith" || n == "rawbytes") {
    return content_modifier(o);
  } else if (n == "pcre") {
    if (auto s = need_value(); !s) return s;
    return pcre(o.value);
  } else if (auto sticky = sticky_buffer(n); sticky && !o.has_value) {
    current_ = *sticky;
    sticky_set_ = true;
    list(current_);
  } else if (auto legacy = legacy_modifier_buffer(n)) {
    Content* c = last_content();
    if (!c) return make_error("'{}' needs a content before it", n);
    auto from = static_cast<BufferId>(last_list_);
    if (from != BufferId::kPayload) {
      return make_error("'{}' after a content already in {}", n, buffer_name(from));
    }
    Content moved = std::move(*c);
    auto& src = list(from);
    src.items.erase(src.items.begin() + static_cast<std::ptrdiff_t>(last_item_));
    auto& dst = list(*legacy);
    dst.items.push_back(std::move(moved));
    last_list_ = static_cast<int>(*legacy);
    last_item_ = dst.items.size() - 1;
    last_match_list_ = last_list_;
  } else if (n == "flow") {
    if (auto s = need_value(); !s) return s;
    return flow(o.value);
  } else if (n == "flowbits") {
    if (auto s = need_value(); !s) return s;
    return flowbits(o.value);
  } else if (n == "xbits") {
    if (auto s = need_value(); !s) return s;
    return xbits(o.value);
  } else if (n == "flowint") {
    if (auto s = need_value(); !s) return s;
    return flowint(o.value);
  } else if (n == "threshold" || n == "detection_filter") {
    if (auto s = need_value(); !s) return s;
    auto t = threshold(o.value, n == "detection_filter");
    if (!t) return t.error();
    (n == "threshold" ? sig_.threshold : sig_.detection_filter) = *t;
  } else if (n == "dsize") {
    auto r = parse_range(o.value, "dsize");
    if (!r) return r.error();
    sig_.dsize = *r;
  } else if (n == "urilen") {
    auto parts = split(o.value, ',');
    auto r = parse_range(parts[0], "urilen");
    if (!r) return r.error();
    BufferId b = BufferId::kHttpUri;
    if (parts.size() > 1) {
      if (parts[1] == "raw")
        b = BufferId::kHttpUriRaw;
      else if (parts[1] != "norm")
        return make_error("urilen: unknown option '{}'", parts[1]);
    }
    list(b).items.push_back(BufferSize{*r});
  } else if (n == "bsize") {
    auto r = parse_range(o.value, "bsize");
    if (!r) return r.error();
    if (current_ == BufferId::kPayload) return make_error("bsize needs a sticky buffer before it");
    current().items.push_back(BufferSize{*r});
  } else if (n == "isdataat") {
    if (auto s = need_value(); !s) return s;
    return isdataat(o.value);
  } else if (n == "byte_test") {
    if (auto s = need_value(); !s) return s;
    return byte_test(o.value);
  } else if (n == "byte_jump") {
    if (auto s = need_value(); !s) return s;
    return byte_jump(o.value);
  } else if (n == "byte_extract") {
    if (auto s = need_value(); !s) return s;
    return byte_extract(o.value);
  } else if (n == "dotprefix") {
    if (current_ == BufferId::kPayload)
      return make_error("dotprefix needs a sticky buffer before it");
    current().dotprefix = true;
  } else if (n == "noalert") {
    sig_.noalert = true;
  } else if (n == "tag") {
    if (auto s = need_value(); !s) return s;
    return tag(o.value);
  } else if (n == "itype" || n == "icode") {
    auto r = parse_range(o.value, n);
    if (!r) return r.error();
    (n == "itype" ? sig_.itype : sig_.icode) = *r;
  } else if (n == "flags") {
    if (auto s = need_value(); !s) return s;
    return flags(o.value);
  } else if (n == "ip_proto") {
    std::string_view v = o.value;
    Range r;
    if (v.starts_with("!"))
      r.op = Range::Op::kNe, v.remove_prefix(1);
    else if (v.starts_with("<"))
      r.op = Range::Op::kLt, v.remove_prefix(1);
    else if (v.starts_with(">"))
      r.op = Range::Op::kGt, v.remove_prefix(1);
    v = trim(v);
    if (!parse_int(v, r.lo)) {
      constexpr std::pair<std::string_view, int> kNames[] = {
          {"ICMP", 1}, {"IGMP", 2},       {"TCP", 6},     {"UDP", 17},   {"GRE", 47}, {"ESP", 50},
          {"AH", 51},  {"IPV6-ICMP", 58}, {"ICMPV6", 58}, {"SCTP", 132}, {"IPIP", 4}};
      bool found = false;
      for (auto [name, num] : kNames) {
        if (iequals(name, v)) r.lo = static_cast<uint64_t>(num), found = true;
      }
      if (!found) return make_error("ip_proto: unknown protocol '{}'", v);
    }
    sig_.ip_proto_check = r;
  } else if (n == "stream_size") {
    auto parts = split(o.value, ',');
    if (parts.size() != 3) return make_error("stream_size needs side, operator, value");
    StreamSizeCheck s;
    if (parts[0] == "server")
      s.side = StreamSizeCheck::Side::kServer;
    else if (parts[0] == "client")
      s.side = StreamSizeCheck::Side::kClient;
    else if (parts[0] == "both")
      s.side = StreamSizeCheck::Side::kBoth;
    else if (parts[0] == "either")
      s.side = StreamSizeCheck::Side::kEither;
    else
      return make_error("stream_size: unknown side '{}'", parts[0]);
    std::string spec = std::string(parts[1]) + std::string(parts[2]);
    if (parts[1] == "=") spec = std::string(parts[2]);
    auto r = parse_range(spec, "stream_size");
    if (!r) return r.error();
    s.range = *r;
    sig_.stream_size = s;
  } else if (n == "app-layer-protocol") {
    if (auto s = need_value(); !s) return s;
    auto parts = split(o.value, ',');
    AppLayerProtocolCheck c;
    std::string_view v = parts[0];
    c.negated = v.starts_with("!");
    if (c.negated) v = trim(v.substr(1));
    if (v.find('|') != std::string_view::npos) {
      return make_error("unsupported app-layer-protocol alternatives '{}'", v);
    }
    c.name = v == "http1" ? "http" : std::string(v);
    if (c.name == "unknown" && c.negated) {
      return make_error("app-layer-protocol: 'unknown' cannot be negated");
    }
    for (size_t i = 1; i < parts.size(); ++i) {
      auto m = parts[i];
      if (m == "direction") {
        c.mode = AppLayerProtocolCheck::Mode::kDirection;
      } else if (m == "to_server") {
        c.mode = AppLayerProtocolCheck::Mode::kToServer;
      } else if (m == "to_client") {
        c.mode = AppLayerProtocolCheck::Mode::kToClient;
      } else if (m == "either") {
        c.mode = AppLayerProtocolCheck::Mode::kEither;
      } else if (m == "final" || m == "original") {
        c.mode = AppLayerProtocolCheck::Mode::kFinal;
      } else {
        return make_error("unsupported app-layer-protocol option '{}'", m);
      }
    }
    sig_.app_layer_protocols.push_back(std::move(c));
  } else if (n == "tls.version") {
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
    sig_.tls_version = ver;
  } else if (n == "ssh.protoversion" || n == "ssh.softwareversion") {
    return make_error("unsupported keyword '{}'", n);
  } else if (sticky_buffer(n) && o.has_value) {
    return make_error("sticky buffer '{}' takes no value (old '{}:' form unsupported)", n, n);
  } else {
    for (auto k : kKnownUnsupported) {
      if (k == n) return make_error("unsupported keyword '{}'", n);
    }
    return make_error("unknown keyword '{}'", n);
  }
  return {};
}

core::Status RuleCompiler::finish() {
  if (!seen_sid_) return make_error("rule has no sid");
  if (!seen_msg_) sig_.msg.clear();
  // Empty sticky-buffer lists (a buffer selected but nothing checked in it) are an error in
  // Suricata too: the buffer would match nothing meaningful.
  for (const auto& b : sig_.buffers) {
    if (b.items.empty() && b.buffer != BufferId::kPayload) {
      return make_error("sticky buffer {} is selected but nothing inspects it",
                        buffer_name(b.buffer));
    }
  }
  std::erase_if(sig_.buffers, [](const BufferChecks& b) { return b.items.empty(); });
  // Header protocol and buffers must agree (`alert dns ... http.uri` can never match).
  for (const auto& b : sig_.buffers) {
    auto proto = buffer_protocol(b.buffer);
    if (proto.empty()) continue;
    if (!sig_.app_proto.empty() && sig_.app_proto != proto &&
        !(sig_.app_proto == "http1" && proto == "http")) {
      return make_error("buffer {} conflicts with protocol '{}' of the rule header",
                        buffer_name(b.buffer), sig_.app_proto);
    }
  }
  for (const auto& b : sig_.buffers) {
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
  text = trim(text);
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
    if (iequals(p.name, header[1])) proto = &p;
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
  RuleCompiler compiler(ctx, sig);
  for (const auto& o : *options) {
    if (auto s = compiler.option(o); !s) return s.error();
  }
  if (auto s = compiler.finish(); !s) return s.error();
  return sig;
}

}  // namespace mimamori::net::rules
