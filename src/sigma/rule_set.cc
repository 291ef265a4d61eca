// Loading Sigma rules (yaml-cpp) and compiling them into variants, tests and pattern databases.

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

namespace fs = std::filesystem;

// A detection entry before it is bound to a log source.
struct ItemSpec {
  std::string field;
  std::vector<std::string> mods;
  std::vector<std::optional<std::string>> values;  // nullopt: YAML null
};

struct SelectionSpec {
  std::string name;
  std::vector<std::vector<ItemSpec>> groups;
};

// Thrown inside one rule's loading only; caught per rule and turned into a LoadError.
struct RuleError {
  std::string reason;
};

[[noreturn]] void fail(std::string reason) { throw RuleError{std::move(reason)}; }

std::string scalar(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string(); }

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

bool parse_number(const std::string& s, double& out) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  auto r = std::from_chars(b, e, out);
  return r.ec == std::errc() && r.ptr == e;
}

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
        std::string v = *value;
        std::transform(v.begin(), v.end(), v.begin(), ::tolower);
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
          if (b64) enc.push_back(base64(f));
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
                                        ValueTest& direct) {
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
    if (anchor_end) expr += "\\z";
    return expr;
  }

  uint32_t register_pattern(const std::string& field, const std::string& expr, bool caseless) {
    auto& pend = impl_.buckets[bucket_].pending[field];
    for (const auto& p : pend)
      if (p.expression == expr && p.caseless == caseless) return p.id;
    uint32_t id = impl_.pattern_count++;
    pend.push_back(PendingPattern{id, expr, caseless});
    return id;
  }

  ValueTest string_test(const std::string& field, const std::string& value, Mode mode, bool wild,
                        bool cased) {
    ValueTest t;
    auto expr = expression(value, mode, wild, t);
    if (!expr) return t;
    t.op = ValueTest::kPattern;
    t.pattern = register_pattern(field, *expr, !cased);
    return t;
  }

  ValueTest string_test_multi(const std::string& field, const std::vector<std::string>& forms,
                              Mode mode, bool wild, bool cased) {
    ValueTest t;
    t.op = ValueTest::kPattern;
    t.pattern = impl_.pattern_count++;
    auto& pend = impl_.buckets[bucket_].pending[field];
    for (const auto& f : forms) {
      ValueTest direct;
      auto expr = expression(f, mode, wild, direct);
      if (!expr) return direct;
      pend.push_back(PendingPattern{t.pattern, *expr, !cased});
    }
    return t;
  }

  RuleSet::Impl& impl_;
  const LoadOptions& options_;
  uint32_t bucket_ = 0;
};

int64_t parse_timespan(const std::string& s) {
  if (s.size() < 2) fail(fmt::format("bad timespan '{}'", s));
  int64_t n = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size() - 1, n);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() - 1 || n <= 0)
    fail(fmt::format("bad timespan '{}'", s));
  switch (s.back()) {
    case 's':
      return n * 1000000;
    case 'm':
      return n * 60 * 1000000;
    case 'h':
      return n * 3600 * 1000000;
    case 'd':
      return n * 86400 * 1000000;
    case 'w':
      return n * 7 * 86400 * 1000000;
    default:
      fail(fmt::format("bad timespan unit in '{}'", s));
  }
}

RuleInfo read_info(const YAML::Node& doc, const std::string& file) {
  RuleInfo info;
  info.file = file;
  info.id = scalar(doc["id"]);
  info.name = scalar(doc["name"]);
  info.title = scalar(doc["title"]);
  if (info.title.empty()) fail("no title");
  info.description = scalar(doc["description"]);
  info.status = scalar(doc["status"]);
  info.author = scalar(doc["author"]);
  if (auto lv = doc["level"]) {
    auto l = parse_level(scalar(lv));
    if (!l) fail(fmt::format("unknown level '{}'", scalar(lv)));
    info.level = *l;
  }
  if (auto tags = doc["tags"]; tags && tags.IsSequence())
    for (const auto& t : tags) info.tags.push_back(scalar(t));
  if (auto fields = doc["fields"]; fields && fields.IsSequence())
    for (const auto& f : fields) info.fields.push_back(scalar(f));
  if (auto ls = doc["logsource"]) {
    info.product = scalar(ls["product"]);
    info.category = scalar(ls["category"]);
    info.service = scalar(ls["service"]);
  }
  return info;
}

}  // namespace

std::optional<Level> parse_level(std::string_view t) {
  if (t == "informational" || t == "info") return Level::kInformational;
  if (t == "low") return Level::kLow;
  if (t == "medium") return Level::kMedium;
  if (t == "high") return Level::kHigh;
  if (t == "critical") return Level::kCritical;
  return std::nullopt;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kInformational:
      return "informational";
    case Level::kLow:
      return "low";
    case Level::kMedium:
      return "medium";
    case Level::kHigh:
      return "high";
    case Level::kCritical:
      return "critical";
  }
  return "medium";
}

uint32_t RuleSet::Impl::bucket_for(const std::string& channel, const std::vector<std::string>& ids,
                                   bool is_foreign) {
  std::string lower = channel;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  for (uint32_t i = 0; i < buckets.size(); ++i)
    if (buckets[i].channel == lower && buckets[i].event_ids == ids &&
        buckets[i].foreign == is_foreign)
      return i;
  Bucket b;
  b.channel = lower;
  b.event_ids = ids;
  b.foreign = is_foreign;
  buckets.push_back(std::move(b));
  uint32_t idx = static_cast<uint32_t>(buckets.size() - 1);
  if (is_foreign)
    foreign.push_back(idx);
  else if (lower.empty())
    any_channel.push_back(idx);
  else
    by_channel[lower].push_back(idx);
  return idx;
}

RuleSet::RuleSet() : impl_(std::make_unique<Impl>()) {}
RuleSet::~RuleSet() = default;
RuleSet::RuleSet(RuleSet&&) noexcept = default;
RuleSet& RuleSet::operator=(RuleSet&&) noexcept = default;

const std::vector<RuleInfo>& RuleSet::rules() const { return impl_->rules; }
const std::vector<LoadError>& RuleSet::errors() const { return impl_->errors; }
std::size_t RuleSet::files_seen() const { return impl_->files; }

void RuleSet::load_path(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    load_file(path, options);
    return;
  }
  if (!fs::is_directory(path, ec)) {
    impl_->errors.push_back(LoadError{path, "no such file or directory"});
    return;
  }
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(
           path, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    auto ext = it->path().extension();
    if (it->is_regular_file() && (ext == ".yml" || ext == ".yaml"))
      files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());  // stable rule numbers from run to run
  for (const auto& f : files) load_file(f, options);
}

void RuleSet::load_file(const std::string& path, const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ++impl_->files;
    impl_->errors.push_back(LoadError{path, "cannot open"});
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  load_text(ss.str(), path, options);
}

void RuleSet::load_text(std::string_view yaml, const std::string& file,
                        const LoadOptions& options) {
  Impl& impl = *impl_;
  ++impl.files;
  if (impl.compiled) {
    impl.errors.push_back(LoadError{file, "rule set already compiled"});
    return;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    impl.errors.push_back(LoadError{file, fmt::format("YAML: {}", e.what())});
    return;
  }
  for (const auto& doc : docs) {
    if (!doc || doc.IsNull()) continue;
    // Everything a rule adds is rolled back when it fails half-way.
    std::size_t variants_before = impl.variants.size();
    std::size_t regex_before = impl.regexes.size();
    try {
      if (!doc.IsMap()) fail("a rule must be a YAML map");
      if (doc["action"]) fail("rule collections ('action: global') are not supported");
      RuleInfo info = read_info(doc, file);
      uint32_t rule = static_cast<uint32_t>(impl.rules.size());
      if (auto corr = doc["correlation"]) {
        Correlation c;
        c.rule = rule;
        std::string type = scalar(corr["type"]);
        if (type == "event_count")
          c.type = Correlation::kEventCount;
        else if (type == "value_count")
          c.type = Correlation::kValueCount;
        else if (type == "temporal")
          c.type = Correlation::kTemporal;
        else if (type == "temporal_ordered")
          c.type = Correlation::kTemporalOrdered;
        else
          fail(fmt::format("unknown correlation type '{}'", type));
        auto rules = corr["rules"];
        if (rules && rules.IsSequence())
          for (const auto& r : rules) c.rule_refs.push_back(scalar(r));
        else if (rules && rules.IsScalar())
          c.rule_refs.push_back(scalar(rules));
        if (c.rule_refs.empty()) fail("correlation names no rules");
        if (auto g = corr["group-by"]) {
          if (g.IsSequence())
            for (const auto& f : g) c.group_by.push_back(scalar(f));
          else
            c.group_by.push_back(scalar(g));
        }
        c.timespan_us = parse_timespan(scalar(corr["timespan"]).empty() ? scalar(corr["timeframe"])
                                                                        : scalar(corr["timespan"]));
        c.generate = corr["generate"] && scalar(corr["generate"]) == "true";
        if (auto cond = corr["condition"]; cond && cond.IsMap()) {
          for (const auto& kv : cond) {
            std::string k = kv.first.Scalar();
            if (k == "field") {
              c.field = scalar(kv.second);
              continue;
            }
            if (!parse_number(scalar(kv.second), c.threshold))
              fail(fmt::format("correlation condition '{}' needs a number", k));
            c.cmp = k == "gt"    ? '>'
                    : k == "gte" ? 'G'
                    : k == "lt"  ? '<'
                    : k == "lte" ? 'L'
                    : k == "eq"  ? '='
                                 : 0;
            if (!c.cmp) fail(fmt::format("unknown correlation condition '{}'", k));
          }
        } else if (c.type == Correlation::kEventCount || c.type == Correlation::kValueCount) {
          fail("correlation needs a condition");
        } else {
          c.cmp = 'G';
          c.threshold = static_cast<double>(c.rule_refs.size());
        }
        if (c.type == Correlation::kValueCount && c.field.empty())
          fail("value_count needs condition.field");
        info.correlation = true;
        impl.rules.push_back(std::move(info));
        impl.correlations.push_back(std::move(c));
        continue;
      }
      auto det = doc["detection"];
      if (!det || !det.IsMap()) fail("no detection map");
      std::vector<SelectionSpec> sels;
      std::vector<std::string> conditions;
      for (const auto& kv : det) {
        std::string key = kv.first.Scalar();
        if (key == "condition") {
          if (kv.second.IsSequence())
            for (const auto& c : kv.second) conditions.push_back(scalar(c));
          else
            conditions.push_back(scalar(kv.second));
        } else if (key == "timeframe") {
          continue;
        } else {
          sels.push_back(parse_selection(key, kv.second));
        }
      }
      if (conditions.empty()) fail("detection has no condition");
      bool known = false;
      auto targets = map_logsource(info.product, info.category, info.service, known);
      bool windows = info.product.empty() || info.product == "windows";
      Compiler compiler(impl, options);
      std::vector<Variant> built;
      if (!known) {
        uint32_t b = impl.bucket_for("", {}, !windows);
        built.push_back(compiler.build(rule, b, sels, conditions, false));
        impl.buckets[b].variants.push_back(
            static_cast<uint32_t>(impl.variants.size() + built.size() - 1));
      } else {
        for (const auto& t : targets) {
          uint32_t b = impl.bucket_for(t.channel, t.event_ids, false);
          built.push_back(compiler.build(rule, b, sels, conditions, t.security_4688));
          impl.buckets[b].variants.push_back(
              static_cast<uint32_t>(impl.variants.size() + built.size() - 1));
        }
      }
      for (auto& v : built) impl.variants.push_back(std::move(v));
      impl.rules.push_back(std::move(info));
    } catch (const RuleError& e) {
      // Roll back: variants registered in buckets and regexes of this rule.
      for (auto& b : impl.buckets)
        while (!b.variants.empty() && b.variants.back() >= variants_before) b.variants.pop_back();
      impl.variants.resize(variants_before);
      impl.regexes.erase(impl.regexes.begin() + static_cast<std::ptrdiff_t>(regex_before),
                         impl.regexes.end());
      // Patterns registered by the failed rule stay in the databases but no test refers to
      // them: harmless, and cheaper than tracking them.
      impl.errors.push_back(LoadError{file, e.reason});
    } catch (const YAML::Exception& e) {
      impl.variants.resize(variants_before);
      for (auto& b : impl.buckets)
        while (!b.variants.empty() && b.variants.back() >= variants_before) b.variants.pop_back();
      impl.regexes.erase(impl.regexes.begin() + static_cast<std::ptrdiff_t>(regex_before),
                         impl.regexes.end());
      impl.errors.push_back(LoadError{file, fmt::format("YAML: {}", e.what())});
    }
  }
}

core::Status RuleSet::compile() {
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
  for (auto& b : impl.buckets) {
    for (auto& [field, pend] : b.pending) {
      if (pend.empty()) continue;
      std::vector<match::Pattern> pats;
      pats.reserve(pend.size());
      for (const auto& p : pend) {
        match::Pattern mp;
        mp.id = p.id;
        mp.expression = p.expression;
        mp.kind = match::Pattern::Kind::kRegex;
        mp.caseless = p.caseless;
        mp.single_match = true;
        pats.push_back(std::move(mp));
      }
      auto set = match::PatternSet::compile(pats);
      if (!set.ok()) return core::make_error("field '{}': {}", field, set.error().message);
      if (field.empty())
        b.keyword_db.emplace(std::move(*set));
      else
        b.dbs.emplace_back(field, std::move(*set));
    }
    b.pending.clear();
  }
  impl.compiled = true;
  return {};
}

}  // namespace mimamori::sigma
