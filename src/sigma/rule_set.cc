// Loading Sigma rules (yaml-cpp): files and folders, rule metadata, correlations, and each
// detection bound to the buckets of its log source (detection.cc).

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "detection.h"
#include "mimamori/core/text.h"
#include "rule_set_impl.h"

namespace mimamori::sigma {
namespace {

namespace fs = std::filesystem;

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
  std::string lower = core::to_lower(channel);
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
      std::vector<Variant> built;
      if (!known) {
        uint32_t b = impl.bucket_for("", {}, !windows);
        built.push_back(build_variant(impl, options, rule, b, sels, conditions, false));
        impl.buckets[b].variants.push_back(
            static_cast<uint32_t>(impl.variants.size() + built.size() - 1));
      } else {
        for (const auto& t : targets) {
          uint32_t b = impl.bucket_for(t.channel, t.event_ids, false);
          built.push_back(build_variant(impl, options, rule, b, sels, conditions, t.security_4688));
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

}  // namespace mimamori::sigma
