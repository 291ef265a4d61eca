// Binding a rule's detection to a bucket: items, value tests with their modifiers, patterns
// for the bucket's field databases, and the parsed conditions.

#include "detection.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "mimamori/core/text.h"

namespace mimamori::sigma {
namespace {

std::optional<std::string> value_of(const YAML::Node& n) {
  if (!n || n.IsNull()) return std::nullopt;
  if (!n.IsScalar()) fail("a detection value must be a scalar or a list of scalars");
  return n.Scalar();
}

std::vector<ItemSpec> parse_map(const YAML::Node& map) {
  std::vector<ItemSpec> out;
  for (const auto& kv : map) {
    std::string key = kv.first.Scalar();
    ItemSpec item;
    std::size_t bar = key.find('|');
    item.field = key.substr(0, bar);
    while (bar != std::string::npos) {
      std::size_t next = key.find('|', bar + 1);
      item.mods.push_back(
          key.substr(bar + 1, next == std::string::npos ? std::string::npos : next - bar - 1));
      bar = next;
    }
    const YAML::Node& v = kv.second;
    if (v.IsSequence()) {
      if (v.size() == 0) fail(fmt::format("'{}' has an empty list of values", key));
      for (const auto& e : v) item.values.push_back(value_of(e));
    } else if (v.IsMap()) {
      fail(fmt::format("'{}' has a map as value", key));
    } else {
      item.values.push_back(value_of(v));
    }
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace

SelectionSpec parse_selection(const std::string& name, const YAML::Node& node) {
  SelectionSpec sel{name, {}};
  if (node.IsMap()) {
    sel.groups.push_back(parse_map(node));
  } else if (node.IsSequence()) {
    std::vector<ItemSpec> keywords;
    ItemSpec kw;
    for (const auto& e : node) {
      if (e.IsMap()) {
        sel.groups.push_back(parse_map(e));
      } else if (e.IsScalar() || e.IsNull()) {
        kw.values.push_back(value_of(e));
      } else {
        fail(fmt::format("selection '{}' holds a nested list", name));
      }
    }
    if (!kw.values.empty()) {
      if (!sel.groups.empty()) fail(fmt::format("selection '{}' mixes maps and keywords", name));
      sel.groups.push_back({std::move(kw)});
    }
  } else {
    fail(fmt::format("selection '{}' is neither a map nor a list", name));
  }
  return sel;
}

bool parse_number(const std::string& s, double& out) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto r = std::from_chars(b, e, out);
  return r.ec == std::errc() && r.ptr == e;
}

namespace {

// Vectorscan expression text for literal bytes.
void append_literal(std::string& out, char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (std::isalnum(u) || u == '_' || u == ' ') {
    out.push_back(c);
  } else {
    out += fmt::format("\\x{:02x}", u);
  }
}

enum class Mode { kEquals, kContains, kStartsWith, kEndsWith };

class Compiler {
 public:
  Compiler(RuleSet::Impl& impl, const LoadOptions& options) : impl_(impl), options_(options) {}

  // Builds one variant of the rule for a bucket.
  Variant build(uint32_t rule, uint32_t bucket, const std::vector<SelectionSpec>& sels,
                const std::vector<std::string>& conditions, bool rename_4688) {
    Variant v;
    v.rule = rule;
    bucket_ = bucket;
    for (const auto& s : sels) {
      Selection out{s.name, {}};
      for (const auto& group : s.groups) {
        std::vector<uint32_t> items;
        for (const auto& spec : group) {
          Item item = build_item(spec, rename_4688);
          v.items.push_back(std::move(item));
          items.push_back(static_cast<uint32_t>(v.items.size() - 1));
        }
        out.groups.push_back(std::move(items));
      }
      v.selections.push_back(std::move(out));
    }
    std::vector<uint32_t> roots;
    for (const auto& c : conditions) {
      auto r = parse_condition(c, v.selections, v.nodes);
      if (!r.ok()) fail(r.error().message);
      roots.push_back(*r);
    }
    if (roots.size() == 1) {
      v.root = roots[0];
    } else {
      CondNode n{CondNode::kOr};
      n.kids = roots;
      v.nodes.push_back(std::move(n));
      v.root = static_cast<uint32_t>(v.nodes.size() - 1);
    }
    return v;
  }

 private:
  Item build_item(const ItemSpec& spec, bool rename_4688) {
    Item item;
    item.field = rename_4688 ? rename_for_4688(spec.field) : spec.field;
    Mode mode = Mode::kEquals;
    bool cased = false, wide = false, utf16be = false, utf16bom = false, b64 = false,
         b64off = false, windash = false, re = false, cidr = false, exists = false,
         fieldref = false, expand = false;
    char cmp = 0;
    match::RegexOptions ropt;
    for (const auto& m : spec.mods) {
      if (m == "contains")
        mode = Mode::kContains;
      else if (m == "startswith")
        mode = Mode::kStartsWith;
      else if (m == "endswith")
        mode = Mode::kEndsWith;
      else if (m == "all")
        item.all = true;
      else if (m == "cased")
        cased = true;
      else if (m == "wide" || m == "utf16le")
        wide = true;
      else if (m == "utf16be")
        utf16be = true;
      else if (m == "utf16")
        utf16bom = true;
      else if (m == "base64")
        b64 = true;
      else if (m == "base64offset")
        b64off = true;
      else if (m == "windash")
        windash = true;
      else if (m == "re")
        re = true;
      else if (m == "i")
        ropt.caseless = true;
      else if (m == "m")
        ropt.multiline = true;
      else if (m == "s")
        ropt.dotall = true;
      else if (m == "cidr")
        cidr = true;
      else if (m == "exists")
        exists = true;
      else if (m == "fieldref")
        fieldref = true;
      else if (m == "expand")
        expand = true;
      else if (m == "gt")
        cmp = '>';
      else if (m == "gte")
        cmp = 'G';
      else if (m == "lt")
        cmp = '<';
      else if (m == "lte")
        cmp = 'L';
      else
        fail(fmt::format("unknown modifier '{}' on '{}'", m, spec.field));
    }
    if (item.field.empty() && (exists || fieldref || cidr || cmp))
      fail("a keyword list cannot use exists, fieldref, cidr or comparisons");
    for (const auto& value : spec.values) {
      if (!value) {
        ValueTest t;
        t.op = ValueTest::kNull;
        item.tests.push_back(t);
        continue;
      }
      if (exists) {
        ValueTest t;
        t.op = ValueTest::kExists;
        std::string v = core::to_lower(*value);
        if (v != "true" && v != "false")
          fail(fmt::format("exists needs true or false, got '{}'", *value));
        t.negate = v == "false";
        item.tests.push_back(t);
        continue;
      }
      if (cmp) {
        ValueTest t;
        t.op = ValueTest::kNumber;
        t.cmp = cmp;
        if (!parse_number(*value, t.number)) fail(fmt::format("'{}' is not a number", *value));
        item.tests.push_back(t);
        continue;
      }
      if (cidr) {
        ValueTest t;
        t.op = ValueTest::kCidr;
        std::string v = *value;
        std::size_t slash = v.find('/');
        auto ip = core::IpAddress::parse(v.substr(0, slash));
        if (!ip.ok()) fail(fmt::format("bad network '{}'", v));
        t.net = *ip;
        t.prefix = ip->is_v4() ? 32 : 128;
        if (slash != std::string::npos) {
          int p = 0;
          auto r = std::from_chars(v.data() + slash + 1, v.data() + v.size(), p);
          if (r.ec != std::errc() || p < 0 || p > t.prefix)
            fail(fmt::format("bad prefix in '{}'", v));
          t.prefix = p;
        }
        item.tests.push_back(t);
        continue;
      }
      if (fieldref) {
        ValueTest t;
        t.op = ValueTest::kFieldRef;
        t.other = rename_4688 ? rename_for_4688(*value) : *value;
        t.ref_mode = mode == Mode::kEquals       ? 0
                     : mode == Mode::kContains   ? 1
                     : mode == Mode::kStartsWith ? 2
                                                 : 3;
        t.cased = cased;
        item.tests.push_back(t);
        continue;
      }
      if (re) {
        auto rx = match::Regex::compile(*value, ropt);
        if (!rx.ok())
          fail(fmt::format("bad regular expression '{}': {}", *value, rx.error().message));
        ValueTest t;
        t.op = ValueTest::kRegex;
        t.regex = static_cast<uint32_t>(impl_.regexes.size());
        impl_.regexes.push_back(std::move(*rx));
        item.tests.push_back(t);
        continue;
      }
      // String forms: expand, encodings, windash; then one pattern per form.
      std::vector<std::string> forms{*value};
      if (expand) forms = expand_placeholders(*value);
      bool wild = true;
      if (wide || utf16be || utf16bom) {
        std::vector<std::string> enc;
        for (const auto& f : forms) {
          std::string u = to_utf16(f, utf16be);
          if (utf16bom) u = std::string("\xff\xfe", 2) + u;
          enc.push_back(std::move(u));
        }
        forms = std::move(enc);
        wild = false;
      }
      if (b64 || b64off) {
        std::vector<std::string> enc;
        for (const auto& f : forms) {
          if (b64) enc.push_back(core::base64(f));
          if (b64off)
            for (auto& o : base64_offsets(f)) enc.push_back(std::move(o));
        }
        forms = std::move(enc);
        wild = false;
      }
      if (windash) {
        std::vector<std::string> dashed;
        for (const auto& f : forms)
          for (auto& d : windash_forms(f)) dashed.push_back(std::move(d));
        forms = std::move(dashed);
      }
      // All forms of one value are alternatives: with `all`, a value counts once.
      if (forms.size() == 1 || !item.all) {
        for (const auto& f : forms)
          item.tests.push_back(string_test(item.field, f, mode, wild, cased));
      } else {
        // Several forms under `all`: register them under one pattern id (any form satisfies).
        item.tests.push_back(string_test_multi(item.field, forms, mode, wild, cased));
      }
    }
    if (item.tests.empty()) fail(fmt::format("'{}' has no values", spec.field));
    return item;
  }

  std::vector<std::string> expand_placeholders(const std::string& v) {
    std::vector<std::string> out{""};
    std::size_t i = 0;
    while (i < v.size()) {
      std::size_t a = v.find('%', i);
      std::size_t b = a == std::string::npos ? std::string::npos : v.find('%', a + 1);
      if (a == std::string::npos || b == std::string::npos) {
        for (auto& o : out) o += v.substr(i);
        break;
      }
      for (auto& o : out) o += v.substr(i, a - i);
      std::string name = v.substr(a + 1, b - a - 1);
      auto it = options_.placeholders.find(name);
      if (it == options_.placeholders.end() || it->second.empty())
        fail(fmt::format("placeholder %{}% has no configured values", name));
      std::vector<std::string> next;
      for (const auto& o : out)
        for (const auto& val : it->second) next.push_back(o + val);
      out = std::move(next);
      i = b + 1;
    }
    return out;
  }

  // The expression for one string form; kAny/kEmpty when no scan is needed.
  std::optional<std::string> expression(const std::string& value, Mode mode, bool wild,
                                        ValueTest& direct, bool& at_end) {
    // Segments: literal text and wildcards.
    std::string body;
    bool lead_star = false, trail_star = false, any_literal = false;
    std::size_t n = value.size();
    for (std::size_t i = 0; i < n; ++i) {
      char c = value[i];
      if (wild && c == '\\' && i + 1 < n &&
          (value[i + 1] == '*' || value[i + 1] == '?' || value[i + 1] == '\\')) {
        append_literal(body, value[++i]);
        any_literal = true;
        trail_star = false;
      } else if (wild && c == '*') {
        if (body.empty())
          lead_star = true;
        else if (!trail_star)
          body += ".*";
        trail_star = true;
      } else if (wild && c == '?') {
        body += ".";
        any_literal = true;
        trail_star = false;
      } else {
        append_literal(body, c);
        any_literal = true;
        trail_star = false;
      }
    }
    if (trail_star && body.size() >= 2 && body.compare(body.size() - 2, 2, ".*") == 0)
      body.resize(body.size() - 2);
    bool anchor_start = (mode == Mode::kEquals || mode == Mode::kStartsWith) && !lead_star;
    bool anchor_end = (mode == Mode::kEquals || mode == Mode::kEndsWith) && !trail_star;
    if (!any_literal) {
      if (value.empty() && mode == Mode::kEquals) {
        direct.op = ValueTest::kEmpty;
      } else {
        direct.op = ValueTest::kAny;
      }
      return std::nullopt;
    }
    std::string expr;
    if (anchor_start) expr += "\\A";
    expr += body;
    at_end = anchor_end;
    return expr;
  }

  uint32_t new_id(bool at_end) {
    impl_.at_end.push_back(at_end ? 1 : 0);
    return impl_.pattern_count++;
  }

  uint32_t register_pattern(const std::string& field, const std::string& expr, bool caseless,
                            bool at_end) {
    auto& pend = impl_.buckets[bucket_].pending[field];
    for (const auto& p : pend)
      if (p.expression == expr && p.caseless == caseless && p.at_end == at_end) return p.id;
    uint32_t id = new_id(at_end);
    pend.push_back(PendingPattern{id, expr, caseless, at_end});
    return id;
  }

  ValueTest string_test(const std::string& field, const std::string& value, Mode mode, bool wild,
                        bool cased) {
    ValueTest t;
    bool at_end = false;
    auto expr = expression(value, mode, wild, t, at_end);
    if (!expr) return t;
    t.op = ValueTest::kPattern;
    t.pattern = register_pattern(field, *expr, !cased, at_end);
    return t;
  }

  ValueTest string_test_multi(const std::string& field, const std::vector<std::string>& forms,
                              Mode mode, bool wild, bool cased) {
    ValueTest t;
    t.op = ValueTest::kPattern;
    bool end_mode = mode == Mode::kEquals || mode == Mode::kEndsWith;
    t.pattern = new_id(end_mode);
    auto& pend = impl_.buckets[bucket_].pending[field];
    for (const auto& f : forms) {
      ValueTest direct;
      bool at_end = false;
      auto expr = expression(f, mode, wild, direct, at_end);
      if (!expr) return direct;
      // A trailing wildcard lifts the end anchor for that form only: keep the id's flag honest.
      if (at_end != end_mode) *expr += ".*";
      pend.push_back(PendingPattern{t.pattern, *expr, !cased, end_mode});
    }
    return t;
  }

  RuleSet::Impl& impl_;
  const LoadOptions& options_;
  uint32_t bucket_ = 0;
};

}  // namespace

Variant build_variant(RuleSet::Impl& impl, const LoadOptions& options, uint32_t rule,
                      uint32_t bucket, const std::vector<SelectionSpec>& sels,
                      const std::vector<std::string>& conditions, bool rename_4688) {
  return Compiler(impl, options).build(rule, bucket, sels, conditions, rename_4688);
}

}  // namespace mimamori::sigma
