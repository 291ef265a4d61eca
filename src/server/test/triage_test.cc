// Triage as functions over a transaction, on a temporary SQLite store: alert events of a commit
// group become aggregated alert rows and incidents, without the HTTP server or the ingest queue.

#include "triage/triage.h"

#include <gtest/gtest.h>

#include <map>

#include "mimamori/core/clock.h"
#include "mimamori/server/store.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

class Triage : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions so;
    so.url = "sqlite:" + temp_dir();
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->init_provider("SOC", "a@soc.jp", "admin password 1234").ok());
    auto cus = store_->create_customer(Principal::system("t"), "A");
    ASSERT_TRUE(cus.ok());
    customer_ = cus->id;
    auto code = store_->create_enrollment_code(Principal::system("t"), customer_, "", 0);
    ASSERT_TRUE(code.ok());
    auto dev = store_->enroll(code->code, "gw", "sensor", "1", "127.0.0.1");
    ASSERT_TRUE(dev.ok());
    device_ = dev->device_id;
  }

  // A parsed batch of the device from EVE lines, sequence numbers from `first`.
  IngestBatch batch(int64_t first, const std::vector<std::string>& lines) {
    IngestBatch b;
    b.device_id = device_;
    b.customer_id = customer_;
    b.device_kind = "sensor";
    b.first = first;
    b.last = first + static_cast<int64_t>(lines.size()) - 1;
    for (const auto& l : lines) b.body += l + "\n";
    EXPECT_TRUE(parse_ingest_batch(b).ok());
    return b;
  }

  // Triage of one group in one transaction; `fresh` says whether its events count as new.
  Status triage(const std::vector<const IngestBatch*>& group, bool fresh) {
    size_t rows = 0;
    for (const auto* b : group) rows += b->events.size() + b->rejected.size();
    std::vector<bool> inserted(rows, fresh);
    return store_->transact(true, [&](SqlTx& tx) {
      return triage_group(tx, group, inserted, core::now().micros, store_->options());
    });
  }

  std::vector<Incident> incidents() {
    IncidentQuery q;
    q.customer_id = customer_;
    auto r = list_incidents(*store_, Principal::system("t"), q);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<Incident>{};
  }

  std::vector<AlertRow> alerts() {
    AlertQuery q;
    q.customer_id = customer_;
    q.limit = 1000;
    auto r = list_alerts(*store_, Principal::system("t"), q);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<AlertRow>{};
  }

  std::unique_ptr<Store> store_;
  std::string customer_, device_;
};

// Two C2 signatures from one internal host and a repeat of one of them: two aggregated alert
// rows in one c2 incident of that host; a scan of another host is an incident of its own; the
// DNS record is no alert at all.
TEST_F(Triage, GroupsAlertsOfOneHostAndCategoryIntoOneIncident) {
  auto b = batch(
      1, {alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50"),
          dns_line("a.example"),
          alert_line(2024218, "ET MALWARE Cobalt Strike Beacon 2", "192.168.1.23", "203.0.113.51"),
          alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50"),
          alert_line(2001219, "ET SCAN Potential SSH Scan", "198.51.100.9", "192.168.1.40")});
  ASSERT_TRUE(triage({&b}, true).ok());
  auto rows = alerts();
  ASSERT_EQ(rows.size(), 3u);
  auto xs = incidents();
  ASSERT_EQ(xs.size(), 2u);
  std::map<std::string, Incident> by_category;
  for (const auto& x : xs) by_category[x.category] = x;
  ASSERT_TRUE(by_category.count("c2"));
  ASSERT_TRUE(by_category.count("scan"));
  const Incident& c2 = by_category["c2"];
  EXPECT_EQ(c2.host, "192.168.1.23");
  EXPECT_EQ(c2.severity, "critical");
  EXPECT_EQ(c2.alert_count, 3);  // every event counts, the repeat included
  EXPECT_EQ(by_category["scan"].host, "192.168.1.40");
  EXPECT_EQ(by_category["scan"].alert_count, 1);
  for (const auto& a : rows) {
    const bool is_c2 = a.signature_id != 2001219;
    EXPECT_EQ(a.incident_id, is_c2 ? c2.id : by_category["scan"].id) << a.signature;
    EXPECT_EQ(a.count, a.dest_ip == "203.0.113.50" ? 2 : 1) << a.signature;
  }
  auto timeline = incident_timeline(*store_, Principal::system("t"), c2.id);
  ASSERT_TRUE(timeline.ok());
  int opened = 0, added = 0;
  for (const auto& t : *timeline) {
    opened += t.kind == "opened";
    added += t.kind == "alert_added";
  }
  EXPECT_EQ(opened, 1);
  EXPECT_EQ(added, 1);  // the second C2 alert row joined the incident its first one opened
}

// A later group adds to the same rows instead of opening new ones (ids derived from keys).
TEST_F(Triage, ALaterGroupJoinsTheOpenIncident) {
  auto first = batch(
      1, {alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50")});
  auto second = batch(
      2,
      {alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50"),
       alert_line(2024218, "ET MALWARE Cobalt Strike Beacon 2", "192.168.1.23", "203.0.113.51")});
  ASSERT_TRUE(triage({&first}, true).ok());
  ASSERT_TRUE(triage({&second}, true).ok());
  auto xs = incidents();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].alert_count, 3);
  auto rows = alerts();
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& a : rows) EXPECT_EQ(a.incident_id, xs[0].id);
}

// Events that were already stored (a device's retry) are not triaged again.
TEST_F(Triage, EventsNotNewlyInsertedAreNotTriaged) {
  auto b = batch(
      1, {alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50")});
  ASSERT_TRUE(triage({&b}, false).ok());
  EXPECT_TRUE(alerts().empty());
  EXPECT_TRUE(incidents().empty());
}

// A device silent past its limit opens one 監視停止 incident, once.
TEST_F(Triage, SilentDeviceOpensOneMonitoringStoppedIncident) {
  const int64_t later = core::now().micros + 3600LL * 1000000;
  auto n = check_heartbeats(*store_, later);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*check_heartbeats(*store_, later), 0);
  auto xs = incidents();
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].category, "monitoring_stopped");
  EXPECT_EQ(xs[0].host, device_);
}

}  // namespace
}  // namespace mimamori::server::testing
