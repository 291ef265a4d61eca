#include "mimamori/net/rules/management.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include "mimamori/core/text.h"
#include "mimamori/match/regex.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::net::rules {

namespace {

// Calls fn(line, line_no) for each line of `text` that is neither blank nor a comment, trimmed;
// stops at the first error fn returns.
template <class Fn>
core::Status for_each_line(std::string_view text, Fn fn) {
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    auto line = core::trim(
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (auto st = fn(line, line_no); !st) return st;
  }
  return {};
}

struct Selector {
  enum class Kind { kSid, kRegex, kGroup } kind = Kind::kSid;
  uint32_t gid = 0;  // 0: any gid
  uint64_t sid = 0;
  std::shared_ptr<const match::Regex> regex;
  std::string group;

  bool matches(uint32_t g, uint64_t s, std::string_view text, std::string_view file) const {
    switch (kind) {
      case Kind::kSid:
        return s == sid && (gid == 0 || gid == g);
      case Kind::kRegex:
        return regex->search(text);
      case Kind::kGroup: {
        auto slash = file.find_last_of('/');
        std::string_view base = slash == std::string_view::npos ? file : file.substr(slash + 1);
        return base == group;
      }
    }
    return false;
  }
};

core::Result<Selector> parse_selector(std::string_view s) {
  s = core::trim(s);
  Selector sel;
  if (s.starts_with("re:")) {
    auto re = match::Regex::compile(core::trim(s.substr(3)));
    if (!re) return core::make_error("bad regex '{}': {}", s.substr(3), re.error().message);
    sel.kind = Selector::Kind::kRegex;
    sel.regex = std::make_shared<const match::Regex>(std::move(*re));
    return sel;
  }
  if (s.starts_with("group:")) {
    sel.kind = Selector::Kind::kGroup;
    sel.group = std::string(core::trim(s.substr(6)));
    return sel;
  }
  auto colon = s.find(':');
  std::string_view sid_text = s;
  if (colon != std::string_view::npos) {
    auto g = s.substr(0, colon);
    auto [p, ec] = std::from_chars(g.data(), g.data() + g.size(), sel.gid);
    if (ec != std::errc() || p != g.data() + g.size())
      return core::make_error("bad gid in '{}'", s);
    sid_text = s.substr(colon + 1);
  }
  auto [p, ec] = std::from_chars(sid_text.data(), sid_text.data() + sid_text.size(), sel.sid);
  if (ec != std::errc() || p != sid_text.data() + sid_text.size() || sel.sid == 0) {
    return core::make_error("expected sid, gid:sid, re:REGEX or group:FILE, got '{}'", s);
  }
  return sel;
}

struct Modification {
  Selector selector;
  std::shared_ptr<const match::Regex> from;
  std::string to;
};

core::Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::make_error("cannot open '{}'", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "quoted" string at the start of `s`; advances `s` past it.
bool take_quoted(std::string_view& s, std::string& out) {
  s = core::trim(s);
  if (s.empty() || s.front() != '"') return false;
  out.clear();
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '"') {
      out += '"';
      ++i;
    } else if (s[i] == '"') {
      s.remove_prefix(i + 1);
      return true;
    } else {
      out += s[i];
    }
  }
  return false;
}

}  // namespace

struct RuleEdits::Impl {
  std::vector<Selector> disable, enable;
  std::vector<Modification> modify;
};

RuleEdits::RuleEdits() : impl_(std::make_unique<Impl>()) {}
RuleEdits::~RuleEdits() = default;
RuleEdits::RuleEdits(RuleEdits&&) noexcept = default;
RuleEdits& RuleEdits::operator=(RuleEdits&&) noexcept = default;

bool RuleEdits::empty() const {
  return impl_->disable.empty() && impl_->enable.empty() && impl_->modify.empty();
}

core::Status RuleEdits::add_text(std::string_view kind, std::string_view text,
                                 std::string_view source) {
  return for_each_line(text, [&](std::string_view line, int line_no) -> core::Status {
    if (kind == "modify") {
      // SELECTOR "from" "to": the selector ends at the first space before a quote.
      auto q = line.find(" \"");
      if (q == std::string_view::npos) {
        return core::make_error("{}:{}: expected SELECTOR \"from\" \"to\"", source, line_no);
      }
      auto sel = parse_selector(line.substr(0, q));
      if (!sel) return core::make_error("{}:{}: {}", source, line_no, sel.error().message);
      std::string_view rest = line.substr(q);
      Modification m;
      std::string from;
      if (!take_quoted(rest, from) || !take_quoted(rest, m.to) || !core::trim(rest).empty()) {
        return core::make_error("{}:{}: expected SELECTOR \"from\" \"to\"", source, line_no);
      }
      auto re = match::Regex::compile(from);
      if (!re)
        return core::make_error("{}:{}: bad regex '{}': {}", source, line_no, from,
                                re.error().message);
      m.selector = std::move(*sel);
      m.from = std::make_shared<const match::Regex>(std::move(*re));
      impl_->modify.push_back(std::move(m));
      return {};
    }
    auto sel = parse_selector(line);
    if (!sel) return core::make_error("{}:{}: {}", source, line_no, sel.error().message);
    (kind == "enable" ? impl_->enable : impl_->disable).push_back(std::move(*sel));
    return {};
  });
}

core::Status RuleEdits::load_disable(const std::filesystem::path& path) {
  auto t = read_file(path);
  if (!t) return t.error();
  return add_text("disable", *t, path.string());
}

core::Status RuleEdits::load_enable(const std::filesystem::path& path) {
  auto t = read_file(path);
  if (!t) return t.error();
  return add_text("enable", *t, path.string());
}

core::Status RuleEdits::load_modify(const std::filesystem::path& path) {
  auto t = read_file(path);
  if (!t) return t.error();
  return add_text("modify", *t, path.string());
}

bool RuleEdits::disabled(uint32_t gid, uint64_t sid, std::string_view text,
                         std::string_view file) const {
  for (const auto& s : impl_->disable) {
    if (s.matches(gid, sid, text, file)) return true;
  }
  return false;
}

bool RuleEdits::enabled(uint32_t gid, uint64_t sid, std::string_view text,
                        std::string_view file) const {
  for (const auto& s : impl_->enable) {
    if (s.matches(gid, sid, text, file)) return true;
  }
  return false;
}

int RuleEdits::modify(uint32_t gid, uint64_t sid, std::string& text, std::string_view file) const {
  int applied = 0;
  for (const auto& m : impl_->modify) {
    if (!m.selector.matches(gid, sid, text, file)) continue;
    std::string out;
    std::size_t pos = 0, b = 0, e = 0;
    bool any = false;
    while (pos <= text.size() && m.from->search(text, pos, &b, &e)) {
      out.append(text, pos, b - pos);
      out += m.to;
      any = true;
      if (e == b) {  // empty match: copy one byte to make progress
        if (e < text.size()) out += text[e];
        pos = e + 1;
      } else {
        pos = e;
      }
    }
    if (!any) continue;
    if (pos < text.size()) out.append(text, pos, std::string::npos);
    text = std::move(out);
    ++applied;
  }
  return applied;
}

core::Status apply_threshold_config(RuleSet& set, std::string_view text, std::string_view source,
                                    const Variables& address_vars) {
  return for_each_line(text, [&](std::string_view line, int line_no) -> core::Status {
    auto sp = line.find_first_of(" \t");
    if (sp == std::string_view::npos)
      return core::make_error("{}:{}: incomplete line", source, line_no);
    auto kind = line.substr(0, sp);
    if (kind != "threshold" && kind != "event_filter" && kind != "suppress" &&
        kind != "rate_filter") {
      return core::make_error(
          "{}:{}: expected threshold, event_filter, suppress or rate_filter, got '{}'", source,
          line_no, kind);
    }
    uint32_t gid = 0;
    uint64_t sid = 0;
    bool have_sid = false;
    Threshold th;
    RateFilter rf;
    bool have[4] = {};
    bool have_action = false, have_timeout = false;
    Suppress sup;
    std::string ip;
    std::string_view rest = line.substr(sp);
    size_t start = 0;
    while (start <= rest.size()) {
      auto comma = rest.find(',', start);
      // `ip` may be a bracketed list with commas.
      auto field = core::trim(rest.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      if (field.starts_with("ip") && field.find('[') != std::string_view::npos &&
          field.find(']') == std::string_view::npos) {
        auto close = rest.find(']', start);
        if (close == std::string_view::npos) {
          return core::make_error("{}:{}: unbalanced '[' in ip", source, line_no);
        }
        comma = rest.find(',', close);
        field = core::trim(rest.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
      }
      start = comma == std::string_view::npos ? rest.size() + 1 : comma + 1;
      if (field.empty()) continue;
      auto s2 = field.find_first_of(" \t");
      if (s2 == std::string_view::npos) {
        return core::make_error("{}:{}: '{}' has no value", source, line_no, field);
      }
      auto k = field.substr(0, s2);
      auto v = core::trim(field.substr(s2));
      auto num = [&](auto& out) {
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
        return ec == std::errc() && p == v.data() + v.size();
      };
      bool ok = true;
      if (k == "gen_id") {
        ok = num(gid);
      } else if (k == "sig_id") {
        ok = num(sid);
        have_sid = true;
      } else if (k == "type") {
        have[0] = true;
        if (v == "limit")
          th.type = Threshold::Type::kLimit;
        else if (v == "threshold")
          th.type = Threshold::Type::kThreshold;
        else if (v == "both")
          th.type = Threshold::Type::kBoth;
        else
          ok = false;
      } else if (k == "track") {
        have[1] = true;
        if (v == "by_src")
          th.track = Threshold::Track::kBySrc, sup.track = Suppress::Track::kBySrc;
        else if (v == "by_dst")
          th.track = Threshold::Track::kByDst, sup.track = Suppress::Track::kByDst;
        else if (v == "by_either")
          sup.track = Suppress::Track::kByEither;
        else if (v == "by_rule")
          th.track = Threshold::Track::kByRule;
        else if (v == "by_both")
          th.track = Threshold::Track::kByBoth;
        else if (v == "by_flow" && kind == "rate_filter")
          th.track = Threshold::Track::kByFlow;
        else
          ok = false;
      } else if (k == "count") {
        have[2] = true;
        ok = num(th.count) && th.count > 0;
      } else if (k == "seconds") {
        have[3] = true;
        ok = num(th.seconds);
      } else if (k == "ip") {
        ip = std::string(v);
      } else if (k == "new_action" && kind == "rate_filter") {
        have_action = true;
        if (v == "alert")
          rf.new_action = Action::kAlert;
        else if (v == "drop")
          rf.new_action = Action::kDrop;
        else if (v == "reject")
          rf.new_action = Action::kReject;
        else if (v == "pass")
          rf.new_action = Action::kPass;
        else
          ok = false;
      } else if (k == "timeout" && kind == "rate_filter") {
        have_timeout = true;
        ok = num(rf.timeout);
      } else {
        return core::make_error("{}:{}: unknown field '{}'", source, line_no, k);
      }
      if (!ok) return core::make_error("{}:{}: bad value '{}' for {}", source, line_no, v, k);
    }
    if (!have_sid) return core::make_error("{}:{}: sig_id is missing", source, line_no);
    if (kind == "suppress") {
      if (!ip.empty()) {
        if (sup.track == Suppress::Track::kAll) {
          return core::make_error("{}:{}: suppress with ip needs a track", source, line_no);
        }
        auto a = AddressSet::parse(ip, address_vars);
        if (!a) return core::make_error("{}:{}: ip: {}", source, line_no, a.error().message);
        sup.addresses = std::move(*a);
      } else {
        sup.track = Suppress::Track::kAll;
      }
    } else if (kind == "rate_filter") {
      if (!(have[1] && have[2] && have[3] && have_action && have_timeout)) {
        return core::make_error(
            "{}:{}: rate_filter needs track, count, seconds, new_action and timeout", source,
            line_no);
      }
      rf.track = th.track;
      rf.count = th.count;
      rf.seconds = th.seconds;
    } else if (!(have[0] && have[1] && have[2] && have[3])) {
      return core::make_error("{}:{}: {} needs type, track, count and seconds", source, line_no,
                              kind);
    }
    bool found = false;
    for (auto& s : set.signatures) {
      if ((sid != 0 && s.sid != sid) || (gid != 0 && s.gid != gid)) continue;
      found = true;
      if (kind == "suppress") {
        s.suppress.push_back(sup);
      } else if (kind == "rate_filter") {
        s.rate_filter = rf;
      } else {
        s.threshold = th;
      }
    }
    if (!found && sid != 0) {
      return core::make_error("{}:{}: no loaded rule has sig_id {}", source, line_no, sid);
    }
    return {};
  });
}

}  // namespace mimamori::net::rules
