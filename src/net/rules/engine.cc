#include <algorithm>
#include <fstream>
#include <sstream>

#include "engine_impl.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/log.h"

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

core::Result<match::PatternSet> compile_cached(const std::vector<match::Pattern>& patterns,
                                               const std::filesystem::path& cache_dir,
                                               EngineStats& stats) {
  std::string key_text(kEngineVersion);
  for (const auto& p : patterns) {
    key_text += fmt::format("\n{} {} {} ", p.id, p.caseless ? 1 : 0, p.expression.size());
    key_text += p.expression;
  }
  std::filesystem::path file;
  if (!cache_dir.empty()) {
    file = cache_dir / (core::sha256_hex(key_text) + ".hsdb");
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      auto set = match::PatternSet::deserialize(ss.str(), patterns.size());
      if (set) {
        ++stats.cache_hits;
        return set;
      }
      spdlog::warn("rule cache {}: {}; recompiling", file.string(), set.error().message);
    }
  }
  auto set = match::PatternSet::compile(patterns);
  if (!set) return set;
  if (!file.empty()) {
    auto bytes = set->serialize();
    if (bytes) {
      auto tmp = file;
      tmp += ".tmp";
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
      out.close();
      std::error_code ec;
      if (out) std::filesystem::rename(tmp, file, ec);
      if (!out || ec) spdlog::warn("rule cache: cannot write {}", file.string());
    }
  }
  return set;
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
    std::vector<Signature> sorted;
    sorted.reserve(e->sigs_.size());
    for (const auto& [o, i] : keys) sorted.push_back(std::move(e->sigs_[i]));
    e->sigs_ = std::move(sorted);
  }
  impl.info.resize(e->sigs_.size());
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
      // A few destination ports (not `<>`): index by port instead of checking every packet.
      std::vector<uint16_t> ports;
      if (inf.context != Context::kApp && !s.bidirectional && !s.dst_ports.is_any()) {
        std::size_t n = 0;
        for (auto [lo, hi] : s.dst_ports.ranges()) n += static_cast<std::size_t>(hi - lo) + 1;
        if (n <= 64) {
          for (auto [lo, hi] : s.dst_ports.ranges()) {
            for (uint32_t p = lo; p <= hi; ++p) ports.push_back(static_cast<uint16_t>(p));
          }
        }
      }
      for (size_t d = 0; d < 2; ++d) {
        if (!inf.dirs[d]) continue;
        for (size_t k = 0; k < kBuckets; ++k) {
          if (!in_bucket[k]) continue;
          auto& g = impl.always[ctx][d][k];
          if (ports.empty()) {
            g.any_port.push_back(i);
          } else {
            for (auto p : ports) g.by_port[p].push_back(i);
          }
        }
      }
    }
  }
  for (size_t c = 0; c < 3; ++c) {
    for (size_t b = 0; b < kBufferCount; ++b) {
      for (size_t d = 0; d < 2; ++d) {
        if (lists[c][b][d].empty()) continue;
        auto db = compile_cached(lists[c][b][d], options.cache_dir, st);
        if (!db) {
          return core::make_error("prefilter for {} ({}): {}",
                                  buffer_name(static_cast<BufferId>(b)),
                                  d == 0 ? "to_server" : "to_client", db.error().message);
        }
        impl.prefilters[c][b][d].set = std::move(*db);
        ++st.databases;
      }
    }
  }
  build_ip_index(impl.ip_by_src, by_src);
  build_ip_index(impl.ip_by_dst, by_dst);
  return std::shared_ptr<const RuleEngine>(std::move(e));
}

}  // namespace mimamori::net::rules
