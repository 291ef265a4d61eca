#include "evaluate.h"

#include <algorithm>
#include <cstring>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace mimamori::net::rules {

namespace {

// Each relative backtrack step counts; a pathological rule/buffer pair stops here instead of
// running for exponential time (Suricata bounds its recursion the same way).
constexpr uint32_t kBacktrackBudget = 4096;

inline unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

inline bool equal_nocase(const char* a, const char* b, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k) {
    if (lower(static_cast<unsigned char>(a[k])) != lower(static_cast<unsigned char>(b[k]))) {
      return false;
    }
  }
  return true;
}

// First occurrence of `pat` in data[from, to) (the match must end by `to`), or npos.
// Caseless: candidates for the first byte are found 16 at a time by comparing (byte | 0x20),
// which folds ASCII letters (and a few other pairs, weeded out by the full comparison).
std::size_t find_in(std::string_view data, std::size_t from, std::size_t to, std::string_view pat,
                    bool nocase) {
  if (to > data.size()) to = data.size();
  if (from > to || pat.size() > to - from) return std::string_view::npos;
  const char* base = data.data();
  if (!nocase) {
    const void* p = memmem(base + from, to - from, pat.data(), pat.size());
    return p ? static_cast<std::size_t>(static_cast<const char*>(p) - base)
             : std::string_view::npos;
  }
  auto first = static_cast<unsigned char>(pat[0]);
  bool letter = lower(first) != first || (first >= 'a' && first <= 'z');
  std::size_t last = to - pat.size();  // last start position
  std::size_t i = from;
  if (!letter) {
    while (i <= last) {
      const void* hit = memchr(base + i, first, last - i + 1);
      if (!hit) return std::string_view::npos;
      i = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
      if (equal_nocase(base + i + 1, pat.data() + 1, pat.size() - 1)) return i;
      ++i;
    }
    return std::string_view::npos;
  }
#ifdef __SSE2__
  const __m128i want = _mm_set1_epi8(static_cast<char>(lower(first)));
  const __m128i fold = _mm_set1_epi8(0x20);
  while (i + 16 <= last + 1) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + i));
    unsigned mask =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(v, fold), want)));
    while (mask) {
      std::size_t j = i + static_cast<std::size_t>(__builtin_ctz(mask));
      if (equal_nocase(base + j, pat.data(), pat.size())) return j;
      mask &= mask - 1;
    }
    i += 16;
  }
#endif
  for (; i <= last; ++i) {
    if (lower(static_cast<unsigned char>(base[i])) == lower(first) &&
        equal_nocase(base + i, pat.data(), pat.size())) {
      return i;
    }
  }
  return std::string_view::npos;
}

// The byte count of a read: literal, or from a byte_extract variable (at most 8 binary bytes).
std::size_t nbytes_of(const ByteRead& r, const EvalScratch& es) {
  if (r.nbytes_var < 0) return r.nbytes;
  uint64_t n = es.vars[r.nbytes_var];
  return n > (r.string ? 32u : 8u) ? 0 : static_cast<std::size_t>(n);
}

int64_t value_of(int32_t literal, int8_t var, const EvalScratch& es) {
  return var >= 0 ? static_cast<int64_t>(es.vars[var]) : literal;
}

bool match_from(const std::vector<Inspection>& items, std::size_t i, std::string_view data,
                std::size_t prev_end, EvalScratch& es);

// True when item i+1 is a positive content placed relative to item i with no `within`: its
// window starts at (end of item i) + distance and ends at the buffer's end.
bool unbounded_relative_next(const std::vector<Inspection>& items, std::size_t i) {
  if (i + 1 >= items.size()) return false;
  const auto* n = std::get_if<Content>(&items[i + 1]);
  return n && !n->negated && !n->startswith && n->relative() && !n->has_within;
}

bool match_content(const Content& c, const std::vector<Inspection>& items, std::size_t i,
                   std::string_view data, std::size_t prev_end, EvalScratch& es) {
  int64_t size = static_cast<int64_t>(data.size());
  int64_t start = 0, end = size;
  if (c.startswith) {
    end = static_cast<int64_t>(c.bytes.size());
  } else if (c.relative()) {
    int64_t dist = c.has_distance ? value_of(c.distance, c.distance_var, es) : 0;
    start = static_cast<int64_t>(prev_end) + dist;
    if (c.has_within) end = start + value_of(c.within, c.within_var, es);
    if (start < 0) start = 0;
  } else {
    if (c.has_offset) start = value_of(c.offset, c.offset_var, es);
    if (c.has_depth) end = start + value_of(c.depth, c.depth_var, es);
  }
  if (end > size) end = size;
  auto len = static_cast<int64_t>(c.bytes.size());
  if (c.endswith) start = std::max(start, end - len);
  if (c.negated) {
    bool found = start <= end && end - start >= len &&
                 find_in(data, static_cast<std::size_t>(start), static_cast<std::size_t>(end),
                         c.bytes, c.nocase) != std::string_view::npos;
    if (found) return false;
    return match_from(items, i + 1, data, prev_end, es);
  }
  bool first = true;
  while (start <= end - len) {
    auto pos = find_in(data, static_cast<std::size_t>(start), static_cast<std::size_t>(end),
                       c.bytes, c.nocase);
    if (pos == std::string_view::npos) {
      if (first) es.not_found = i;
      return false;
    }
    first = false;
    if (c.endswith && static_cast<int64_t>(pos) + len != end) return false;
    es.not_found = SIZE_MAX;
    if (match_from(items, i + 1, data, pos + c.bytes.size(), es)) return true;
    if (++es.budget > kBacktrackBudget) return false;
    // The next check is a content relative to this one whose window ends where the buffer
    // does, and it occurs nowhere in that window: a later occurrence of this content only
    // moves the window's start forward, so it cannot succeed either. Without this stop, a body
    // with many occurrences of this content is searched to its end once per occurrence.
    if (es.not_found == i + 1 && unbounded_relative_next(items, i)) return false;
    // Only a later relative check can make another occurrence succeed; otherwise stop.
    bool later_relative = false;
    for (std::size_t k = i + 1; k < items.size(); ++k) {
      if (const auto* n = std::get_if<Content>(&items[k]))
        later_relative |= n->relative();
      else if (const auto* p = std::get_if<Pcre>(&items[k]))
        later_relative |= p->relative;
      else if (const auto* b = std::get_if<ByteTest>(&items[k]))
        later_relative |= b->read.relative;
      else if (const auto* j = std::get_if<ByteJump>(&items[k]))
        later_relative |= j->read.relative;
      else if (const auto* x = std::get_if<ByteExtract>(&items[k]))
        later_relative |= x->read.relative;
      else if (const auto* d = std::get_if<IsDataAt>(&items[k]))
        later_relative |= d->relative;
    }
    if (!later_relative) return false;
    start = static_cast<int64_t>(pos) + 1;
  }
  return false;
}

bool match_from(const std::vector<Inspection>& items, std::size_t i, std::string_view data,
                std::size_t prev_end, EvalScratch& es) {
  if (i == items.size()) return true;
  const auto& item = items[i];
  if (const auto* c = std::get_if<Content>(&item)) {
    return match_content(*c, items, i, data, prev_end, es);
  }
  if (const auto* p = std::get_if<Pcre>(&item)) {
    std::size_t from = p->relative ? prev_end : 0;
    std::size_t b = 0, e = 0;
    // Relative: the subject starts at the previous match, so `^` anchors there (as Suricata).
    bool found = from <= data.size() && p->regex->search(data.substr(from), 0, &b, &e);
    if (p->negated) return !found && match_from(items, i + 1, data, prev_end, es);
    if (!found) return false;
    return match_from(items, i + 1, data, from + e, es);
  }
  if (const auto* t = std::get_if<ByteTest>(&item)) {
    int64_t pos = value_of(t->read.offset, t->read.offset_var, es) +
                  (t->read.relative ? static_cast<int64_t>(prev_end) : 0);
    uint64_t v = 0;
    if (pos < 0 ||
        !read_number(t->read, data, static_cast<std::size_t>(pos), v, nbytes_of(t->read, es))) {
      return false;
    }
    uint64_t cmp = t->value_var >= 0 ? es.vars[t->value_var] : t->value;
    bool ok = false;
    switch (t->op) {
      case ByteTest::Op::kLt:
        ok = v < cmp;
        break;
      case ByteTest::Op::kGt:
        ok = v > cmp;
        break;
      case ByteTest::Op::kEq:
        ok = v == cmp;
        break;
      case ByteTest::Op::kLe:
        ok = v <= cmp;
        break;
      case ByteTest::Op::kGe:
        ok = v >= cmp;
        break;
      case ByteTest::Op::kAnd:
        ok = (v & cmp) != 0;
        break;
      case ByteTest::Op::kOr:
        ok = (v ^ cmp) != 0;
        break;
    }
    if (ok == t->negate) return false;
    return match_from(items, i + 1, data, prev_end, es);
  }
  if (const auto* j = std::get_if<ByteJump>(&item)) {
    // As Suricata: the bytes read must lie inside the buffer (a relative read of 0 bytes may
    // start at its end); a jump before the start lands on the start, one at or past the end
    // fails.
    auto size = static_cast<int64_t>(data.size());
    if (size == 0) return false;
    int64_t pos = value_of(j->read.offset, j->read.offset_var, es) +
                  (j->read.relative ? static_cast<int64_t>(prev_end) : 0);
    std::size_t nb = nbytes_of(j->read, es);
    if (j->read.nbytes_var >= 0 && nb == 0 && es.vars[j->read.nbytes_var] != 0) return false;
    if (pos < 0 || (j->read.relative && nb > 0 && pos >= size) ||
        static_cast<int64_t>(nb) > size - pos) {
      return false;
    }
    uint64_t v = 0;
    if (nb > 0 || j->read.string) {
      if (!read_number(j->read, data, static_cast<std::size_t>(pos), v, nb)) return false;
    }
    int64_t jump = static_cast<int64_t>(v) * j->multiplier;
    if (j->align && (jump % 4)) jump += 4 - (jump % 4);
    jump += j->post_offset;
    int64_t target = pos + static_cast<int64_t>(nb) + jump;
    if (j->from_beginning) target = jump;
    if (j->from_end) target = size + jump;
    if (target < 0) target = 0;
    if (target >= size) return false;
    return match_from(items, i + 1, data, static_cast<std::size_t>(target), es);
  }
  if (const auto* x = std::get_if<ByteExtract>(&item)) {
    int64_t pos = x->read.offset + (x->read.relative ? static_cast<int64_t>(prev_end) : 0);
    uint64_t v = 0;
    if (pos < 0 || !read_number(x->read, data, static_cast<std::size_t>(pos), v)) return false;
    v *= x->multiplier;
    es.vars[x->var] = v;
    return match_from(items, i + 1, data, static_cast<std::size_t>(pos) + x->read.nbytes, es);
  }
  if (const auto* d = std::get_if<IsDataAt>(&item)) {
    int64_t pos =
        value_of(d->offset, d->offset_var, es) + (d->relative ? static_cast<int64_t>(prev_end) : 0);
    bool there = pos >= 0 && pos < static_cast<int64_t>(data.size());
    if (d->relative && pos == static_cast<int64_t>(data.size()) && d->offset == 0) there = false;
    if (there == d->negated) return false;
    return match_from(items, i + 1, data, prev_end, es);
  }
  if (const auto* b = std::get_if<BufferSize>(&item)) {
    if (!b->range.check(data.size())) return false;
    return match_from(items, i + 1, data, prev_end, es);
  }
  return false;
}

}  // namespace

bool read_number(const ByteRead& r, std::string_view data, std::size_t pos, uint64_t& out) {
  return read_number(r, data, pos, out, r.nbytes);
}

bool read_number(const ByteRead& r, std::string_view data, std::size_t pos, uint64_t& out,
                 std::size_t n) {
  if (pos > data.size()) return false;
  if (r.string) {
    if (n == 0) {
      n = 0;
      while (pos + n < data.size() && n < 20 &&
             std::isxdigit(static_cast<unsigned char>(data[pos + n])))
        ++n;
      if (n == 0) return false;
    }
    if (pos + n > data.size()) return false;
    uint64_t v = 0;
    std::size_t used = 0;
    for (std::size_t k = 0; k < n; ++k) {
      char c = data[pos + k];
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        break;
      if (d >= r.base) break;
      v = v * r.base + static_cast<uint64_t>(d);
      ++used;
    }
    if (used == 0) return false;
    out = v;
  } else {
    if (n == 0 || n > 8 || pos + n > data.size()) return false;
    uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      auto byte = static_cast<unsigned char>(data[pos + (r.little ? n - 1 - k : k)]);
      v = (v << 8) | byte;
    }
    out = v;
  }
  if (r.bitmask) {
    out &= r.bitmask;
    uint64_t m = r.bitmask;
    while (m && !(m & 1)) {
      m >>= 1;
      out >>= 1;
    }
  }
  return true;
}

bool match_list(const BufferChecks& list, std::string_view data, EvalScratch& es) {
  if (list.dotprefix) {
    es.prefixed.assign(1, '.');
    es.prefixed.append(data);
    data = es.prefixed;
  }
  return match_from(list.items, 0, data, 0, es);
}

}  // namespace mimamori::net::rules
