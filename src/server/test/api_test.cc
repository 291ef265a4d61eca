// The API suite: the same tests against SQLite and PostgreSQL, through real HTTP.

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "ingest/ingest_queue.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "notify/notify.h"
#include "secrets.h"
#include "store/migrations.h"
#include "test_support.h"
#include "triage/triage.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

class Api : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = fresh_store_url(GetParam(), &why);
    if (url_.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url_, [this](ServerOptions& o) { tweak(o); });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    ASSERT_FALSE(admin_->cookie.empty());
  }
  virtual void tweak(ServerOptions&) {}

  std::string customer(std::string_view name) {
    auto r = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }
  // Enrolls a device for a customer; returns {device_id, token}.
  std::pair<std::string, std::string> device(const std::string& customer_id,
                                             std::string_view kind = "sensor") {
    auto code = admin_->post("/api/v1/customers/" + customer_id + "/enrollment-codes", "{}");
    EXPECT_EQ(code.status, 201) << code.body;
    Client anon(ts_->base);
    auto r = anon.call("POST", "/api/v1/enroll",
                       json::serialize(json::object{{"code", code.str("code")},
                                                    {"hostname", "gw-01"},
                                                    {"kind", kind},
                                                    {"version", "0.1.0"}}),
                       {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.str("device_id"), r.str("device_token")};
  }

  std::string url_;
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(Api, HealthNamesTheBackendAndSchema) {
  auto r = admin_->get("/api/v1/health");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("backend"), GetParam() == "sqlite" ? "sqlite" : "postgresql");
  // A fresh database has every migration this server knows.
  EXPECT_EQ(r.json().at("schema_version").as_int64(), migrations().back().version);
}

TEST_P(Api, EnrollmentCodeIsSingleUseAndExpires) {
  auto cus = customer("山田製作所");
  auto code = admin_->post("/api/v1/customers/" + cus + "/enrollment-codes", "{}").str("code");
  ASSERT_EQ(code.size(), 9u);
  Client anon(ts_->base);
  auto body = [&](std::string c) {
    return json::serialize(
        json::object{{"code", c}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}});
  };
  // Lower case and without the dash: still the same code.
  std::string typed;
  for (char ch : code) {
    if (ch != '-') typed += static_cast<char>(std::tolower(ch));
  }
  auto ok = anon.call("POST", "/api/v1/enroll", body(typed), {"Content-Type: application/json"});
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.str("customer_id"), cus);
  EXPECT_TRUE(ok.str("device_token").starts_with(ok.str("device_id") + "."));
  EXPECT_EQ(ok.json().at("heartbeat_interval_s").as_int64(), 60);
  auto again = anon.call("POST", "/api/v1/enroll", body(code), {"Content-Type: application/json"});
  EXPECT_EQ(again.status, 403);
  EXPECT_NE(again.str("error").find("already used"), std::string::npos) << again.body;
  auto wrong =
      anon.call("POST", "/api/v1/enroll", body("ZZZZ-ZZZZ"), {"Content-Type: application/json"});
  EXPECT_EQ(wrong.status, 403);
  auto expired = ts_->server->store().create_enrollment_code(Principal::system("t"), cus, "", 1);
  ASSERT_TRUE(expired.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto late =
      anon.call("POST", "/api/v1/enroll", body(expired->code), {"Content-Type: application/json"});
  EXPECT_EQ(late.status, 403);
  EXPECT_NE(late.str("error").find("expired"), std::string::npos) << late.body;
  // Every failed attempt is in the audit log.
  auto audit = admin_->get("/api/v1/audit?action=device.enroll&outcome=denied");
  EXPECT_EQ(audit.json().at("items").as_array().size(), 3u) << audit.body;
}

TEST_P(Api, IngestIsIdempotentOnDeviceAndSeq) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus);
  Client c(ts_->base);
  std::vector<std::string> lines = {dns_line("a.example"), dns_line("b.example"), "{broken",
                                    dns_line("c.example")};
  auto r = ingest(c, tok, 1, lines);
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json().as_object();
  EXPECT_EQ(j.at("acked_through").as_int64(), 4);
  EXPECT_EQ(j.at("accepted").as_int64(), 3);
  EXPECT_EQ(j.at("duplicates").as_int64(), 0);
  ASSERT_EQ(j.at("rejected").as_array().size(), 1u);
  EXPECT_EQ(j.at("rejected").as_array()[0].at("seq").as_int64(), 3);
  // The same batch again: 409, nothing stored twice.
  auto again = ingest(c, tok, 1, lines);
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(again.json().at("duplicates").as_int64(), 4);
  // Overlapping batch: 3..5 — two old, one new.
  auto overlap = ingest(c, tok, 3, {"{broken", dns_line("c.example"), dns_line("d.example")});
  ASSERT_EQ(overlap.status, 200) << overlap.body;
  EXPECT_EQ(overlap.json().at("accepted").as_int64(), 1);
  EXPECT_EQ(overlap.json().at("duplicates").as_int64(), 2);
  auto seqs = ts_->server->store().stored_seqs(dev);
  ASSERT_TRUE(seqs.ok());
  EXPECT_EQ(*seqs, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  auto d = admin_->get("/api/v1/devices/" + dev);
  EXPECT_EQ(d.json().at("acked_through").as_int64(), 5);
}

TEST_P(Api, AlertsAggregateAndBecomeOneIncidentWithExplanation) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus);
  Client c(ts_->base);
  std::vector<std::string> lines;
  for (int i = 0; i < 5; ++i) {
    lines.push_back(alert_line(2024217, "ET MALWARE Cobalt Strike Beacon Activity", "192.168.1.23",
                               "203.0.113.50"));
  }
  lines.push_back(alert_line(2001219, "ET SCAN Potential SSH Scan", "198.51.100.9", "192.168.1.1"));
  ASSERT_EQ(ingest(c, tok, 1, lines).status, 200);
  auto alerts = admin_->get("/api/v1/alerts?customer_id=" + cus);
  ASSERT_EQ(alerts.status, 200);
  auto items = alerts.json().at("items").as_array();
  ASSERT_EQ(items.size(), 2u) << alerts.body;
  json::object c2, scan;
  for (auto& a : items) (a.at("category") == "c2" ? c2 : scan) = a.as_object();
  EXPECT_EQ(c2.at("count").as_int64(), 5);
  EXPECT_EQ(c2.at("severity"), "critical");
  EXPECT_EQ(scan.at("category"), "scan");
  EXPECT_EQ(scan.at("severity"), "high");  // Suricata severity 1 raises the scan default
  // Filters: severity, ip, signature; paging.
  EXPECT_EQ(admin_->get("/api/v1/alerts?severity=critical").json().at("items").as_array().size(),
            1u);
  EXPECT_EQ(admin_->get("/api/v1/alerts?ip=198.51.100.9").json().at("items").as_array().size(), 1u);
  EXPECT_EQ(admin_->get("/api/v1/alerts?signature=2024217").json().at("items").as_array().size(),
            1u);
  EXPECT_EQ(admin_->get("/api/v1/alerts?limit=1&offset=1").json().at("items").as_array().size(),
            1u);
  EXPECT_EQ(admin_->get("/api/v1/alerts?device_id=nope").json().at("items").as_array().size(), 0u);
  auto raw = admin_->get("/api/v1/alerts/" + std::string(c2.at("id").as_string()) + "/events");
  EXPECT_EQ(raw.json().at("items").as_array().size(), 5u);
  // Incidents: the C2 one (critical, host = internal address) and the scan one (high).
  auto inc = admin_->get("/api/v1/incidents?customer_id=" + cus);
  auto incs = inc.json().at("items").as_array();
  ASSERT_EQ(incs.size(), 2u) << inc.body;
  EXPECT_EQ(incs[0].at("category"), "c2");
  EXPECT_EQ(incs[0].at("host"), "192.168.1.23");
  EXPECT_EQ(incs[0].at("alert_count").as_int64(), 5);
  std::string id(incs[0].at("id").as_string());
  auto detail = admin_->get("/api/v1/incidents/" + id);
  ASSERT_EQ(detail.status, 200);
  auto dj = detail.json().as_object();
  EXPECT_EQ(dj.at("alerts").as_array().size(), 1u);
  EXPECT_GE(dj.at("timeline").as_array().size(), 1u);
  std::string what(dj.at("explanation").at("what").as_string());
  EXPECT_NE(what.find("攻撃者"), std::string::npos) << what;
}

// The writer triages a whole commit group at once (repeats aggregated in memory, statements
// pipelined): the rows must be those of triaging the events one after another. Forty batches
// queued back to back reach the writer as a few multi-batch groups.
TEST_P(Api, GroupedBatchesTriageLikeOneEventAfterAnother) {
  auto cus = customer("A");
  ASSERT_EQ(admin_
                ->post("/api/v1/suppressions",
                       json::serialize(json::object{
                           {"customer_id", cus}, {"signature_id", 2100498}, {"reason", "監視"}}))
                .status,
            201);
  std::vector<std::string> devices;
  for (int d = 0; d < 4; ++d) devices.push_back(device(cus).first);
  std::string low =
      alert_line(2000001, "ET POLICY Observed DNS over HTTPS", "192.168.1.23", "203.0.113.60");
  low.replace(low.find("\"severity\":1"), 12, "\"severity\":3");
  ASSERT_NE(low.find("\"severity\":3"), std::string::npos);
  const std::vector<std::string> lines = {
      alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50"),
      dns_line("a.example"),
      alert_line(2024218, "ET MALWARE Cobalt Strike Beacon 2", "192.168.1.23", "203.0.113.51"),
      alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50"),
      alert_line(2001219, "ET SCAN Potential SSH Scan", "198.51.100.9", "192.168.1.40"),
      alert_line(2100498, "GPL ATTACK_RESPONSE id check returned root", "192.168.1.9",
                 "203.0.113.1"),
      low,
  };
  std::string body;
  for (const auto& l : lines) body += l + "\n";
  constexpr int kBatches = 10;
  IngestQueue& queue = ts_->server->ingest();
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  for (int b = 0; b < kBatches; ++b) {
    for (const auto& dev : devices) {
      IngestBatch batch;
      batch.device_id = dev;
      batch.customer_id = cus;
      batch.device_kind = "sensor";
      batch.first = 1 + b * static_cast<int64_t>(lines.size());
      batch.last = batch.first + static_cast<int64_t>(lines.size()) - 1;
      batch.body = body;
      ASSERT_TRUE(parse_ingest_batch(batch).ok());
      queue.submit(std::move(batch), [&](Result<IngestOutcome> out) {
        std::lock_guard lock(mu);
        ++done;
        if (!out.ok() || out->accepted != static_cast<int64_t>(lines.size())) ++failed;
        cv.notify_all();
      });
    }
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return done == kBatches * static_cast<int>(devices.size()); }));
  }
  EXPECT_EQ(failed, 0);
  // Per device: C2 to .50 (two a batch), C2 to .51, the scan, the suppressed one, the low one.
  auto alerts = admin_->get("/api/v1/alerts?customer_id=" + cus + "&limit=1000");
  auto items = alerts.json().at("items").as_array();
  ASSERT_EQ(items.size(), 5u * devices.size()) << alerts.body;
  std::map<std::string, int> incident_alerts;
  for (const auto& v : items) {
    const auto& a = v.as_object();
    const std::string dst(a.at("dest_ip").as_string());
    const int64_t per_batch = dst == "203.0.113.50" ? 2 : 1;
    EXPECT_EQ(a.at("count").as_int64(), per_batch * kBatches) << json::serialize(a);
    const std::string inc(a.at("incident_id").is_null() ? "" : a.at("incident_id").as_string());
    const bool suppressed = a.at("suppressed").as_bool();
    EXPECT_EQ(suppressed, dst == "203.0.113.1");
    // Suppressed and low-severity alerts never reach an incident; the rest always do.
    EXPECT_EQ(inc.empty(), suppressed || dst == "203.0.113.60") << json::serialize(a);
    if (!inc.empty()) ++incident_alerts[inc];
    auto raw = admin_->get("/api/v1/alerts/" + std::string(a.at("id").as_string()) + "/events");
    EXPECT_EQ(raw.json().at("items").as_array().size(), static_cast<size_t>(per_batch * kBatches));
  }
  // Two incidents: the C2 host (3 alerts of each device) and the scanned host (1 of each).
  auto incs = admin_->get("/api/v1/incidents?customer_id=" + cus).json().at("items").as_array();
  ASSERT_EQ(incs.size(), 2u);
  for (const auto& v : incs) {
    const auto& x = v.as_object();
    const std::string id(x.at("id").as_string());
    const bool c2 = x.at("category") == "c2";
    const size_t alerts_in = (c2 ? 2u : 1u) * devices.size();
    EXPECT_EQ(incident_alerts[id], static_cast<int>(alerts_in)) << id;
    EXPECT_EQ(x.at("alert_count").as_int64(),
              (c2 ? 3 : 1) * kBatches * static_cast<int64_t>(devices.size()));
    EXPECT_EQ(x.at("severity"), c2 ? "critical" : "high");
    // One "opened" entry, then one "alert added" for every other alert that joined.
    auto detail = admin_->get("/api/v1/incidents/" + id).json().as_object();
    int opened = 0, added = 0;
    for (const auto& t : detail.at("timeline").as_array()) {
      opened += t.at("kind") == "opened";
      added += t.at("kind") == "alert_added";
    }
    EXPECT_EQ(opened, 1) << id;
    EXPECT_EQ(added, static_cast<int>(alerts_in) - 1) << id;
  }
  for (const auto& dev : devices) {
    EXPECT_EQ(admin_->get("/api/v1/devices/" + dev).json().at("acked_through").as_int64(),
              kBatches * static_cast<int64_t>(lines.size()));
  }
}

// A device that retries while its first attempt is still queued: copies of one batch in one
// commit group, or in groups of different writers at the same moment (PostgreSQL runs two).
// Each event is stored and triaged once; every copy is answered.
TEST_P(Api, CopiesOfABatchInFlightAreStoredOnce) {
  auto cus = customer("A");
  std::vector<std::string> devices;
  for (int d = 0; d < 3; ++d) devices.push_back(device(cus).first);
  const std::vector<std::string> lines = {
      dns_line("a.example"),
      alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", "192.168.1.23", "203.0.113.50"),
      "{broken", dns_line("b.example"), dns_line("c.example")};
  std::string body;
  for (const auto& l : lines) body += l + "\n";
  constexpr int kCopies = 12;
  Store& store = ts_->server->store();
  IngestQueue& queue = ts_->server->ingest();
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  std::map<std::string, int64_t> accepted, rejected, duplicates;
  for (int k = 0; k < kCopies; ++k) {
    for (const auto& dev : devices) {
      IngestBatch batch;
      batch.device_id = dev;
      batch.customer_id = cus;
      batch.device_kind = "sensor";
      batch.first = 1;
      batch.last = static_cast<int64_t>(lines.size());
      batch.body = body;
      ASSERT_TRUE(parse_ingest_batch(batch).ok());
      queue.submit(std::move(batch), [&, dev](Result<IngestOutcome> out) {
        std::lock_guard lock(mu);
        ++done;
        if (!out.ok()) {
          ++failed;
        } else {
          accepted[dev] += out->accepted;
          rejected[dev] += static_cast<int64_t>(out->rejected.size());
          duplicates[dev] += out->duplicates;
        }
        cv.notify_all();
      });
    }
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60),
                            [&] { return done == kCopies * static_cast<int>(devices.size()); }));
  }
  EXPECT_EQ(failed, 0);
  const auto n = static_cast<int64_t>(lines.size());
  for (const auto& dev : devices) {
    EXPECT_EQ(accepted[dev], n - 1) << dev;
    EXPECT_EQ(rejected[dev], 1) << dev;
    EXPECT_EQ(duplicates[dev], (kCopies - 1) * n) << dev;
    auto seqs = store.stored_seqs(dev);
    ASSERT_TRUE(seqs.ok());
    EXPECT_EQ(*seqs, (std::vector<int64_t>{1, 2, 3, 4, 5}));
  }
  auto items = admin_->get("/api/v1/alerts?customer_id=" + cus).json().at("items").as_array();
  ASSERT_EQ(items.size(), devices.size());
  for (const auto& a : items) EXPECT_EQ(a.at("count").as_int64(), 1) << json::serialize(a);
  auto incs = admin_->get("/api/v1/incidents?customer_id=" + cus).json().at("items").as_array();
  ASSERT_EQ(incs.size(), 1u);
  EXPECT_EQ(incs[0].at("alert_count").as_int64(), static_cast<int64_t>(devices.size()));
}

TEST_P(Api, IncidentWorkflowIsRecordedInTimelineAndAudit) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus);
  Client c(ts_->base);
  ASSERT_EQ(ingest(c, tok, 1,
                   {alert_line(1, "Mimikatz credential dumping", "192.168.1.5", "192.168.1.6")})
                .status,
            200);
  auto incs = admin_->get("/api/v1/incidents").json().at("items").as_array();
  ASSERT_EQ(incs.size(), 1u);
  std::string id(incs[0].at("id").as_string());
  EXPECT_EQ(incs[0].at("category"), "credential_theft");
  auto analyst_id =
      admin_
          ->post(
              "/api/v1/users",
              R"({"email":"ana@soc.example.jp","role":"analyst","password":"analyst password 1"})")
          .str("id");
  ASSERT_FALSE(analyst_id.empty());
  auto base = "/api/v1/incidents/" + id;
  EXPECT_EQ(admin_->post(base + "/acknowledge").status, 200);
  auto as = admin_->post(base + "/assign", json::serialize(json::object{{"user_id", analyst_id}}));
  EXPECT_EQ(as.status, 200) << as.body;
  EXPECT_EQ(as.str("assignee"), analyst_id);
  EXPECT_EQ(admin_->post(base + "/comment", R"({"text":"お客様に電話しました"})").status, 200);
  EXPECT_EQ(admin_->post(base + "/status", R"({"status":"in_progress"})").status, 200);
  EXPECT_EQ(admin_->post(base + "/status", R"({"status":"nonsense"})").status, 400);
  EXPECT_EQ(admin_->post(base + "/close", "{}").status, 400);  // resolution required
  auto closed = admin_->post(base + "/close", R"({"resolution":"パスワード変更済み"})");
  EXPECT_EQ(closed.status, 200);
  EXPECT_EQ(closed.str("status"), "closed");
  EXPECT_EQ(admin_->post(base + "/frobnicate").status, 404);
  // A closed incident changes state only by reopening it, with a reason.
  EXPECT_EQ(admin_->post(base + "/status", R"({"status":"open"})").status, 409);
  EXPECT_EQ(admin_->post(base + "/reopen", "{}").status, 400);
  auto reopened = admin_->post(base + "/reopen", R"({"reason":"同じ端末で再発"})");
  ASSERT_EQ(reopened.status, 200) << reopened.body;
  EXPECT_EQ(reopened.str("status"), "open");
  EXPECT_TRUE(reopened.json().at("resolution").is_null());
  EXPECT_TRUE(reopened.json().at("closed_at").is_null());
  EXPECT_TRUE(reopened.json().at("acknowledged_at").is_null());  // escalation runs again
  EXPECT_EQ(admin_->post(base + "/reopen", R"({"reason":"x"})").status, 409);  // not closed
  auto tl = admin_->get(base).json().at("timeline").as_array();
  std::vector<std::string> kinds;
  for (auto& e : tl) kinds.emplace_back(e.at("kind").as_string());
  EXPECT_EQ(kinds, (std::vector<std::string>{"opened", "acknowledge", "assign", "comment", "status",
                                             "close", "reopen"}));
  auto audit = admin_->get("/api/v1/audit?customer_id=" + cus).json().at("items").as_array();
  int incident_changes = 0;
  for (auto& e : audit) {
    if (e.at("object_id").as_string() == id && e.at("outcome") == "ok") ++incident_changes;
    if (e.at("action") == "incident.reopen") {
      EXPECT_NE(e.at("before").as_string().find("パスワード変更済み"), std::string::npos);
      EXPECT_NE(e.at("after").as_string().find("\"status\":\"open\""), std::string::npos);
    }
  }
  EXPECT_EQ(incident_changes, 6);
}

TEST_P(Api, SuppressionKeepsAlertsButOpensNoIncident) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus);
  auto r = admin_->post(
      "/api/v1/suppressions",
      json::serialize(json::object{
          {"customer_id", cus}, {"signature_id", 2100498}, {"reason", "社内の監視ツール"}}));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(admin_
                ->post("/api/v1/suppressions",
                       json::serialize(json::object{{"customer_id", cus}, {"reason", "x"}}))
                .status,
            400);  // no scope
  Client c(ts_->base);
  ASSERT_EQ(ingest(c, tok, 1,
                   {alert_line(2100498, "GPL ATTACK_RESPONSE id check returned root", "192.168.1.9",
                               "203.0.113.1")})
                .status,
            200);
  auto alerts = admin_->get("/api/v1/alerts").json().at("items").as_array();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_TRUE(alerts[0].at("suppressed").as_bool());
  EXPECT_EQ(admin_->get("/api/v1/incidents").json().at("items").as_array().size(), 0u);
  auto rules = admin_->get("/api/v1/suppressions?customer_id=" + cus).json().at("items");
  ASSERT_EQ(rules.as_array().size(), 1u);
  EXPECT_EQ(admin_->send("DELETE", "/api/v1/suppressions/" + r.str("id")).status, 200);
  ASSERT_EQ(ingest(c, tok, 2,
                   {alert_line(2100498, "GPL ATTACK_RESPONSE id check returned root", "192.168.1.9",
                               "203.0.113.1")})
                .status,
            200);
  // Same aggregated row (same key), but now the next repeat opens an incident.
  EXPECT_EQ(admin_->get("/api/v1/incidents").json().at("items").as_array().size(), 1u);
}

TEST_P(Api, SilentDeviceOpensMonitoringStoppedAndHeartbeatAnnotatesIt) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus);
  // Make the device look silent for an hour.
  auto& store = ts_->server->store();
  auto n = check_heartbeats(store, core::now().micros + 3600LL * 1000000);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*check_heartbeats(store, core::now().micros + 3600LL * 1000000), 0);  // once only
  auto incs = admin_->get("/api/v1/incidents?category=monitoring_stopped").json().at("items");
  ASSERT_EQ(incs.as_array().size(), 1u);
  EXPECT_EQ(incs.as_array()[0].at("severity"), "critical");
  std::string id(incs.as_array()[0].at("id").as_string());
  Client c(ts_->base);
  auto hb = c.call(
      "POST", "/api/v1/heartbeat",
      R"({"version":"0.1.0","hostname":"gw-01","uptime_s":10,"spool_depth":0,"spool_dropped":0,"acked_through":0})",
      {"Content-Type: application/json", "Authorization: Bearer " + tok});
  ASSERT_EQ(hb.status, 200) << hb.body;
  EXPECT_FALSE(hb.str("server_time").empty());
  EXPECT_EQ(hb.json().at("config_version").as_int64(), 1);
  auto tl = admin_->get("/api/v1/incidents/" + id).json().at("timeline").as_array();
  EXPECT_EQ(tl.back().at("kind"), "device_back");
  EXPECT_FALSE(admin_->get("/api/v1/devices/" + dev).json().at("monitoring_stopped").as_bool());
}

TEST_P(Api, RevokedDeviceGets401AndConfigPullHonoursEtag) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus, "agent");
  Client c(ts_->base);
  auto cfg = c.call("GET", "/api/v1/device/config", {}, {"Authorization: Bearer " + tok});
  ASSERT_EQ(cfg.status, 200);
  EXPECT_NE(cfg.body.find("device_id: " + dev), std::string::npos);
  auto etag = cfg.header("etag");
  auto same = c.call("GET", "/api/v1/device/config", {},
                     {"Authorization: Bearer " + tok, "If-None-Match: " + etag});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(admin_->post("/api/v1/devices/" + dev + "/revoke").status, 200);
  EXPECT_EQ(ingest(c, tok, 1, {dns_line("x")}).status, 401);
  EXPECT_EQ(c.call("GET", "/api/v1/device/config", {}, {"Authorization: Bearer " + tok}).status,
            401);
}

TEST_P(Api, ThreatIndicatorsReachTheDeviceConfigurationUntilRemovedOrExpired) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus, "agent");
  Client c(ts_->base);
  auto heartbeat = [&] {
    auto hb = c.call(
        "POST", "/api/v1/heartbeat",
        R"({"version":"0.1.0","hostname":"gw-01","uptime_s":10,"spool_depth":0,"spool_dropped":0,"acked_through":0})",
        {"Content-Type: application/json", "Authorization: Bearer " + tok});
    EXPECT_EQ(hb.status, 200) << hb.body;
    return hb.json().at("config_version").as_int64();
  };
  // The lists as the agent reads them from the pulled YAML.
  auto pulled = [&](const char* key) {
    auto cfg = c.call("GET", "/api/v1/device/config", {}, {"Authorization: Bearer " + tok});
    EXPECT_EQ(cfg.status, 200) << cfg.body;
    auto parsed = core::Config::from_string(cfg.body, "device configuration");
    auto v = parsed.get<std::vector<std::string>>(key, {"absent"});
    std::sort(v.begin(), v.end());
    return v;
  };
  const int64_t v0 = heartbeat();
  EXPECT_TRUE(pulled("threat_list").empty());
  EXPECT_TRUE(pulled("threat_domains").empty());

  auto add = [&](std::string_view value, std::string_view expires = {}) {
    json::object o{{"value", value}, {"source", "JPCERT/CC 注意喚起"}, {"reason", "C2"}};
    if (!expires.empty()) o["expires_at"] = expires;
    return admin_->post("/api/v1/threats", json::serialize(o));
  };
  auto ip = add(" 203.0.113.7 ");
  ASSERT_EQ(ip.status, 201) << ip.body;
  EXPECT_EQ(ip.str("kind"), "ip");
  EXPECT_EQ(ip.str("value"), "203.0.113.7");
  auto net = add("198.51.100.0/24");
  ASSERT_EQ(net.status, 201) << net.body;
  EXPECT_EQ(net.str("kind"), "cidr");
  auto v6 = add("2001:DB8::1/128");
  ASSERT_EQ(v6.status, 201) << v6.body;
  EXPECT_EQ(v6.str("value"), "2001:db8::1");
  auto dom = add("C2.Example.NET.");
  ASSERT_EQ(dom.status, 201) << dom.body;
  EXPECT_EQ(dom.str("kind"), "domain");
  EXPECT_EQ(dom.str("value"), "c2.example.net");
  // Expires in a moment.
  auto soon = add("192.0.2.44", core::format_eve_time({core::now().micros + 1500000}));
  ASSERT_EQ(soon.status, 201) << soon.body;
  // TLS client fingerprints and file hashes, lowercased; a bare 64-digit hex is a SHA-256.
  auto ja3 = add("JA3:E7D705A3286E19EA42F587B344EE6865");
  ASSERT_EQ(ja3.status, 201) << ja3.body;
  EXPECT_EQ(ja3.str("kind"), "ja3");
  EXPECT_EQ(ja3.str("value"), "e7d705a3286e19ea42f587b344ee6865");
  auto ja4 = add("t13d1516h2_8daaf6152771_b186095e22b6");
  ASSERT_EQ(ja4.status, 201) << ja4.body;
  EXPECT_EQ(ja4.str("kind"), "ja4");
  const std::string eicar_sha256 =
      "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
  auto sha = add(eicar_sha256);
  ASSERT_EQ(sha.status, 201) << sha.body;
  EXPECT_EQ(sha.str("kind"), "sha256");
  auto md5 = add("md5:44D88612FEA8A8F36DE82E1278ABB02F");
  ASSERT_EQ(md5.status, 201) << md5.body;
  EXPECT_EQ(md5.str("kind"), "md5");
  EXPECT_EQ(md5.str("value"), "44d88612fea8a8f36de82e1278abb02f");
  // Bad input: each a clear 4xx that stores nothing.
  for (std::string_view bad : {"not a domain", "10.0.0.0/33", "10.0.0.1/x", "localhost", "-a.jp",
                               "a..jp", "a_b.example.jp", "ja3:abc", "sha256:0123",
                               "md5:zz88612fea8a8f36de82e1278abb02f0", "ja4:t13d1516h2_x"}) {
    auto r = add(bad);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(add("203.0.113.7").status, 409);
  EXPECT_EQ(add("203.0.113.8", "2020-01-01T00:00:00.000000+0900").status, 400);
  EXPECT_EQ(admin_->post("/api/v1/threats", R"({"value":"203.0.113.9"})").status, 400);
  EXPECT_EQ(admin_->get("/api/v1/threats").json().at("items").as_array().size(), 9u);

  const int64_t v1 = heartbeat();
  EXPECT_GT(v1, v0);
  EXPECT_EQ(pulled("threat_list"), (std::vector<std::string>{"192.0.2.44", "198.51.100.0/24",
                                                             "2001:db8::1", "203.0.113.7"}));
  EXPECT_EQ(pulled("threat_domains"), std::vector<std::string>{"c2.example.net"});
  EXPECT_EQ(pulled("threat_tls"),
            (std::vector<std::string>{"ja3:e7d705a3286e19ea42f587b344ee6865",
                                      "ja4:t13d1516h2_8daaf6152771_b186095e22b6"}));
  EXPECT_EQ(pulled("threat_hashes"),
            (std::vector<std::string>{eicar_sha256, "44d88612fea8a8f36de82e1278abb02f"}));

  // Removal: gone from the configuration, kept (as removed) in the full listing, audited.
  EXPECT_EQ(admin_->send("DELETE", "/api/v1/threats/" + ip.str("id")).status, 200);
  EXPECT_EQ(admin_->send("DELETE", "/api/v1/threats/" + ip.str("id")).status, 409);
  EXPECT_EQ(admin_->send("DELETE", "/api/v1/threats/thr_nothing").status, 404);
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // past the expiry
  EXPECT_EQ(pulled("threat_list"), (std::vector<std::string>{"198.51.100.0/24", "2001:db8::1"}));
  const int64_t v2 = heartbeat();
  EXPECT_GE(v2, v1 + 2);  // one removal, one expiry
  EXPECT_EQ(admin_->get("/api/v1/threats").json().at("items").as_array().size(), 7u);
  auto all = admin_->get("/api/v1/threats?all=1").json().at("items").as_array();
  ASSERT_EQ(all.size(), 9u);
  int removed = 0;
  for (const auto& t : all) removed += !t.at("removed_at").is_null();
  EXPECT_EQ(removed, 1);
  // Re-adding a removed indicator is allowed.
  EXPECT_EQ(add("203.0.113.7").status, 201);
  auto audit = admin_->get("/api/v1/audit?action=threat.create").json().at("items").as_array();
  EXPECT_EQ(audit.size(), 10u);  // nine added, one added again
  auto rm = admin_->get("/api/v1/audit?action=threat.remove").json().at("items").as_array();
  ASSERT_EQ(rm.size(), 1u);
  EXPECT_NE(std::string(rm[0].at("before").as_string()).find("203.0.113.7"), std::string::npos);
}

TEST_P(Api, CustomersDevicesAndUsersArePaged) {
  for (auto n : {"C", "A", "B"}) customer(n);
  auto page = [&](const std::string& path) {
    std::vector<std::string> names;
    auto r = admin_->get(path);
    EXPECT_EQ(r.status, 200) << r.body;
    const auto body = r.json();
    for (const auto& x : body.at("items").as_array()) {
      names.emplace_back(x.at(x.as_object().contains("email") ? "email" : "name").as_string());
    }
    return names;
  };
  EXPECT_EQ(page("/api/v1/customers?limit=2"), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(page("/api/v1/customers?limit=2&offset=2"), std::vector<std::string>{"C"});
  EXPECT_EQ(admin_->get("/api/v1/customers?limit=2").json().at("limit").as_int64(), 2);
  auto a = admin_->get("/api/v1/customers?limit=1").json().at("items").as_array()[0];
  std::string cus(a.at("id").as_string());
  device(cus);
  device(cus);
  auto devs = admin_->get("/api/v1/devices?customer_id=" + cus + "&limit=1").json();
  EXPECT_EQ(devs.at("items").as_array().size(), 1u);
  auto rest = admin_->get("/api/v1/devices?customer_id=" + cus + "&limit=1&offset=1").json();
  ASSERT_EQ(rest.at("items").as_array().size(), 1u);
  EXPECT_NE(devs.at("items").as_array()[0].at("id"), rest.at("items").as_array()[0].at("id"));
  for (auto e : {"b@soc.example.jp", "c@soc.example.jp"}) {
    ASSERT_EQ(
        admin_
            ->post("/api/v1/users",
                   json::serialize(json::object{
                       {"email", e}, {"role", "analyst"}, {"password", "analyst password 1"}}))
            .status,
        201);
  }
  EXPECT_EQ(page("/api/v1/users?limit=2"),
            (std::vector<std::string>{TestServer::kAdminEmail, "b@soc.example.jp"}));
  EXPECT_EQ(page("/api/v1/users?limit=2&offset=2"), std::vector<std::string>{"c@soc.example.jp"});
}

TEST_P(Api, LoginLocksOutAfterRepeatedFailuresAndCsrfIsEnforced) {
  Client c(ts_->base);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(c.login(TestServer::kAdminEmail, "wrong").status, 401);
  auto locked = c.login(TestServer::kAdminEmail, TestServer::kAdminPassword);
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(c.login("nobody@example.jp", "whatever").status, 401);
  // The admin's existing session still works; CSRF is required for changes.
  Client no_csrf = *admin_;
  no_csrf.csrf.clear();
  auto r = no_csrf.post("/api/v1/customers", R"({"name":"X"})");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(admin_->get("/api/v1/customers").json().at("items").as_array().size(), 0u);
  // Cookie attributes.
  Client fresh(ts_->base);
  auto other = admin_->post(
      "/api/v1/users",
      R"({"email":"desk@soc.example.jp","role":"desk","password":"desk password 12"})");
  ASSERT_EQ(other.status, 201);
  auto ok = fresh.login("desk@soc.example.jp", "desk password 12");
  ASSERT_EQ(ok.status, 200);
  auto sc = ok.header("set-cookie");
  for (auto attr : {"HttpOnly", "Secure", "SameSite=Strict"}) {
    EXPECT_NE(sc.find(attr), std::string::npos) << sc;
  }
  EXPECT_EQ(fresh.post("/api/v1/logout").status, 200);
  EXPECT_EQ(fresh.get("/api/v1/me").status, 401);
}

TEST_P(Api, ApiTokensAndTotpForProviderUsers) {
  auto tok = admin_->post("/api/v1/tokens", R"({"name":"automation"})");
  ASSERT_EQ(tok.status, 201);
  Client bot(ts_->base);
  bot.set_bearer(tok.str("token"));
  EXPECT_EQ(bot.get("/api/v1/me").str("email"), TestServer::kAdminEmail);
  // Bearer tokens need no CSRF header (no cookie to ride on).
  EXPECT_EQ(bot.call("POST", "/api/v1/customers", R"({"name":"via token"})",
                     {"Content-Type: application/json"})
                .status,
            201);
  bot.set_bearer("mmt_0000.nope");
  EXPECT_EQ(bot.get("/api/v1/me").status, 401);
  auto begin = admin_->post("/api/v1/me/totp");
  ASSERT_EQ(begin.status, 200);
  std::string secret = begin.str("secret");
  // The label is percent-encoded: the e-mail's '@' as %40, and nothing but the secret and the
  // issuer as parameters.
  std::string url = begin.str("otpauth_url");
  std::string email = TestServer::kAdminEmail;
  EXPECT_EQ(url.substr(0, url.find('?')),
            "otpauth://totp/Mimamori:" + email.replace(email.find('@'), 1, "%40"))
      << url;
  EXPECT_EQ(url.substr(url.find('?')), "?secret=" + secret + "&issuer=Mimamori") << url;
  EXPECT_EQ(admin_->post("/api/v1/me/totp/confirm", R"({"code":"000000"})").status, 400);
  auto code = totp_code(secret, core::now().seconds());
  EXPECT_EQ(
      admin_->post("/api/v1/me/totp/confirm", json::serialize(json::object{{"code", code}})).status,
      200);
  Client c(ts_->base);
  EXPECT_EQ(c.login(TestServer::kAdminEmail, TestServer::kAdminPassword).status, 401);
  // The next step's code: the one that confirmed the enrolment is used up.
  EXPECT_EQ(c.login(TestServer::kAdminEmail, TestServer::kAdminPassword,
                    totp_code(secret, core::now().seconds() + 30))
                .status,
            200);
}

TEST_P(Api, ChannelsOncallAndOutboxStatusAreVisible) {
  auto cus = customer("A");
  auto ch = admin_->post("/api/v1/channels",
                         json::serialize(json::object{{"customer_id", cus},
                                                      {"kind", "webhook"},
                                                      {"target", "http://127.0.0.1:9/hook"},
                                                      {"secret", "s3cret"},
                                                      {"min_severity", "high"}}));
  ASSERT_EQ(ch.status, 201) << ch.body;
  EXPECT_EQ(admin_->post("/api/v1/channels", R"({"kind":"pigeon","target":"x"})").status, 400);
  auto [dev, tok] = device(cus);
  Client c(ts_->base);
  ASSERT_EQ(
      ingest(c, tok, 1,
             {alert_line(7, "ET MALWARE Win32/Emotet CnC Beacon", "192.168.1.7", "203.0.113.7")})
          .status,
      200);
  auto out = admin_->get("/api/v1/notifications?customer_id=" + cus).json().at("items");
  ASSERT_EQ(out.as_array().size(), 1u);
  EXPECT_EQ(out.as_array()[0].at("status"), "pending");
  EXPECT_EQ(out.as_array()[0].at("kind"), "webhook");
  auto me = admin_->get("/api/v1/me").str("id");
  auto oc = admin_->send(
      "PUT", "/api/v1/oncall",
      json::serialize(json::object{{"members", json::array{json::object{{"user_id", me}}}}}));
  ASSERT_EQ(oc.status, 200) << oc.body;
  EXPECT_EQ(admin_->get("/api/v1/oncall").json().at("items").as_array().size(), 1u);
  // Escalation: the critical incident is unacknowledged; an hour later it goes to on-call.
  auto n = escalate(ts_->server->store(), core::now().micros + 3600LL * 1000000, 900);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  auto all = admin_->get("/api/v1/notifications").json().at("items").as_array();
  int escalations = 0;
  for (auto& m : all) escalations += m.at("idempotency_key").as_string().ends_with(":escalation:1");
  EXPECT_EQ(escalations, 1);
}

TEST_P(Api, MetricsExposeIngestAndRequests) {
  auto cus = customer("A");
  auto [dev, tok] = device(cus);
  Client c(ts_->base);
  ASSERT_EQ(ingest(c, tok, 1, {dns_line("a"), dns_line("b")}).status, 200);
  auto m = c.get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("mimamori_ingest_events_accepted_total 2\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("mimamori_ingest_queue_events 0\n"), std::string::npos);
  EXPECT_NE(m.body.find("route=\"/api/v1/ingest\",status=\"200\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("mimamori_http_request_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, Api, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing

namespace mimamori::server::testing {
namespace {

TEST(Tls, SelfSignedCertificateIsMadeOnceAndItsFingerprintPrinted) {
  std::string why;
  const std::string url = fresh_store_url("sqlite", &why);
  std::string dir, first;
  {
    auto ts = TestServer::start(url, [](ServerOptions& o) { o.tls = true; });
    ASSERT_TRUE(ts);
    dir = ts->dir;
    EXPECT_TRUE(ts->base.starts_with("https://")) << ts->base;
    first = ts->server->fingerprint();
    ASSERT_EQ(first.size(), 64u);
    EXPECT_EQ(certificate_fingerprint(dir + "/server.crt").value_or(""), first);
    EXPECT_EQ(
        std::filesystem::status(dir + "/server.key").permissions() & std::filesystem::perms::all,
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EXPECT_EQ(Client(ts->base).get("/api/v1/health").status, 200);
    // Plain HTTP to the TLS port is refused, not served.
    auto plain =
        Client("http://127.0.0.1:" + std::to_string(ts->server->port())).get("/api/v1/health");
    EXPECT_NE(plain.status, 200);
  }
  // A restart on the same data directory keeps the certificate devices have pinned.
  auto again = TestServer::start(url, [&](ServerOptions& o) {
    o.tls = true;
    o.data_dir = dir;
  });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->server->fingerprint(), first);
}

}  // namespace
}  // namespace mimamori::server::testing
