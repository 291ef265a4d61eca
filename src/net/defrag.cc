#include "defrag.h"

#include <algorithm>
#include <cstring>

namespace mimamori::net {

bool Defragmenter::add(const Key& key, core::Timestamp now, std::string_view header,
                       uint32_t prefix, uint32_t offset, std::string_view payload, bool more,
                       std::string& out, uint32_t& out_prefix, DecodeStats& stats,
                       Anomaly& anomaly) {
  expire(now, stats);
  Tracker* t = find(key);
  if (!t) {
    t = allocate(key, stats);
    if (!t) {
      ++stats.frag_memcap;
      anomaly = Anomaly::kFragIgnored;
      return false;
    }
    t->key = key;
    t->first_seen = now;
    t->used = true;
    t->ranges.clear();
    t->header.clear();
    t->total = 0;
    t->fragments = 0;
  }
  t->last_seen = now;
  if (++t->fragments > max_frags_ || offset + payload.size() > 65535) {
    anomaly = offset + payload.size() > 65535 ? Anomaly::kFragTooLarge : Anomaly::kFragIgnored;
    release(*t);
    return false;
  }
  if (offset == 0) {
    t->header.assign(header);
    t->prefix = prefix;
  }
  if (!more) t->total = offset + static_cast<uint32_t>(payload.size());
  if (t->data.size() < offset + payload.size()) t->data.resize(offset + payload.size());
  // Copy only the bytes no earlier fragment covered (first wins).
  uint32_t begin = offset, end = offset + static_cast<uint32_t>(payload.size());
  bool overlap = false;
  std::vector<std::pair<uint32_t, uint32_t>>& r = t->ranges;
  uint32_t pos = begin;
  std::sort(r.begin(), r.end());
  for (auto [a, b] : r) {
    if (b <= pos || a >= end) continue;
    overlap = true;
    if (a > pos) std::memcpy(t->data.data() + pos, payload.data() + (pos - begin), a - pos);
    pos = std::max(pos, b);
    if (pos >= end) break;
  }
  if (pos < end) std::memcpy(t->data.data() + pos, payload.data() + (pos - begin), end - pos);
  r.emplace_back(begin, end);
  if (overlap) {
    ++stats.frag_overlaps;
    anomaly = Anomaly::kFragOverlap;
  }
  if (t->total == 0 || t->header.empty()) return false;
  // Complete when the ranges cover [0, total) without holes.
  std::sort(r.begin(), r.end());
  uint32_t covered = 0;
  for (auto [a, b] : r) {
    if (a > covered) return false;
    covered = std::max(covered, b);
  }
  if (covered < t->total) return false;
  out.assign(t->header);
  out.append(t->data.data(), t->total);
  out_prefix = t->prefix;
  release(*t);
  ++stats.frag_reassembled;
  return true;
}

uint64_t Defragmenter::key_hash(const Key& k) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](const uint8_t* b, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  mix(k.src.bytes().data(), 16);
  mix(k.dst.bytes().data(), 16);
  h = (h ^ k.id) * 1099511628211ull;
  return (h ^ k.proto) * 1099511628211ull;
}

Defragmenter::Tracker* Defragmenter::find(const Key& k) {
  uint64_t h = key_hash(k);
  auto [a, b] = index_.equal_range(h);
  for (auto it = a; it != b; ++it) {
    Tracker& t = pool_[it->second];
    if (t.used && t.key == k) return &t;
  }
  return nullptr;
}

Defragmenter::Tracker* Defragmenter::allocate(const Key& k, DecodeStats& stats) {
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else if (pool_.size() < max_trackers_) {
    pool_.emplace_back();
    idx = static_cast<uint32_t>(pool_.size() - 1);
  } else {
    // Full: the oldest datagram still waiting gives way (counted as a memcap hit).
    while (!order_.empty()) {
      auto [old, gen] = order_.front();
      order_.pop_front();
      if (pool_[old].used && pool_[old].generation == gen) {
        release(pool_[old]);
        ++stats.frag_memcap;
        break;
      }
    }
    if (free_.empty()) return nullptr;
    idx = free_.back();
    free_.pop_back();
  }
  Tracker& t = pool_[idx];
  t.idx = idx;
  t.hash = key_hash(k);
  t.generation = ++generation_;
  index_.emplace(t.hash, idx);
  order_.emplace_back(idx, t.generation);
  return &t;
}

void Defragmenter::release(Tracker& t) {
  if (!t.used) return;
  t.used = false;
  t.data.clear();
  uint32_t idx = t.idx;
  auto [a, b] = index_.equal_range(t.hash);
  for (auto it = a; it != b; ++it)
    if (it->second == idx) {
      index_.erase(it);
      break;
    }
  free_.push_back(idx);
}

void Defragmenter::expire(core::Timestamp now, DecodeStats& stats) {
  if (now.micros - last_sweep_.micros < 1'000'000 && now >= last_sweep_) return;
  last_sweep_ = now;
  while (!order_.empty()) {
    auto [idx, gen] = order_.front();
    Tracker& t = pool_[idx];
    if (t.used && t.generation == gen && now.micros - t.first_seen.micros <= timeout_us_) break;
    order_.pop_front();
    if (t.used && t.generation == gen) {
      release(t);
      ++stats.frag_timeouts;
    }
  }
}

}  // namespace mimamori::net
