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
    if (tail.empty() || next.empty() || count_ == 0) return;
    auto t = [&](std::size_t i) { return fold(tail[tail.size() - i]); };
    auto n = [&](std::size_t i) { return fold(next[i]); };
    // Both sides of the seam: the pair, the triples and the 4-gram around it.
    lookup(Shape::kPair, key(t(1), n(0)), tail, next, on_match);
    if (next.size() >= 2) lookup(Shape::kFirst, key(t(1), n(0), n(1)), tail, next, on_match);
    if (tail.size() >= 2) lookup(Shape::kLast, key(t(2), t(1), n(0)), tail, next, on_match);
    if (tail.size() >= 2 && next.size() >= 2)
      lookup(Shape::kInner, key(t(2), t(1), n(0), n(1)), tail, next, on_match);
  }

 private:
  // How a split of a pattern is keyed: by the bytes around the seam that it surely has.
  enum class Shape : uint8_t {
    kPair,   // a 2-byte pattern: its two bytes
    kFirst,  // 1 byte before the seam, >= 2 after: its first three bytes
    kLast,   // >= 2 bytes before, 1 after: its last three bytes
    kInner,  // >= 2 bytes on each side: the two before and the two after the seam
  };
  struct Entry {
    uint32_t key;      // Shape in the top byte, the folded bytes below
    uint32_t pattern;  // index into patterns_
    uint16_t split;    // bytes of the pattern before the seam
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
  // One bit per hashed (shape, key): most seams are ruled out here without a search.
  static uint32_t bit(Shape s, uint32_t k) {
    uint64_t x = (uint64_t(s) << 32 | k) * 0x9E3779B97F4A7C15ull;
    return static_cast<uint32_t>(x >> (64 - kBits));
  }
  bool verify(const Entry& e, std::string_view tail, std::string_view next) const;
  const Entry* lower(Shape s, uint32_t k, const Entry* end) const;

  template <class F>
  void lookup(Shape s, uint32_t k, std::string_view tail, std::string_view next,
              F& on_match) const {
    uint32_t b = bit(s, k);
    if (!((bits_[b >> 6] >> (b & 63)) & 1)) return;
    const auto& list = shapes_[static_cast<std::size_t>(s)];
    const Entry* end = list.data() + list.size();
    for (const Entry* e = lower(s, k, end); e != end && e->key == k; ++e) {
      if (verify(*e, tail, next)) on_match(patterns_[e->pattern].id);
    }
  }

  static constexpr unsigned kBits = 18;
  std::size_t overlap_ = 0;
  std::size_t count_ = 0;  // entries in all shapes
  std::vector<Literal> patterns_;
  std::vector<std::vector<Entry>> shapes_;  // per Shape, sorted by key
  std::vector<uint64_t> bits_;              // 2^kBits bits
};

}  // namespace mimamori::net::rules
