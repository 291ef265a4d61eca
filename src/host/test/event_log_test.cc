// The event-log path: XML of a rendered record to fields (the same names and values as the EVTX
// reader), Windows-shaped bookmarks, and the replay source resuming after restarts.

#include "mimamori/host/event_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "mimamori/evtx/evtx.h"
#include "mimamori/host/collector.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;
using Fields = std::vector<std::pair<std::string, std::string>>;

const fs::path kCorpus = MIMAMORI_CORPUS_DIR;
const fs::path kRegression = kCorpus / "sigma" / "regression_data";

std::string find(const Fields& f, std::string_view name) {
  for (const auto& [k, v] : f)
    if (k == name) return v;
  return "<absent>";
}

std::vector<fs::path> evtx_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".evtx") out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

// What EvtRender gives on Windows: single quotes, the namespace, 100 ns times,
// entities, a UserData section, Japanese text.
TEST(EventXmlFields, WindowsRenderedEventGivesTheReadersNames) {
  const char* xml =
      "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
      "<Provider Name='Microsoft-Windows-Security-Auditing' "
      "Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4688</EventID><Version>2</Version>"
      "<Level>0</Level><Task>13312</Task><Keywords>0x8020000000000000</Keywords>"
      "<TimeCreated SystemTime='2024-05-01T09:30:15.1234567Z'/>"
      "<EventRecordID>1234</EventRecordID><Correlation/>"
      "<Execution ProcessID='4' ThreadID='88'/><Channel>Security</Channel>"
      "<Computer>PC-01.example.local</Computer><Security/></System><EventData>"
      "<Data Name='SubjectUserName'>山田</Data>"
      "<Data Name='NewProcessName'>C:\\Windows\\System32\\cmd.exe</Data>"
      "<Data Name='CommandLine'>cmd /c \"echo a &amp; b &lt;c&gt;\" &#x3042;</Data>"
      "<Data Name='Threat Name'>EICAR</Data><Data Name='Empty'></Data></EventData>"
      "<UserData><LogFileCleared><SubjectUserName>admin</SubjectUserName></LogFileCleared>"
      "</UserData></Event>";
  Fields f;
  ASSERT_TRUE(event_xml_fields(xml, f).ok());
  EXPECT_EQ(find(f, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(find(f, "Provider_Guid"), "{54849625-5478-4994-a5ba-3e3b0328c30d}");
  EXPECT_EQ(find(f, "EventID"), "4688");
  EXPECT_EQ(find(f, "TimeCreated_SystemTime"), "2024-05-01T09:30:15.123456Z");
  EXPECT_EQ(find(f, "EventRecordID"), "1234");
  EXPECT_EQ(find(f, "Execution_ProcessID"), "4");
  EXPECT_EQ(find(f, "Channel"), "Security");
  EXPECT_EQ(find(f, "SubjectUserName"), "山田");
  EXPECT_EQ(find(f, "NewProcessName"), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(find(f, "CommandLine"), "cmd /c \"echo a & b <c>\" あ");
  EXPECT_EQ(find(f, "ThreatName"), "EICAR");
  EXPECT_EQ(find(f, "Empty"), "");
  // Empty System elements (Correlation, Security) give no field, as in the reader.
  EXPECT_EQ(find(f, "Correlation"), "<absent>");
  // The namespace is not a field.
  EXPECT_EQ(find(f, "Event_xmlns"), "<absent>");
}

TEST(EventXmlFields, MalformedXmlIsAnErrorThatSaysWhere) {
  Fields f;
  auto st = event_xml_fields("<Event><System><EventID>1</EventID></Event>", f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("does not close"), std::string::npos) << st.error().message;
  st = event_xml_fields("<Event><System><EventID>1&bogus;</EventID></System></Event>", f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("unknown entity '&bogus;'"), std::string::npos);
  st = event_xml_fields("<Event><System>", f);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not closed"), std::string::npos);
}

// Every record of the Sigma regression logs and the parser samples: rendered to XML and
// flattened back, the fields are the EVTX reader's, name for name and value for value.
TEST(EventXmlFields, AgreeWithTheEvtxReaderOverTheCorpus) {
  auto files = evtx_files(kRegression);
  auto samples = evtx_files(kCorpus / "evtx-parser-samples");
  files.insert(files.end(), samples.begin(), samples.end());
  if (files.empty()) GTEST_SKIP() << "no corpus at " << kCorpus;
  uint64_t records = 0, disagree = 0;
  std::string first;
  Fields got;
  std::string xml;
  for (const auto& p : files) {
    auto f = evtx::EvtxFile::open(p.string());
    if (!f) continue;
    f->read(
        [&](const evtx::EvtxRecord& r) {
          ++records;
          xml.clear();
          r.append_xml(xml);
          Fields want;
          for (const auto& fl : r.fields()) want.emplace_back(fl.name, fl.value);
          auto st = event_xml_fields(xml, got);
          if (st.ok() && got == want) return;
          if (++disagree == 1) {
            first = p.filename().string() + " record " + std::to_string(r.record_id) + ": " +
                    (st.ok() ? "" : st.error().message);
            for (std::size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
              auto g = i < got.size() ? got[i].first + "=" + got[i].second : "-";
              auto w = i < want.size() ? want[i].first + "=" + want[i].second : "-";
              if (g != w) {
                first += "\n  xml:    " + g + "\n  reader: " + w;
                break;
              }
            }
          }
        },
        [](const evtx::EvtxProblem&) {});
  }
  EXPECT_GT(records, 10000u);
  EXPECT_EQ(disagree, 0u) << "of " << records << " records; first: " << first;
}

TEST(Bookmark, WindowsShapeRoundTrips) {
  auto b = make_bookmark("Microsoft-Windows-PowerShell/Operational", 987654321);
  EXPECT_EQ(b,
            "<BookmarkList><Bookmark Channel='Microsoft-Windows-PowerShell/Operational' "
            "RecordId='987654321' IsCurrent='true'/></BookmarkList>");
  EXPECT_EQ(bookmark_record_id(b), 987654321u);
  // As Windows renders one (double quotes, line breaks).
  EXPECT_EQ(bookmark_record_id("<BookmarkList>\r\n  <Bookmark Channel=\"Security\" "
                               "RecordId=\"42\" IsCurrent=\"true\"/>\r\n</BookmarkList>"),
            42u);
  EXPECT_EQ(bookmark_record_id(""), 0u);
  EXPECT_EQ(bookmark_record_id("garbage"), 0u);
}

struct Played {
  std::vector<std::pair<std::string, uint64_t>> records;
  EventLogBookmarks marks;
  bool finished = false;
};

Played play(const std::vector<std::string>& paths, const EventLogBookmarks& marks,
            std::size_t limit = SIZE_MAX) {
  Played out;
  auto src = open_replay_source(paths, marks);
  EXPECT_TRUE(src.ok());
  if (!src) return out;
  while (out.records.size() < limit) {
    auto n = (*src)->poll(
        [&](const EventLogRecord& r) {
          EXPECT_FALSE(r.xml.empty());
          out.records.emplace_back(r.source, r.record_id);
        },
        std::min<std::size_t>(7, limit - out.records.size()), std::chrono::milliseconds(0));
    EXPECT_TRUE(n.ok());
    if (!n || *n == 0) break;
  }
  out.marks = (*src)->bookmarks();
  out.finished = (*src)->finished();
  return out;
}

TEST(ReplaySource, ResumesAfterARestartWithoutDuplicatesOrGaps) {
  fs::path dir = kRegression / "rules" / "windows" / "process_creation";
  if (!fs::is_directory(dir)) GTEST_SKIP() << "no corpus at " << kCorpus;
  auto all = play({dir.string()}, {});
  ASSERT_TRUE(all.finished);
  ASSERT_GT(all.records.size(), 100u);
  // Every record once, in file order and record order within a file.
  std::set<std::pair<std::string, uint64_t>> unique(all.records.begin(), all.records.end());
  EXPECT_EQ(unique.size(), all.records.size());
  EXPECT_TRUE(std::is_sorted(all.records.begin(), all.records.end()));
  // Keys are the files relative to the folder, with forward slashes.
  EXPECT_NE(all.records.front().first.find('/'), std::string::npos);
  EXPECT_TRUE(all.records.front().first.ends_with(".evtx"));

  // Stopped part-way (an odd count, mid-file), restarted from the bookmarks, and again.
  std::vector<std::pair<std::string, uint64_t>> joined;
  EventLogBookmarks marks;
  for (int round = 0; round < 100; ++round) {
    auto part = play({dir.string()}, marks, 37);
    joined.insert(joined.end(), part.records.begin(), part.records.end());
    marks = part.marks;
    if (part.records.empty()) break;
  }
  EXPECT_EQ(joined, all.records);
  // Everything played: a restart delivers nothing.
  auto again = play({dir.string()}, all.marks);
  EXPECT_TRUE(again.records.empty());
  EXPECT_TRUE(again.finished);
}

TEST(ReplaySource, AMissingPathIsAnErrorNamingIt) {
  auto src = open_replay_source({"no/such/logs"}, {});
  ASSERT_FALSE(src.ok());
  EXPECT_NE(src.error().message.find("no/such/logs"), std::string::npos);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value of the first `key:` line (list dashes and indentation allowed before it).
std::string line_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto k = line.find(key + ":");
    if (k == std::string::npos || line.find_first_not_of(" -") < k) continue;
    std::string v = line.substr(k + key.size() + 1);
    v.erase(0, v.find_first_not_of(' '));
    while (!v.empty() && (v.back() == '\r' || v.back() == ' ')) v.pop_back();
    return v;
  }
  return {};
}

struct CountingSink : EventSink {
  std::size_t alerts = 0;
  void emit(const core::Event&) override { ++alerts; }
  void checkpoint(std::string_view, std::string_view) override {}
  std::string position(std::string_view) override { return {}; }
};

// Every Sigma regression case through the agent's path (replayed as a subscription, rendered to
// XML, flattened, matched by EventLogAlerts): its rule fires as often as through the EVTX
// reader's fields (the path of `mimamori hunt`).
TEST(EventLogAlerts, EveryRegressionCaseFiresAsInHunt) {
  fs::path root = kCorpus / "sigma";
  if (!fs::exists(kRegression)) GTEST_SKIP() << "no corpus at " << kCorpus;
  std::map<std::string, fs::path> by_id;
  for (const char* dir : {"rules", "rules-emerging-threats", "rules-threat-hunting"})
    for (const auto& p : fs::recursive_directory_iterator(root / dir))
      if (p.path().extension() == ".yml")
        if (auto id = line_value(read_text(p.path()), "id"); !id.empty())
          by_id.emplace(id, p.path());
  int cases = 0, fired = 0;
  std::vector<std::string> differ;
  for (const auto& e : fs::recursive_directory_iterator(kRegression)) {
    if (e.path().filename() != "info.yml") continue;
    std::string info = read_text(e.path());
    auto meta = info.find("rule_metadata:");
    std::string rule_id = line_value(info.substr(meta == std::string::npos ? 0 : meta), "id");
    fs::path evtx;
    for (const auto& f : fs::directory_iterator(e.path().parent_path()))
      if (f.path().extension() == ".evtx") evtx = f.path();
    auto rule = by_id.find(rule_id);
    if (evtx.empty() || rule == by_id.end()) continue;
    ++cases;
    sigma::RuleSet rules;
    rules.load_file(rule->second.string());
    ASSERT_TRUE(rules.compile().ok());
    // The reader's path.
    sigma::Matcher matcher(rules);
    std::size_t want = 0;
    std::vector<sigma::FieldView> view;
    std::vector<uint32_t> hits;
    auto f = evtx::EvtxFile::open(evtx.string());
    ASSERT_TRUE(f.ok());
    f->read(
        [&](const evtx::EvtxRecord& r) {
          view.clear();
          for (const auto& fl : r.fields()) view.push_back({fl.name, fl.value});
          hits.clear();
          matcher.match(view, hits);
          want += hits.size();
        },
        [](const evtx::EvtxProblem&) {});
    // The agent's path.
    auto src = open_replay_source({evtx.string()}, {});
    ASSERT_TRUE(src.ok());
    EventLogAlerts alerts(**src, rules, "test-pc");
    CountingSink sink;
    while (true) {
      auto n = alerts.poll(sink, 256, std::chrono::milliseconds(0));
      ASSERT_TRUE(n.ok());
      if (*n == 0) break;
    }
    if (sink.alerts > 0) ++fired;
    if (sink.alerts != want)
      differ.push_back(e.path().parent_path().filename().string() + ": " +
                       std::to_string(sink.alerts) + " alerts, hunt's path " +
                       std::to_string(want));
  }
  EXPECT_EQ(cases, 202);
  EXPECT_EQ(fired, cases);
  EXPECT_TRUE(differ.empty()) << differ.size()
                              << " differ, first: " << (differ.empty() ? "" : differ.front());
}

}  // namespace
}  // namespace mimamori::host
