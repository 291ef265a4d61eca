// The console's listings at scale, on SQLite and PostgreSQL: the SOC overview's counts per
// customer come from GET /api/v1/overview (provider roles only; a customer role's attempt is
// refused and audited), and the incident and alert listings, now built from the filters given
// and read in index order, page exactly as one long listing filtered and sorted.

#include <gtest/gtest.h>

#include <map>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

class ConsoleScale : public ::testing::TestWithParam<std::string> {
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

  std::string customer(const std::string& name) {
    auto c = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(c.status, 201) << c.body;
    return c.str("id");
  }

  // A sensor of `customer`: its device id and token.
  std::pair<std::string, std::string> device(const std::string& customer) {
    auto code = admin_->post("/api/v1/customers/" + customer + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(
            json::object{{"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
    return {e.str("device_id"), e.str("device_token")};
  }

  json::array items(const std::string& path) {
    auto r = admin_->get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) return {};
    return r.json().at("items").as_array();
  }

  static std::vector<std::string> ids(const json::array& a) {
    std::vector<std::string> out;
    for (const auto& x : a) out.emplace_back(x.at("id").as_string());
    return out;
  }

  std::map<std::string, json::object> overview() {
    std::map<std::string, json::object> out;
    for (const auto& x : items("/api/v1/overview")) {
      out[std::string(x.at("customer_id").as_string())] = x.as_object();
    }
    return out;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(ConsoleScale, OverviewCountsOpenIncidentsAndDevicesPerCustomer) {
  const std::string a = customer("赤い商事"), b = customer("静かな工業"), c = customer("機器なし");
  auto [a_dev, a_token] = device(a);
  auto [b_dev, b_token] = device(b);
  Client anon(ts_->base);
  // Three hosts of A: three incidents (the catalogue decides their severity).
  ASSERT_EQ(
      ingest(anon, a_token, 1,
             {alert_line(9, "ET MALWARE Cobalt Strike Beacon", "192.168.0.2", "203.0.113.2"),
              alert_line(9, "ET MALWARE Cobalt Strike Beacon", "192.168.0.3", "203.0.113.2"),
              alert_line(2001219, "ET SCAN Potential SSH Scan", "192.168.0.4", "203.0.113.9")})
          .status,
      200);
  auto incidents = items("/api/v1/incidents?customer_id=" + a + "&limit=1000");
  ASSERT_GE(incidents.size(), 2u);
  int64_t high = 0;
  for (const auto& x : incidents) {
    auto s = x.at("severity").as_string();
    if (s == "high" || s == "critical") ++high;
  }
  auto o = overview();
  ASSERT_EQ(o.size(), 3u);
  EXPECT_EQ(o[a].at("name").as_string(), "赤い商事");
  EXPECT_EQ(o[a].at("open").as_int64(), static_cast<int64_t>(incidents.size()));
  EXPECT_EQ(o[a].at("open_high").as_int64(), high);
  EXPECT_EQ(o[a].at("devices").as_int64(), 1);
  EXPECT_EQ(o[a].at("silent").as_int64(), 0);
  EXPECT_EQ(o[b].at("open").as_int64(), 0);
  EXPECT_EQ(o[b].at("devices").as_int64(), 1);
  EXPECT_EQ(o[c].at("open").as_int64(), 0);
  EXPECT_EQ(o[c].at("devices").as_int64(), 0);

  // Closing one of A's incidents takes it out of the count; a revoked device is no longer counted.
  const std::string first(incidents[0].at("id").as_string());
  ASSERT_EQ(
      admin_->post("/api/v1/incidents/" + first + "/close", R"({"resolution":"false_positive"})")
          .status,
      200);
  ASSERT_EQ(admin_->post("/api/v1/devices/" + b_dev + "/revoke", "{}").status, 200);
  o = overview();
  EXPECT_EQ(o[a].at("open").as_int64(), static_cast<int64_t>(incidents.size()) - 1);
  EXPECT_EQ(o[b].at("devices").as_int64(), 0);

  // Customer roles do not get the provider's overview: refused, audited, nothing of others sent.
  for (std::string role : {"customer_admin", "customer_user"}) {
    SCOPED_TRACE(role);
    const std::string email = role + "@a.example.jp";
    ASSERT_EQ(admin_
                  ->post("/api/v1/users",
                         json::serialize(json::object{{"email", email},
                                                      {"role", role},
                                                      {"customer_id", a},
                                                      {"password", "customer password 1"}}))
                  .status,
              201);
    Client u(ts_->base);
    ASSERT_EQ(u.login(email, "customer password 1").status, 200);
    auto r = u.get("/api/v1/overview");
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(r.body.find("静かな工業"), std::string::npos);
    AuditQuery q;
    q.actor = email;
    q.action = "overview.read";
    q.outcome = "denied";
    auto audit = ts_->server->store().list_audit(Principal::system("test"), q);
    ASSERT_TRUE(audit.ok());
    EXPECT_EQ(audit->size(), 1u);
  }
}

TEST_P(ConsoleScale, ListingsPageAsOneFilteredSortedListing) {
  const std::string a = customer("A社"), b = customer("B社");
  auto [a_dev, a_token] = device(a);
  auto [b_dev, b_token] = device(b);
  Client anon(ts_->base);
  // Incidents of several severities and hosts for both customers, some acknowledged.
  const std::pair<int64_t, const char*> sigs[] = {
      {9, "ET MALWARE Cobalt Strike Beacon"},
      {2001219, "ET SCAN Potential SSH Scan"},
      {2024792, "ET POLICY Cleartext password over HTTP"}};
  int64_t seq = 1;
  for (const auto& [token, net] : {std::pair{a_token, 1}, std::pair{b_token, 2}}) {
    std::vector<std::string> lines;
    for (int h = 0; h < 7; ++h) {
      const auto& [sid, text] = sigs[h % 3];
      lines.push_back(alert_line(sid, text, fmt::format("192.168.{}.{}", net, 10 + h),
                                 fmt::format("203.0.113.{}", h)));
    }
    ASSERT_EQ(ingest(anon, token, seq, lines).status, 200);
    seq += static_cast<int64_t>(lines.size());
  }
  auto all = items("/api/v1/incidents?limit=1000");
  ASSERT_GE(all.size(), 6u);
  for (size_t i = 0; i < all.size(); i += 3) {
    const std::string id(all[i].at("id").as_string());
    ASSERT_EQ(admin_->post("/api/v1/incidents/" + id + "/acknowledge", "{}").status, 200);
  }
  all = items("/api/v1/incidents?limit=1000");
  // Most severe first, then the most recently changed, then by id.
  std::map<std::string, int> rank = {
      {"info", 0}, {"low", 1}, {"medium", 2}, {"high", 3}, {"critical", 4}};
  for (size_t i = 1; i < all.size(); ++i) {
    const auto& p = all[i - 1].as_object();
    const auto& x = all[i].as_object();
    const int rp = rank[std::string(p.at("severity").as_string())];
    const int rx = rank[std::string(x.at("severity").as_string())];
    EXPECT_GE(rp, rx) << i;
  }
  // Pages of 2 put together are the long listing, with and without each filter.
  auto pages = [&](const std::string& filter) {
    std::vector<std::string> out;
    for (int off = 0;; off += 2) {
      auto page = items(fmt::format("/api/v1/incidents?limit=2&offset={}{}", off, filter));
      if (page.empty()) break;
      EXPECT_LE(page.size(), 2u);
      for (auto& id : ids(page)) out.push_back(id);
    }
    return out;
  };
  auto filtered = [&](auto keep) {
    std::vector<std::string> out;
    for (const auto& x : all)
      if (keep(x.as_object())) out.emplace_back(x.at("id").as_string());
    return out;
  };
  EXPECT_EQ(pages(""), ids(all));
  EXPECT_EQ(pages("&status=open"),
            filtered([](const json::object& x) { return x.at("status").as_string() == "open"; }));
  EXPECT_EQ(pages("&status=acknowledged&customer_id=" + b), filtered([&](const json::object& x) {
              return x.at("status").as_string() == "acknowledged" &&
                     x.at("customer_id").as_string() == b;
            }));
  const std::string sev(all[0].at("severity").as_string());
  EXPECT_EQ(pages("&severity=" + sev),
            filtered([&](const json::object& x) { return x.at("severity").as_string() == sev; }));
  EXPECT_TRUE(pages("&status=closed").empty());

  // Alerts: newest first; pages and filters agree with the long listing in the same way.
  auto alerts = items("/api/v1/alerts?limit=1000");
  ASSERT_EQ(alerts.size(), 14u);
  std::vector<std::string> paged, of_a, by_ip;
  for (int off = 0; off < 20; off += 4) {
    for (auto& id : ids(items(fmt::format("/api/v1/alerts?limit=4&offset={}", off)))) {
      paged.push_back(id);
    }
  }
  EXPECT_EQ(paged, ids(alerts));
  for (const auto& x : alerts) {
    if (x.at("customer_id").as_string() == a) of_a.emplace_back(x.at("id").as_string());
    if (x.at("src_ip").as_string() == "192.168.2.12") by_ip.emplace_back(x.at("id").as_string());
  }
  EXPECT_EQ(ids(items("/api/v1/alerts?customer_id=" + a)), of_a);
  EXPECT_EQ(ids(items("/api/v1/alerts?ip=192.168.2.12")), by_ip);
  EXPECT_EQ(by_ip.size(), 1u);
  EXPECT_EQ(ids(items("/api/v1/alerts?device_id=" + b_dev + "&signature=2001219")).size(), 2u);
  EXPECT_TRUE(items("/api/v1/alerts?customer_id=" + a + "&device_id=" + b_dev).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsoleScale, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
