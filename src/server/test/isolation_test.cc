// Isolation: every customer role tries every other customer's objects through every route.
// All attempts must be denied (404 for customer roles: another tenant's objects do not exist
// for them) and each denial must be in the audit log.

#include <gtest/gtest.h>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

struct Tenant {
  std::string customer, site, device, token, alert, incident, suppression, channel, user;
};

class Isolation : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url);
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    a_ = tenant("A社");
    b_ = tenant("B社");
  }

  Tenant tenant(std::string_view name) {
    Tenant t;
    t.customer =
        admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}})).str("id");
    t.site =
        admin_->post("/api/v1/customers/" + t.customer + "/sites", R"({"name":"支店"})").str("id");
    auto code = admin_->post("/api/v1/customers/" + t.customer + "/enrollment-codes").str("code");
    Client anon(ts_->base);
    auto e =
        anon.call("POST", "/api/v1/enroll",
                  json::serialize(json::object{
                      {"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
                  {"Content-Type: application/json"});
    t.device = e.str("device_id");
    t.token = e.str("device_token");
    EXPECT_EQ(
        ingest(anon, t.token, 1,
               {alert_line(9, "ET MALWARE Cobalt Strike Beacon", "192.168.0.2", "203.0.113.2")})
            .status,
        200);
    t.alert = std::string(admin_->get("/api/v1/alerts?customer_id=" + t.customer)
                              .json()
                              .at("items")
                              .as_array()[0]
                              .at("id")
                              .as_string());
    t.incident = std::string(admin_->get("/api/v1/incidents?customer_id=" + t.customer)
                                 .json()
                                 .at("items")
                                 .as_array()[0]
                                 .at("id")
                                 .as_string());
    t.suppression =
        admin_
            ->post("/api/v1/suppressions",
                   json::serialize(json::object{
                       {"customer_id", t.customer}, {"signature_id", 1}, {"reason", "test"}}))
            .str("id");
    t.channel = admin_
                    ->post("/api/v1/channels",
                           json::serialize(json::object{{"customer_id", t.customer},
                                                        {"kind", "email"},
                                                        {"target", "owner@example.jp"}}))
                    .str("id");
    t.user = admin_
                 ->post("/api/v1/users",
                        json::serialize(json::object{{"email", "u." + t.customer + "@example.jp"},
                                                     {"role", "customer_user"},
                                                     {"customer_id", t.customer},
                                                     {"password", "user password 123"}}))
                 .str("id");
    EXPECT_FALSE(t.user.empty());
    return t;
  }

  int64_t denials(const std::string& actor) {
    AuditQuery q;
    q.actor = actor;
    q.outcome = "denied";
    q.limit = 1000;
    auto a = ts_->server->store().list_audit(Principal::system("test"), q);
    if (!a.ok()) ADD_FAILURE() << a.error().message;
    return a.ok() ? static_cast<int64_t>(a->size()) : -1;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  Tenant a_, b_;
};

TEST_P(Isolation, CustomerRolesCannotReachAnotherCustomer) {
  const std::string threat =
      admin_->post("/api/v1/threats", R"({"value":"203.0.113.66","source":"feed"})").str("id");
  ASSERT_FALSE(threat.empty());
  for (std::string role : {"customer_admin", "customer_user"}) {
    SCOPED_TRACE(role);
    std::string email = role + "@a.example.jp";
    ASSERT_EQ(admin_
                  ->post("/api/v1/users",
                         json::serialize(json::object{{"email", email},
                                                      {"role", role},
                                                      {"customer_id", a_.customer},
                                                      {"password", "customer password 1"}}))
                  .status,
              201);
    Client c(ts_->base);
    ASSERT_EQ(c.login(email, "customer password 1").status, 200);
    const std::string& B = b_.customer;
    struct Try {
      std::string method, path, body;
    };
    std::vector<Try> tries = {
        {"GET", "/api/v1/customers/" + B, ""},
        {"GET", "/api/v1/customers/" + B + "/sites", ""},
        {"GET", "/api/v1/customers/" + B + "/aggregates", ""},
        {"POST", "/api/v1/customers/" + B + "/sites", R"({"name":"x"})"},
        {"POST", "/api/v1/customers/" + B + "/enrollment-codes", "{}"},
        {"GET", "/api/v1/users?customer_id=" + B, ""},
        {"POST", "/api/v1/users",
         json::serialize(json::object{{"email", "evil@b.jp"},
                                      {"role", "customer_admin"},
                                      {"customer_id", B},
                                      {"password", "evil password 12"}})},
        {"GET", "/api/v1/devices?customer_id=" + B, ""},
        {"GET", "/api/v1/devices/" + b_.device, ""},
        {"POST", "/api/v1/devices/" + b_.device + "/revoke", "{}"},
        {"GET", "/api/v1/alerts?customer_id=" + B, ""},
        {"GET", "/api/v1/alerts/" + b_.alert, ""},
        {"GET", "/api/v1/alerts/" + b_.alert + "/events", ""},
        {"GET", "/api/v1/incidents?customer_id=" + B, ""},
        {"GET", "/api/v1/incidents/" + b_.incident, ""},
        {"POST", "/api/v1/incidents/" + b_.incident + "/acknowledge", "{}"},
        {"POST", "/api/v1/incidents/" + b_.incident + "/comment", R"({"text":"x"})"},
        {"POST", "/api/v1/incidents/" + b_.incident + "/close", R"({"resolution":"x"})"},
        {"POST", "/api/v1/incidents/" + b_.incident + "/status", R"({"status":"resolved"})"},
        {"POST", "/api/v1/incidents/" + b_.incident + "/assign", R"({"user_id":"x"})"},
        {"GET", "/api/v1/suppressions?customer_id=" + B, ""},
        {"POST", "/api/v1/suppressions",
         json::serialize(json::object{{"customer_id", B}, {"signature_id", 5}, {"reason", "x"}})},
        {"DELETE", "/api/v1/suppressions/" + b_.suppression, ""},
        {"GET", "/api/v1/channels?customer_id=" + B, ""},
        {"POST", "/api/v1/channels",
         json::serialize(
             json::object{{"customer_id", B}, {"kind", "email"}, {"target", "x@evil.jp"}})},
        {"DELETE", "/api/v1/channels/" + b_.channel, ""},
        {"GET", "/api/v1/notifications?customer_id=" + B, ""},
        {"GET", "/api/v1/customers/" + B + "/reports", ""},
        {"GET", "/api/v1/customers/" + B + "/reports/2026-11", ""},
        {"GET", "/api/v1/audit?customer_id=" + B, ""},
        {"GET", "/api/v1/oncall", ""},
        {"PUT", "/api/v1/oncall", R"({"members":[]})"},
        // Threat indicators are the provider's, not any customer's.
        {"GET", "/api/v1/threats", ""},
        {"POST", "/api/v1/threats", R"({"value":"198.51.100.9","source":"x"})"},
        {"DELETE", "/api/v1/threats/" + threat, ""},
    };
    for (const auto& t : tries) {
      int64_t before = denials(email);
      auto r = t.method == "GET" ? c.get(t.path) : c.send(t.method, t.path, t.body);
      EXPECT_TRUE(r.status == 404 || r.status == 403)
          << t.method << " " << t.path << " → " << r.status << " " << r.body;
      EXPECT_GT(denials(email), before) << t.method << " " << t.path << " was not audited";
      // The answer may echo the id that was asked for, never anything of B's behind it.
      EXPECT_EQ(r.body.find("B社"), std::string::npos) << r.body;
      EXPECT_EQ(r.body.find(b_.site), std::string::npos) << r.body;
    }
    // Unfiltered lists show only the own customer.
    for (std::string path :
         {"/api/v1/customers", "/api/v1/devices", "/api/v1/alerts", "/api/v1/incidents",
          "/api/v1/users", "/api/v1/suppressions", "/api/v1/channels", "/api/v1/notifications"}) {
      auto r = c.get(path);
      EXPECT_EQ(r.status, 200) << path << " " << r.body;
      EXPECT_EQ(r.body.find(b_.customer), std::string::npos) << path << " leaks B: " << r.body;
      EXPECT_EQ(r.body.find(b_.device), std::string::npos) << path;
    }
  }
  // B's objects are untouched.
  auto inc = admin_->get("/api/v1/incidents/" + b_.incident);
  EXPECT_EQ(inc.str("status"), "open");
  EXPECT_EQ(inc.json().at("timeline").as_array().size(), 1u);
  EXPECT_EQ(admin_->get("/api/v1/devices/" + b_.device).str("status"), "active");
  EXPECT_EQ(admin_->get("/api/v1/suppressions?customer_id=" + b_.customer)
                .json()
                .at("items")
                .as_array()
                .size(),
            1u);
  EXPECT_EQ(admin_->get("/api/v1/customers/" + b_.customer + "/sites")
                .json()
                .at("items")
                .as_array()
                .size(),
            2u);
}

TEST_P(Isolation, DeviceTokensOnlyReachTheDeviceApi) {
  Client dev(ts_->base);
  dev.set_bearer(a_.token);
  for (std::string path : std::vector<std::string>{"/api/v1/customers", "/api/v1/alerts",
                                                   "/api/v1/incidents/" + a_.incident}) {
    EXPECT_EQ(dev.get(path).status, 401) << path;
  }
}

TEST_P(Isolation, ProviderRolesReadAllButOnlyAdminsAndAnalystsChange) {
  ASSERT_EQ(
      admin_
          ->post("/api/v1/users",
                 R"({"email":"tech@soc.jp","role":"technician","password":"technician pass 1"})")
          .status,
      201);
  Client t(ts_->base);
  ASSERT_EQ(t.login("tech@soc.jp", "technician pass 1").status, 200);
  EXPECT_EQ(t.get("/api/v1/incidents/" + b_.incident).status, 200);
  EXPECT_EQ(t.get("/api/v1/alerts?customer_id=" + a_.customer).status, 200);
  EXPECT_EQ(
      t.post("/api/v1/incidents/" + b_.incident + "/comment", R"({"text":"到着しました"})").status,
      200);
  int64_t before = denials("tech@soc.jp");
  EXPECT_EQ(t.post("/api/v1/incidents/" + b_.incident + "/close", R"({"resolution":"x"})").status,
            403);
  EXPECT_EQ(t.post("/api/v1/customers", R"({"name":"x"})").status, 403);
  EXPECT_EQ(t.post("/api/v1/devices/" + a_.device + "/revoke").status, 403);
  EXPECT_EQ(t.post("/api/v1/threats", R"({"value":"203.0.113.5","source":"x"})").status, 403);
  EXPECT_EQ(t.get("/api/v1/threats").status, 200);
  EXPECT_EQ(denials("tech@soc.jp"), before + 4);
}

TEST_P(Isolation, OnlyProviderRolesChangeAnIncidentsSocStatus) {
  ASSERT_EQ(admin_
                ->post("/api/v1/users",
                       json::serialize(json::object{{"email", "admin@a.example.jp"},
                                                    {"role", "customer_admin"},
                                                    {"customer_id", a_.customer},
                                                    {"password", "customer password 1"}}))
                .status,
            201);
  Client ca(ts_->base);
  ASSERT_EQ(ca.login("admin@a.example.jp", "customer password 1").status, 200);
  const std::string base = "/api/v1/incidents/" + a_.incident;
  // Acknowledging, closing or changing the status of its own incident would stop the SOC's
  // escalation: 403, audited, and nothing changes.
  const int64_t before = denials("admin@a.example.jp");
  for (auto [action, body] :
       std::vector<std::pair<std::string, std::string>>{{"acknowledge", "{}"},
                                                        {"status", R"({"status":"resolved"})"},
                                                        {"close", R"({"resolution":"x"})"},
                                                        {"assign", R"({"user_id":"x"})"}}) {
    auto r = ca.post(base + "/" + action, body);
    EXPECT_EQ(r.status, 403) << action << " " << r.body;
  }
  EXPECT_EQ(denials("admin@a.example.jp"), before + 4);
  auto inc = admin_->get(base);
  EXPECT_EQ(inc.str("status"), "open");
  EXPECT_TRUE(inc.json().at("acknowledged_at").is_null());
  EXPECT_EQ(inc.json().at("timeline").as_array().size(), 1u);
  // What the customer may say is "seen" or "done on our side": on the timeline, the SOC status
  // and the escalation clock unchanged.
  auto seen = ca.post(base + "/confirm", R"({"state":"seen"})");
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(seen.str("status"), "open");
  Client cu(ts_->base);
  ASSERT_EQ(cu.login("u." + a_.customer + "@example.jp", "user password 123").status, 200);
  EXPECT_EQ(cu.post(base + "/confirm", R"({"state":"done","note":"端末を隔離しました"})").status,
            200);
  EXPECT_EQ(cu.post(base + "/status", R"({"status":"resolved"})").status, 403);
  EXPECT_EQ(ca.post(base + "/confirm", R"({"state":"maybe"})").status, 400);
  inc = admin_->get(base);
  EXPECT_EQ(inc.str("status"), "open");
  EXPECT_TRUE(inc.json().at("acknowledged_at").is_null());
  auto tl = inc.json().at("timeline").as_array();
  ASSERT_EQ(tl.size(), 3u);
  EXPECT_EQ(tl[1].at("kind"), "confirm");
  EXPECT_EQ(tl[1].at("actor"), "admin@a.example.jp");
  EXPECT_EQ(tl[2].at("kind"), "confirm");
  EXPECT_NE(std::string(tl[2].at("text").as_string()).find("端末を隔離しました"),
            std::string::npos);
  // Another tenant's incident stays out of reach: 404, not 403.
  EXPECT_EQ(ca.post("/api/v1/incidents/" + b_.incident + "/confirm", R"({"state":"seen"})").status,
            404);
  EXPECT_EQ(
      ca.post("/api/v1/incidents/" + b_.incident + "/status", R"({"status":"resolved"})").status,
      404);
  // The SOC changes the status; confirming is the customer's word, not the SOC's.
  ASSERT_EQ(admin_
                ->post("/api/v1/users",
                       R"({"email":"ana@soc.jp","role":"analyst","password":"analyst password 1"})")
                .status,
            201);
  Client an(ts_->base);
  ASSERT_EQ(an.login("ana@soc.jp", "analyst password 1").status, 200);
  EXPECT_EQ(an.post(base + "/confirm", R"({"state":"seen"})").status, 403);
  auto st = an.post(base + "/status", R"({"status":"in_progress"})");
  ASSERT_EQ(st.status, 200) << st.body;
  EXPECT_EQ(st.str("status"), "in_progress");
  EXPECT_FALSE(st.json().at("acknowledged_at").is_null());
}

TEST_P(Isolation, DeniedAttemptsAreAuditedUnderTheActorsCustomer) {
  for (auto [email, customer] : std::vector<std::pair<std::string, std::string>>{
           {"admin@a.example.jp", a_.customer}, {"admin@b.example.jp", b_.customer}}) {
    ASSERT_EQ(admin_
                  ->post("/api/v1/users",
                         json::serialize(json::object{{"email", email},
                                                      {"role", "customer_admin"},
                                                      {"customer_id", customer},
                                                      {"password", "customer password 1"}}))
                  .status,
              201);
  }
  const std::string attacker = "u." + a_.customer + "@example.jp";
  Client cu(ts_->base);
  ASSERT_EQ(cu.login(attacker, "user password 123").status, 200);
  auto r = cu.post("/api/v1/incidents/" + b_.incident + "/comment", R"({"text":"x"})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(cu.get("/api/v1/incidents/" + b_.incident).status, 404);
  auto listed = [&](Client& c) {
    auto a = c.get("/api/v1/audit?outcome=denied");
    EXPECT_EQ(a.status, 200) << a.body;
    int n = 0;
    const auto j = a.json();
    for (const auto& e : j.at("items").as_array()) {
      n += e.at("actor").as_string() == attacker && e.at("object_id").as_string() == b_.incident;
    }
    return std::make_pair(n, a.body);
  };
  Client aa(ts_->base), ba(ts_->base);
  ASSERT_EQ(aa.login("admin@a.example.jp", "customer password 1").status, 200);
  ASSERT_EQ(ba.login("admin@b.example.jp", "customer password 1").status, 200);
  EXPECT_EQ(listed(aa).first, 2);
  auto [in_b, b_body] = listed(ba);
  EXPECT_EQ(in_b, 0);
  EXPECT_EQ(b_body.find(attacker), std::string::npos) << b_body;
  EXPECT_EQ(listed(*admin_).first, 2);  // the provider sees it
}

TEST_P(Isolation, WebhookUrlsAreNeverShownBack) {
  // The path of a Slack, Teams or webhook URL is its credential: whoever reads it can post in
  // the provider's name. The API shows scheme and host only, to every role.
  const std::string secret_path = "/services/T0001/B0002/s3cr3tT0k3nValue";
  auto created = admin_->post(
      "/api/v1/channels",
      json::serialize(json::object{{"customer_id", a_.customer},
                                   {"kind", "slack"},
                                   {"target", "https://hooks.slack.example" + secret_path}}));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.str("target"), "https://hooks.slack.example/…");
  EXPECT_EQ(created.body.find("s3cr3t"), std::string::npos) << created.body;
  ASSERT_EQ(admin_
                ->post("/api/v1/users",
                       json::serialize(json::object{{"email", "admin@a.example.jp"},
                                                    {"role", "customer_admin"},
                                                    {"customer_id", a_.customer},
                                                    {"password", "customer password 1"}}))
                .status,
            201);
  Client ca(ts_->base);
  ASSERT_EQ(ca.login("admin@a.example.jp", "customer password 1").status, 200);
  for (const Client* c : {admin_.get(), &ca}) {
    auto listed = c->get("/api/v1/channels?customer_id=" + a_.customer);
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_NE(listed.body.find("https://hooks.slack.example/…"), std::string::npos);
    EXPECT_EQ(listed.body.find("s3cr3t"), std::string::npos) << listed.body;
    // E-mail targets are the customer's own contacts and stay readable.
    EXPECT_NE(listed.body.find("owner@example.jp"), std::string::npos) << listed.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Isolation, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
