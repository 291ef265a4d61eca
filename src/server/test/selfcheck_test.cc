// The registration self-check and the service catalogue through the API, on SQLite and
// PostgreSQL: a requirement is met only on evidence in the store and configuration (an empty
// service meets almost nothing; a registered plan and a contract with its device and policy turn
// price, package, insurance and record to met; a lapsed policy turns insurance back), only the
// provider_admin reads the self-check (others 403, audited), and the catalogue lists registered
// plans only, as JSON and as Excel-ready CSV with the provider's text quoted safely.

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

json::object plan(std::string name, std::string status) {
  return json::object{{"name", name},
                      {"type", "endpoint"},
                      {"per_device_fee", 1800},
                      {"min_term_months", 12},
                      {"desk_hours", "平日 9:00-18:00"},
                      {"dispatch", "要請から24時間以内に訪問"},
                      {"dispatch_arrival_hours", 24},
                      {"insurance_coverage", 1000000},
                      {"status", status},
                      {"terms", json::object{{"initial_fee", "無料"},
                                             {"term", "1年ごとの自動更新"},
                                             {"cancellation_penalty", "なし"},
                                             {"right_to_cancel", "いつでも解約できます"}}}};
}

class SelfCheck : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) {
      o.deliver_notifications = false;
      o.enroll_attempts_per_minute = 1000;
      o.registered_services = {
          {"防検サイバー", "MS&ADインターリスク総研株式会社", "全国", "端末監視型", "ipa"}};
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
  }

  // The items of the self-check by key.
  std::map<std::string, json::object> check() {
    auto r = admin_->get("/api/v1/admin/self-check");
    EXPECT_EQ(r.status, 200) << r.body;
    std::map<std::string, json::object> out;
    auto v = r.json();
    if (!v.is_object()) return out;
    for (const auto& i : v.at("items").as_array()) {
      out[std::string(i.at("key").as_string())] = i.as_object();
    }
    return out;
  }

  static std::string status(const json::object& item) {
    return std::string(item.at("status").as_string());
  }

  static std::string evidence(const json::object& item) {
    std::string s;
    for (const auto& e : item.at("evidence").as_array()) {
      s += std::string(e.at("ja").as_string()) + "\n";
    }
    return s;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(SelfCheck, MetOnlyOnEvidence) {
  auto empty = check();
  ASSERT_EQ(empty.size(), 10u);
  // Nothing sold, nothing enrolled, no mail: unmet, never assumed.
  for (const char* k :
       {"desk", "monitoring", "ease", "insurance", "package", "price", "record", "continuity"}) {
    EXPECT_EQ(status(empty[k]), "unmet") << k << ": " << evidence(empty[k]);
    EXPECT_TRUE(empty[k].contains("action")) << k;
  }
  EXPECT_EQ(status(empty["dispatch"]), "unmet");  // no contract, no technician
  EXPECT_EQ(status(empty["sharing"]), "met");     // the export runs
  EXPECT_NE(evidence(empty["desk"]).find("メール受付: 無効"), std::string::npos);
  EXPECT_NE(evidence(empty["continuity"]).find("バックアップの記録: データベースにはありません"),
            std::string::npos);

  // A registered plan, a customer with an enrolled device and a contract binding both.
  auto p = admin_->post("/api/v1/plans", json::serialize(plan("端末みまもり", "registered")));
  ASSERT_EQ(p.status, 201) << p.body;
  auto c = admin_->post("/api/v1/customers", R"({"name":"A社"})");
  auto code = admin_->post("/api/v1/customers/" + c.str("id") + "/enrollment-codes").str("code");
  auto e = Client(ts_->base).call(
      "POST", "/api/v1/enroll",
      R"({"code":")" + code + R"(","hostname":"pc1","kind":"agent","version":"1"})",
      {"Content-Type: application/json"});
  ASSERT_EQ(e.status, 201) << e.body;
  json::object k{{"customer_id", c.str("id")},
                 {"plan_id", p.str("id")},
                 {"devices", 1},
                 {"device_ids", json::array{json::string(e.str("device_id"))}},
                 {"start_date", "2026-01-01"},
                 {"insurance_policy", "POL-1"},
                 {"insurance_until", "2099-12-31"}};
  ASSERT_EQ(admin_->post("/api/v1/contracts", json::serialize(k)).status, 201);
  auto sold = check();
  for (const char* key : {"price", "package", "insurance", "record", "ease"}) {
    EXPECT_EQ(status(sold[key]), "met") << key << ": " << evidence(sold[key]);
  }
  EXPECT_NE(evidence(sold["record"]).find("最初の契約開始日: 2026-01-01"), std::string::npos);
  // The customer's prefecture is not recorded: nobody can say a technician reaches it.
  EXPECT_EQ(status(sold["dispatch"]), "unmet");
  EXPECT_NE(evidence(sold["dispatch"]).find("所在の都道府県が未登録の顧客: A社"), std::string::npos)
      << evidence(sold["dispatch"]);
  // Delivery is off in this server: 24-hour monitoring is not evidenced.
  EXPECT_EQ(status(sold["monitoring"]), "unmet");
  EXPECT_NE(evidence(sold["monitoring"]).find("通知の送信: 無効"), std::string::npos);

  // A second contract whose policy lapsed: insurance is unmet and names it.
  k["insurance_until"] = "2020-01-01";
  k["device_ids"] = json::array{};
  auto lapsed = admin_->post("/api/v1/contracts", json::serialize(k));
  ASSERT_EQ(lapsed.status, 201) << lapsed.body;
  auto after = check();
  EXPECT_EQ(status(after["insurance"]), "unmet");
  EXPECT_NE(evidence(after["insurance"]).find(lapsed.str("id")), std::string::npos);
  EXPECT_EQ(status(after["package"]), "unmet");  // no device bound
}

// Requirement 3 from the data: a customer under contract in 東京都 and a technician serving it
// meet it; with the technician disabled the item fails and names the prefecture and customer.
TEST_P(SelfCheck, DispatchCoverIsJudgedFromTechniciansAndCustomers) {
  auto p = admin_->post("/api/v1/plans", json::serialize(plan("端末みまもり", "registered")));
  ASSERT_EQ(p.status, 201) << p.body;
  EXPECT_EQ(admin_->post("/api/v1/customers", R"({"name":"X社","prefecture":"東京"})").status, 400);
  auto c = admin_->post("/api/v1/customers", R"({"name":"B社","prefecture":"東京都"})");
  ASSERT_EQ(c.status, 201) << c.body;
  EXPECT_EQ(c.str("prefecture"), "東京都");
  json::object k{{"customer_id", c.str("id")},
                 {"plan_id", p.str("id")},
                 {"devices", 1},
                 {"start_date", "2026-01-01"},
                 {"insurance_policy", "POL-1"},
                 {"insurance_until", "2099-12-31"}};
  ASSERT_EQ(admin_->post("/api/v1/contracts", json::serialize(k)).status, 201);
  // A second customer under contract in 大阪府, served by the same technician.
  auto c2 = admin_->post("/api/v1/customers", R"({"name":"C社","prefecture":"大阪府"})");
  k["customer_id"] = c2.str("id");
  ASSERT_EQ(admin_->post("/api/v1/contracts", json::serialize(k)).status, 201);

  auto none = check();
  EXPECT_EQ(status(none["dispatch"]), "unmet");
  EXPECT_NE(evidence(none["dispatch"]).find("対応できる技術者: 0 人"), std::string::npos);
  EXPECT_NE(evidence(none["dispatch"]).find("担当技術者のいない都道府県: 大阪府"),
            std::string::npos)
      << evidence(none["dispatch"]);

  auto u = admin_->post("/api/v1/users", R"({"email":"tech@sc.example.jp","role":"technician",)"
                                         R"("password":"self check pass 12"})");
  ASSERT_EQ(u.status, 201) << u.body;
  auto t = admin_->send("PUT", "/api/v1/technicians/" + u.str("id"),
                        R"({"skills":["PC"],"prefectures":["東京都","大阪府"],)"
                        R"("availability":["mon-fri 09:00-18:00"]})");
  ASSERT_EQ(t.status, 200) << t.body;
  auto covered = check();
  EXPECT_EQ(status(covered["dispatch"]), "met") << evidence(covered["dispatch"]);
  EXPECT_FALSE(covered["dispatch"].contains("action"));
  const auto ev = evidence(covered["dispatch"]);
  EXPECT_NE(ev.find("対応できる技術者: 1 人 (大阪府 1 人、東京都 1 人)"), std::string::npos) << ev;
  EXPECT_NE(ev.find("有効な契約のある顧客 2 社、うち担当技術者のいる都道府県の顧客 2 社"),
            std::string::npos)
      << ev;
  EXPECT_NE(ev.find("直近90日の対応: 0 件"), std::string::npos) << ev;

  // The only technician leaves: both prefectures are uncovered and named.
  ASSERT_EQ(admin_->post("/api/v1/users/" + u.str("id") + "/disable").status, 200);
  auto gone = check();
  EXPECT_EQ(status(gone["dispatch"]), "unmet");
  const auto ev2 = evidence(gone["dispatch"]);
  EXPECT_NE(ev2.find("担当技術者のいない都道府県: 東京都 (顧客 B社 (" + c.str("id") + "))"),
            std::string::npos)
      << ev2;
  EXPECT_NE(ev2.find("担当技術者のいない都道府県: 大阪府"), std::string::npos) << ev2;
  EXPECT_NE(std::string(gone["dispatch"].at("action").at("ja").as_string()).find("東京都"),
            std::string::npos);
}

TEST_P(SelfCheck, OnlyTheProviderAdminAndTheRefusalIsAudited) {
  auto c = admin_->post("/api/v1/customers", R"({"name":"A社"})");
  for (std::string role : {"analyst", "customer_admin"}) {
    json::object u{
        {"email", role + "@sc.example.jp"}, {"role", role}, {"password", "self check pass 12"}};
    if (role == "customer_admin") u["customer_id"] = c.str("id");
    ASSERT_EQ(admin_->post("/api/v1/users", json::serialize(u)).status, 201);
    Client cl(ts_->base);
    ASSERT_EQ(cl.login(role + "@sc.example.jp", "self check pass 12").status, 200);
    EXPECT_EQ(cl.get("/api/v1/admin/self-check").status, 403) << role;
    // The catalogue is for everyone who compares plans.
    EXPECT_EQ(cl.get("/api/v1/catalogue").status, 200) << role;
  }
  auto audit = admin_->get("/api/v1/audit?action=selfcheck.read&outcome=denied");
  EXPECT_EQ(audit.json().at("items").as_array().size(), 2u) << audit.body;
  EXPECT_EQ(Client(ts_->base).get("/api/v1/admin/self-check").status, 401);
}

TEST_P(SelfCheck, CatalogueListsRegisteredPlansAsJsonAndExcelCsv) {
  ASSERT_EQ(admin_->post("/api/v1/plans", json::serialize(plan("下書き", "draft"))).status, 201);
  // A provider's text that a spreadsheet would take for a formula, with quotes and a newline.
  auto p = plan("=HYPERLINK(\"x\") 安心\nプラン", "registered");
  ASSERT_EQ(admin_->post("/api/v1/plans", json::serialize(p)).status, 201);
  auto j = admin_->get("/api/v1/catalogue");
  ASSERT_EQ(j.status, 200) << j.body;
  auto items = j.json().at("items").as_array();
  ASSERT_EQ(items.size(), 1u);  // not the draft
  const auto& row = items[0].as_object();
  EXPECT_EQ(row.at("per_device_fee").as_int64(), 1800);
  EXPECT_EQ(row.at("type_ja").as_string(), "端末監視型");
  EXPECT_EQ(row.at("dispatch_arrival_hours").as_int64(), 24);
  EXPECT_EQ(row.at("monitoring_hours").as_string(), "24時間365日");
  EXPECT_TRUE(row.at("compliant").as_bool());
  // IPA's registered services beside the plans, as the server read them at start.
  const auto cat = j.json();
  const auto& reg = cat.at("registered_services").as_array();
  ASSERT_EQ(reg.size(), 1u);
  EXPECT_EQ(reg[0].at("service").as_string(), "防検サイバー");
  EXPECT_EQ(reg[0].at("source").as_string(), "ipa");

  auto csv = admin_->get("/api/v1/catalogue?format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  ASSERT_GE(csv.body.size(), 3u);
  EXPECT_EQ(csv.body.substr(0, 3), "\xEF\xBB\xBF");
  // Header and one row, CRLF-ended; the name is text (leading '), its quotes doubled, no
  // newline inside a field.
  size_t lines = 0;
  for (size_t i = csv.body.find("\r\n"); i != std::string::npos; i = csv.body.find("\r\n", i + 2)) {
    ++lines;
  }
  EXPECT_EQ(lines, 2u) << csv.body;
  EXPECT_NE(csv.body.find("\"プランID\",\"サービス名\""), std::string::npos);
  EXPECT_NE(csv.body.find("\"'=HYPERLINK(\"\"x\"\") 安心 プラン\""), std::string::npos) << csv.body;
  EXPECT_NE(csv.body.find("\"1800\""), std::string::npos);
  EXPECT_EQ(admin_->get("/api/v1/catalogue?format=xml").status, 400);
}

// IPA's list as shipped (12 services, no problem) and a provider's additions: each bad line is
// skipped and named by file:line with why; a configured file that cannot be read stops the start.
TEST(RegisteredServices, ShippedListAndAdditionsWithBadLinesNamed) {
  const std::string shipped =
      std::string(MIMAMORI_SOURCE_DIR) + "/src/server/contracts/registered_services.tsv";
  const std::string extra = temp_dir() + "/extra.tsv";
  {
    std::ofstream(extra, std::ios::binary)
        << "# additions\n自社みまもり\t見守りSOC\t東京都\t端末監視型\nno tabs here\n"
           "防検サイバー\tMS&ADインターリスク総研株式会社\t全国\t端末監視型\n"
           "別\t別会社\t全国\t監視型\n\t会社\t全国\t併用型\n";
  }
  auto config = core::Config::from_string("{}", "<test>");
  config.set("catalogue.services_file=" + shipped);
  auto plain = load_server_options(config);
  EXPECT_EQ(plain.registered_services.size(), 12u);
  EXPECT_TRUE(plain.registered_service_problems.empty());
  ASSERT_FALSE(plain.registered_services.empty());
  EXPECT_EQ(plain.registered_services[0].service, "商工会議所サイバーセキュリティお助け隊サービス");
  EXPECT_EQ(plain.registered_services[0].type, "ネットワーク一括監視型");

  config.set("catalogue.extra_services_file=" + extra);
  auto o = load_server_options(config);
  ASSERT_EQ(o.registered_services.size(), 13u);
  EXPECT_EQ(o.registered_services.back().service, "自社みまもり");
  EXPECT_EQ(o.registered_services.back().source, "provider");
  ASSERT_EQ(o.registered_service_problems.size(), 4u);
  EXPECT_EQ(o.registered_service_problems[0],
            extra +
                ":3: expected 4 tab-separated fields (service, provider, region, type), "
                "found 1; line skipped");
  EXPECT_NE(o.registered_service_problems[1].find(extra + ":4: '防検サイバー'"), std::string::npos);
  EXPECT_NE(o.registered_service_problems[2].find(extra + ":5: type '監視型'"), std::string::npos);
  EXPECT_NE(o.registered_service_problems[3].find(extra + ":6: field 'service'"),
            std::string::npos);

  config.set("catalogue.extra_services_file=" + extra + ".missing");
  try {
    (void)load_server_options(config);
    ADD_FAILURE() << "a missing file was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("catalogue.extra_services_file"), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SelfCheck, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
