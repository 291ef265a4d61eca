#include "mimamori/net/rules/loader.h"

#include <algorithm>
#include <fstream>

#include "mimamori/core/config.h"
#include "mimamori/core/text.h"

namespace mimamori::net::rules {

namespace {

constexpr int kMaxIncludeDepth = 8;

}  // namespace

// Rule files are text of a few megabytes; anything far larger is not a rule file.
constexpr std::streamoff kMaxRuleFile = std::streamoff(1) << 30;

core::Result<std::string> read_whole_file(const std::filesystem::path& path) {
  std::error_code ec;
  // A directory opens as a stream on Linux and reports a bogus size.
  if (!std::filesystem::is_regular_file(path, ec)) {
    return core::make_error("cannot open '{}': {}", path.string(),
                            ec ? ec.message() : "not a regular file");
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return core::make_error("cannot open '{}'", path.string());
  std::streamoff size = in.tellg();
  if (size < 0 || size > kMaxRuleFile) {
    return core::make_error("cannot read '{}': {}", path.string(),
                            size < 0 ? "size unknown" : "over 1 GiB");
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  if (in.bad()) return core::make_error("cannot read '{}'", path.string());
  return text;
}

uint32_t NameTable::intern(std::string_view name) {
  auto it = ids_.find(std::string(name));
  if (it != ids_.end()) return it->second;
  auto id = static_cast<uint32_t>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(names_.back(), id);
  return id;
}

RuleLoader::RuleLoader()
    : address_vars_(default_address_variables()), port_vars_(default_port_variables()) {}

RuleLoader::RuleLoader(const core::Config& config) : RuleLoader() {
  for (const auto& k : config.keys("vars.address-groups")) {
    auto v = config.require<std::string>("vars.address-groups." + k);
    if (auto s = AddressSet::parse(v, address_vars_); !s && v.find('$') == std::string::npos) {
      throw core::ConfigError(fmt::format("{}: key 'vars.address-groups.{}': {}", config.source(),
                                          k, s.error().message));
    }
    address_vars_[k] = v;
  }
  for (const auto& k : config.keys("vars.port-groups")) {
    auto v = config.require<std::string>("vars.port-groups." + k);
    if (auto s = PortSet::parse(v, port_vars_); !s && v.find('$') == std::string::npos) {
      throw core::ConfigError(
          fmt::format("{}: key 'vars.port-groups.{}': {}", config.source(), k, s.error().message));
    }
    port_vars_[k] = v;
  }
}

void RuleLoader::set_address_variable(std::string name, std::string value) {
  address_vars_[std::move(name)] = std::move(value);
  address_memo_.clear();
}

void RuleLoader::set_port_variable(std::string name, std::string value) {
  port_vars_[std::move(name)] = std::move(value);
  port_memo_.clear();
}

core::Status RuleLoader::load_classification(const std::filesystem::path& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  return load_classification_text(*text, path.string());
}

core::Status RuleLoader::load_classification_text(std::string_view text, std::string_view source) {
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    auto line = core::trim(
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    constexpr std::string_view kPrefix = "config classification:";
    if (!line.starts_with(kPrefix)) {
      return core::make_error("{}:{}: expected 'config classification: name,description,priority'",
                              source, line_no);
    }
    auto rest = line.substr(kPrefix.size());
    auto c1 = rest.find(',');
    auto c2 = rest.rfind(',');
    if (c1 == std::string_view::npos || c2 == c1) {
      return core::make_error("{}:{}: expected three comma-separated fields", source, line_no);
    }
    ClassType ct;
    ct.description = std::string(core::trim(rest.substr(c1 + 1, c2 - c1 - 1)));
    auto prio = core::trim(rest.substr(c2 + 1));
    try {
      ct.priority = std::stoi(std::string(prio));
    } catch (...) {
      return core::make_error("{}:{}: priority '{}' is not a number", source, line_no, prio);
    }
    classtypes_[std::string(core::trim(rest.substr(0, c1)))] = std::move(ct);
  }
  return {};
}

core::Status RuleLoader::load_file(const std::filesystem::path& path) {
  auto text = read_whole_file(path);
  if (!text) return text.error();
  set_.files.push_back(path.string());
  load_text_at(*text, path.string(), path.parent_path(), 0);
  return {};
}

void RuleLoader::load_text(std::string_view text, std::string_view source) {
  load_text_at(text, std::string(source), std::filesystem::current_path(), 0);
}

void RuleLoader::load_text_at(std::string_view text, const std::string& source,
                              const std::filesystem::path& dir, int depth) {
  std::string rule;
  int rule_line = 0;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    auto line = core::trim(raw);
    if (rule.empty()) {
      if (!line.empty() && line.front() == '#' && !edits_.empty()) {
        // A commented-out rule that enable.conf turns on.
        auto body = core::trim(line.substr(line.find_first_not_of("# ")));
        if (body.find('(') != std::string_view::npos && body.back() == ')' &&
            (body.starts_with("alert ") || body.starts_with("drop ") || body.starts_with("pass ") ||
             body.starts_with("reject ")) &&
            edits_.enabled(1, sniff_sid(body), body, source)) {
          add_rule(body, source, line_no);
        }
        continue;
      }
      if (line.empty() || line.front() == '#') continue;
      if (line.starts_with("include ") || line.starts_with("include:")) {
        auto target = core::trim(line.substr(8));
        if (!target.empty() && target.front() == '"' && target.back() == '"' && target.size() > 1) {
          target = target.substr(1, target.size() - 2);
        }
        if (target.find('\0') != std::string_view::npos) {
          set_.skipped.push_back({source, line_no, 0, "include path holds a NUL byte"});
          continue;
        }
        std::filesystem::path p(target);
        if (p.is_relative()) p = dir / p;
        if (depth >= kMaxIncludeDepth) {
          set_.skipped.push_back({source, line_no, 0, "include nests too deep (a cycle?)"});
          continue;
        }
        auto inc = read_whole_file(p);
        if (!inc) {
          set_.skipped.push_back({source, line_no, 0, inc.error().message});
          continue;
        }
        set_.files.push_back(p.string());
        load_text_at(*inc, p.string(), p.parent_path(), depth + 1);
        continue;
      }
      rule_line = line_no;
    }
    if (!line.empty() && line.back() == '\\') {
      rule.append(line.substr(0, line.size() - 1));
      continue;
    }
    rule.append(line);
    add_rule(rule, source, rule_line);
    rule.clear();
  }
  if (!rule.empty()) add_rule(rule, source, rule_line);
}

void RuleLoader::add_rule(std::string_view original, const std::string& source, int line) {
  std::string edited;
  std::string_view text = original;
  if (!edits_.empty()) {
    uint64_t sid = sniff_sid(original);
    if (edits_.disabled(1, sid, original, source)) {
      ++set_.disabled;
      return;
    }
    edited = std::string(original);
    if (edits_.modify(1, sid, edited, source) > 0) text = edited;
  }
  ++set_.enabled;
  ParseContext ctx{&address_vars_, &port_vars_,    &classtypes_,
                   &set_.flowbits, &set_.flowints, &set_.xbits};
  ctx.address_memo = &address_memo_;
  ctx.port_memo = &port_memo_;
  ctx.regex_memo = &regex_memo_;
  auto sig = parse_rule(text, ctx);
  if (!sig) {
    set_.skipped.push_back({source, line, sniff_sid(text), sig.error().message});
    return;
  }
  uint64_t key = (static_cast<uint64_t>(sig->gid) << 40) ^ sig->sid;
  if (auto it = sids_.find(key); it != sids_.end()) {
    const auto& first = set_.signatures[it->second];
    set_.skipped.push_back(
        {source, line, sig->sid,
         fmt::format("duplicate sid (already loaded from {}:{})", first.file, first.line)});
    return;
  }
  sids_.emplace(key, set_.signatures.size());
  sig->file = source;
  sig->line = line;
  sig->text = std::string(text);
  set_.signatures.push_back(std::move(*sig));
}

RuleSet RuleLoader::take() {
  RuleSet out = std::move(set_);
  set_ = RuleSet{};
  sids_.clear();
  return out;
}

std::string describe_load(const RuleSet& set, bool verbose) {
  std::string out;
  double pct = set.enabled ? 100.0 * static_cast<double>(set.signatures.size()) /
                                 static_cast<double>(set.enabled)
                           : 100.0;
  out += fmt::format("{} of {} rules loaded ({:.2f}%), {} skipped\n", set.signatures.size(),
                     set.enabled, pct, set.skipped.size());
  if (set.skipped.empty()) return out;
  // Group reasons by their first words up to the quote so that "unsupported keyword 'x'"
  // groups per keyword while free-form messages stay whole.
  std::map<std::string, std::pair<std::size_t, const SkippedRule*>> by_reason;
  for (const auto& s : set.skipped) {
    std::string key = s.reason.starts_with("duplicate sid") ? "duplicate sid" : s.reason;
    if (auto q = key.find('\''); q != std::string::npos) {
      auto q2 = key.find('\'', q + 1);
      bool keep_name = key.starts_with("unsupported ") || key.starts_with("unknown keyword") ||
                       key.starts_with("unknown protocol") || key.starts_with("app-layer protocol");
      if (q2 != std::string::npos)
        key = keep_name ? key.substr(0, q2 + 1) : key.substr(0, q) + "...";
    }
    auto& e = by_reason[key];
    if (e.first++ == 0) e.second = &s;
  }
  std::vector<std::pair<std::string, std::pair<std::size_t, const SkippedRule*>>> rows(
      by_reason.begin(), by_reason.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  out += fmt::format("{:>7}  {:<60}  {}\n", "rules", "reason", "example");
  for (const auto& [reason, e] : rows) {
    out += fmt::format("{:>7}  {:<60}  {}:{} sid {}\n", e.first, reason, e.second->file,
                       e.second->line, e.second->sid);
  }
  if (verbose) {
    for (const auto& s : set.skipped) {
      out += fmt::format("{}:{}: sid {}: {}\n", s.file, s.line, s.sid, s.reason);
    }
  }
  return out;
}

RuleSources RuleSources::from_config(const core::Config& config,
                                     std::vector<std::string> rule_files,
                                     std::string classification_file) {
  RuleLoader vars(config);  // validates the groups (throws core::ConfigError)
  RuleSources src;
  src.files = std::move(rule_files);
  src.classification = classification_file.empty()
                           ? config.get<std::string>("classification-file", "")
                           : std::move(classification_file);
  src.address_vars = vars.address_variables();
  src.port_vars = vars.port_variables();
  src.disable_conf = config.get<std::string>("rules.disable-conf", "");
  src.enable_conf = config.get<std::string>("rules.enable-conf", "");
  src.modify_conf = config.get<std::string>("rules.modify-conf", "");
  src.threshold_file = config.get<std::string>("threshold-file", "");
  return src;
}

core::Result<RuleSet> load_rules(const RuleSources& src) {
  RuleLoader loader;
  for (const auto& [k, v] : src.address_vars) loader.set_address_variable(k, v);
  for (const auto& [k, v] : src.port_vars) loader.set_port_variable(k, v);
  std::filesystem::path cls = src.classification;
  if (cls.empty() && !src.files.empty()) {
    auto dir = std::filesystem::path(src.files.front()).parent_path();
    for (auto d : {dir, dir.parent_path()}) {
      std::error_code ec;
      if (std::filesystem::exists(d / "classification.config", ec)) {
        cls = d / "classification.config";
        break;
      }
    }
  }
  if (!cls.empty()) {
    if (auto s = loader.load_classification(cls); !s) return s.error();
  }
  RuleEdits edits;
  for (auto [path, kind] :
       {std::pair{&src.disable_conf, "disable"}, std::pair{&src.enable_conf, "enable"},
        std::pair{&src.modify_conf, "modify"}}) {
    if (path->empty()) continue;
    auto text = read_whole_file(*path);
    if (!text) return text.error();
    if (auto s = edits.add_text(kind, *text, *path); !s) return s.error();
  }
  loader.set_edits(std::move(edits));
  for (const auto& f : src.files) {
    if (auto s = loader.load_file(f); !s) return s.error();
  }
  auto set = loader.take();
  if (!src.threshold_file.empty()) {
    auto text = read_whole_file(src.threshold_file);
    if (!text) return text.error();
    if (auto s = apply_threshold_config(set, *text, src.threshold_file, src.address_vars); !s) {
      return s.error();
    }
  }
  return set;
}

core::Result<RuleSet> load_rule_files(const std::vector<std::string>& files,
                                      const std::string& classification,
                                      const core::Config* config) {
  if (config) return load_rules(RuleSources::from_config(*config, files, classification));
  RuleSources src;
  src.files = files;
  src.classification = classification;
  src.address_vars = default_address_variables();
  src.port_vars = default_port_variables();
  return load_rules(src);
}

}  // namespace mimamori::net::rules
