// Bookmarks released by the server's acknowledgement (EventLogDelivery) and gaps in a source's
// record ids (EventLogAlerts::report_gaps): scripted sources, and the EVTX replay double.

#include "mimamori/host/event_log_delivery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "mimamori/core/eve.h"
#include "mimamori/evtx/evtx.h"
#include "mimamori/host/event_log.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

// Two rules: failed logons (4625), and any event of the user "admin".
constexpr std::string_view kRules = R"(title: Failed logon
id: 5f0c5f44-1f5e-4c53-9f77-6d0b0d0f0001
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
level: medium
---
title: Admin account used
id: 5f0c5f44-1f5e-4c53-9f77-6d0b0d0f0002
logsource: {product: windows, service: security}
detection:
  sel: {TargetUserName: admin}
  condition: sel
level: low
)";

std::string record_xml(uint64_t id, int event_id, std::string_view user) {
  return "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
         "<Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>" +
         std::to_string(event_id) + "</EventID><EventRecordID>" + std::to_string(id) +
         "</EventRecordID><Channel>Security</Channel><Computer>pc1</Computer></System>"
         "<EventData><Data Name='TargetUserName'>" +
         std::string(user) + "</Data></EventData></Event>";
}

// A subscription double: the records given, from after the bookmark, `per_poll` at a time.
class ScriptedSource : public EventLogSource {
 public:
  ScriptedSource(std::vector<EventLogRecord> records, const EventLogBookmarks& from)
      : records_(std::move(records)) {
    if (auto it = from.find("Security"); it != from.end()) {
      uint64_t after = bookmark_record_id(it->second);
      marks_["Security"] = it->second;
      while (next_ < records_.size() && records_[next_].record_id <= after) ++next_;
    }
  }
  core::Result<std::size_t> poll(const std::function<void(const EventLogRecord&)>& on_record,
                                 std::size_t max, std::chrono::milliseconds) override {
    std::size_t n = 0;
    for (; n < max && next_ < records_.size(); ++n, ++next_) {
      marks_["Security"] = make_bookmark("Security", records_[next_].record_id);
      on_record(records_[next_]);
    }
    return n;
  }
  EventLogBookmarks bookmarks() const override { return marks_; }

 private:
  std::vector<EventLogRecord> records_;
  std::size_t next_ = 0;
  EventLogBookmarks marks_;
};

// Records `first`..`last` of Security: 4625 at the ids in `failed`, user admin at `admin`.
std::vector<EventLogRecord> security(uint64_t first, uint64_t last, std::set<uint64_t> failed,
                                     std::set<uint64_t> admin = {}) {
  std::vector<EventLogRecord> out;
  for (uint64_t id = first; id <= last; ++id)
    out.push_back(
        {"Security", id,
         record_xml(id, failed.count(id) ? 4625 : 4624, admin.count(id) ? "admin" : "taro")});
  return out;
}

sigma::RuleSet& rules() {
  static sigma::RuleSet* r = [] {
    auto* set = new sigma::RuleSet;
    set->load_text(kRules, "test.yml");
    EXPECT_TRUE(set->compile().ok());
    return set;
  }();
  return *r;
}

// A spool double: lines with sequence numbers from `next`.
struct Spooled {
  uint64_t next = 1;
  std::vector<std::pair<uint64_t, std::string>> lines;
  EventLogDelivery::Append append() {
    return [this](std::string_view line) {
      lines.emplace_back(next, std::string(line));
      return next++;
    };
  }
};

// The record id of the resume bookmark of Security in `cps`.
uint64_t resume_id(const std::map<std::string, std::string>& cps) {
  auto marks = decode_bookmarks(cps.at(std::string(EventLogAlerts::kCheckpoint)));
  return marks.count("Security") ? bookmark_record_id(marks.at("Security")) : 0;
}

void drain(EventLogAlerts& alerts, EventSink& sink, std::size_t per_poll = 4) {
  while (true) {
    auto n = alerts.poll(sink, per_poll, std::chrono::milliseconds(0));
    ASSERT_TRUE(n.ok());
    if (*n == 0) break;
  }
}

TEST(EventLogDelivery, BookmarkWaitsForTheServersAcknowledgement) {
  Spooled spool;
  EventLogDelivery d(spool.append(), {}, {});
  ScriptedSource src(security(1, 10, {3, 7}), d.resume());
  EventLogAlerts alerts(src, rules(), "pc1");
  drain(alerts, d);
  ASSERT_EQ(spool.lines.size(), 2u);  // records 3 and 7, seq 1 and 2
  EXPECT_NE(spool.lines[0].second.find("\"record_id\":3"), std::string::npos);
  // Nothing acknowledged: the bookmark stays just before record 3 (records 1, 2 had no alert).
  auto cps = d.checkpoints();
  EXPECT_EQ(resume_id(cps), 2u);
  EXPECT_EQ(d.held_records(), 2u);
  // Record 3's alert acknowledged: up to just before 7.
  d.acked(1);
  EXPECT_EQ(resume_id(d.checkpoints()), 6u);
  // All acknowledged: past the records without alerts too, to the last read.
  d.acked(2);
  cps = d.checkpoints();
  EXPECT_EQ(resume_id(cps), 10u);
  EXPECT_EQ(d.held_records(), 0u);
  EXPECT_TRUE(decode_bookmarks(cps.at(std::string(EventLogDelivery::kHeldCheckpoint))).empty());
}

TEST(EventLogDelivery, RecordsWithoutAlertsNeverHoldTheBookmark) {
  Spooled spool;
  EventLogDelivery d(spool.append(), {}, {});
  ScriptedSource src(security(1, 50, {}), d.resume());
  EventLogAlerts alerts(src, rules(), "pc1");
  drain(alerts, d, 7);
  EXPECT_TRUE(spool.lines.empty());
  EXPECT_EQ(resume_id(d.checkpoints()), 50u);
}

// Killed after spooling, before the acknowledgement: a restart re-reads from the held bookmark
// and spools nothing twice (the spool still has it), then goes on with new records.
TEST(EventLogDelivery, RestartBeforeTheAcknowledgementSpoolsNothingTwice) {
  Spooled spool;
  std::map<std::string, std::string> at_crash;
  {
    EventLogDelivery d(spool.append(), {}, {});
    ScriptedSource src(security(1, 10, {3, 7}), d.resume());
    EventLogAlerts alerts(src, rules(), "pc1");
    drain(alerts, d);
    d.acked(1);  // the server has record 3's alert, not 7's
    at_crash = d.checkpoints();
  }
  ASSERT_EQ(resume_id(at_crash), 6u);
  // Restarted: the spool holds seq 2 (record 7) unacknowledged; the log has grown to 12.
  Spooled after;
  after.next = 3;
  EventLogDelivery d(after.append(), at_crash.at(std::string(EventLogAlerts::kCheckpoint)),
                     at_crash.at(std::string(EventLogDelivery::kHeldCheckpoint)));
  d.acked(1);
  d.spooled(2, spool.lines[1].second);
  d.spooled(1, "{\"event_type\":\"stats\"}");  // not an event-log alert: ignored
  ScriptedSource src(security(1, 12, {3, 7, 12}), d.resume());
  EventLogAlerts alerts(src, rules(), "pc1");
  drain(alerts, d);
  ASSERT_EQ(after.lines.size(), 1u);
  EXPECT_NE(after.lines[0].second.find("\"record_id\":12"), std::string::npos);
  EXPECT_EQ(d.skipped(), 1u);
  // Record 7 stays held by its old sequence number until the spool's resend is acknowledged.
  EXPECT_EQ(resume_id(d.checkpoints()), 6u);
  d.acked(2);
  EXPECT_EQ(resume_id(d.checkpoints()), 11u);
  d.acked(3);
  EXPECT_EQ(resume_id(d.checkpoints()), 12u);
}

// Two rules fire on one record and the server acknowledged only the first alert: a restart
// skips that one (the server has it) and the other (still in the spool).
TEST(EventLogDelivery, AcknowledgedAlertsOfAHeldRecordAreNotSentAgain) {
  Spooled spool;
  std::map<std::string, std::string> at_crash;
  {
    EventLogDelivery d(spool.append(), {}, {});
    ScriptedSource src(security(1, 5, {4}, {4}), d.resume());
    EventLogAlerts alerts(src, rules(), "pc1");
    drain(alerts, d);
    ASSERT_EQ(spool.lines.size(), 2u);
    d.acked(1);
    at_crash = d.checkpoints();
  }
  EXPECT_EQ(resume_id(at_crash), 3u);
  Spooled after;
  after.next = 3;
  EventLogDelivery d(after.append(), at_crash.at(std::string(EventLogAlerts::kCheckpoint)),
                     at_crash.at(std::string(EventLogDelivery::kHeldCheckpoint)));
  d.acked(1);
  d.spooled(2, spool.lines[1].second);
  ScriptedSource src(security(1, 5, {4}, {4}), d.resume());
  EventLogAlerts alerts(src, rules(), "pc1");
  drain(alerts, d);
  EXPECT_TRUE(after.lines.empty());
  EXPECT_EQ(d.skipped(), 2u);
  // Killed again before seq 2's acknowledgement: the next restart still knows seq 1 was sent.
  auto again = d.checkpoints();
  EXPECT_EQ(resume_id(again), 3u);
  auto held = decode_bookmarks(again.at(std::string(EventLogDelivery::kHeldCheckpoint)));
  EXPECT_EQ(held.at("Security"), "4 9120000");
}

// The spool dropped an alert (full) before the server had it: the held bookmark lets the
// restart spool it again from the event log.
TEST(EventLogDelivery, WhatTheSpoolDroppedIsSpooledAgainFromTheLog) {
  Spooled spool;
  std::map<std::string, std::string> at_crash;
  {
    EventLogDelivery d(spool.append(), {}, {});
    ScriptedSource src(security(1, 10, {3, 7}), d.resume());
    EventLogAlerts alerts(src, rules(), "pc1");
    drain(alerts, d);
    at_crash = d.checkpoints();
  }
  Spooled after;
  after.next = 3;
  EventLogDelivery d(after.append(), at_crash.at(std::string(EventLogAlerts::kCheckpoint)),
                     at_crash.at(std::string(EventLogDelivery::kHeldCheckpoint)));
  d.spooled(2, spool.lines[1].second);  // seq 1 (record 3) was dropped, seq 2 is there
  ScriptedSource src(security(1, 10, {3, 7}), d.resume());
  EventLogAlerts alerts(src, rules(), "pc1");
  drain(alerts, d);
  ASSERT_EQ(after.lines.size(), 1u);
  EXPECT_NE(after.lines[0].second.find("\"record_id\":3"), std::string::npos);
  EXPECT_EQ(d.skipped(), 1u);
}

struct Collected : EventSink {
  std::vector<core::Event> events;
  void emit(const core::Event& e) override { events.push_back(e); }
  void checkpoint(std::string_view, std::string_view) override {}
  std::string position(std::string_view) override { return {}; }
  std::vector<const core::Event*> gaps() const {
    std::vector<const core::Event*> out;
    for (const auto& e : events)
      if (e.alert && e.alert->signature_id == EventLogAlerts::kGapSignatureId) out.push_back(&e);
    return out;
  }
};

// Across a restart: the bookmark says 5, the log's next record is 9 (6..8 overwritten).
TEST(EventLogGaps, ALogOverwrittenPastTheBookmarkIsAnAlert) {
  EventLogBookmarks from{{"Security", make_bookmark("Security", 5)}};
  ScriptedSource src(security(9, 12, {10}), from);
  EventLogAlerts alerts(src, rules(), "pc1");
  alerts.report_gaps(from);
  Collected sink;
  drain(alerts, sink);
  auto gaps = sink.gaps();
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]->fields.find("winlog.gap.last_read")->as_int(), 5);
  EXPECT_EQ(gaps[0]->fields.find("winlog.gap.next")->as_int(), 9);
  EXPECT_EQ(gaps[0]->fields.find("winlog.gap.missing")->as_int(), 3);
  EXPECT_EQ(gaps[0]->fields.find_string("winlog.channel"), "Security");
  EXPECT_EQ(sink.events.size(), 2u);  // the gap, and record 10's failed logon
  EXPECT_EQ(alerts.stats().gaps, 1u);
  // Contiguous after the bookmark: no gap.
  ScriptedSource whole(security(6, 12, {}), from);
  EventLogAlerts quiet(whole, rules(), "pc1");
  quiet.report_gaps(from);
  Collected none;
  drain(quiet, none);
  EXPECT_TRUE(none.events.empty());
}

// Cleared: the ids start again below the bookmark's.
TEST(EventLogGaps, ALogClearedAndRenumberedIsAnAlert) {
  EventLogBookmarks from{{"Security", make_bookmark("Security", 500)}};
  // (The double delivers from after the bookmark by id; a cleared log's records are below it.)
  ScriptedSource src(security(1, 3, {}), {});
  EventLogAlerts alerts(src, rules(), "pc1");
  alerts.report_gaps(from);
  Collected sink;
  drain(alerts, sink);
  auto gaps = sink.gaps();
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]->fields.find("winlog.gap.missing")->as_int(), 0);
  EXPECT_NE(gaps[0]->alert->signature.find("started again"), std::string::npos);
}

// The EVTX replay double over the regression logs: every jump in a file's record ids is one gap
// alert (exports of a selection of records have them), none without report_gaps.
TEST(EventLogGaps, ReplayedLogsReportEachJumpInRecordIds) {
  fs::path dir = fs::path(MIMAMORI_CORPUS_DIR);
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no corpus at " << MIMAMORI_CORPUS_DIR;
  // Eight logs with jumps and eight without; the jumps counted with the EVTX reader.
  std::vector<std::string> all, files;
  for (const char* sub : {"evtx-parser-samples", "sigma/regression_data"})
    for (const auto& e : fs::recursive_directory_iterator(dir / sub))
      if (e.path().extension() == ".evtx") all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  uint64_t jumps = 0;
  int with = 0, without = 0;
  for (const auto& path : all) {
    if (with >= 8 && without >= 8) break;
    auto f = evtx::EvtxFile::open(path);
    if (!f.ok()) continue;  // the parser samples include broken files on purpose
    std::vector<uint64_t> ids;
    f->read([&](const evtx::EvtxRecord& r) { ids.push_back(r.record_id); },
            [](const evtx::EvtxProblem&) {});
    std::sort(ids.begin(), ids.end());
    uint64_t j = 0;
    for (std::size_t i = 1; i < ids.size(); ++i) j += ids[i] != ids[i - 1] + 1;
    int& n = j ? with : without;
    if (n >= 8) continue;
    ++n;
    jumps += j;
    files.push_back(path);
  }
  ASSERT_GT(with, 0) << "no log with a jump in its record ids in the corpus";
  sigma::RuleSet none;
  ASSERT_TRUE(none.compile().ok());
  auto count = [&](bool report) {
    auto src = open_replay_source(files, {});
    EXPECT_TRUE(src.ok());
    EventLogAlerts alerts(**src, none, "pc1");
    if (report) alerts.report_gaps({});
    Collected sink;
    drain(alerts, sink, 64);
    return sink.gaps().size();
  };
  EXPECT_EQ(count(true), jumps);
  EXPECT_EQ(count(false), 0u);
}

}  // namespace
}  // namespace mimamori::host
