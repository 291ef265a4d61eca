// The monthly report through the API on SQLite and PostgreSQL: the PDF's text (pdftotext) says
// what the store holds for that customer and month — its incidents, detections by category,
// notable signatures, devices — and nothing of another customer; pages render (pdftoppm).

#include "reports/reports.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mimamori/core/clock.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

std::string run(const std::string& command) {
  std::string out;
  FILE* f = ::popen(command.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

// pdftotext may break a wrapped line or a table cell anywhere: compare without white space.
std::string squeeze(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\f' && c != '\r') out += c;
  }
  return out;
}

class MonthlyReport : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) { o.deliver_notifications = false; });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    dir_ = temp_dir();
  }

  std::pair<std::string, std::string> customer_with_device(std::string_view name,
                                                           std::string_view host) {
    auto c = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(c.status, 201);
    auto code = admin_->post("/api/v1/customers/" + c.str("id") + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(
            json::object{{"code", code}, {"hostname", host}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
    return {c.str("id"), e.str("device_token")};
  }

  std::string text_of(const Response& r, const std::string& name) {
    const fs::path p = fs::path(dir_) / (name + ".pdf");
    std::ofstream(p, std::ios::binary) << r.body;
    return run("pdftotext -enc UTF-8 '" + p.string() + "' -");
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string dir_;
};

TEST_P(MonthlyReport, PdfSaysWhatTheStoreHoldsForThatCustomerAndMonth) {
  auto [a, token_a] = customer_with_device("株式会社みまもり商店", "gw-honsha");
  auto [b, token_b] = customer_with_device("ひみつ工業", "gw-himitsu");
  // This month (JST), so that the incidents opened now fall into it too.
  const int64_t now = core::now().micros;
  const std::string when = core::format_eve_time(core::Timestamp{now - 60LL * 1000000});
  const std::string month = when.substr(0, 7);
  Client dev(ts_->base);
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) {
    lines.push_back(alert_line(2010935, "ET SCAN Suspicious inbound to mySQL port 3306",
                               "198.51.100.7", "192.168.1.10", when));
  }
  lines.push_back(alert_line(2024897, "ET MALWARE Ransomware LockBit beacon", "192.168.1.20",
                             "203.0.113.9", when));
  ASSERT_EQ(ingest(dev, token_a, 1, lines).status, 200);
  ASSERT_EQ(ingest(dev, token_b, 1,
                   {alert_line(2030000, "ET POLICY Secret Other Customer Signature", "10.0.0.1",
                               "203.0.113.50", when)})
                .status,
            200);

  auto r = admin_->get("/api/v1/customers/" + a + "/reports/" + month);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/pdf");
  EXPECT_TRUE(r.body.starts_with("%PDF-"));
  EXPECT_NE(r.header("content-disposition").find(a + "-" + month), std::string::npos);
  const std::string text = squeeze(text_of(r, "a"));
  EXPECT_NE(text.find("月次セキュリティレポート"), std::string::npos) << text;
  EXPECT_NE(text.find("株式会社みまもり商店様"), std::string::npos) << text;
  const std::string period =
      fmt::format("{}年{}月", month.substr(0, 4), std::stoi(month.substr(5, 2)));
  EXPECT_NE(text.find(period), std::string::npos) << text;
  EXPECT_NE(text.find("今月の状態"), std::string::npos);
  // 4 detections; the ransomware beacon is a critical incident still open.
  EXPECT_NE(text.find("合計4件"), std::string::npos) << text;
  EXPECT_NE(text.find("【要対応】"), std::string::npos) << text;
  EXPECT_NE(text.find("ランサムウェアの疑い"), std::string::npos) << text;
  EXPECT_NE(text.find(squeeze("ET MALWARE Ransomware LockBit beacon")), std::string::npos) << text;
  EXPECT_NE(text.find("gw-honsha"), std::string::npos) << text;
  EXPECT_NE(text.find("来月に向けたアドバイス"), std::string::npos);
  // Nothing of the other customer.
  EXPECT_EQ(text.find("ひみつ工業"), std::string::npos);
  EXPECT_EQ(text.find("gw-himitsu"), std::string::npos);
  EXPECT_EQ(text.find("SecretOtherCustomer"), std::string::npos);

  // The pages render.
  const fs::path pdf = fs::path(dir_) / "a.pdf";
  run("pdftoppm -r 30 -png '" + pdf.string() + "' '" + (fs::path(dir_) / "page").string() + "'");
  int pages = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() == ".png" && fs::file_size(e.path()) > 1000) ++pages;
  }
  EXPECT_GE(pages, 1);

  // A month without data reads as a quiet month.
  auto empty = admin_->get("/api/v1/customers/" + a + "/reports/2020-01");
  ASSERT_EQ(empty.status, 200);
  const std::string quiet = squeeze(text_of(empty, "quiet"));
  EXPECT_NE(quiet.find("今月の検知はありません"), std::string::npos) << quiet;
  EXPECT_NE(quiet.find("合計0件"), std::string::npos) << quiet;
}

TEST_P(MonthlyReport, CustomersFetchOnlyTheirOwnAndBadMonthsAreNamed) {
  auto [a, token_a] = customer_with_device("A社", "gw-a");
  auto [b, token_b] = customer_with_device("B社", "gw-b");
  (void)token_a;
  (void)token_b;
  auto u = admin_->post("/api/v1/users",
                        json::serialize(json::object{{"email", "user@a.example.jp"},
                                                     {"role", "customer_user"},
                                                     {"customer_id", a},
                                                     {"password", "customer pass 1234"}}));
  ASSERT_EQ(u.status, 201) << u.body;
  Client c(ts_->base);
  ASSERT_EQ(c.login("user@a.example.jp", "customer pass 1234").status, 200);
  EXPECT_EQ(c.get("/api/v1/customers/" + a + "/reports/2026-11").status, 200);
  auto other = c.get("/api/v1/customers/" + b + "/reports/2026-11");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.body.find("B社"), std::string::npos);
  for (std::string bad : {"2026-13", "2026-1", "november", "1999-12"}) {
    auto r = admin_->get("/api/v1/customers/" + a + "/reports/" + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.str("error").find("is not YYYY-MM"), std::string::npos) << r.body;
  }
  EXPECT_EQ(admin_->get("/api/v1/customers/cus_missing/reports/2026-11").status, 404);
}

TEST_P(MonthlyReport, ListsTheCompleteMonthsSinceTheServiceBegan) {
  auto [a, token_a] = customer_with_device("A社", "gw-a");
  auto [b, token_b] = customer_with_device("B社", "gw-b");
  (void)token_a;
  (void)token_b;
  // The JST month of now, and the two before it.
  const int64_t now = core::now().micros;
  const std::string today = core::format_local(core::Timestamp{now}).substr(0, 7);
  int y = std::stoi(today.substr(0, 4)), m = std::stoi(today.substr(5, 2));
  auto back = [&](int n) {
    int k = y * 12 + (m - 1) - n;
    return fmt::format("{:04}-{:02}", k / 12, k % 12 + 1);
  };
  // A's contract began two months ago: two complete months have a report.
  auto plan =
      admin_->post("/api/v1/plans",
                   R"({"name":"ライト","type":"network","monthly_fee":9800,"desk_hours":"平日",)"
                   R"("dispatch":"24時間以内","insurance_coverage":1000000,"status":"registered",)"
                   R"("terms":{"initial_fee":"無料","term":"1年","cancellation_penalty":"なし",)"
                   R"("right_to_cancel":"いつでも"}})");
  ASSERT_EQ(plan.status, 201) << plan.body;
  auto k = admin_->post("/api/v1/contracts",
                        json::serialize(json::object{{"customer_id", a},
                                                     {"plan_id", plan.str("id")},
                                                     {"devices", 1},
                                                     {"start_date", back(2) + "-01"},
                                                     {"insurance_policy", "CY-0001"},
                                                     {"insurance_until", "2099-03-31"}}));
  ASSERT_EQ(k.status, 201) << k.body;
  // The mail of the 1st has sent last month's (no contact: marked done with no message).
  ASSERT_TRUE(mail_monthly_reports(ts_->server->store(), now, 100, true).ok());

  auto r = admin_->get("/api/v1/customers/" + a + "/reports");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json().as_object();
  EXPECT_EQ(j.at("total").as_int64(), 2);
  EXPECT_EQ(j.at("first_month").as_string(), back(2));
  const auto& items = j.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("month").as_string(), back(1));
  EXPECT_EQ(items[1].at("month").as_string(), back(2));
  EXPECT_EQ(items[0].at("href").as_string(), "/api/v1/customers/" + a + "/reports/" + back(1));
  EXPECT_FALSE(items[0].at("mailed_at").is_null()) << r.body;
  EXPECT_TRUE(items[1].at("mailed_at").is_null()) << r.body;
  // Each listed month downloads as a PDF.
  auto pdf = admin_->get(std::string(items[1].at("href").as_string()));
  ASSERT_EQ(pdf.status, 200);
  EXPECT_EQ(pdf.body.substr(0, 5), "%PDF-");
  // Paging.
  auto page = admin_->get("/api/v1/customers/" + a + "/reports?limit=1&offset=1");
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(page.json().at("items").as_array().size(), 1u);
  EXPECT_EQ(page.json().at("items").as_array()[0].at("month").as_string(), back(2));

  // B registered this month with no contract: no complete month yet.
  auto none = admin_->get("/api/v1/customers/" + b + "/reports");
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.json().at("total").as_int64(), 0);
  EXPECT_TRUE(none.json().at("items").as_array().empty());
  EXPECT_EQ(none.json().at("first_month").as_string(), today);

  // A's user lists A's, never B's; an unknown customer is 404.
  auto u = admin_->post("/api/v1/users",
                        json::serialize(json::object{{"email", "list@a.example.jp"},
                                                     {"role", "customer_user"},
                                                     {"customer_id", a},
                                                     {"password", "customer pass 1234"}}));
  ASSERT_EQ(u.status, 201) << u.body;
  Client c(ts_->base);
  ASSERT_EQ(c.login("list@a.example.jp", "customer pass 1234").status, 200);
  EXPECT_EQ(c.get("/api/v1/customers/" + a + "/reports").json().at("total").as_int64(), 2);
  auto other = c.get("/api/v1/customers/" + b + "/reports");
  EXPECT_EQ(other.status, 404);
  EXPECT_EQ(other.body.find("B社"), std::string::npos);
  EXPECT_EQ(admin_->get("/api/v1/customers/cus_missing/reports").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, MonthlyReport, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
