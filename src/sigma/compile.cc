// Compiling a loaded rule set: correlation references resolved, one Vectorscan database per
// distinct field pattern list (kept in the on-disk cache), and which variants a pattern gates.

#include <unordered_map>

#include "mimamori/match/database_cache.h"
#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

// Three-valued evaluation with every pattern test false and every other test unknown: when the
// condition is then certainly false, the variant can only fire after a pattern matched.
enum class Tri : uint8_t { kFalse, kTrue, kUnknown };

Tri tri_not(Tri t) { return t == Tri::kUnknown ? t : t == Tri::kTrue ? Tri::kFalse : Tri::kTrue; }

Tri tri_item(const Item& item) {
  bool all = item.all;
  Tri acc = all ? Tri::kTrue : Tri::kFalse;
  for (const auto& t : item.tests) {
    Tri v = t.op == ValueTest::kPattern ? Tri::kFalse : Tri::kUnknown;
    if (all) {
      if (v == Tri::kFalse) return Tri::kFalse;
      if (v == Tri::kUnknown) acc = Tri::kUnknown;
    } else {
      if (v == Tri::kTrue) return Tri::kTrue;
      if (v == Tri::kUnknown) acc = Tri::kUnknown;
    }
  }
  return acc;
}

Tri tri_eval(const Variant& v, uint32_t node) {
  const CondNode& n = v.nodes[node];
  switch (n.kind) {
    case CondNode::kConst:
      return n.value ? Tri::kTrue : Tri::kFalse;
    case CondNode::kNot:
      return tri_not(tri_eval(v, n.kids[0]));
    case CondNode::kAnd: {
      Tri acc = Tri::kTrue;
      for (uint32_t k : n.kids) {
        Tri t = tri_eval(v, k);
        if (t == Tri::kFalse) return Tri::kFalse;
        if (t == Tri::kUnknown) acc = Tri::kUnknown;
      }
      return acc;
    }
    case CondNode::kOr: {
      Tri acc = Tri::kFalse;
      for (uint32_t k : n.kids) {
        Tri t = tri_eval(v, k);
        if (t == Tri::kTrue) return Tri::kTrue;
        if (t == Tri::kUnknown) acc = Tri::kUnknown;
      }
      return acc;
    }
    case CondNode::kSelection: {
      Tri acc = Tri::kFalse;
      for (const auto& group : v.selections[n.selection].groups) {
        Tri g = Tri::kTrue;
        for (uint32_t i : group) {
          Tri t = tri_item(v.items[i]);
          if (t == Tri::kFalse) {
            g = Tri::kFalse;
            break;
          }
          if (t == Tri::kUnknown) g = Tri::kUnknown;
        }
        if (g == Tri::kTrue) return Tri::kTrue;
        if (g == Tri::kUnknown) acc = Tri::kUnknown;
      }
      return acc;
    }
  }
  return Tri::kUnknown;
}

bool needs_pattern(const Variant& v) { return tri_eval(v, v.root) == Tri::kFalse; }

}  // namespace

std::pair<std::size_t, std::size_t> RuleSet::cache_use() const {
  return {impl_->cache_hits, impl_->cache_misses};
}

core::Status RuleSet::compile(const std::string& cache_dir) {
  Impl& impl = *impl_;
  if (impl.compiled) return {};
  // Resolve correlation references (by name or id).
  for (auto& c : impl.correlations) {
    for (const auto& ref : c.rule_refs) {
      bool found = false;
      for (uint32_t i = 0; i < impl.rules.size(); ++i) {
        if (impl.rules[i].correlation) continue;
        if (impl.rules[i].name == ref || impl.rules[i].id == ref) {
          c.rules.push_back(i);
          if (!c.generate) impl.rules[i].generate = false;
          found = true;
        }
      }
      if (!found)
        impl.errors.push_back(LoadError{impl.rules[c.rule].file,
                                        fmt::format("correlation '{}' names unknown rule '{}'",
                                                    impl.rules[c.rule].title, ref)});
    }
  }
  // The databases depend only on their patterns, so they are kept on disk between runs.
  match::DatabaseCache cache(cache_dir, "sigma cache");
  std::unordered_map<std::string, uint32_t> by_content;
  for (auto& b : impl.buckets) {
    for (auto& [field, pend] : b.pending) {
      if (pend.empty()) continue;
      FieldDb db;
      db.field = field;
      std::string key;
      for (const auto& p : pend) {
        db.ids.push_back(p.id);
        key += p.expression;
        key += p.caseless ? "\x01" : "\x02";
        key += p.at_end ? "\x01" : "\x02";
      }
      if (auto it = by_content.find(key); it != by_content.end()) {
        db.set = it->second;
      } else {
        std::vector<match::Pattern> pats;
        pats.reserve(pend.size());
        for (uint32_t i = 0; i < pend.size(); ++i) {
          match::Pattern mp;
          mp.id = i;
          mp.expression = pend[i].expression;
          mp.kind = match::Pattern::Kind::kRegex;
          mp.caseless = pend[i].caseless;
          // End-anchored patterns report every end, so that the one at the value's end is seen.
          mp.single_match = !pend[i].at_end;
          pats.push_back(std::move(mp));
        }
        auto set = cache.compile(pats);
        impl.cache_hits = cache.hits();
        impl.cache_misses = cache.misses();
        if (!set.ok()) return core::make_error("field '{}': {}", field, set.error().message);
        db.set = static_cast<uint32_t>(impl.sets.size());
        impl.sets.push_back(std::move(*set));
        by_content.emplace(std::move(key), db.set);
      }
      b.dbs.push_back(std::move(db));
    }
    b.pending.clear();
  }
  // Gating: which variants need a pattern match to fire at all.
  impl.pattern_variants.assign(impl.pattern_count, {});
  for (auto& b : impl.buckets) {
    for (uint32_t i = 0; i < b.dbs.size(); ++i) {
      if (b.dbs[i].field.empty())
        b.keyword_db = static_cast<int>(i);
      else
        b.db_index.emplace(b.dbs[i].field, i);
    }
    for (uint32_t vi : b.variants) {
      const Variant& v = impl.variants[vi];
      if (!needs_pattern(v)) {
        b.ungated.push_back(vi);
        continue;
      }
      for (const auto& item : v.items)
        for (const auto& t : item.tests)
          if (t.op == ValueTest::kPattern) {
            auto& list = impl.pattern_variants[t.pattern];
            if (list.empty() || list.back() != vi) list.push_back(vi);
          }
    }
  }
  impl.compiled = true;
  return {};
}

}  // namespace mimamori::sigma
