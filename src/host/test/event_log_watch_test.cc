// Brute force and persistence from Windows event-log records: records rendered as Windows does
// (XML), read by EventLogAlerts and handed to EventLogWatch, as in the agent.

#include "mimamori/host/event_log_watch.h"

#include <gtest/gtest.h>

#include <map>

#include "mimamori/host/collector.h"
#include "mimamori/sigma/rules.h"

namespace mimamori::host {
namespace {

struct Data {
  std::string name, value;
};

std::string record_xml(int event_id, std::string_view channel, std::string_view time,
                       const std::vector<Data>& data) {
  std::string x =
      "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
      "<Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>" +
      std::to_string(event_id) + "</EventID><TimeCreated SystemTime='" + std::string(time) +
      "'/><EventRecordID>1</EventRecordID><Channel>" + std::string(channel) +
      "</Channel><Computer>PC-01</Computer></System><EventData>";
  for (const auto& d : data) x += "<Data Name='" + d.name + "'>" + d.value + "</Data>";
  return x + "</EventData></Event>";
}

std::string logon(int id, std::string_view type, std::string_view ip, std::string_view user,
                  int second) {
  char t[64];
  std::snprintf(t, sizeof t, "2026-05-01T09:%02d:%02d.1234567Z", second / 60, second % 60);
  return record_xml(id, "Security", t,
                    {{"TargetUserName", std::string(user)},
                     {"LogonType", std::string(type)},
                     {"IpAddress", std::string(ip)},
                     {"WorkstationName", "ATTACKER"},
                     {"SubStatus", "0xc000006a"},
                     {"AuthenticationPackageName", "NTLM"}});
}

// Plays XML records as a subscription would.
class ListSource : public EventLogSource {
 public:
  explicit ListSource(std::vector<std::string> xml) : xml_(std::move(xml)) {}
  core::Result<std::size_t> poll(const std::function<void(const EventLogRecord&)>& on_record,
                                 std::size_t max, std::chrono::milliseconds) override {
    std::size_t n = 0;
    for (; n < max && next_ < xml_.size(); ++n, ++next_)
      on_record({"Security", next_ + 1, xml_[next_]});
    return n;
  }
  EventLogBookmarks bookmarks() const override {
    return {{"Security", make_bookmark("Security", next_)}};
  }
  bool finished() const override { return next_ == xml_.size(); }

 private:
  std::vector<std::string> xml_;
  std::size_t next_ = 0;
};

struct KeepingSink : EventSink {
  std::vector<core::Event> events;
  std::map<std::string, std::string, std::less<>> marks;
  void emit(const core::Event& e) override { events.push_back(e); }
  void checkpoint(std::string_view s, std::string_view p) override { marks[std::string(s)] = p; }
  std::string position(std::string_view s) override {
    auto it = marks.find(s);
    return it == marks.end() ? std::string() : it->second;
  }
  std::vector<const core::Event*> alerts(uint64_t sid) const {
    std::vector<const core::Event*> out;
    for (const auto& e : events)
      if (e.alert && e.alert->signature_id == sid) out.push_back(&e);
    return out;
  }
};

// The records through EventLogAlerts (no Sigma rules) with the watch as its observer.
KeepingSink run(const std::vector<std::string>& xml, EventLogWatch::Options o = {}) {
  ListSource source(xml);
  sigma::RuleSet rules;
  EXPECT_TRUE(rules.compile());
  EventLogAlerts alerts(source, rules, "PC-01");
  EventLogWatch watch(o);
  alerts.add_observer(watch);
  KeepingSink sink;
  while (!source.finished()) EXPECT_TRUE(alerts.poll(sink, 3, std::chrono::milliseconds(0)));
  EXPECT_EQ(decode_bookmarks(sink.position(EventLogAlerts::kCheckpoint)).size(), 1u);
  return sink;
}

TEST(EventLogWatch, RdpFailuresFromOneAddressAreBruteForceThenSuccessIsWorse) {
  std::vector<std::string> xml;
  for (int i = 0; i < 6; ++i) xml.push_back(logon(4625, "10", "203.0.113.7", "admin", i * 5));
  xml.push_back(logon(4624, "10", "203.0.113.7", "admin", 40));
  KeepingSink sink = run(xml);
  auto brute = sink.alerts(auth_sid::kBruteForce);
  ASSERT_EQ(brute.size(), 1u);  // the fifth failure; the sixth is in the same window
  EXPECT_EQ(brute[0]->alert->signature, "RDP brute force: many failed logins from one address");
  EXPECT_EQ(brute[0]->alert->category, "Attempted Administrator Privilege Gain");
  EXPECT_EQ(brute[0]->src_ip.to_string(), "203.0.113.7");
  EXPECT_EQ(brute[0]->fields.find_string("auth.user"), "admin");
  EXPECT_EQ(brute[0]->fields.find("auth.failures")->as_int(), 5);
  auto success = sink.alerts(auth_sid::kSuccessAfterFailures);
  ASSERT_EQ(success.size(), 1u);
  EXPECT_EQ(success[0]->alert->severity, 1);
  EXPECT_EQ(success[0]->fields.find("auth.failures")->as_int(), 6);
  EXPECT_EQ(sink.events.size(), 2u);  // alerts only: single logons are not events here
}

TEST(EventLogWatch, SlowLocalAndOtherLogonTypesAreNotBruteForce) {
  std::vector<std::string> xml;
  for (int i = 0; i < 5; ++i) xml.push_back(logon(4625, "3", "198.51.100.9", "u", i * 61));
  for (int i = 0; i < 5; ++i) xml.push_back(logon(4625, "3", "-", "u", i));
  for (int i = 0; i < 5; ++i) xml.push_back(logon(4625, "3", "127.0.0.1", "u", i));
  for (int i = 0; i < 5; ++i) xml.push_back(logon(4625, "2", "198.51.100.10", "u", i));
  EXPECT_TRUE(run(xml).events.empty());
  // The same five network failures within the window: brute force, and the threshold is the
  // configured one.
  xml.clear();
  for (int i = 0; i < 3; ++i) xml.push_back(logon(4625, "3", "::ffff:198.51.100.9", "u", i));
  auto sink = run(xml, {.failures = 3, .window_s = 10});
  auto brute = sink.alerts(auth_sid::kBruteForce);
  ASSERT_EQ(brute.size(), 1u);
  EXPECT_EQ(brute[0]->alert->signature, "Network brute force: many failed logins from one address");
  EXPECT_EQ(brute[0]->src_ip.to_string(), "198.51.100.9");
  EXPECT_TRUE(run(xml, {.brute_force = false}).events.empty());
}

TEST(EventLogWatch, NtlmValidationsCountPerClientName) {
  std::vector<std::string> xml;
  for (int i = 0; i < 5; ++i)
    xml.push_back(record_xml(
        4776, "Security", "2026-05-01T10:00:0" + std::to_string(i) + ".0Z",
        {{"TargetUserName", "administrator"}, {"Workstation", "KALI"}, {"Status", "0xc000006a"}}));
  auto sink = run(xml);
  auto brute = sink.alerts(auth_sid::kBruteForce);
  ASSERT_EQ(brute.size(), 1u);
  EXPECT_EQ(brute[0]->alert->signature, "NTLM brute force: many failed logins from one address");
  EXPECT_EQ(brute[0]->fields.find_string("auth.src_host"), "KALI");
  EXPECT_TRUE(brute[0]->src_ip.empty());
  EXPECT_TRUE(run(xml, {.ntlm = false}).events.empty());
}

TEST(EventLogWatch, NewServiceAndScheduledTaskArePersistence) {
  std::vector<std::string> xml = {
      record_xml(7045, "System", "2026-05-01T10:00:00.0Z",
                 {{"ServiceName", "Updater サービス"},
                  {"ImagePath", "C:\\Users\\Public\\upd.exe -k"},
                  {"ServiceType", "user mode service"},
                  {"StartType", "auto start"},
                  {"AccountName", "LocalSystem"}}),
      record_xml(4698, "Security", "2026-05-01T10:00:01.0Z",
                 {{"SubjectUserName", "alice"},
                  {"TaskName", "\\Evil"},
                  {"TaskContent",
                   "&lt;?xml version=\"1.0\"?&gt;&lt;Task&gt;&lt;Actions&gt;&lt;Exec&gt;"
                   "&lt;Command&gt;powershell.exe&lt;/Command&gt;&lt;Arguments&gt;-enc AAA"
                   "&lt;/Arguments&gt;&lt;/Exec&gt;&lt;/Actions&gt;&lt;/Task&gt;"}}),
      // The same ids from other channels are not these events.
      record_xml(7045, "Application", "2026-05-01T10:00:02.0Z", {{"ServiceName", "x"}}),
  };
  auto sink = run(xml);
  ASSERT_EQ(sink.events.size(), 4u);  // an event and an alert each
  auto svc = sink.alerts(persistence_sid::kWindowsService);
  ASSERT_EQ(svc.size(), 1u);
  EXPECT_EQ(svc[0]->alert->category, "Persistence");
  EXPECT_EQ(svc[0]->fields.find_string("persistence.name"), "Updater サービス");
  EXPECT_EQ(svc[0]->fields.find_string("persistence.path"), "C:\\Users\\Public\\upd.exe -k");
  EXPECT_EQ(svc[0]->fields.find_string("persistence_kind"), "windows_service");
  auto task = sink.alerts(persistence_sid::kScheduledTask);
  ASSERT_EQ(task.size(), 1u);
  EXPECT_EQ(task[0]->fields.find_string("persistence.path"), "powershell.exe");
  EXPECT_EQ(task[0]->fields.find_string("persistence.arguments"), "-enc AAA");
  EXPECT_EQ(task[0]->fields.find_string("persistence.name"), "\\Evil");
  EXPECT_TRUE(run(xml, {.persistence = false}).events.empty());
}

}  // namespace
}  // namespace mimamori::host
