// The event-log collector: rendered records -> fields -> Sigma -> alerts, with the bookmarks
// committed as one checkpoint beside the alerts they led to.

#include <spdlog/spdlog.h>

#include <set>

#include "mimamori/core/clock.h"
#include "mimamori/core/event.h"
#include "mimamori/core/hash.h"
#include "mimamori/host/collector.h"
#include "mimamori/host/event_log.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {

namespace {

// Sigma alerts of the event-log collector: this plus the rule's index (as process_sid's).
constexpr uint64_t kEventLogSigmaBase = 9120000;

std::string unhex(std::string_view h) {
  std::string out;
  auto v = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    int a = v(h[i]), b = v(h[i + 1]);
    if (a < 0 || b < 0) return {};
    out.push_back(static_cast<char>(a * 16 + b));
  }
  return out;
}

int severity_of(sigma::Level level) {
  switch (level) {
    case sigma::Level::kCritical:
    case sigma::Level::kHigh:
      return 1;
    case sigma::Level::kMedium:
      return 2;
    case sigma::Level::kLow:
      return 3;
    case sigma::Level::kInformational:
      break;
  }
  return 4;
}

}  // namespace

// One line per source: hex(name) hex(bookmark).
std::string encode_bookmarks(const EventLogBookmarks& marks) {
  std::string out;
  for (const auto& [k, v] : marks) {
    out += core::to_hex(k);
    out += ' ';
    out += core::to_hex(v);
    out += '\n';
  }
  return out;
}

EventLogBookmarks decode_bookmarks(std::string_view text) {
  EventLogBookmarks out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    std::string k = unhex(line.substr(0, sp));
    if (!k.empty()) out[k] = unhex(line.substr(sp + 1));
  }
  return out;
}

EventLogAlerts::EventLogAlerts(EventLogSource& source, const sigma::RuleSet& rules,
                               std::string hostname)
    : source_(source),
      rules_(rules),
      matcher_(std::make_unique<sigma::Matcher>(rules)),
      hostname_(std::move(hostname)) {}

EventLogAlerts::~EventLogAlerts() = default;

core::Result<std::size_t> EventLogAlerts::poll(EventSink& sink, std::size_t max,
                                               std::chrono::milliseconds wait) {
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<sigma::FieldView> view;
  std::vector<uint32_t> hits;
  std::set<std::string_view> seen;
  sink_ = &sink;
  auto n = source_.poll(
      [&](const EventLogRecord& r) {
        ++stats_.records;
        uint64_t gap_after = 0;  // a gap before this record: the id of the last one read
        if (gaps_ && r.record_id) {
          uint64_t& last = last_id_[r.source];
          if (last && r.record_id != last + 1) gap_after = last;
          last = r.record_id;
        }
        auto field = [&](std::string_view name) -> std::string_view {
          for (const auto& [k, v] : fields)
            if (k == name) return v;
          return {};
        };
        if (auto st = event_xml_fields(r.xml, fields); !st) {
          ++stats_.bad_records;
          spdlog::warn("event log '{}' record {}: {}; skipped", r.source, r.record_id,
                       st.error().message);
          if (gap_after) gap_alert(r, gap_after, {});
          return;
        }
        if (gap_after) gap_alert(r, gap_after, field("Channel"));
        for (auto* o : observers_) o->on_record(r, fields, sink);
        view.clear();
        for (const auto& [k, v] : fields) view.push_back({k, v});
        hits.clear();
        matcher_->match(view, hits);
        if (hits.empty()) return;
        core::Timestamp when = core::now();
        if (auto t = core::parse_time(field("TimeCreated_SystemTime")); t) when = *t;
        for (uint32_t h : hits) {
          const sigma::RuleInfo& rule = rules_.rules()[h];
          core::Event e;
          e.timestamp = when;
          e.event_type = core::event_type::kAlert;
          e.fields.add("host", hostname_);
          e.fields.begin_object("winlog")
              .add("channel", field("Channel"))
              .add("event_id", field("EventID"))
              .add("record_id", r.record_id)
              .add("computer", field("Computer"))
              .add("provider", field("Provider_Name"))
              .add("source", r.source)
              .begin_object("fields");
          // A name twice (UserData's repeated leaves): the first value, so the JSON stays valid.
          seen.clear();
          for (const auto& [k, v] : fields)
            if (seen.insert(k).second) e.fields.add(k, v);
          e.fields.end().end();
          auto& a = e.alert.emplace();
          a.signature_id = kEventLogSigmaBase + h;
          a.rev = 1;
          a.signature = rule.title;
          a.category = "Sigma";
          a.severity = severity_of(rule.level);
          a.extra.add("sigma_id", rule.id).add("sigma_level", sigma::level_name(rule.level));
          sink.emit(e);
          ++stats_.alerts;
        }
      },
      max, wait);
  sink_ = nullptr;
  if (!n) return n;
  if (*n) sink.checkpoint(kCheckpoint, encode_bookmarks(source_.bookmarks()));
  return n;
}

void EventLogAlerts::report_gaps(const EventLogBookmarks& from) {
  gaps_ = true;
  for (const auto& [source, mark] : from)
    if (uint64_t id = bookmark_record_id(mark)) last_id_[source] = id;
}

void EventLogAlerts::gap_alert(const EventLogRecord& r, uint64_t last, std::string_view channel) {
  ++stats_.gaps;
  bool lost = r.record_id > last;
  uint64_t missing = lost ? r.record_id - last - 1 : 0;
  if (lost)
    spdlog::warn("event log '{}': records {}..{} were gone before they were read ({} lost)",
                 r.source, last + 1, r.record_id - 1, missing);
  else
    spdlog::warn("event log '{}': record ids started again at {} after {} (the log was cleared)",
                 r.source, r.record_id, last);
  core::Event e;
  e.timestamp = core::now();
  e.event_type = core::event_type::kAlert;
  e.fields.add("host", hostname_);
  e.fields.begin_object("winlog")
      .add("channel", channel.empty() ? std::string_view(r.source) : channel)
      .add("record_id", r.record_id)
      .add("source", r.source)
      .begin_object("gap")
      .add("last_read", last)
      .add("next", r.record_id)
      .add("missing", missing)
      .end()
      .end();
  auto& a = e.alert.emplace();
  a.signature_id = kGapSignatureId;
  a.rev = 1;
  a.signature = lost ? "Event log gap: records lost before they were read (cleared or overwritten)"
                     : "Event log gap: record ids started again (the log was cleared)";
  a.category = "Event log";
  a.severity = 2;
  sink_->emit(e);
}

}  // namespace mimamori::host
