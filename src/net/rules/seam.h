#pragma once
// SeamIndex: which stream fast patterns lie across the seam of two reassembled chunks (the
// end of one, the start of the next), found by looking the bytes around the seam up in an
// index of every way each pattern can be split, and comparing the candidates exactly. A
// pattern split across TCP segments lies in neither chunk alone, so the chunk scans cannot
// see it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mimamori/match/pattern_set.h"

namespace mimamori::net::rules {

class SeamIndex {
 public:
  /// Bound of the stream bytes kept per flow and direction: patterns split with more of
  /// their bytes before the seam than this are not found.
  static constexpr std::size_t kMaxOverlap = 255;

  /// From the literal stream-payload prefilter patterns of one direction.
  static SeamIndex build(const std::vector<match::Pattern>& patterns);

  /// The longest pattern less one byte (at most kMaxOverlap): the bytes of the previous chunk
  /// worth keeping.
  std::size_t overlap() const { return overlap_; }

  /// Calls `on_match(id)` for each pattern that occurs with its first k >= 1 bytes at the end
  /// of `tail` and the rest at the start of `next` (an id may be reported more than once).
  template <class F>
  void find(std::string_view tail, std::string_view next, F&& on_match) const {
    if (tail.empty() || next.empty() || entries_.empty()) return;
    auto t = [&](std::size_t i) { return fold(tail[tail.size() - i]); };
    auto n = [&](std::size_t i) { return fold(next[i]); };
    // Every split has its two bytes around the seam: most seams end here.
    uint32_t pair = key(t(1), n(0));
    if (!((pairs_[pair >> 6] >> (pair & 63)) & 1)) return;
    // The (folded) 8 bytes around the seam, byte i at seam offset i - 4; missing ones 0.
    uint64_t around = 0;
    for (std::size_t i = 1; i <= 4 && i <= tail.size(); ++i)
      around |= uint64_t(t(i)) << (8 * (4 - i));
    for (std::size_t i = 0; i < 4 && i < next.size(); ++i)
      around |= uint64_t(n(i)) << (8 * (4 + i));
    lookup(Shape::kPair, pair, around, tail, next, on_match);
    if (next.size() >= 2)
      lookup(Shape::kFirst, key(t(1), n(0), n(1)), around, tail, next, on_match);
    if (tail.size() >= 2) lookup(Shape::kLast, key(t(2), t(1), n(0)), around, tail, next, on_match);
    if (tail.size() >= 2 && next.size() >= 2)
      lookup(Shape::kInner, key(t(2), t(1), n(0), n(1)), around, tail, next, on_match);
  }

 private:
  // How a split of a pattern is keyed: by the bytes around the seam that it surely has.
  enum class Shape : uint8_t {
    kPair,   // a 2-byte pattern: its two bytes
    kFirst,  // 1 byte before the seam, >= 2 after: its first three bytes
    kLast,   // >= 2 bytes before, 1 after: its last three bytes
    kInner,  // >= 2 bytes on each side: the two before and the two after the seam
  };
  // The splits that share their shape, key and bytes near the seam (a run of one byte in a
  // pattern gives many) are looked at once.
  struct Entry {
    uint64_t around;  // the pattern's folded bytes at seam offsets -4..3 (see find)
    uint64_t mask;    // 0xff where the pattern has a byte at that offset
    uint32_t key;     // the folded bytes around the seam of its shape
    Shape shape;
    uint32_t first;  // its splits: splits_[first, first + count)
    uint32_t count;
  };
  struct Split {
    uint32_t pattern;  // index into patterns_
    uint32_t before;   // bytes of the pattern before the seam
  };
  struct Literal {
    std::string bytes;
    uint32_t id;
    bool caseless;
  };
  static unsigned char fold(char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 'A' && u <= 'Z' ? static_cast<unsigned char>(u + 32) : u;
  }
  static uint32_t key(unsigned char a, unsigned char b) { return (uint32_t(a) << 8) | b; }
  static uint32_t key(unsigned char a, unsigned char b, unsigned char c) {
    return (uint32_t(a) << 16) | (uint32_t(b) << 8) | c;
  }
  static uint32_t key(unsigned char a, unsigned char b, unsigned char c, unsigned char d) {
    return (uint32_t(a) << 24) | (uint32_t(b) << 16) | (uint32_t(c) << 8) | d;
  }
  static uint64_t hash(Shape s, uint32_t k) {
    return (uint64_t(s) << 32 | k) * 0x9E3779B97F4A7C15ull;
  }
  uint32_t bucket(Shape s, uint32_t k) const {
    return static_cast<uint32_t>(hash(s, k) >> (64 - bucket_bits_));
  }
  bool verify(const Split& e, std::string_view tail, std::string_view next) const;

  template <class F>
  void lookup(Shape s, uint32_t k, uint64_t around, std::string_view tail, std::string_view next,
              F& on_match) const {
    uint64_t h = hash(s, k);
    uint32_t bit = static_cast<uint32_t>(h >> (64 - kKeyBits));
    if (!((keys_[bit >> 6] >> (bit & 63)) & 1)) return;
    auto b = static_cast<uint32_t>(h >> (64 - bucket_bits_));
    for (uint32_t i = heads_[b], end = heads_[b + 1]; i < end; ++i) {
      const Entry& e = entries_[i];
      // Same key and the same bytes near the seam before the exact comparison.
      if (e.key != k || e.shape != s || (around & e.mask) != e.around) continue;
      for (uint32_t j = e.first; j < e.first + e.count; ++j) {
        if (verify(splits_[j], tail, next)) on_match(patterns_[splits_[j].pattern].id);
      }
    }
  }

  std::size_t overlap_ = 0;
  std::vector<Literal> patterns_;
  std::vector<uint64_t> pairs_;  // 65,536 bits: the folded byte pairs around every split
  // One bit per hashed (shape, key) present, in a bitmap small enough to stay in cache: most
  // lookups end here without touching the table.
  static constexpr unsigned kKeyBits = 18;
  std::vector<uint64_t> keys_;
  unsigned bucket_bits_ = 1;     // hash table of 2^bucket_bits_ buckets
  std::vector<uint32_t> heads_;  // bucket b's entries: [heads_[b], heads_[b + 1])
  std::vector<Entry> entries_;   // by bucket
  std::vector<Split> splits_;
};

}  // namespace mimamori::net::rules
