// Timeline (CSV, JSON lines, table) and summary of `mimamori hunt`.

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "hunt.h"
#include "mimamori/core/eve.h"

namespace mimamori::cli::hunt {
namespace {

void put(std::FILE* out, std::string_view s) { std::fwrite(s.data(), 1, s.size(), out); }

void csv_field(std::string& line, std::string_view v) {
  line.push_back('"');
  for (char c : v) {
    if (c == '"') line.push_back('"');
    line.push_back(c);
  }
  line.push_back('"');
}

// Cuts to `width` display columns (wide characters count two), for the table.
std::string cut(std::string_view s, std::size_t width) {
  std::string out;
  std::size_t cols = 0;
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    std::size_t w = len >= 3 ? 2 : 1;
    if (cols + w > width) break;
    out.append(s.substr(i, len));
    cols += w;
    i += len;
  }
  out.append(width - cols, ' ');
  return out;
}

}  // namespace

std::string_view short_level(sigma::Level level) {
  switch (level) {
    case sigma::Level::kInformational:
      return "info";
    case sigma::Level::kLow:
      return "low";
    case sigma::Level::kMedium:
      return "med";
    case sigma::Level::kHigh:
      return "high";
    case sigma::Level::kCritical:
      return "crit";
  }
  return "med";
}

void write_timeline(std::FILE* out, Format format, const std::vector<Detection>& rows,
                    const sigma::RuleSet& rules, const std::vector<std::string>& sources) {
  std::string line;
  if (format == Format::kCsv) {
    put(out,
        "Timestamp,Computer,Channel,EventID,Level,RecordID,RuleTitle,Details,RuleFile,EvtxFile\n");
  } else if (format == Format::kTable) {
    line = cut("Timestamp", 30) + " " + cut("Computer", 16) + " " + cut("EventID", 7) + " " +
           cut("Level", 5) + " " + cut("RuleTitle", 48) + " Details\n";
    put(out, line);
  }
  for (const auto& d : rows) {
    const auto& rule = rules.rules()[d.rule];
    std::string ts = jst_time(d.time);
    std::string rule_file =
        std::string(std::string_view(rule.file).substr(rule.file.find_last_of('/') + 1));
    line.clear();
    switch (format) {
      case Format::kCsv: {
        csv_field(line, ts);
        line.push_back(',');
        csv_field(line, d.computer);
        line.push_back(',');
        csv_field(line, d.channel);
        line.push_back(',');
        line += d.event_id;
        line.push_back(',');
        csv_field(line, short_level(rule.level));
        line.push_back(',');
        line += std::to_string(d.record_id);
        line.push_back(',');
        csv_field(line, rule.title);
        line.push_back(',');
        csv_field(line, d.details);
        line.push_back(',');
        csv_field(line, rule_file);
        line.push_back(',');
        csv_field(line, sources[d.source]);
        line.push_back('\n');
        break;
      }
      case Format::kJsonl: {
        auto kv = [&](std::string_view k, std::string_view v, bool first = false) {
          if (!first) line.push_back(',');
          core::append_json_string(line, k);
          line.push_back(':');
          core::append_json_string(line, v);
        };
        line.push_back('{');
        kv("Timestamp", ts, true);
        kv("Computer", d.computer);
        kv("Channel", d.channel);
        line += ",\"EventID\":";
        line += d.event_id.empty() ? "null" : d.event_id;
        kv("Level", short_level(rule.level));
        line += fmt::format(",\"RecordID\":{}", d.record_id);
        kv("RuleTitle", rule.title);
        kv("Details", d.details);
        kv("RuleFile", rule_file);
        kv("RuleID", rule.id);
        kv("EvtxFile", sources[d.source]);
        line += "}\n";
        break;
      }
      case Format::kTable: {
        line = cut(ts, 30) + " " + cut(d.computer, 16) + " " + cut(d.event_id, 7) + " " +
               cut(short_level(rule.level), 5) + " " + cut(rule.title, 48) + " " +
               cut(d.details, 100);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        line.push_back('\n');
        break;
      }
    }
    put(out, line);
  }
}

void write_summary(std::FILE* out, Lang lang, const std::vector<Detection>& rows,
                   const sigma::RuleSet& rules, const ScanTotals& t) {
  auto p = [&](std::string_view key, const std::string& value) {
    fmt::print(out, "{}: {}\n", msg(lang, key), value);
  };
  fmt::print(out, "\n== {} ==\n", msg(lang, "summary.title"));
  p("summary.rules", fmt::format("{} ({:.2f} s)", rules.rules().size(), t.rule_seconds));
  if (!rules.errors().empty()) p("summary.rules_failed", std::to_string(rules.errors().size()));
  p("summary.files", std::to_string(t.files));
  if (t.unreadable) p("summary.unreadable", std::to_string(t.unreadable));
  p("summary.records", std::to_string(t.records));
  if (t.bad_records || t.bad_chunks)
    p("summary.damaged", fmt::format("{} / {}", t.bad_records, t.bad_chunks));
  double mb = static_cast<double>(t.bytes) / 1e6;
  p("summary.speed", fmt::format("{:.2f} s, {:.1f} MB, {:.1f} MB/s, {:.0f} records/s", t.seconds,
                                 mb, t.seconds > 0 ? mb / t.seconds : 0.0,
                                 t.seconds > 0 ? static_cast<double>(t.records) / t.seconds : 0.0));
  if (t.cpu_seconds > 0)
    p("summary.cpu", fmt::format("{:.2f} s, {:.1f} MB/s", t.cpu_seconds, mb / t.cpu_seconds));
  p("summary.detections", std::to_string(rows.size()));
  if (rows.empty()) {
    fmt::print(out, "{}\n", msg(lang, "summary.none"));
    return;
  }
  std::map<sigma::Level, uint64_t> per_level;
  std::map<uint32_t, uint64_t> per_rule;
  std::map<std::string, uint64_t> per_computer;
  core::Timestamp first = rows.front().time, last = rows.front().time;
  for (const auto& d : rows) {
    ++per_level[rules.rules()[d.rule].level];
    ++per_rule[d.rule];
    ++per_computer[d.computer];
    first = std::min(first, d.time);
    last = std::max(last, d.time);
  }
  fmt::print(out, "{}:\n", msg(lang, "summary.by_level"));
  for (auto level : {sigma::Level::kCritical, sigma::Level::kHigh, sigma::Level::kMedium,
                     sigma::Level::kLow, sigma::Level::kInformational}) {
    std::string key = "level." + std::string(sigma::level_name(level));
    fmt::print(out, "  {:<14} {}\n", msg(lang, key), per_level[level]);
  }
  std::vector<std::pair<uint64_t, uint32_t>> top;
  for (const auto& [rule, n] : per_rule) top.emplace_back(n, rule);
  std::sort(top.begin(), top.end(), [&](const auto& a, const auto& b) {
    auto la = rules.rules()[a.second].level, lb = rules.rules()[b.second].level;
    return la != lb ? la > lb : a.first > b.first;
  });
  fmt::print(out, "{}:\n", msg(lang, "summary.top_rules"));
  for (std::size_t i = 0; i < top.size() && i < 15; ++i) {
    const auto& r = rules.rules()[top[i].second];
    fmt::print(out, "  {:>6}  {:<4}  {}\n", top[i].first, short_level(r.level), r.title);
  }
  std::vector<std::pair<uint64_t, std::string>> comps;
  for (const auto& [c, n] : per_computer) comps.emplace_back(n, c);
  std::sort(comps.rbegin(), comps.rend());
  fmt::print(out, "{}:\n", msg(lang, "summary.top_computers"));
  for (std::size_t i = 0; i < comps.size() && i < 5; ++i)
    fmt::print(out, "  {:>6}  {}\n", comps[i].first,
               comps[i].second.empty() ? "-" : comps[i].second);
  p("summary.first", jst_time(first));
  p("summary.last", jst_time(last));
}

}  // namespace mimamori::cli::hunt
