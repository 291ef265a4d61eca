// Stored raw events read back (Store::dump_events and `mimamori admin events dump`), on both
// backends: what devices sent comes out byte for byte, by device and sequence number, only the
// customer's, device's and time range's asked for.

#include <gtest/gtest.h>

#include <cstdio>

#include "mimamori/core/clock.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

// A DNS record at `time` (its own timestamp, and a name that says which it is).
std::string dns_at(std::string_view name, std::string_view time) {
  json::object o{{"timestamp", time},
                 {"flow_id", 1234567},
                 {"event_type", "dns"},
                 {"src_ip", "192.168.1.20"},
                 {"src_port", 53000},
                 {"dest_ip", "192.168.1.1"},
                 {"dest_port", 53},
                 {"proto", "UDP"},
                 {"dns", json::object{{"type", "query"}, {"rrname", name}}}};
  return json::serialize(o);
}

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  EXPECT_EQ(status, 0) << command;
  return out;
}

class EventDump : public ::testing::TestWithParam<std::string> {};

TEST_P(EventDump, GivesBackWhatDevicesSentByCustomerDeviceAndTime) {
  std::string why;
  const std::string url = fresh_store_url(GetParam(), &why);
  if (url.empty()) GTEST_SKIP() << why;
  const std::string data = temp_dir();
  auto ts = TestServer::start(url, [&](ServerOptions& o) { o.data_dir = data; });
  ASSERT_TRUE(ts);
  Store& store = ts->server->store();
  const auto sys = Principal::system("test");
  struct Dev {
    std::string customer, id, token;
    std::vector<std::string> sent;
  };
  std::vector<Dev> devs;
  for (const char* name : {"A", "B"}) {
    auto cus = store.create_customer(sys, name);
    ASSERT_TRUE(cus.ok());
    auto code = store.create_enrollment_code(sys, cus->id, "", 0);
    ASSERT_TRUE(code.ok());
    auto e = store.enroll(code->code, std::string("gw-") + name, "sensor", "1", "127.0.0.1");
    ASSERT_TRUE(e.ok()) << e.error().message;
    devs.push_back(Dev{cus->id, e->device_id, e->device_token, {}});
  }
  Client c(ts->base);
  // Device A: 300 records over three days (enough for several stored blocks), in batches;
  // one with a name needing escapes. Device B: a few.
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::string> lines;
    for (int i = 0; i < 100; ++i) {
      const int n = batch * 100 + i;
      lines.push_back(dns_at(
          n == 7 ? "\"quoted\" \\ \u00e9.example" : fmt::format("a{}.example", n),
          fmt::format("2026-11-{:02d}T{:02d}:{:02d}:00.123456+0900", 24 + batch, i / 60, i % 60)));
    }
    auto r = ingest(c, devs[0].token, batch * 100 + 1, lines);
    ASSERT_EQ(r.status, 200) << r.body;
    devs[0].sent.insert(devs[0].sent.end(), lines.begin(), lines.end());
  }
  std::vector<std::string> b_lines = {dns_at("b1.example", "2026-11-25T10:00:00.000000+0900"),
                                      alert_line(2024217, "ET MALWARE Test", "192.168.1.10",
                                                 "203.0.113.9", "2026-11-25T10:00:01.000000+0900")};
  ASSERT_EQ(ingest(c, devs[1].token, 1, b_lines).status, 200);
  devs[1].sent = b_lines;

  auto dump = [&](const EventDumpQuery& q) {
    std::vector<StoredEvent> out;
    auto st = store.dump_events(q, [&](const StoredEvent& e) { out.push_back(e); });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return out;
  };
  // A customer's: every record of its device, unchanged, in order.
  auto a = dump(EventDumpQuery{devs[0].customer, "", 0, 0});
  ASSERT_EQ(a.size(), 300u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].device_id, devs[0].id);
    EXPECT_EQ(a[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(a[i].event_type, "dns");
    ASSERT_EQ(a[i].record, devs[0].sent[i]) << "seq " << i + 1;
  }
  // A device's, of either customer; every device's.
  auto b = dump(EventDumpQuery{"", devs[1].id, 0, 0});
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].event_type, "alert");
  EXPECT_EQ(b[1].record, b_lines[1]);
  EXPECT_EQ(dump(EventDumpQuery{}).size(), 302u);
  // A device asked for under another customer is not found.
  auto other = store.dump_events({devs[1].customer, devs[0].id, 0, 0}, [](const StoredEvent&) {});
  EXPECT_EQ(other.error().code, 404);
  // The second day only ([since, until)): 100 of device A's, 2 of device B's.
  auto since = core::parse_time("2026-11-25T00:00:00+0900");
  auto until = core::parse_time("2026-11-26T00:00:00+0900");
  ASSERT_TRUE(since.ok() && until.ok());
  auto day = dump(EventDumpQuery{"", "", since->micros, until->micros});
  ASSERT_EQ(day.size(), 102u);
  std::vector<StoredEvent> day_a;
  for (const auto& e : day) {
    if (e.device_id == devs[0].id) day_a.push_back(e);
  }
  ASSERT_EQ(day_a.size(), 100u);
  EXPECT_EQ(day_a.front().seq, 101);
  EXPECT_EQ(day_a.front().record, devs[0].sent[100]);
  EXPECT_EQ(day_a.back().seq, 200);

  // The command prints the same, on the store the server uses while it runs.
  const std::string bin = std::string(MIMAMORI_BINARY_DIR) + "/bin/mimamori";
  const std::string store_opt = "--store '" + url + "' --data-dir '" + data + "'";
  const std::string text = run(bin + " admin events dump " + store_opt + " --customer " +
                               devs[0].customer + " 2>/dev/null");
  std::string expected;
  for (const auto& l : devs[0].sent) expected += l + "\n";
  EXPECT_EQ(text, expected);
  const std::string keyed = run(bin + " admin events dump " + store_opt + " --keys --device " +
                                devs[1].id + " --since 2026-11-25T10:00:01+09:00 2>/dev/null");
  EXPECT_EQ(keyed, devs[1].id + "\t2\talert\t" + b_lines[1] + "\n");
  // A device that does not exist is an error that says so.
  FILE* p =
      popen((bin + " admin events dump " + store_opt + " --device dev_nope 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[512] = {};
  const size_t n = fread(buf, 1, sizeof buf - 1, p);
  EXPECT_NE(pclose(p), 0);
  EXPECT_NE(std::string(buf, n).find("device 'dev_nope' not found"), std::string::npos) << buf;
}

INSTANTIATE_TEST_SUITE_P(Backends, EventDump, ::testing::ValuesIn(backends()));

}  // namespace
}  // namespace mimamori::server::testing
