#include "flow_table.h"

#include <chrono>
#include <cstring>

#include "app/app.h"
#include "flow_internals.h"
#include "mimamori/core/hash.h"

namespace mimamori::net {

struct FlowEntry {
  Flow flow;
  FlowEntry* hnext = nullptr;
  FlowEntry* prev = nullptr;
  FlowEntry* next = nullptr;
  uint64_t hash = 0;
  int cls = -1;
  bool in_use = false;
};

namespace {

uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

uint64_t addr_hash(const core::IpAddress& a) {
  const auto& b = a.bytes();
  uint64_t lo, hi;
  std::memcpy(&lo, b.data(), 8);
  std::memcpy(&hi, b.data() + 8, 8);
  return mix64(lo ^ mix64(hi));
}

// Estimated bytes one flow costs, for the memcap (entry plus typical parser/stream state).
constexpr uint64_t kFlowCost = sizeof(FlowEntry) + 256;

}  // namespace

std::string_view flow_end_reason_name(FlowEndReason r) {
  switch (r) {
    case FlowEndReason::kTimeout:
      return "timeout";
    case FlowEndReason::kForced:
      return "forced";
    case FlowEndReason::kShutdown:
      return "shutdown";
  }
  return "timeout";
}

uint64_t flow_hash(const Packet& p) {
  // Symmetric: the two endpoints are combined with commutative operations.
  uint64_t ha = addr_hash(p.src_ip) + (uint64_t(p.src_port) << 1);
  uint64_t hb = addr_hash(p.dst_ip) + (uint64_t(p.dst_port) << 1);
  uint64_t h = (ha ^ hb) + (ha + hb) * 31 + p.proto + (uint64_t(p.vlan[0]) << 20);
  return mix64(h);
}

FlowTable::FlowTable(FlowTableOptions options, EndFn on_end)
    : options_(options), on_end_(std::move(on_end)) {
  uint32_t n = 1;
  while (n < options_.hash_size) n <<= 1;
  buckets_.assign(n, nullptr);
  max_flows_ = std::max<uint64_t>(16, options_.memcap / kFlowCost);
  id_seed_ =
      mix64(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
}

FlowTable::~FlowTable() = default;

int FlowTable::timeout_class(const Flow& f) const {
  int proto = f.proto == ip_proto::kTcp                                      ? 0
              : f.proto == ip_proto::kUdp                                    ? 1
              : (f.proto == ip_proto::kIcmp || f.proto == ip_proto::kIcmpv6) ? 2
                                                                             : 3;
  int state = 0;
  if (f.proto == ip_proto::kTcp &&
      (f.tcp_state >= TcpState::kTimeWait || f.tcp_state == TcpState::kClosed))
    state = 2;
  else if (f.established())
    state = 1;
  return proto * 3 + state;
}

int64_t FlowTable::timeout_us(int cls) const {
  const FlowTimeouts* t = &options_.other;
  switch (cls / 3) {
    case 0:
      t = &options_.tcp;
      break;
    case 1:
      t = &options_.udp;
      break;
    case 2:
      t = &options_.icmp;
      break;
    default:
      break;
  }
  int64_t s = cls % 3 == 0 ? t->new_s : cls % 3 == 1 ? t->established_s : t->closed_s;
  return s * 1'000'000;
}

void FlowTable::unlink_lru(FlowEntry* e) {
  if (e->cls < 0) return;
  if (e->prev)
    e->prev->next = e->next;
  else
    lru_head_[e->cls] = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    lru_tail_[e->cls] = e->prev;
  e->prev = e->next = nullptr;
  e->cls = -1;
}

void FlowTable::relist(FlowEntry* e) {
  int cls = timeout_class(e->flow);
  if (e->cls == cls && lru_head_[cls] == e) return;
  unlink_lru(e);
  e->cls = cls;
  e->next = lru_head_[cls];
  if (e->next)
    e->next->prev = e;
  else
    lru_tail_[cls] = e;
  lru_head_[cls] = e;
}

FlowEntry* FlowTable::find(const Packet& p, uint64_t hash, bool& reversed) {
  for (FlowEntry* e = buckets_[hash & (buckets_.size() - 1)]; e; e = e->hnext) {
    if (e->hash != hash) continue;
    const Flow& f = e->flow;
    if (f.proto != p.proto || f.vlan[0] != p.vlan[0] || f.vlan[1] != p.vlan[1] ||
        f.vlan[2] != p.vlan[2] ||
        (options_.tunnel_depth_in_key && f.tunnel_depth != p.tunnel_depth))
      continue;
    if (f.client_ip == p.src_ip && f.server_ip == p.dst_ip && f.client_port == p.src_port &&
        f.server_port == p.dst_port) {
      reversed = false;
      return e;
    }
    if (f.client_ip == p.dst_ip && f.server_ip == p.src_ip && f.client_port == p.dst_port &&
        f.server_port == p.src_port) {
      reversed = true;
      return e;
    }
  }
  return nullptr;
}

FlowEntry* FlowTable::allocate(core::Timestamp now) {
  (void)now;
  if (free_) {
    FlowEntry* e = free_;
    free_ = e->hnext;
    e->hnext = nullptr;
    return e;
  }
  if (pool_.size() < max_flows_) {
    pool_.push_back(std::make_unique<FlowEntry>());
    FlowEntry* e = pool_.back().get();
    return e;
  }
  // Full: evict the least recently used flow, closed ones first, then new, then established.
  ++stats_.memcap;
  for (int state : {2, 0, 1}) {
    FlowEntry* victim = nullptr;
    for (int proto = 0; proto < 4; ++proto) {
      FlowEntry* t = lru_tail_[proto * 3 + state];
      if (t && (!victim || t->flow.last < victim->flow.last)) victim = t;
    }
    if (victim) {
      ++stats_.evicted;
      retire(victim, FlowEndReason::kForced);
      FlowEntry* e = free_;
      free_ = e->hnext;
      e->hnext = nullptr;
      return e;
    }
  }
  return nullptr;
}

void FlowTable::retire(FlowEntry* e, FlowEndReason reason) {
  if (on_end_) on_end_(e->flow, reason);
  // Unlink from the hash chain.
  FlowEntry** pp = &buckets_[e->hash & (buckets_.size() - 1)];
  while (*pp && *pp != e) pp = &(*pp)->hnext;
  if (*pp) *pp = e->hnext;
  unlink_lru(e);
  // Reset the flow for reuse, keeping the internals' buffers.
  Flow& f = e->flow;
  for (unsigned s = 0; s < kMaxDetectorSlots; ++s) f.set_state(s, nullptr);
  std::unique_ptr<FlowInternals> keep = std::move(f.internals);
  f.~Flow();
  new (&f) Flow();
  f.internals = std::move(keep);
  if (f.internals) f.internals->reset();
  e->in_use = false;
  e->hnext = free_;
  free_ = e;
  --stats_.active;
}

Flow* FlowTable::update(Packet& p) {
  uint64_t hash = flow_hash(p);
  bool reversed = false;
  FlowEntry* e = find(p, hash, reversed);
  if (e && p.proto == ip_proto::kTcp &&
      (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn &&
      (e->flow.tcp_state == TcpState::kClosed || e->flow.tcp_state == TcpState::kTimeWait ||
       e->flow.tcp_state == TcpState::kLastAck)) {
    // A new SYN on a closed connection: the port pair is reused for a new session.
    ++stats_.reused;
    retire(e, FlowEndReason::kForced);
    e = nullptr;
  }
  if (!e) {
    e = allocate(p.timestamp);
    if (!e) return nullptr;
    e->in_use = true;
    e->hash = hash;
    e->hnext = buckets_[hash & (buckets_.size() - 1)];
    buckets_[hash & (buckets_.size() - 1)] = e;
    Flow& f = e->flow;
    if (!f.internals) {
      f.internals = std::make_unique<FlowInternals>();
      f.internals->entry = e;
    }
    // A first packet that is a SYN/ACK was sent by the server: the flow belongs to the peer.
    bool from_server =
        p.proto == ip_proto::kTcp &&
        (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == (tcp_flag::kSyn | tcp_flag::kAck);
    f.client_ip = from_server ? p.dst_ip : p.src_ip;
    f.server_ip = from_server ? p.src_ip : p.dst_ip;
    f.client_port = from_server ? p.dst_port : p.src_port;
    f.server_port = from_server ? p.src_port : p.dst_port;
    reversed = from_server;
    f.proto = p.proto;
    f.vlan[0] = p.vlan[0];
    f.vlan[1] = p.vlan[1];
    f.vlan[2] = p.vlan[2];
    f.vlan_count = p.vlan_count;
    f.tunnel_depth = p.tunnel_depth;
    f.start = p.timestamp;
    f.last = p.timestamp;
    uint64_t id =
        mix64(hash ^ id_seed_ ^ static_cast<uint64_t>(p.timestamp.micros)) & ((1ull << 51) - 1);
    f.id = id ? id : 1;
    ++stats_.created;
    ++(p.proto == ip_proto::kTcp                                      ? stats_.tcp
       : p.proto == ip_proto::kUdp                                    ? stats_.udp
       : (p.proto == ip_proto::kIcmp || p.proto == ip_proto::kIcmpv6) ? stats_.icmp
                                                                      : stats_.other);
    if (++stats_.active > stats_.max_active) stats_.max_active = stats_.active;
    if (p.proto == ip_proto::kTcp) {
      bool syn_only = (p.tcp_flags & (tcp_flag::kSyn | tcp_flag::kAck)) == tcp_flag::kSyn;
      if (syn_only) {
        f.tcp_state = TcpState::kSynSent;
        f.internals->stream_tracked = true;
      } else if (from_server) {
        f.tcp_state = TcpState::kSynRecv;
        f.internals->stream_tracked = true;
      } else if (options_.midstream) {
        f.midstream = true;
        f.tcp_state = TcpState::kEstablished;
        f.set_established();
        f.internals->stream_tracked = true;
      }
    }
  }
  Flow& f = e->flow;
  Direction dir = reversed ? Direction::kToClient : Direction::kToServer;
  int d = static_cast<int>(dir);
  p.flow = &f;
  p.direction = dir;
  f.last = p.timestamp;
  if (f.pkts[d] == 0 && (p.proto == ip_proto::kIcmp || p.proto == ip_proto::kIcmpv6)) {
    f.icmp_type[d] = p.icmp_type;
    f.icmp_code[d] = p.icmp_code;
  }
  ++f.pkts[d];
  f.bytes[d] += p.wire_length;
  if (p.proto == ip_proto::kTcp) {
    uint8_t fl = p.tcp_flags;
    f.tcp_flags[d] |= fl;
    if (fl & tcp_flag::kRst) {
      f.tcp_state = TcpState::kClosed;
    } else {
      switch (f.tcp_state) {
        case TcpState::kSynSent:
          if (dir == Direction::kToClient && (fl & tcp_flag::kSyn) && (fl & tcp_flag::kAck))
            f.tcp_state = TcpState::kSynRecv;
          break;
        case TcpState::kSynRecv:
          if (dir == Direction::kToServer && (fl & tcp_flag::kAck) && !(fl & tcp_flag::kSyn)) {
            f.tcp_state = TcpState::kEstablished;
            f.set_established();
          }
          break;
        case TcpState::kEstablished:
          if (fl & tcp_flag::kFin)
            f.tcp_state = dir == Direction::kToServer ? TcpState::kFinWait1 : TcpState::kCloseWait;
          break;
        case TcpState::kFinWait1:
        case TcpState::kFinWait2:
          if (dir == Direction::kToClient && (fl & tcp_flag::kFin))
            f.tcp_state = TcpState::kTimeWait;
          else if (dir == Direction::kToClient && (fl & tcp_flag::kAck))
            f.tcp_state = TcpState::kFinWait2;
          break;
        case TcpState::kCloseWait:
          if (dir == Direction::kToServer && (fl & tcp_flag::kFin))
            f.tcp_state = TcpState::kLastAck;
          break;
        case TcpState::kTimeWait:
        case TcpState::kLastAck:
          if (fl & tcp_flag::kAck) f.tcp_state = TcpState::kClosed;
          break;
        default:
          break;
      }
    }
  } else if (dir == Direction::kToClient && !f.established()) {
    f.set_established();
  }
  relist(e);
  return &f;
}

void FlowTable::expire(core::Timestamp now) {
  for (int cls = 0; cls < kClasses; ++cls) {
    int64_t t = timeout_us(cls);
    while (FlowEntry* e = lru_tail_[cls]) {
      if (now.micros - e->flow.last.micros <= t) break;
      ++stats_.timeouts;
      retire(e, FlowEndReason::kTimeout);
    }
  }
}

void FlowTable::shutdown() {
  for (int cls = 0; cls < kClasses; ++cls)
    while (FlowEntry* e = lru_tail_[cls]) retire(e, FlowEndReason::kShutdown);
}

}  // namespace mimamori::net
