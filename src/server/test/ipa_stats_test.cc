// IPA statistics through the API on SQLite and PostgreSQL: identifying values planted in the data
// (customer names, host names, addresses, signature text) never reach the export, cells of
// fewer than five customers are suppressed, and only the provider_admin may export.

#include <gtest/gtest.h>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

class IpaStats : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) {
      o.deliver_notifications = false;
      o.enroll_attempts_per_minute = 1000;
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
  }

  // A customer with one device named `host`; its id and device token.
  std::pair<std::string, std::string> customer(const std::string& name, const std::string& host) {
    auto c = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(c.status, 201) << c.body;
    auto code = admin_->post("/api/v1/customers/" + c.str("id") + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(
            json::object{{"code", code}, {"hostname", host}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
    return {c.str("id"), e.str("device_token")};
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(IpaStats, NoIdentifyingValueReachesTheExportAndSmallCellsAreSuppressed) {
  std::vector<std::string> planted = {"秘密",    "himitsu",    "203.0.113.77", "192.168.77.",
                                      "ET SCAN", "ET MALWARE", "LockBit"};
  Client dev(ts_->base);
  for (int i = 0; i < 6; ++i) {
    auto [id, token] = customer(fmt::format("秘密商事{}", i), fmt::format("himitsu-pc-{}", i));
    planted.push_back(id);
    ASSERT_EQ(
        ingest(dev, token, 1,
               {alert_line(2010935, fmt::format("ET SCAN 秘密商事{} probe himitsu-pc-{}", i, i),
                           "203.0.113.77", fmt::format("192.168.77.{}", i + 1))})
            .status,
        200);
  }
  // One customer alone in its category: its cell covers one customer and is suppressed.
  auto [lone, lone_token] = customer("秘密ひとり", "himitsu-lone");
  planted.push_back(lone);
  ASSERT_EQ(ingest(dev, lone_token, 1,
                   {alert_line(2024897, "ET MALWARE Ransomware LockBit beacon", "192.168.77.99",
                               "203.0.113.77")})
                .status,
            200);

  auto j = admin_->get("/api/v1/stats/ipa?from=2026-11-01&to=2026-11-30");
  ASSERT_EQ(j.status, 200) << j.body;
  auto csv =
      admin_->get("/api/v1/stats/ipa?from=2026-10-01&to=2026-12-31&period=quarter&format=csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  for (const auto& v : planted) {
    EXPECT_EQ(j.body.find(v), std::string::npos) << v << " in " << j.body;
    EXPECT_EQ(csv.body.find(v), std::string::npos) << v << " in " << csv.body;
  }
  auto doc = j.json();
  EXPECT_EQ(doc.at("min_customers_per_cell").as_int64(), 5);
  EXPECT_GE(doc.at("suppressed_cells").as_int64(), 1);
  EXPECT_GE(doc.at("suppressed_detections").as_int64(), 1);
  const auto& cells = doc.at("cells").as_array();
  ASSERT_EQ(cells.size(), 1u) << j.body;
  EXPECT_EQ(cells[0].at("period"), "2026-11");
  EXPECT_EQ(cells[0].at("category"), "scan");
  EXPECT_EQ(cells[0].at("source"), "network");
  EXPECT_EQ(cells[0].at("service_type"), "none");
  EXPECT_EQ(cells[0].at("customers").as_int64(), 6);
  EXPECT_EQ(cells[0].at("detections").as_int64(), 6);
  EXPECT_NE(csv.body.find("period,category,severity,source,service_type,alerts,detections,"
                          "customers\n2026-Q4,scan,"),
            std::string::npos)
      << csv.body;
}

TEST_P(IpaStats, OnlyTheProviderAdminExportsAndBadQueriesAreNamed) {
  auto [a, token] = customer("A社", "gw-a");
  (void)token;
  for (std::string role : {"analyst", "customer_admin"}) {
    json::object u{
        {"email", role + "@ipa.example.jp"}, {"role", role}, {"password", "ipa stats pass 12"}};
    if (role == "customer_admin") u["customer_id"] = a;
    ASSERT_EQ(admin_->post("/api/v1/users", json::serialize(u)).status, 201);
    Client c(ts_->base);
    ASSERT_EQ(c.login(role + "@ipa.example.jp", "ipa stats pass 12").status, 200);
    EXPECT_EQ(c.get("/api/v1/stats/ipa?from=2026-11-01&to=2026-11-30").status, 403) << role;
  }
  auto bad = [&](const std::string& query, std::string_view says) {
    auto r = admin_->get("/api/v1/stats/ipa?" + query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_NE(r.str("error").find(says), std::string::npos) << r.body;
  };
  bad("from=2026-11-01", "to '' is not a date");
  bad("from=2026-13-01&to=2026-12-01", "from '2026-13-01' is not a date");
  bad("from=2026-04-31&to=2026-06-30", "from '2026-04-31' is not a date");
  bad("from=2026-12-01&to=2026-11-01", "is before from");
  bad("from=2026-11-01&to=2026-11-30&period=week", "period 'week' is neither month nor quarter");
  bad("from=2026-11-01&to=2026-11-30&format=xml", "format 'xml' is neither json nor csv");
}

INSTANTIATE_TEST_SUITE_P(Backends, IpaStats, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
