// Flow state, bits and counters, thresholds, tags, stream size and the app-layer protocol.

#include <algorithm>

#include "keyword_table.h"
#include "mimamori/core/text.h"
#include "rule_text.h"

namespace mimamori::net::rules::keywords {

using core::make_error;

core::Status flow(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
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
  d.sig.flow = f;
  return {};
}

core::Status flowbits(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  auto cmd = parts[0];
  if (cmd == "noalert") {
    if (parts.size() != 1) return make_error("flowbits:noalert takes no name");
    d.sig.noalert = true;
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
    op.ids.push_back(d.ctx.flowbits->intern(n));
  }
  d.sig.flowbits.push_back(std::move(op));
  return {};
}

core::Status xbits(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  if (parts.size() == 1 && parts[0] == "noalert") {
    d.sig.noalert = true;
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
  x.id = d.ctx.xbits->intern(parts[1]);
  for (size_t i = 2; i < parts.size(); ++i) {
    auto p = parts[i];
    if (p.starts_with("track")) {
      auto t = strip(p.substr(5));
      if (t == "ip_src")
        x.track = XbitOp::Track::kIpSrc;
      else if (t == "ip_dst")
        x.track = XbitOp::Track::kIpDst;
      else if (t == "ip_pair")
        x.track = XbitOp::Track::kIpPair;
      else
        return make_error("xbits: unknown track '{}'", t);
    } else if (p.starts_with("expire")) {
      if (!parse_int(strip(p.substr(6)), x.expire_seconds)) {
        return make_error("xbits: bad expire '{}'", p);
      }
    } else {
      return make_error("xbits: unknown option '{}'", p);
    }
  }
  d.sig.xbits.push_back(x);
  return {};
}

core::Status flowint(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  auto parts = split(value, ',');
  if (parts.size() < 2) return make_error("flowint needs a name and an operation");
  FlowintOp f;
  f.id = d.ctx.flowints->intern(parts[0]);
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
      f.value_var = static_cast<int32_t>(d.ctx.flowints->intern(parts[2]));
    }
  }
  d.sig.flowints.push_back(f);
  return {};
}

namespace {

core::Result<Threshold> parse_threshold(std::string_view value, bool detection_filter) {
  Threshold t;
  if (detection_filter) t.type = Threshold::Type::kDetectionFilter;
  bool have_type = detection_filter, have_track = false, have_count = false, have_seconds = false;
  for (auto p : split(value, ',')) {
    auto sp = p.find_first_of(" \t");
    if (sp == std::string_view::npos) return make_error("threshold: bad option '{}'", p);
    auto k = p.substr(0, sp);
    auto v = strip(p.substr(sp));
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

}  // namespace

// threshold and detection_filter (the same grammar, detection_filter without a type).
core::Status threshold(SignatureDraft& d, const Option& o, const Keyword&) {
  auto n = o.name;
  auto t = parse_threshold(o.value, n == "detection_filter");
  if (!t) return t.error();
  (n == "threshold" ? d.sig.threshold : d.sig.detection_filter) = *t;
  return {};
}

// tag:session[,count,metric] or tag:host[,count,metric[,src|dst]], as Suricata's (names in any
// case; a packet count is capped at Suricata's 256).
core::Status tag(SignatureDraft& d, const Option& o, const Keyword&) {
  std::string_view value = o.value;
  constexpr uint32_t kMaxPackets = 256;
  auto parts = split(value, ',');
  TagSpec t;
  if (core::iequals(parts[0], "session")) {
    t.scope = TagSpec::Scope::kSession;
  } else if (core::iequals(parts[0], "host")) {
    t.scope = TagSpec::Scope::kHost;
  } else {
    return make_error("tag scope must be session or host, got '{}'", parts[0]);
  }
  if (parts.size() == 2 || parts.size() > 4)
    return make_error("tag takes scope[,count,metric[,src|dst]], got '{}'", value);
  if (parts.size() >= 3) {
    if (!parse_int(parts[1], t.count))
      return make_error("tag count '{}' is not a number from 0 to 4294967295", parts[1]);
    if (core::iequals(parts[2], "packets")) {
      t.metric = TagSpec::Metric::kPackets;
      t.count = std::min(t.count, kMaxPackets);
    } else if (core::iequals(parts[2], "seconds")) {
      t.metric = TagSpec::Metric::kSeconds;
    } else if (core::iequals(parts[2], "bytes")) {
      t.metric = TagSpec::Metric::kBytes;
    } else {
      return make_error("tag metric must be packets, seconds or bytes, got '{}'", parts[2]);
    }
  }
  if (parts.size() == 4) {
    bool src = core::iequals(parts[3], "src");
    if (!src && !core::iequals(parts[3], "dst"))
      return make_error("tag direction must be src or dst, got '{}'", parts[3]);
    // Suricata accepts a direction on a session tag (with a warning) and ignores it.
    t.src = t.scope == TagSpec::Scope::kHost && src;
  }
  d.sig.tags.push_back(t);
  return {};
}

core::Status stream_size(SignatureDraft& d, const Option& o, const Keyword&) {
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
  d.sig.stream_size = s;
  return {};
}

core::Status app_layer_protocol(SignatureDraft& d, const Option& o, const Keyword&) {
  auto parts = split(o.value, ',');
  AppLayerProtocolCheck c;
  std::string_view v = parts[0];
  c.negated = v.starts_with("!");
  if (c.negated) v = strip(v.substr(1));
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
  d.sig.app_layer_protocols.push_back(std::move(c));
  return {};
}

}  // namespace mimamori::net::rules::keywords
