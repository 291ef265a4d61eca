#include "seam.h"

#include <algorithm>
#include <tuple>

namespace mimamori::net::rules {

SeamIndex SeamIndex::build(const std::vector<match::Pattern>& patterns) {
  SeamIndex x;
  x.pairs_.assign(65536 / 64, 0);
  std::size_t longest = 0;
  std::vector<std::pair<Entry, Split>> raw;
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
      uint64_t around = 0, mask = 0;
      for (std::size_t i = 0; i < 8; ++i) {
        std::size_t pos = k + i;  // pattern index of seam offset i - 4, plus 4
        if (pos < 4 || pos - 4 >= len) continue;
        around |= uint64_t(at(pos - 4)) << (8 * i);
        mask |= uint64_t(0xff) << (8 * i);
      }
      raw.push_back({{around, mask, key, s, 0, 0}, {pattern, static_cast<uint32_t>(k)}});
      uint32_t pair = SeamIndex::key(at(k - 1), at(k));
      x.pairs_[pair >> 6] |= uint64_t(1) << (pair & 63);
    }
  }
  // Equal contexts together, then about two buckets per context: most lookups of a seam's
  // bytes find an empty bucket.
  auto same = [](const Entry& a, const Entry& b) {
    return a.key == b.key && a.shape == b.shape && a.around == b.around && a.mask == b.mask;
  };
  std::sort(raw.begin(), raw.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.key, a.first.shape, a.first.around, a.first.mask, a.second.pattern,
                    a.second.before) < std::tie(b.first.key, b.first.shape, b.first.around,
                                                b.first.mask, b.second.pattern, b.second.before);
  });
  std::vector<Entry> entries;
  for (const auto& [e, split] : raw) {
    if (entries.empty() || !same(entries.back(), e)) {
      entries.push_back(e);
      entries.back().first = static_cast<uint32_t>(x.splits_.size());
    }
    ++entries.back().count;
    x.splits_.push_back(split);
  }
  while ((std::size_t(1) << x.bucket_bits_) < 2 * entries.size() && x.bucket_bits_ < 24)
    ++x.bucket_bits_;
  std::vector<uint32_t> of(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i)
    of[i] = x.bucket(entries[i].shape, entries[i].key);
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&of](std::size_t a, std::size_t b) { return of[a] < of[b]; });
  x.keys_.assign((std::size_t(1) << kKeyBits) / 64, 0);
  for (const auto& e : entries) {
    auto bit = static_cast<uint32_t>(hash(e.shape, e.key) >> (64 - kKeyBits));
    x.keys_[bit >> 6] |= uint64_t(1) << (bit & 63);
  }
  x.heads_.assign((std::size_t(1) << x.bucket_bits_) + 1, 0);
  for (std::size_t i : order) {
    x.entries_.push_back(entries[i]);
    ++x.heads_[of[i] + 1];
  }
  for (std::size_t b = 1; b < x.heads_.size(); ++b) x.heads_[b] += x.heads_[b - 1];
  x.overlap_ = std::min(longest ? longest - 1 : 0, kMaxOverlap);
  return x;
}

bool SeamIndex::verify(const Split& e, std::string_view tail, std::string_view next) const {
  const Literal& p = patterns_[e.pattern];
  std::size_t before = e.before, after = p.bytes.size() - e.before;
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
