#pragma once
// Matching of one signature against one target (a packet, a stream chunk, an app-layer event):
// header, app-layer protocol, buffers, flowbits and flowints, xbit keys; and the flowbit and
// flowint changes of a match.
//
// Private to detector.cc, the only file to include it, whose evaluation loop calls it for every
// candidate. The contents keep the internal linkage (unnamed namespace) they had there, so that
// the compiler inlines them into that loop as before.

#include <memory>
#include <string_view>

#include "detector_state.h"
#include "evaluate.h"

namespace mimamori::net::rules {

namespace {

// Everything a signature is matched against in one callback.
struct Target {
  const Packet* packet = nullptr;
  const DetectContext* ctx = nullptr;  // for app buffers (null outside on_app)
  std::string_view payload;
  Direction dir = Direction::kToServer;
  bool stream = false;
  uint64_t tx_id = 0;
};

// Reassembled stream bytes of one direction, as a target.
Target stream_target(const DetectContext& ctx, Direction dir, std::string_view data) {
  Target t;
  t.packet = &ctx.packet();
  t.payload = data;
  t.dir = dir;
  t.stream = true;
  return t;
}

RuleFlowState* flow_state(Flow* flow, unsigned slot, const RuleEngine& e) {
  if (!flow) return nullptr;
  auto* st = static_cast<RuleFlowState*>(flow->state(slot));
  if (!st || st->engine != &e) {
    auto fresh = std::make_unique<RuleFlowState>();
    fresh->engine = &e;
    fresh->bits.assign((e.flowbit_count() + 63) / 64 + 1, 0);
    fresh->ints.assign(e.flowint_count() + 1, 0);
    fresh->ints_set.assign((e.flowint_count() + 63) / 64 + 1, 0);
    st = fresh.get();
    flow->set_state(slot, std::move(fresh));
  }
  return st;
}

// The protocol detected on one side; a side not probed separately has the flow's.
AppProto side_proto(const Flow& f, Direction d) {
  AppProto side = d == Direction::kToServer ? f.app_proto_ts : f.app_proto_tc;
  return side != AppProto::kUnknown ? side : f.app_proto;
}

bool app_protocol_matches(const AppLayerProtocolCheck& c, const Flow* f, Direction dir) {
  using Mode = AppLayerProtocolCheck::Mode;
  auto one = [&](AppProto have) {
    // `unknown` matches an undecided protocol; otherwise an undecided one matches neither
    // `x` nor `!x` (as Suricata).
    if (c.name == "unknown") return have == AppProto::kUnknown;
    if (have == AppProto::kUnknown) return false;
    bool eq = c.name == app_proto_name(have) || (c.name == "failed" && have == AppProto::kFailed);
    return eq != c.negated;
  };
  if (!f) return c.name == "unknown";
  switch (c.mode) {
    case Mode::kDirection:
      return one(side_proto(*f, dir));
    case Mode::kToServer:
      return one(side_proto(*f, Direction::kToServer));
    case Mode::kToClient:
      return one(side_proto(*f, Direction::kToClient));
    case Mode::kEither:
      return one(side_proto(*f, Direction::kToServer)) || one(side_proto(*f, Direction::kToClient));
    case Mode::kFinal:
      break;
  }
  return one(f->app_proto);
}

bool header_matches(const Signature& s, const SigInfo& inf, const Target& t) {
  const Packet& p = *t.packet;
  if (s.ip_proto != 0) {
    if (s.ip_proto == 1) {
      if (p.proto != ip_proto::kIcmp && p.proto != ip_proto::kIcmpv6) return false;
    } else if (p.proto != s.ip_proto) {
      return false;
    }
  }
  if (inf.app_unparsed) return false;
  if (inf.app != net::AppProto::kUnknown) {
    if (!p.flow || p.flow->app_proto != inf.app) return false;
  }
  if (!inf.dirs[static_cast<int>(t.dir)]) return false;
  bool has_ports = p.is_tcp() || p.is_udp() || p.is_sctp();
  auto addr_ok = [&](const core::IpAddress& src, uint16_t sp, const core::IpAddress& dst,
                     uint16_t dp) {
    // Ports first: a few comparisons, and most candidates that fail the header fail there
    // (patterns of rules for other services hit often); address sets are larger.
    if (!s.src_ports.is_any() && (!has_ports || !s.src_ports.contains(sp))) return false;
    if (!s.dst_ports.is_any() && (!has_ports || !s.dst_ports.contains(dp))) return false;
    return s.src.contains(src) && s.dst.contains(dst);
  };
  if (!addr_ok(p.src_ip, p.src_port, p.dst_ip, p.dst_port) &&
      !(s.bidirectional && addr_ok(p.dst_ip, p.dst_port, p.src_ip, p.src_port))) {
    return false;
  }
  if (s.flow) {
    const auto& f = *s.flow;
    // The TCP packet completing the handshake is not yet inspected as established.
    bool est =
        p.flow && p.flow->established() &&
        (p.proto != ip_proto::kTcp || p.flow->pkts[0] + p.flow->pkts[1] > p.flow->established_at);
    if (f.established && !est) return false;
    if (f.not_established && est) return false;
    if (f.only_stream && !t.stream) return false;
    if (f.no_stream && t.stream) return false;
    if ((f.to_server || f.to_client) && !p.flow) return false;
  }
  if (s.dsize && (t.stream || !s.dsize->check(p.dsize()))) return false;
  // As Suricata, `!N`, `>N`, `>=N` and ranges imply a payload: an empty packet never matches.
  if (s.dsize && p.dsize() == 0) {
    auto op = s.dsize->op;
    if (op == Range::Op::kNe || op == Range::Op::kGt || op == Range::Op::kGe ||
        op == Range::Op::kBetween) {
      return false;
    }
  }
  if (s.itype && (!p.is_icmp() || !s.itype->check(p.icmp_type))) return false;
  if (s.icode && (!p.is_icmp() || !s.icode->check(p.icmp_code))) return false;
  if (s.tcp_flags && (!p.is_tcp() || !s.tcp_flags->check(p.tcp_flags))) return false;
  if (s.ip_proto_check && !s.ip_proto_check->check(p.proto)) return false;
  if (s.stream_size) {
    if (!p.flow) return false;
    uint64_t ts = p.flow->bytes[0], tc = p.flow->bytes[1];
    const auto& ss = *s.stream_size;
    bool ok = false;
    switch (ss.side) {
      case StreamSizeCheck::Side::kServer:
        ok = ss.range.check(tc);
        break;
      case StreamSizeCheck::Side::kClient:
        ok = ss.range.check(ts);
        break;
      case StreamSizeCheck::Side::kBoth:
        ok = ss.range.check(ts) && ss.range.check(tc);
        break;
      case StreamSizeCheck::Side::kEither:
        ok = ss.range.check(ts) || ss.range.check(tc);
        break;
    }
    if (!ok) return false;
  }
  for (const auto& c : s.app_layer_protocols) {
    if (!app_protocol_matches(c, p.flow, t.dir)) return false;
  }
  if (s.tls_version) {
    if (!t.ctx) return false;
    auto v = t.ctx->buffer(Buffer::kTlsVersion);
    static constexpr std::string_view kNames[] = {"TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"};
    int idx = static_cast<int>(*s.tls_version) - 0x0301;
    if (idx < 0 || idx > 3 || v != kNames[idx]) return false;
  }
  return true;
}

bool buffers_match(const Signature& s, const RuleEngine::Impl& impl, const Target& t,
                   EvalScratch& es) {
  es.reset(s.byte_vars);
  for (const auto& b : s.buffers) {
    if (b.buffer == BufferId::kPayload) {
      if (!match_list(b, t.payload, es)) return false;
      continue;
    }
    if (!t.ctx) return false;
    auto nb = impl.net_buffers[static_cast<size_t>(b.buffer)];
    if (!nb) return false;
    std::size_t n = t.ctx->buffer_count(*nb);
    if (n == 0) return false;
    bool any = false;
    for (std::size_t i = 0; i < n && !any; ++i) any = match_list(b, t.ctx->buffer(*nb, i), es);
    if (!any) return false;
  }
  return true;
}

int64_t int_operand(const FlowintOp& f, const RuleFlowState& st) {
  if (f.value_var >= 0) return st.ints[static_cast<size_t>(f.value_var)];
  return static_cast<int64_t>(f.value);
}

bool state_matches(const Signature& s, RuleFlowState* st) {
  for (const auto& f : s.flowbits) {
    if (f.cmd != FlowbitOp::Cmd::kIsSet && f.cmd != FlowbitOp::Cmd::kIsNotSet) continue;
    if (!st) {
      if (f.cmd == FlowbitOp::Cmd::kIsSet) return false;
      continue;
    }
    bool want = f.cmd == FlowbitOp::Cmd::kIsSet;
    bool ok;
    if (f.any_of) {
      ok = false;
      for (auto id : f.ids) ok |= st->bit(id) == want;
    } else {
      ok = true;
      for (auto id : f.ids) ok &= st->bit(id) == want;
    }
    if (!ok) return false;
  }
  for (const auto& f : s.flowints) {
    if (f.cmd == FlowintOp::Cmd::kIsSet && (!st || !st->int_set(f.id))) return false;
    if (f.cmd == FlowintOp::Cmd::kNotSet && st && st->int_set(f.id)) return false;
    if (f.cmd == FlowintOp::Cmd::kCompare) {
      if (!st || !st->int_set(f.id)) return false;
      if (f.value_var >= 0 && !st->int_set(static_cast<uint32_t>(f.value_var))) return false;
      int64_t a = st->ints[f.id], b = int_operand(f, *st);
      bool ok = false;
      switch (f.op) {
        case ByteTest::Op::kEq:
          ok = f.not_equal ? a != b : a == b;
          break;
        case ByteTest::Op::kLt:
          ok = a < b;
          break;
        case ByteTest::Op::kGt:
          ok = a > b;
          break;
        case ByteTest::Op::kLe:
          ok = a <= b;
          break;
        case ByteTest::Op::kGe:
          ok = a >= b;
          break;
        default:
          break;
      }
      if (!ok) return false;
    }
  }
  return true;
}

void apply_state(const Signature& s, RuleFlowState* st) {
  if (!st) return;
  for (const auto& f : s.flowbits) {
    for (auto id : f.ids) {
      switch (f.cmd) {
        case FlowbitOp::Cmd::kSet:
          st->set_bit(id, true);
          break;
        case FlowbitOp::Cmd::kUnset:
          st->set_bit(id, false);
          break;
        case FlowbitOp::Cmd::kToggle:
          st->set_bit(id, !st->bit(id));
          break;
        default:
          break;
      }
    }
  }
  for (const auto& f : s.flowints) {
    int64_t v = 0;
    switch (f.cmd) {
      case FlowintOp::Cmd::kSet:
        v = int_operand(f, *st);
        break;
      case FlowintOp::Cmd::kAdd:
        v = st->ints[f.id] + int_operand(f, *st);
        break;
      case FlowintOp::Cmd::kSub:
        v = st->ints[f.id] - int_operand(f, *st);
        break;
      default:
        continue;
    }
    st->ints[f.id] = v;
    st->ints_set[f.id >> 6] |= uint64_t(1) << (f.id & 63);
  }
}

uint64_t xbit_key(const XbitOp& x, const Packet& p) {
  uint64_t k = 0;
  switch (x.track) {
    case XbitOp::Track::kIpSrc:
      k = ip_key(p.src_ip);
      break;
    case XbitOp::Track::kIpDst:
      k = ip_key(p.dst_ip);
      break;
    case XbitOp::Track::kIpPair:
      k = ip_key(p.src_ip) ^ (ip_key(p.dst_ip) * 31);
      break;
  }
  return k * 1000003 + x.id;
}

}  // namespace

}  // namespace mimamori::net::rules
