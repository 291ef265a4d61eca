// Matching one event: pick the buckets of its channel and event ID, scan each field once with
// the bucket's database for that field, then evaluate the candidate rules' conditions.

#include <charconv>
#include <cstring>

#include "mimamori/core/text.h"
#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

std::optional<double> as_number(std::string_view s) {
  double d = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    uint64_t u = 0;
    auto r = std::from_chars(s.data() + 2, s.data() + s.size(), u, 16);
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
    return static_cast<double>(u);
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

bool in_network(std::string_view text, const core::IpAddress& net, int prefix) {
  auto ip = core::IpAddress::parse(text);
  if (!ip.ok() || ip->family() != net.family()) return false;
  const auto& a = ip->bytes();
  const auto& b = net.bytes();
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.data(), b.data(), static_cast<std::size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool ref_compare(std::string_view v, std::string_view o, uint8_t mode, bool cased) {
  auto eq = [&](std::string_view x, std::string_view y) {
    return cased ? x == y : core::iequals(x, y);
  };
  switch (mode) {
    case 0:
      return eq(v, o);
    case 2:
      return v.size() >= o.size() && eq(v.substr(0, o.size()), o);
    case 3:
      return v.size() >= o.size() && eq(v.substr(v.size() - o.size()), o);
    default:
      if (o.size() > v.size()) return false;
      for (std::size_t i = 0; i + o.size() <= v.size(); ++i)
        if (eq(v.substr(i, o.size()), o)) return true;
      return false;
  }
}

}  // namespace

struct Matcher::State {
  const RuleSet::Impl& impl;
  match::PatternSet::Scratch scratch;
  std::vector<uint32_t> stamps;
  std::vector<uint32_t> rule_stamp;
  std::vector<uint32_t> variant_stamp;  // candidate already queued for this event
  std::vector<uint32_t> candidates;     // gated variants whose pattern matched
  uint32_t cur = 0;
  uint64_t value_size = 0;                           // of the value being scanned
  const std::vector<uint32_t>* local_ids = nullptr;  // of the database being scanned
  std::span<const FieldView> ev;
  std::vector<uint32_t> buckets;
  match::PatternSet::OnMatch on_match;

  explicit State(const RuleSet::Impl& i) : impl(i) {
    for (const auto& set : impl.sets) (void)set.prepare(scratch);
    stamps.assign(impl.pattern_count, 0);
    rule_stamp.assign(impl.rules.size(), 0);
    variant_stamp.assign(impl.variants.size(), 0);
    on_match = [this](uint32_t local, uint64_t end) {
      uint32_t id = (*local_ids)[local];
      if (stamps[id] == cur || (impl.at_end[id] && end != value_size)) return true;
      stamps[id] = cur;
      for (uint32_t v : impl.pattern_variants[id]) {
        if (variant_stamp[v] == cur) continue;
        variant_stamp[v] = cur;
        candidates.push_back(v);
      }
      return true;
    };
  }

  bool has_field(std::string_view name) const {
    for (const auto& f : ev)
      if (f.name == name) return true;
    return false;
  }

  template <class F>
  bool any_value(const std::string& field, F&& pred) const {
    for (const auto& f : ev)
      if ((field.empty() || f.name == field) && pred(f.value)) return true;
    return false;
  }

  bool test(const Item& item, const ValueTest& t) const {
    switch (t.op) {
      case ValueTest::kPattern:
        return stamps[t.pattern] == cur;
      case ValueTest::kEmpty:
        return any_value(item.field, [](std::string_view v) { return v.empty(); });
      case ValueTest::kAny:
        return item.field.empty() ? !ev.empty() : has_field(item.field);
      case ValueTest::kNull:
        return !any_value(item.field, [](std::string_view v) { return !v.empty(); });
      case ValueTest::kExists:
        return has_field(item.field) != t.negate;
      case ValueTest::kRegex: {
        const auto& rx = impl.regexes[t.regex];
        return any_value(item.field, [&](std::string_view v) { return rx.search(v); });
      }
      case ValueTest::kNumber:
        return any_value(item.field, [&](std::string_view v) {
          auto d = as_number(v);
          if (!d) return false;
          switch (t.cmp) {
            case '>':
              return *d > t.number;
            case 'G':
              return *d >= t.number;
            case '<':
              return *d < t.number;
            default:
              return *d <= t.number;
          }
        });
      case ValueTest::kCidr:
        return any_value(item.field,
                         [&](std::string_view v) { return in_network(v, t.net, t.prefix); });
      case ValueTest::kFieldRef:
        return any_value(item.field, [&](std::string_view v) {
          return any_value(
              t.other, [&](std::string_view o) { return ref_compare(v, o, t.ref_mode, t.cased); });
        });
    }
    return false;
  }

  bool eval_item(const Item& item) const {
    if (item.all) {
      for (const auto& t : item.tests)
        if (!test(item, t)) return false;
      return true;
    }
    for (const auto& t : item.tests)
      if (test(item, t)) return true;
    return false;
  }

  bool eval(const Variant& v, uint32_t node) const {
    const CondNode& n = v.nodes[node];
    switch (n.kind) {
      case CondNode::kConst:
        return n.value;
      case CondNode::kNot:
        return !eval(v, n.kids[0]);
      case CondNode::kAnd:
        for (uint32_t k : n.kids)
          if (!eval(v, k)) return false;
        return true;
      case CondNode::kOr:
        for (uint32_t k : n.kids)
          if (eval(v, k)) return true;
        return false;
      case CondNode::kSelection: {
        for (const auto& group : v.selections[n.selection].groups) {
          bool all = true;
          for (uint32_t i : group)
            if (!eval_item(v.items[i])) {
              all = false;
              break;
            }
          if (all) return true;
        }
        return false;
      }
    }
    return false;
  }

  void add_buckets(const std::vector<uint32_t>& list, std::string_view event_id) {
    for (uint32_t b : list) {
      const auto& ids = impl.buckets[b].event_ids;
      if (ids.empty()) {
        buckets.push_back(b);
        continue;
      }
      for (const auto& id : ids)
        if (id == event_id) {
          buckets.push_back(b);
          break;
        }
    }
  }
};

Matcher::Matcher(const RuleSet& rules) : s_(std::make_unique<State>(rules.impl())) {}
Matcher::~Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;

void Matcher::match(std::span<const FieldView> event, std::vector<uint32_t>& hits) {
  State& s = *s_;
  if (++s.cur == 0) {  // wrapped: forget old stamps
    std::fill(s.stamps.begin(), s.stamps.end(), 0);
    std::fill(s.rule_stamp.begin(), s.rule_stamp.end(), 0);
    std::fill(s.variant_stamp.begin(), s.variant_stamp.end(), 0);
    s.cur = 1;
  }
  s.ev = event;
  std::string_view channel, event_id;
  bool has_channel = false;
  for (const auto& f : event) {
    if (f.name == "Channel") {
      channel = f.value;
      has_channel = true;
    } else if (f.name == "EventID") {
      event_id = f.value;
    }
  }
  s.buckets.clear();
  if (has_channel) {
    char lower[256];
    std::size_t n = std::min(channel.size(), sizeof lower);
    for (std::size_t i = 0; i < n; ++i)
      lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(channel[i])));
    // Heterogeneous lookup is not available for this map in GCC 12: one small string per event.
    static thread_local std::string key;
    key.assign(lower, n);
    if (auto it = s.impl.by_channel.find(key); it != s.impl.by_channel.end())
      s.add_buckets(it->second, event_id);
  } else {
    s.add_buckets(s.impl.foreign, event_id);
  }
  s.add_buckets(s.impl.any_channel, event_id);

  s.candidates.clear();
  for (uint32_t b : s.buckets) {
    const Bucket& bucket = s.impl.buckets[b];
    for (const auto& f : event) {
      auto it = bucket.db_index.find(f.name);
      if (it == bucket.db_index.end()) continue;
      const FieldDb& db = bucket.dbs[it->second];
      s.local_ids = &db.ids;
      s.value_size = f.value.size();
      (void)s.impl.sets[db.set].scan(f.value, s.scratch, s.on_match);
    }
    if (bucket.keyword_db >= 0) {
      const FieldDb& db = bucket.dbs[static_cast<std::size_t>(bucket.keyword_db)];
      s.local_ids = &db.ids;
      for (const auto& f : event) {
        s.value_size = f.value.size();
        (void)s.impl.sets[db.set].scan(f.value, s.scratch, s.on_match);
      }
    }
  }
  auto consider = [&](uint32_t vi) {
    const Variant& v = s.impl.variants[vi];
    if (s.rule_stamp[v.rule] == s.cur) return;
    if (s.eval(v, v.root)) {
      s.rule_stamp[v.rule] = s.cur;
      hits.push_back(v.rule);
    }
  };
  for (uint32_t b : s.buckets)
    for (uint32_t vi : s.impl.buckets[b].ungated) consider(vi);
  for (std::size_t i = 0; i < s.candidates.size(); ++i) consider(s.candidates[i]);
}

}  // namespace mimamori::sigma
