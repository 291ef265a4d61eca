#include <algorithm>

#include "engine_impl.h"
#include "mimamori/match/database_cache.h"

namespace mimamori::net::rules {

namespace {

// Rule keywords that only make sense on single packets.
bool packet_only(const Signature& s) {
  return s.dsize || s.tcp_pkt || (s.flow && s.flow->no_stream) || s.tcp_flags || s.itype ||
         s.icode || s.ip_proto_check || s.ip_proto != 6;
}

bool has_app_buffers(const Signature& s) {
  for (const auto& b : s.buffers) {
    if (b.buffer != BufferId::kPayload) return true;
  }
  return false;
}

struct FastPattern {
  BufferId buffer = BufferId::kPayload;
  std::string bytes;
  bool nocase = false;
  /// Non-zero when the content is anchored near the start: its match ends at or before this
  /// offset of the buffer (any part of it taken as the fast pattern too).
  uint64_t max_end = 0;
};

// Vectorscan compiles a literal with a long run of one byte (`z` and eleven NULs) as a bounded
// repeat, which costs it on the order of a hundred cycles per scanned byte even when it never
// matches (measured: that one pattern made the UDP packet database about 40x slower). The
// prefilter only needs a part of the content: the longest substring in which no byte repeats
// more than kMaxRun times in a row.
constexpr std::size_t kMaxRun = 4;

std::string without_long_runs(const std::string& b) {
  std::size_t left = 0, run = 0, best_at = 0, best_len = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    run = i > 0 && b[i] == b[i - 1] ? run + 1 : 1;
    if (run > kMaxRun) left = std::max(left, i + 1 - kMaxRun);
    if (i + 1 - left > best_len) best_at = left, best_len = i + 1 - left;
  }
  return best_len == b.size() ? b : b.substr(best_at, best_len);
}

// Where a content's match must end at the latest, as `evaluate` checks it (`startswith`: its
// length; an absolute content with `depth`: offset + depth), or 0 when it may end anywhere
// (relative, no depth, an offset or depth from a byte_extract variable, a dotprefix buffer
// whose inspected bytes are shifted by the added dot).
uint64_t content_end_bound(const Content& c, bool dotprefix) {
  if (dotprefix || c.negated) return 0;
  if (c.startswith) return c.bytes.size();
  if (c.relative() || !c.has_depth || c.depth_var >= 0 || c.offset_var >= 0) return 0;
  int64_t end = int64_t(c.has_offset ? c.offset : 0) + c.depth;
  return end > 0 ? static_cast<uint64_t>(end) : 0;
}

// The rule's fast pattern: the explicit one, else the longest positive content.
std::optional<FastPattern> choose_fast_pattern(const Signature& s) {
  const Content* best = nullptr;
  const BufferChecks* best_list = nullptr;
  for (const auto& b : s.buffers) {
    for (const auto& it : b.items) {
      const auto* c = std::get_if<Content>(&it);
      if (!c || c->negated) continue;
      if (c->fast_pattern) {
        best = c, best_list = &b;
        goto done;
      }
      if (!best || c->bytes.size() > best->bytes.size()) best = c, best_list = &b;
    }
  }
done:
  if (!best) return std::nullopt;
  FastPattern fp;
  fp.buffer = best_list->buffer;
  fp.nocase = best->nocase;
  fp.bytes = best->fp_length ? best->bytes.substr(best->fp_offset, best->fp_length) : best->bytes;
  // With dotprefix the buffer is inspected as "." + value; the scan sees the value itself.
  if (best_list->dotprefix && !fp.bytes.empty() && fp.bytes.front() == '.') fp.bytes.erase(0, 1);
  if (fp.bytes.empty()) return std::nullopt;
  fp.bytes = without_long_runs(fp.bytes);
  fp.max_end = content_end_bound(*best, best_list->dotprefix);
  return fp;
}

net::AppProto app_of(std::string_view name) {
  if (name == "http") return net::AppProto::kHttp;
  if (name == "dns") return net::AppProto::kDns;
  if (name == "tls") return net::AppProto::kTls;
  if (name == "ssh") return net::AppProto::kSsh;
  return net::AppProto::kUnknown;
}

// Suricata's order within a packet: rules that only set flowbits, then set-and-read, then
// read, then the rest (unset/toggle included), so reads see this packet's sets and not its
// unsets.
int flowbit_order(const Signature& s) {
  bool reads = false, sets = false;
  for (const auto& f : s.flowbits) {
    if (f.cmd == FlowbitOp::Cmd::kIsSet || f.cmd == FlowbitOp::Cmd::kIsNotSet) reads = true;
    if (f.cmd == FlowbitOp::Cmd::kSet) sets = true;
  }
  for (const auto& f : s.flowints) {
    if (f.cmd == FlowintOp::Cmd::kIsSet || f.cmd == FlowintOp::Cmd::kNotSet ||
        f.cmd == FlowintOp::Cmd::kCompare) {
      reads = true;
    }
  }
  return sets ? (reads ? 1 : 0) : (reads ? 2 : 3);
}

core::Alert make_alert_template(const Signature& s) {
  core::Alert a;
  a.gid = s.gid;
  a.signature_id = s.sid;
  a.rev = s.rev;
  a.signature = s.msg;
  a.category = s.category;
  a.severity = s.priority;
  if (!s.metadata.empty()) {
    // Suricata groups metadata by key: {"key": ["v1", "v2"]}, keys in first-seen order.
    std::vector<std::string_view> keys;
    for (const auto& [k, v] : s.metadata) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    for (auto k : keys) {
      a.metadata.begin_array(k);
      for (const auto& [k2, v] : s.metadata) {
        if (k2 == k) a.metadata.add("", v);
      }
      a.metadata.end();
    }
  }
  return a;
}

void build_ip_index(IpIndex& idx, const std::vector<std::pair<uint32_t, const AddressSet*>>& sets) {
  // Elementary segments: every range start and end+1 becomes a boundary.
  std::vector<uint32_t> b4{0};
  std::vector<Uint128> b6{0};
  for (const auto& [sig, set] : sets) {
    for (auto [lo, hi] : set->v4()) {
      b4.push_back(lo);
      if (hi != ~uint32_t(0)) b4.push_back(hi + 1);
    }
    for (auto [lo, hi] : set->v6()) {
      b6.push_back(lo);
      if (hi != ~Uint128(0)) b6.push_back(hi + 1);
    }
  }
  std::sort(b4.begin(), b4.end());
  b4.erase(std::unique(b4.begin(), b4.end()), b4.end());
  std::sort(b6.begin(), b6.end());
  b6.erase(std::unique(b6.begin(), b6.end()), b6.end());
  idx.v4_bounds = b4;
  idx.v6_bounds = b6;
  idx.v4_sigs.assign(b4.size(), {});
  idx.v6_sigs.assign(b6.size(), {});
  for (const auto& [sig, set] : sets) {
    for (auto [lo, hi] : set->v4()) {
      auto i = static_cast<size_t>(std::lower_bound(b4.begin(), b4.end(), lo) - b4.begin());
      for (; i < b4.size() && b4[i] <= hi; ++i) {
        idx.v4_sigs[i].push_back(sig);
        if (b4[i] == hi) break;
      }
    }
    for (auto [lo, hi] : set->v6()) {
      auto i = static_cast<size_t>(std::lower_bound(b6.begin(), b6.end(), lo) - b6.begin());
      for (; i < b6.size() && b6[i] <= hi; ++i) {
        idx.v6_sigs[i].push_back(sig);
        if (b6[i] == hi) break;
      }
    }
  }
}

// The prefilter of a pattern list. With `in_head` (by pattern id: the fast pattern lies in a
// buffer's first kHeadWindow bytes), those patterns go to a head database and the rest to the
// main one; without, all to the main one (short buffers: a second scan call costs more than
// the confirmations it saves).
core::Result<Prefilter> compile_prefilter(const std::vector<match::Pattern>& patterns,
                                          const std::vector<bool>* in_head,
                                          match::DatabaseCache& cache, EngineStats& stats) {
  std::vector<match::Pattern> main, head;
  for (const auto& p : patterns) (in_head && (*in_head)[p.id] ? head : main).push_back(p);
  Prefilter pf;
  for (auto* list : {&main, &head}) {
    if (list->empty()) continue;
    auto db = cache.compile(*list, kEngineVersion);
    if (!db) return db.error();
    (list == &main ? pf.set : pf.head) = std::move(*db);
    ++stats.databases;
    stats.cache_hits = cache.hits();
  }
  return pf;
}

// True when a payload size in [a, b] can satisfy the rule's dsize.
bool dsize_admits(const Signature& s, uint64_t a, uint64_t b) {
  if (!s.dsize) return true;
  const Range& r = *s.dsize;
  switch (r.op) {
    case Range::Op::kEq:
      return a <= r.lo && r.lo <= b;
    case Range::Op::kNe:
      return !(a == b && a == r.lo);
    case Range::Op::kLt:
      return a < r.lo;
    case Range::Op::kGt:
      return b > r.lo;
    case Range::Op::kLe:
      return a <= r.lo;
    case Range::Op::kGe:
      return b >= r.lo;
    case Range::Op::kBetween:
      return r.hi > 0 && std::max(a, r.lo + 1) <= std::min(b, r.hi - 1);
  }
  return true;
}

using Bits = std::vector<uint64_t>;

std::size_t popcount(const Bits& b) {
  std::size_t n = 0;
  for (uint64_t w : b) n += static_cast<std::size_t>(__builtin_popcountll(w));
  return n;
}

Bits unite(const Bits& x, const Bits& y) {
  Bits u(x.size());
  for (std::size_t k = 0; k < x.size(); ++k) u[k] = x[k] | y[k];
  return u;
}

// Groups of one packet pattern list by a key (a port of the header, or the ICMP type): elementary
// key intervals, the entries (list indexes) that may apply on each, identical sets shared, then
// the two groups whose union adds the fewest patterns merged until at most kMaxPortGroups remain.
struct PortGrouping {
  std::vector<uint16_t> bounds;
  std::vector<uint8_t> interval_group;
  std::vector<Bits> groups;
  std::size_t patterns = 0;  // sum of group sizes: what the databases will hold
};

using Key = PacketPrefilter::Key;

PortGrouping group_ports(const std::vector<match::Pattern>& list,
                         const std::vector<Signature>& sigs, Key key) {
  const std::size_t n = list.size(), words = (n + 63) / 64;
  // The key values each entry may apply to, as ranges; empty: every value.
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> ranges(n);
  for (std::size_t k = 0; k < n; ++k) {
    const auto& s = sigs[list[k].id];
    if (key == Key::kDstPort || key == Key::kSrcPort) {
      const PortSet& ps = key == Key::kSrcPort ? s.src_ports : s.dst_ports;
      if (s.bidirectional || ps.is_any()) continue;
      for (auto [lo, hi] : ps.ranges()) ranges[k].emplace_back(lo, hi);
    } else if (key == Key::kIcmpType && s.itype) {
      for (uint32_t t = 0; t <= 255; ++t) {
        if (!s.itype->check(t)) continue;
        if (!ranges[k].empty() && ranges[k].back().second + 1 == t) {
          ranges[k].back().second = t;
        } else {
          ranges[k].emplace_back(t, t);
        }
      }
      if (ranges[k].empty()) ranges[k].emplace_back(256, 256);  // no type: never applies
    }
  }
  auto ranges_of = [&](std::size_t k) { return ranges[k].empty() ? nullptr : &ranges[k]; };
  std::vector<uint32_t> cuts{0};
  for (std::size_t k = 0; k < n; ++k) {
    if (const auto* r = ranges_of(k)) {
      for (auto [lo, hi] : *r) {
        cuts.push_back(lo);
        cuts.push_back(hi + 1);
      }
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  while (!cuts.empty() && cuts.back() > 65535) cuts.pop_back();
  std::vector<Bits> interval_sets(cuts.size(), Bits(words, 0));
  for (std::size_t k = 0; k < n; ++k) {
    const auto* r = ranges_of(k);
    for (std::size_t i = 0; i < cuts.size(); ++i) {
      bool in = !r;
      if (r) {
        for (auto [lo, hi] : *r) in |= cuts[i] >= lo && cuts[i] <= hi;
      }
      if (in) interval_sets[i][k / 64] |= uint64_t(1) << (k % 64);
    }
  }
  PortGrouping g;
  for (auto c : cuts) g.bounds.push_back(static_cast<uint16_t>(c));
  std::vector<std::size_t> group_of(cuts.size());
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    auto it = std::find(g.groups.begin(), g.groups.end(), interval_sets[i]);
    group_of[i] = static_cast<std::size_t>(it - g.groups.begin());
    if (it == g.groups.end()) g.groups.push_back(interval_sets[i]);
  }
  // Merging: groups[x] and groups[y] become one; interval groups are renumbered.
  while (g.groups.size() > kMaxPortGroups) {
    std::size_t bx = 0, by = 1, best = SIZE_MAX;
    for (std::size_t x = 0; x < g.groups.size(); ++x) {
      for (std::size_t y = x + 1; y < g.groups.size(); ++y) {
        std::size_t u = popcount(unite(g.groups[x], g.groups[y]));
        std::size_t cost = 2 * u - popcount(g.groups[x]) - popcount(g.groups[y]);
        if (cost < best) best = cost, bx = x, by = y;
      }
    }
    g.groups[bx] = unite(g.groups[bx], g.groups[by]);
    g.groups.erase(g.groups.begin() + static_cast<long>(by));
    for (auto& gi : group_of) {
      if (gi == by) {
        gi = bx;
      } else if (gi > by) {
        --gi;
      }
    }
  }
  for (auto gi : group_of) g.interval_group.push_back(static_cast<uint8_t>(gi));
  for (const auto& b : g.groups) g.patterns += popcount(b);
  return g;
}

}  // namespace

std::optional<net::Buffer> to_net_buffer(BufferId id) {
  if (id == BufferId::kPayload) return std::nullopt;
  return net::buffer_from_name(buffer_name(id));
}

const std::vector<uint32_t>* IpIndex::lookup(const core::IpAddress& ip) const {
  if (ip.is_v4()) {
    uint32_t v = ip.v4_host_order();
    auto it = std::upper_bound(v4_bounds.begin(), v4_bounds.end(), v);
    if (it == v4_bounds.begin()) return nullptr;
    const auto& s = v4_sigs[static_cast<size_t>(it - v4_bounds.begin()) - 1];
    return s.empty() ? nullptr : &s;
  }
  if (ip.is_v6()) {
    Uint128 v = 0;
    for (int i = 0; i < 16; ++i) v = (v << 8) | ip.bytes()[i];
    auto it = std::upper_bound(v6_bounds.begin(), v6_bounds.end(), v);
    if (it == v6_bounds.begin()) return nullptr;
    const auto& s = v6_sigs[static_cast<size_t>(it - v6_bounds.begin()) - 1];
    return s.empty() ? nullptr : &s;
  }
  return nullptr;
}

RuleEngine::RuleEngine() : impl_(std::make_unique<Impl>()) {}
RuleEngine::~RuleEngine() = default;

core::Result<std::array<uint8_t, 4>> parse_action_order(const std::vector<std::string>& names) {
  static constexpr std::pair<std::string_view, Action> kNames[] = {{"pass", Action::kPass},
                                                                   {"drop", Action::kDrop},
                                                                   {"reject", Action::kReject},
                                                                   {"alert", Action::kAlert}};
  std::array<uint8_t, 4> rank{};
  bool named[4] = {};
  uint8_t next = 0;
  for (const auto& n : names) {
    auto it = std::find_if(std::begin(kNames), std::end(kNames),
                           [&](const auto& k) { return k.first == n; });
    if (it == std::end(kNames)) {
      return core::make_error("action-order: unknown action '{}' (pass, drop, reject, alert)", n);
    }
    auto a = static_cast<size_t>(it->second);
    if (named[a]) return core::make_error("action-order: '{}' named twice", n);
    named[a] = true;
    rank[a] = next++;
  }
  for (const auto& k : kNames) {
    auto a = static_cast<size_t>(k.second);
    if (!named[a]) rank[a] = next++;
  }
  return rank;
}

core::Result<std::shared_ptr<const RuleEngine>> RuleEngine::build(RuleSet set,
                                                                  const EngineOptions& options) {
  std::shared_ptr<RuleEngine> e(new RuleEngine());
  e->sigs_ = std::move(set.signatures);
  e->flowbit_count_ = set.flowbits.size();
  e->flowint_count_ = set.flowints.size();
  e->options_ = options;
  auto& impl = *e->impl_;
  for (uint32_t id = 0; id < set.flowbits.size(); ++id) {
    std::string_view n = set.flowbits.name(id);
    for (bool label : {false, true}) {
      std::string_view prefix = label ? "traffic/label/" : "traffic/id/";
      if (n.starts_with(prefix) && n.size() > prefix.size()) {
        impl.traffic_bits.emplace_back(id, label, std::string(n.substr(prefix.size())));
      }
    }
  }
  auto& st = e->stats_;
  st.rules = e->sigs_.size();
  if (!options.cache_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.cache_dir, ec);
    if (ec) {
      return core::make_error("rule cache folder '{}': {}", options.cache_dir.string(),
                              ec.message());
    }
  }
  match::DatabaseCache cache(options.cache_dir, "rule cache");
  // [context][buffer][dir] pattern lists
  std::vector<match::Pattern> lists[3][kBufferCount][2];
  std::vector<std::pair<uint32_t, const AddressSet*>> by_src, by_dst;
  // Evaluation order is index order: flowbit setters first (see flowbit_order), so that the
  // detector can walk its candidates in index order without sorting them per packet.
  {
    std::vector<std::pair<int, uint32_t>> keys;
    keys.reserve(e->sigs_.size());
    // By action (Suricata's action-order), then by flowbit role.
    for (uint32_t i = 0; i < e->sigs_.size(); ++i) {
      const auto& s = e->sigs_[i];
      keys.emplace_back(options.action_rank[static_cast<size_t>(s.action)] * 4 + flowbit_order(s),
                        i);
    }
    std::stable_sort(keys.begin(), keys.end());
    // Permuted in place, one cycle at a time: a sorted copy would touch tens of MB of fresh
    // pages (a Signature is ~900 bytes), a visible part of the start-up.
    auto& sigs = e->sigs_;
    std::vector<bool> placed(sigs.size(), false);
    for (std::size_t k = 0; k < sigs.size(); ++k) {
      if (placed[k] || keys[k].second == k) continue;
      Signature held = std::move(sigs[k]);
      std::size_t j = k;
      while (true) {
        placed[j] = true;
        std::size_t from = keys[j].second;
        if (from == k) {
          sigs[j] = std::move(held);
          break;
        }
        sigs[j] = std::move(sigs[from]);
        j = from;
      }
    }
  }
  impl.info.resize(e->sigs_.size());
  // By signature: its fast pattern lies in a buffer's first kHeadWindow bytes.
  std::vector<bool> in_head(e->sigs_.size(), false);
  for (size_t b = 0; b < kBufferCount; ++b)
    impl.net_buffers[b] = to_net_buffer(static_cast<BufferId>(b));
  for (uint32_t i = 0; i < e->sigs_.size(); ++i) {
    const auto& s = e->sigs_[i];
    auto& inf = impl.info[i];
    inf.alert = make_alert_template(s);
    inf.app = app_of(s.app_proto);
    inf.app_unparsed = !s.app_proto.empty() && inf.app == net::AppProto::kUnknown;
    // Buffers of one side restrict the rule to it; a response buffer wins (Suricata inspects
    // such a rule when the response arrives, with the request's buffers still there).
    bool ts_buf = false, tc_buf = false;
    for (const auto& b : s.buffers) {
      ts_buf |= buffer_side(b.buffer) == BufferSide::kToServer;
      tc_buf |= buffer_side(b.buffer) == BufferSide::kToClient;
    }
    if (tc_buf) {
      inf.dirs[0] = false;
    } else if (ts_buf) {
      inf.dirs[1] = false;
    }
    if (s.flow && s.flow->to_server) inf.dirs[1] = false;
    if (s.flow && s.flow->to_client) inf.dirs[0] = false;
    inf.order = flowbit_order(s);
    if (s.ip_only()) {
      inf.flow_action = true;
      ++st.ip_only;
      if (!s.src.is_any()) {
        by_src.emplace_back(i, &s.src);
      } else if (!s.dst.is_any()) {
        by_dst.emplace_back(i, &s.dst);
      } else {
        impl.ip_only_any.push_back(i);
      }
      if (s.bidirectional) impl.bidirectional_ip_only = true;
      continue;
    }
    bool has_payload = false;
    for (const auto& b : s.buffers) has_payload |= b.buffer == BufferId::kPayload;
    // App rules with only payload checks: on TCP protocols the stream is the payload; on DNS
    // (UDP) each message is, so they run with the app-layer event of that message.
    bool app_payload_rule = inf.app != net::AppProto::kUnknown && !s.dsize && !s.tcp_flags &&
                            (!has_payload || s.ip_proto != 6);
    if (has_app_buffers(s) || app_payload_rule) {
      inf.context = Context::kApp;
    } else if (has_payload && !packet_only(s)) {
      inf.context = Context::kStream;
    } else {
      inf.context = Context::kPacket;
    }
    // Header-only rules (addresses, ports, protocol, flow, state and app-layer-protocol
    // keywords, but no payload or per-packet checks) act like IP-only ones.
    bool like_ip_only =
        s.buffers.empty() && !s.dsize && !s.tcp_flags && !s.itype && !s.icode && !s.stream_size;
    inf.flow_action = like_ip_only || inf.context == Context::kApp;
    auto ctx = static_cast<size_t>(inf.context);
    auto fp = choose_fast_pattern(s);
    if (fp && fp->max_end > 0 && fp->max_end <= kHeadWindow && fp->bytes.size() <= fp->max_end)
      in_head[i] = true;
    // In the packet/stream contexts only payload is scanned; app rules may use any buffer.
    if (fp && (inf.context == Context::kApp || fp->buffer == BufferId::kPayload)) {
      ++st.prefiltered;
      // Packet context: one database per transport (the buffer slot holds the transport
      // bucket, payload being the only buffer there), so that a TCP packet does not scan the
      // UDP rules' patterns. Other contexts: one per buffer.
      std::vector<size_t> slots;
      if (inf.context == Context::kPacket) {
        if (s.ip_proto == 0 && s.ip_proto_check && s.ip_proto_check->op == Range::Op::kEq) {
          slots.push_back(transport_bucket(static_cast<uint8_t>(s.ip_proto_check->lo)));
        } else if (s.ip_proto == 0) {
          slots = {0, 1, 2, 3};
        } else {
          slots.push_back(transport_bucket(s.ip_proto));
        }
      } else {
        slots.push_back(static_cast<size_t>(fp->buffer));
      }
      for (int d = 0; d < 2; ++d) {
        if (!inf.dirs[d]) continue;
        for (size_t slot : slots) {
          match::Pattern p;
          p.id = i;
          p.expression = fp->bytes;
          p.caseless = fp->nocase;
          lists[ctx][slot][d].push_back(std::move(p));
        }
      }
    } else {
      ++st.always;
      // Bucket: app rules by their protocol, others by transport; "any" goes everywhere.
      bool in_bucket[kBuckets] = {};
      if (inf.context == Context::kApp) {
        net::AppProto app = inf.app;
        for (const auto& b : s.buffers) {
          if (app == net::AppProto::kUnknown) app = app_of(buffer_protocol(b.buffer));
        }
        for (size_t k = 0; k < kBuckets; ++k) {
          in_bucket[k] = app == net::AppProto::kUnknown || static_cast<size_t>(app) == k;
        }
      } else if (s.ip_proto == 0 && s.ip_proto_check && s.ip_proto_check->op == Range::Op::kEq) {
        in_bucket[transport_bucket(static_cast<uint8_t>(s.ip_proto_check->lo))] = true;
      } else if (s.ip_proto == 0) {
        for (auto& b : in_bucket) b = true;
      } else {
        in_bucket[transport_bucket(s.ip_proto)] = true;
      }
      // A few destination ports, else a few source ports (not `<>`): index by port instead
      // of checking every packet.
      std::vector<uint16_t> ports;
      bool index_src = false;
      auto few = [&ports](const PortSet& named) {
        std::size_t n = 0;
        for (auto [lo, hi] : named.ranges()) n += static_cast<std::size_t>(hi - lo) + 1;
        if (named.is_any() || n > 64) return false;
        for (auto [lo, hi] : named.ranges()) {
          for (uint32_t p = lo; p <= hi; ++p) ports.push_back(static_cast<uint16_t>(p));
        }
        return true;
      };
      if (inf.context != Context::kApp && !s.bidirectional && !few(s.dst_ports) &&
          s.dst_ports.is_any()) {
        index_src = few(s.src_ports);
      }
      for (size_t d = 0; d < 2; ++d) {
        if (!inf.dirs[d]) continue;
        for (size_t k = 0; k < kBuckets; ++k) {
          if (!in_bucket[k]) continue;
          auto& g = impl.always[ctx][d][k];
          if (ports.empty()) {
            g.any_port.push_back(i);
          } else {
            for (auto p : ports) (index_src ? g.by_src : g.by_dst).add(p, i);
          }
        }
      }
    }
  }
  // Packet context: per transport and direction, one database per port group and size class
  // (identical pattern lists share one).
  constexpr auto kPkt = static_cast<size_t>(Context::kPacket);
  for (size_t b = 0; b < impl.packet.size(); ++b) {
    for (size_t d = 0; d < 2; ++d) {
      const auto& list = lists[kPkt][b][d];
      if (list.empty()) continue;
      // TCP and UDP are keyed on a port, the side that splits the rules best (to_server rules
      // mostly name the destination port, to_client ones the source); ICMP on the type.
      Key key = b <= 1 ? Key::kDstPort : b == 2 ? Key::kIcmpType : Key::kNone;
      auto grouping = group_ports(list, e->sigs_, key);
      if (b <= 1) {
        auto src_grouping = group_ports(list, e->sigs_, Key::kSrcPort);
        if (src_grouping.patterns < grouping.patterns) {
          grouping = std::move(src_grouping);
          key = Key::kSrcPort;
        }
      }
      auto& pp = impl.packet[b][d];
      pp.key = key;
      pp.bounds = grouping.bounds;
      pp.interval_group = grouping.interval_group;
      std::vector<std::pair<Bits, int32_t>> made;
      for (const auto& group : grouping.groups) {
        std::array<int32_t, kSizeClasses> per_class{};
        for (std::size_t cls = 0; cls < kSizeClasses; ++cls) {
          uint64_t lo = cls == 0 ? 0 : kSmallPayload + 1;
          uint64_t hi = cls == 0 ? kSmallPayload : UINT64_MAX;
          Bits members(group.size(), 0);
          std::vector<match::Pattern> patterns;
          for (std::size_t k = 0; k < list.size(); ++k) {
            if (!((group[k / 64] >> (k % 64)) & 1)) continue;
            if (!dsize_admits(e->sigs_[list[k].id], lo, hi)) continue;
            members[k / 64] |= uint64_t(1) << (k % 64);
            patterns.push_back(list[k]);
          }
          int32_t idx = -1;
          if (!patterns.empty()) {
            auto it = std::find_if(made.begin(), made.end(),
                                   [&](const auto& m) { return m.first == members; });
            if (it != made.end()) {
              idx = it->second;
            } else {
              auto pf = compile_prefilter(patterns, cls > 0 ? &in_head : nullptr, cache, st);
              if (!pf) {
                return core::make_error("packet prefilter ({}): {}",
                                        d == 0 ? "to_server" : "to_client", pf.error().message);
              }
              idx = static_cast<int32_t>(impl.packet_sets.size());
              impl.packet_sets.push_back(std::move(*pf));
              made.emplace_back(std::move(members), idx);
            }
          }
          per_class[cls] = idx;
        }
        pp.sets.push_back(per_class);
      }
    }
  }
  for (size_t d = 0; d < 2; ++d)
    impl.seam[d] = SeamIndex::build(lists[static_cast<size_t>(Context::kStream)][0][d]);
  for (size_t c = 0; c < 3; ++c) {
    if (c == kPkt) continue;
    for (size_t b = 0; b < kBufferCount; ++b) {
      for (size_t d = 0; d < 2; ++d) {
        if (lists[c][b][d].empty()) continue;
        // Stream chunks are segments' worth of bytes; most app-layer buffers are a header
        // line or less.
        auto pf = compile_prefilter(lists[c][b][d],
                                    c == static_cast<size_t>(Context::kStream) ? &in_head : nullptr,
                                    cache, st);
        if (!pf) {
          return core::make_error("prefilter for {} ({}): {}",
                                  buffer_name(static_cast<BufferId>(b)),
                                  d == 0 ? "to_server" : "to_client", pf.error().message);
        }
        impl.prefilters[c][b][d] = std::move(*pf);
      }
    }
  }
  build_ip_index(impl.ip_by_src, by_src);
  build_ip_index(impl.ip_by_dst, by_dst);
  return std::shared_ptr<const RuleEngine>(std::move(e));
}

}  // namespace mimamori::net::rules
