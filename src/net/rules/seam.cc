#include "seam.h"

#include <algorithm>

namespace mimamori::net::rules {

SeamIndex SeamIndex::build(const std::vector<match::Pattern>& patterns) {
  SeamIndex x;
  x.shapes_.resize(4);
  x.bits_.assign((std::size_t(1) << kBits) / 64, 0);
  std::size_t longest = 0;
  for (const auto& p : patterns) {
    // The rule engine's fast patterns are literals; anything else cannot be split by bytes.
    if (p.kind != match::Pattern::Kind::kLiteral || p.expression.size() < 2) continue;
    const std::string& b = p.expression;
    std::size_t len = b.size();
    longest = std::max(longest, len);
    auto at = [&b](std::size_t i) { return fold(b[i]); };
    auto pattern = static_cast<uint32_t>(x.patterns_.size());
    x.patterns_.push_back({b, p.id, p.caseless});
    for (std::size_t k = 1; k < len && k <= kMaxOverlap; ++k) {
      Shape s;
      uint32_t key;
      if (len == 2) {
        s = Shape::kPair, key = SeamIndex::key(at(0), at(1));
      } else if (k == 1) {
        s = Shape::kFirst, key = SeamIndex::key(at(0), at(1), at(2));
      } else if (k == len - 1) {
        s = Shape::kLast, key = SeamIndex::key(at(len - 3), at(len - 2), at(len - 1));
      } else {
        s = Shape::kInner, key = SeamIndex::key(at(k - 2), at(k - 1), at(k), at(k + 1));
      }
      x.shapes_[static_cast<std::size_t>(s)].push_back({key, pattern, static_cast<uint16_t>(k)});
      uint32_t i = bit(s, key);
      x.bits_[i >> 6] |= uint64_t(1) << (i & 63);
      ++x.count_;
    }
  }
  for (auto& list : x.shapes_) {
    std::sort(list.begin(), list.end(), [](const Entry& a, const Entry& b) {
      return a.key != b.key ? a.key < b.key : a.pattern < b.pattern;
    });
  }
  x.overlap_ = std::min(longest ? longest - 1 : 0, kMaxOverlap);
  return x;
}

const SeamIndex::Entry* SeamIndex::lower(Shape s, uint32_t k, const Entry* end) const {
  const auto& list = shapes_[static_cast<std::size_t>(s)];
  return std::lower_bound(list.data(), end, k,
                          [](const Entry& e, uint32_t key) { return e.key < key; });
}

bool SeamIndex::verify(const Entry& e, std::string_view tail, std::string_view next) const {
  const Literal& p = patterns_[e.pattern];
  std::size_t before = e.split, after = p.bytes.size() - e.split;
  if (before > tail.size() || after > next.size()) return false;
  std::string_view a = tail.substr(tail.size() - before), b = next.substr(0, after);
  auto same = [&p](std::string_view data, std::size_t from) {
    for (std::size_t i = 0; i < data.size(); ++i) {
      char want = p.bytes[from + i];
      if (p.caseless ? fold(data[i]) != fold(want) : data[i] != want) return false;
    }
    return true;
  };
  return same(a, 0) && same(b, before);
}

}  // namespace mimamori::net::rules
