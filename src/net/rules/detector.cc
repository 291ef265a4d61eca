// RuleDetector: prefilter scan, full evaluation of candidates, flow/host state, thresholds,
// alerts. Steady state allocates nothing per packet: candidate lists and scratch are reused.
// The per-flow state types are in detector_state.h, the matching of one signature in
// detector_match.h; both are part of this translation unit.

#include <algorithm>
#include <unordered_map>

#include "detector_match.h"
#include "detector_state.h"
#include "evaluate.h"

namespace mimamori::net::rules {

// Defined here rather than in detector_state.h: its members are of that header's types, which
// have internal linkage.
struct RuleDetector::State {
  match::PatternSet::Scratch scratch;
  // Candidates as a bitmap over signature indexes: index order is evaluation order, so
  // walking the set bits needs no sort. [lo, hi) bounds the words touched since the last walk.
  std::vector<uint64_t> bits;
  std::vector<uint32_t> candidates;
  std::unordered_map<uint64_t, ThresholdEntry> thresholds;
  std::unordered_map<uint64_t, RateEntry> rates;
  std::unordered_map<uint64_t, int64_t> xbits;  // key -> expiry (seconds), 0: none
  EvalScratch eval;
  // Matches of one evaluation, acted on at its end with the packet's verdict.
  struct Match {
    uint32_t sig;
    Action action;
    bool silent;  // `noalert`: the action applies, no alert is written
  };
  std::vector<Match> pending;
  core::Fields traffic;        // EVE `traffic` of the flow's alerts (reused)
  std::vector<uint32_t> seam;  // stream: rules whose fast pattern spans the previous chunk's end
  std::vector<uint32_t> evaluated;  // stream: the chunk's own candidates, while the seam's run
  std::string window;               // stream: previous tail + this chunk
  ScanMemo memo;                    // app: results of small buffers
  // `tag`: hosts with live host tags, and how many flows hold session tags. Both zero: no
  // packet pays more than that test.
  std::unordered_map<core::IpAddress, std::vector<TagEntry>, IpHash> host_tags;
  uint64_t tagged_flows = 0;
  int64_t tag_sweep_s = 0;

  void reset(const RuleEngine& e) {
    bits.assign(e.signatures().size() / 64 + 1, 0);
    candidates.clear();
    candidates.reserve(256);
    pending.clear();
    pending.reserve(64);
    thresholds.clear();
    rates.clear();
    xbits.clear();
    host_tags.clear();
    tagged_flows = 0;  // flows' session tags made for the old engine are ignored
    memo.clear();      // keyed on this engine's databases
    const auto& impl = e.impl();
    for (const auto& set : impl.packet_sets) set.prepare(scratch);
    for (const auto& c : impl.prefilters) {
      for (const auto& b : c) {
        for (const auto& d : b) d.prepare(scratch);
      }
    }
  }
  void next_generation() { candidates.clear(); }
  // A candidate of this generation: listed once (the bitmap says which are listed).
  void add(uint32_t sig) {
    uint64_t& w = bits[sig >> 6];
    uint64_t m = uint64_t(1) << (sig & 63);
    if (w & m) return;
    w |= m;
    candidates.push_back(sig);
  }
  // Puts `candidates` in index order (evaluation order) and clears their bits. Sorting the
  // few candidates is cheaper than walking the bitmap between two far-apart ones.
  void collect() {
    std::sort(candidates.begin(), candidates.end());
    for (uint32_t sig : candidates) bits[sig >> 6] = 0;
  }
};

RuleDetector::RuleDetector(std::shared_ptr<const RuleEngine> engine)
    : engine_(std::move(engine)), state_(std::make_unique<State>()) {
  state_->reset(*engine_);
}

RuleDetector::RuleDetector(std::shared_ptr<const EngineSlot> slot)
    : slot_(std::move(slot)), state_(std::make_unique<State>()) {
  slot_generation_ = slot_->generation();
  engine_ = slot_->get();
  state_->reset(*engine_);
}

RuleDetector::~RuleDetector() = default;

void RuleDetector::set_engine(std::shared_ptr<const RuleEngine> engine) {
  engine_ = std::move(engine);
  state_->reset(*engine_);
}

// The `tag` options of signature `sig`, which just alerted on `p`.
static void start_tags(RuleDetector::State& st, RuleFlowState* fs, uint32_t sig, const Signature& s,
                       const Packet& p) {
  for (const auto& spec : s.tags) {
    if (spec.scope == TagSpec::Scope::kSession) {
      if (!fs) continue;  // no flow, no session (as Suricata)
      bool was_empty = fs->tags.empty();
      add_tag(fs->tags, sig, spec, p);
      if (was_empty && !fs->tags.empty()) ++st.tagged_flows;
      continue;
    }
    if (p.ip_version == 0) continue;
    const core::IpAddress& host = spec.src ? p.src_ip : p.dst_ip;
    auto it = st.host_tags.find(host);
    if (it == st.host_tags.end()) {
      if (st.host_tags.size() >= kMaxTaggedHosts) continue;
      if (st.host_tags.empty()) st.tag_sweep_s = p.timestamp.seconds();
      it = st.host_tags.emplace(host, std::vector<TagEntry>{}).first;
    }
    add_tag(it->second, sig, spec, p);
  }
}

// Evaluates the collected candidates against `t` and emits alerts.
static void evaluate(const RuleEngine& engine, RuleDetector::State& st, const Target& t,
                     DetectContext& ctx, unsigned slot, DetectorStats& stats) {
  const auto& sigs = engine.signatures();
  const auto& impl = engine.impl();
  st.collect();
  auto& cands = st.candidates;
  if (cands.empty()) return;
  RuleFlowState* fs = flow_state(t.packet->flow, slot, engine);
  if (fs && fs->passed) return;
  int64_t now = t.packet->timestamp.seconds();
  bool passed = false;
  st.pending.clear();
  for (uint32_t i : cands) {
    const auto& s = sigs[i];
    const auto& inf = impl.info[i];
    ++stats.candidates;
    if (!header_matches(s, inf, t)) continue;
    if (!state_matches(s, fs)) continue;
    bool xok = true;
    for (const auto& x : s.xbits) {
      if (x.cmd != FlowbitOp::Cmd::kIsSet && x.cmd != FlowbitOp::Cmd::kIsNotSet) continue;
      auto it = st.xbits.find(xbit_key(x, *t.packet));
      bool set = it != st.xbits.end() && (it->second == 0 || it->second >= now);
      if (set != (x.cmd == FlowbitOp::Cmd::kIsSet)) xok = false;
    }
    if (!xok) continue;
    if (!buffers_match(s, impl, t, st.eval)) continue;
    if (inf.context == Context::kApp && fs) {
      uint64_t key = (t.tx_id << 33) | (uint64_t(t.dir) << 32) | i;
      if (!fs->app_alerted.insert(key).second) continue;
    }
    apply_state(s, fs);
    for (const auto& x : s.xbits) {
      auto k = xbit_key(x, *t.packet);
      if (x.cmd == FlowbitOp::Cmd::kSet)
        st.xbits[k] = x.expire_seconds ? now + x.expire_seconds : 0;
      if (x.cmd == FlowbitOp::Cmd::kUnset) st.xbits.erase(k);
      if (x.cmd == FlowbitOp::Cmd::kToggle) {
        if (!st.xbits.erase(k)) st.xbits[k] = x.expire_seconds ? now + x.expire_seconds : 0;
      }
    }
    // Rules are in action-order: a pass match ends the packet's inspection (the alerts of
    // rules before it stand); a header-only or app-layer one lets the rest of the flow through.
    if (s.action == Action::kPass) {
      if (fs && inf.flow_action) fs->passed = true;
      passed = true;
      break;
    }
    if (s.noalert) {
      // A silent drop still drops (Suricata applies the action before removing the alert).
      if (s.action == Action::kDrop || s.action == Action::kReject) {
        st.pending.push_back({i, s.action, true});
      }
      continue;
    }
    bool suppressed = false;
    for (const auto& sup : s.suppress) {
      const Packet& p = *t.packet;
      switch (sup.track) {
        case Suppress::Track::kAll:
          suppressed = true;
          break;
        case Suppress::Track::kBySrc:
          suppressed |= sup.addresses.contains(p.src_ip);
          break;
        case Suppress::Track::kByDst:
          suppressed |= sup.addresses.contains(p.dst_ip);
          break;
        case Suppress::Track::kByEither:
          suppressed |= sup.addresses.contains(p.src_ip) || sup.addresses.contains(p.dst_ip);
          break;
      }
    }
    if (suppressed) {
      ++stats.suppressed;
      continue;
    }
    bool emit = true;
    for (const auto* th : {s.detection_filter ? &*s.detection_filter : nullptr,
                           s.threshold ? &*s.threshold : nullptr}) {
      if (!th || !emit) continue;
      uint64_t key = uint64_t(i) * 0x9E3779B97F4A7C15ull + (th == &*s.threshold ? 1 : 2);
      key ^= track_key(th->track, *t.packet);
      auto& e = st.thresholds[key];
      if (th->type == Threshold::Type::kBackoff) {
        // No window: count C, then C*M, C*M*M, ... matches alert.
        if (e.next == 0) e.next = th->count;
        emit = ++e.count == e.next;
        if (emit) e.next = e.next > UINT32_MAX ? UINT64_MAX : e.next * th->multiplier;
        continue;
      }
      if (e.count == 0 || now - e.window_start >= static_cast<int64_t>(th->seconds)) {
        e.window_start = now;
        e.count = 0;
        e.alerted = false;
      }
      ++e.count;
      switch (th->type) {
        case Threshold::Type::kLimit:
          emit = e.count <= th->count;
          break;
        case Threshold::Type::kThreshold:
          emit = e.count >= th->count;
          if (emit) e.count = 0, e.window_start = now;
          break;
        case Threshold::Type::kBoth:
          emit = e.count >= th->count && !e.alerted;
          if (emit) e.alerted = true;
          break;
        case Threshold::Type::kDetectionFilter:
          emit = e.count > th->count;
          break;
        case Threshold::Type::kBackoff:
          break;
      }
    }
    if (!emit) {
      ++stats.suppressed;
      continue;
    }
    Action action = s.action;
    if (s.rate_filter) {
      // rate_filter: more than `count` matches within `seconds` switch the action for
      // `timeout` seconds; counting starts afresh after that.
      const auto& rf = *s.rate_filter;
      uint64_t key = uint64_t(i) * 0x9E3779B97F4A7C15ull + 3;
      key ^= track_key(rf.track, *t.packet);
      auto& e = st.rates[key];
      if (e.until >= 0 && now < e.until) {
        action = rf.new_action;
      } else {
        if (e.until >= 0 || e.count == 0 || now - e.window_start >= int64_t(rf.seconds)) {
          e.until = -1;
          e.count = 0;
          e.window_start = now;
        }
        if (++e.count > rf.count) {
          e.until = now + rf.timeout;
          action = rf.new_action;
        }
      }
      if (action == Action::kPass) {
        ++stats.suppressed;
        continue;
      }
    }
    st.pending.push_back({i, action, false});
  }
  if (st.pending.empty()) return;
  // The packet's verdict, as Suricata's: a reject or (inline) a drop wins, then a pass.
  bool ips = ctx.ips_mode();
  bool reject = false, drop = false;
  for (const auto& m : st.pending) {
    reject |= m.action == Action::kReject;
    drop |= m.action == Action::kDrop;
  }
  std::string_view verdict = reject          ? (ips ? "drop" : "alert")
                             : (drop && ips) ? "drop"
                             : passed        ? "pass"
                                             : "alert";
  // Traffic tags from `traffic/id/..` and `traffic/label/..` flowbits set on the flow.
  const core::Fields* extra = nullptr;
  if (fs && !impl.traffic_bits.empty()) {
    auto& f = st.traffic;
    f.clear();
    bool any = false;
    f.begin_object("traffic");
    for (bool label : {false, true}) {
      bool open = false;
      for (const auto& [id, is_label, value] : impl.traffic_bits) {
        if (is_label != label || !fs->bit(id)) continue;
        if (!open) f.begin_array(label ? "label" : "id");
        open = any = true;
        f.add("", value);
      }
      if (open) f.end();
    }
    f.end();
    if (any) extra = &f;
  }
  uint32_t budget = engine.options().packet_alert_max;
  for (auto& m : st.pending) {
    const auto& inf = impl.info[m.sig];
    // Past packet-alert-max the alert is not written; its action still applies.
    if (!m.silent && budget == 0) m.silent = true;
    if (!m.silent) {
      ++stats.alerts;
      --budget;
    }
    if ((m.action == Action::kDrop || m.action == Action::kReject) && ips) {
      ++stats.drops;
      if (!m.silent) {
        core::Alert a = inf.alert;
        a.action = "blocked";
        ctx.alert_verdict(a, verdict, extra);
      }
      // Header-only and app-layer matches drop the flow; payload matches the packet.
      if (m.action == Action::kReject) {
        ctx.reject(inf.flow_action);
      } else if (inf.flow_action) {
        ctx.drop();
      } else {
        ctx.drop_packet();
      }
    } else if (!m.silent) {
      ctx.alert_verdict(inf.alert, verdict, extra);
    }
    if (!m.silent && !sigs[m.sig].tags.empty()) start_tags(st, fs, m.sig, sigs[m.sig], *t.packet);
  }
  st.pending.clear();
}

void RuleDetector::on_packet(const Packet& packet, DetectContext& ctx) {
  // A reload is taken between packets, so stream and app callbacks of this packet see the
  // same engine.
  if (slot_ && slot_->generation() != slot_generation_) {
    slot_generation_ = slot_->generation();
    set_engine(slot_->get());
  }
  const auto& impl = engine_->impl();
  auto& st = *state_;
  ++stats_.packets;
  if (st.tagged_flows != 0 || !st.host_tags.empty()) handle_tags(packet, ctx);
  st.next_generation();
  int dir = static_cast<int>(packet.direction);
  constexpr auto kCtx = static_cast<size_t>(Context::kPacket);
  if (!packet.payload.empty()) {
    const auto& pp = impl.packet[transport_bucket(packet.proto)][static_cast<size_t>(dir)];
    int32_t set = pp.set_for(packet, packet.payload.size());
    if (set >= 0) {
      impl.packet_sets[static_cast<size_t>(set)].scan(packet.payload, st.scratch,
                                                      [&st](uint32_t id) { st.add(id); });
    }
  }
  impl.always[kCtx][static_cast<size_t>(dir)][transport_bucket(packet.proto)].for_each(
      packet.dst_port, packet.src_port, [&st](uint32_t i) { st.add(i); });
  // A TCP packet of a flow without a session (no handshake seen, midstream pick-up off) is
  // never reassembled: as Suricata, stream rules inspect its payload as a packet.
  if (packet.is_tcp() && packet.flow && packet.flow->tcp_state == TcpState::kNone &&
      !packet.payload.empty()) {
    constexpr auto kStream = static_cast<size_t>(Context::kStream);
    const auto& spf = impl.prefilters[kStream][0][static_cast<size_t>(dir)];
    spf.scan(packet.payload, st.scratch, [&st](uint32_t id) { st.add(id); });
    impl.always[kStream][static_cast<size_t>(dir)][0].for_each(packet.dst_port, packet.src_port,
                                                               [&st](uint32_t i) { st.add(i); });
  }
  // IP-only rules: first packet of each direction of a flow, or every flow-less packet.
  bool first = !packet.flow || packet.flow->pkts[dir] <= 1;
  if (first) {
    for (uint32_t i : impl.ip_only_any) st.add(i);
    for (const auto* idx : {&impl.ip_by_src, &impl.ip_by_dst}) {
      const auto& ip = idx == &impl.ip_by_src ? packet.src_ip : packet.dst_ip;
      if (const auto* v = idx->lookup(ip)) {
        for (uint32_t i : *v) st.add(i);
      }
      if (impl.bidirectional_ip_only) {
        const auto& other = idx == &impl.ip_by_src ? packet.dst_ip : packet.src_ip;
        if (const auto* v = idx->lookup(other)) {
          for (uint32_t i : *v) st.add(i);
        }
      }
    }
  }
  Target t;
  t.packet = &packet;
  t.payload = packet.payload;
  t.dir = packet.direction;
  t.stream = false;
  evaluate(*engine_, st, t, ctx, flow_slot(), stats_);
}

// Suricata's tag handling for one packet, before its own inspection (so a tag its alerts start
// counts it as their first packet): counts it into the flow's and its hosts' tags and has it
// logged as a tagged packet when one of them still runs.
void RuleDetector::handle_tags(const Packet& p, DetectContext& ctx) {
  auto& st = *state_;
  bool tagged = false;
  if (st.tagged_flows != 0 && p.flow) {
    auto* fs = static_cast<RuleFlowState*>(p.flow->state(flow_slot()));
    if (fs && fs->engine == engine_.get() && !fs->tags.empty()) {
      tagged |= count_tags(fs->tags, p);
      if (fs->tags.empty() && st.tagged_flows != 0) --st.tagged_flows;
    }
  }
  if (!st.host_tags.empty() && p.ip_version != 0) {
    for (const core::IpAddress* ip : {&p.src_ip, &p.dst_ip}) {
      if (ip == &p.dst_ip && p.dst_ip == p.src_ip) break;  // one host: counted once
      auto it = st.host_tags.find(*ip);
      if (it == st.host_tags.end()) continue;
      tagged |= count_tags(it->second, p);
      if (it->second.empty()) st.host_tags.erase(it);
    }
    // Hosts that went quiet keep their tags only so long.
    int64_t now = p.timestamp.seconds();
    if (now - st.tag_sweep_s >= kTagSweepSeconds) {
      st.tag_sweep_s = now;
      for (auto it = st.host_tags.begin(); it != st.host_tags.end();) {
        std::erase_if(it->second,
                      [now](const TagEntry& e) { return now - e.last_s > kTagIdleSeconds; });
        it = it->second.empty() ? st.host_tags.erase(it) : std::next(it);
      }
    }
  }
  if (tagged) {
    ++stats_.tagged_packets;
    ctx.tagged_packet();
  }
}

void RuleDetector::on_flow_end(Flow& flow) {
  auto* fs = static_cast<RuleFlowState*>(flow.state(flow_slot()));
  if (fs && fs->engine == engine_.get() && !fs->tags.empty()) {
    fs->tags.clear();
    if (state_->tagged_flows != 0) --state_->tagged_flows;  // 0: reset by a reload since
  }
}

void RuleDetector::on_stream(const StreamChunk& chunk, DetectContext& ctx) {
  const auto& impl = engine_->impl();
  auto& st = *state_;
  st.next_generation();
  auto dir = static_cast<size_t>(chunk.direction);
  constexpr auto kCtx = static_cast<size_t>(Context::kStream);
  const auto& pf = impl.prefilters[kCtx][0][dir];
  if (!chunk.data.empty()) pf.scan(chunk.data, st.scratch, [&st](uint32_t id) { st.add(id); });
  // Stream data is TCP; the chunk's direction gives the ports.
  const Packet& sp = ctx.packet();
  bool same = sp.direction == chunk.direction;
  uint16_t dport = same ? sp.dst_port : sp.src_port, sport = same ? sp.src_port : sp.dst_port;
  impl.always[kCtx][dir][0].for_each(dport, sport, [&st](uint32_t i) { st.add(i); });
  evaluate(*engine_, st, stream_target(ctx, chunk.direction, chunk.data), ctx, flow_slot(), stats_);
  inspect_seam(chunk, ctx);
}

// A fast pattern split across two segments lies in neither chunk alone: the end of the
// previous chunk (the tail) and the start of this one are looked up in the seam index, and
// rules whose pattern spans the seam, and that were not candidates of this chunk already, are
// evaluated on tail + chunk. Then the tail moves on.
void RuleDetector::inspect_seam(const StreamChunk& chunk, DetectContext& ctx) {
  const auto& impl = engine_->impl();
  auto& st = *state_;
  auto dir = static_cast<size_t>(chunk.direction);
  const SeamIndex& index = impl.seam[dir];
  std::size_t keep = index.overlap();
  if (keep == 0 || chunk.data.empty()) return;
  RuleFlowState* fs = flow_state(ctx.packet().flow, flow_slot(), *engine_);
  if (!fs) return;
  auto& kept = fs->tail[dir];
  if (chunk.after_gap || fs->tail_end[dir] != chunk.offset) kept.size = 0;
  std::string_view tail = kept.view();
  st.seam.clear();
  index.find(tail, chunk.data, [&st](uint32_t id) { st.seam.push_back(id); });
  if (!st.seam.empty()) {
    // st.candidates still holds this chunk's candidates, in index order: keep them aside.
    st.evaluated.swap(st.candidates);
    st.next_generation();
    bool any = false;
    for (uint32_t id : st.seam) {
      if (std::binary_search(st.evaluated.begin(), st.evaluated.end(), id)) continue;
      st.add(id);
      any = true;
    }
    if (any) {
      st.window.assign(tail);
      st.window.append(chunk.data);
      evaluate(*engine_, st, stream_target(ctx, chunk.direction, st.window), ctx, flow_slot(),
               stats_);
    }
  }
  // The new tail: the last `keep` bytes of tail + chunk.
  kept.push(chunk.data, keep);
  fs->tail_end[dir] = chunk.offset + chunk.data.size();
}

void RuleDetector::on_app(const AppEvent& event, DetectContext& ctx) {
  const auto& impl = engine_->impl();
  auto& st = *state_;
  st.next_generation();
  auto dir = static_cast<size_t>(event.direction);
  constexpr auto kCtx = static_cast<size_t>(Context::kApp);
  const Packet& packet = ctx.packet();
  auto on_hit = [&st](uint32_t id) { st.add(id); };
  for (size_t b = 0; b < kBufferCount; ++b) {
    const auto& pf = impl.prefilters[kCtx][b][dir];
    if (pf.empty()) continue;
    if (b == 0) {
      if (!packet.payload.empty()) pf.scan(packet.payload, st.scratch, on_hit);
      continue;
    }
    auto nb = impl.net_buffers[b];
    if (!nb) continue;
    std::size_t n = ctx.buffer_count(*nb);
    for (std::size_t i = 0; i < n; ++i) {
      auto data = ctx.buffer(*nb, i);
      if (!data.empty()) st.memo.scan(pf, data, st.scratch, on_hit);
    }
  }
  // App rules are not indexed by port.
  impl.always[kCtx][dir][static_cast<size_t>(event.proto) % kBuckets].for_each(
      0, 0, [&st](uint32_t i) { st.add(i); });
  Target t;
  t.packet = &packet;
  t.ctx = &ctx;
  t.payload = packet.payload;
  t.dir = event.direction;
  t.stream = true;
  t.tx_id = event.tx_id;
  evaluate(*engine_, st, t, ctx, flow_slot(), stats_);
}

}  // namespace mimamori::net::rules
