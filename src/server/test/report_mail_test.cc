// The monthly report by e-mail, on SQLite and PostgreSQL, through the real SMTP sink: on the 1st
// (JST) each customer's report contacts get the previous month's PDF as an attachment that a MIME
// parser takes out intact (pdftotext reads the customer and the month from it); nothing on other
// days; once per customer-month whatever the restarts or instances (two mailers at once, and
// again later, queue one message); a customer that turned the mail off gets none; "send now" and
// the setting are tenant-scoped.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "mimamori/core/clock.h"
#include "reports/reports.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

// 2026-12-01 10:00 JST and 2026-12-02 10:00 JST, in UTC micros.
constexpr int64_t kFirst = 1796086800LL * 1000000;
constexpr int64_t kSecond = kFirst + 86400LL * 1000000;

std::string run(const std::string& cmd) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

class ReportMail : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_GT(smtp_.port, 0) << "python3-aiosmtpd missing?";
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [&](ServerOptions& o) {
      o.notify.smtp_url = fmt::format("smtp://127.0.0.1:{}", smtp_.port);
      o.notify.smtp_from = "soc@example.jp";
      o.deliver_notifications = true;
      o.notify.allow_destinations = {"127.0.0.1"};
      o.background_interval_ms = 200;
      o.mail_monthly_reports = false;  // the test calls the mailer itself, at chosen times
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
  }

  std::string customer(std::string_view name, std::string_view mail) {
    auto c = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(c.status, 201) << c.body;
    if (!mail.empty()) {
      auto ch =
          admin_->post("/api/v1/channels",
                       json::serialize(json::object{
                           {"customer_id", c.str("id")}, {"kind", "email"}, {"target", mail}}));
      EXPECT_EQ(ch.status, 201) << ch.body;
    }
    return c.str("id");
  }

  std::vector<std::string> wait_mails(size_t n) {
    for (int i = 0; i < 150 && smtp_.files().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // and no more than n
    return smtp_.files();
  }

  Sink smtp_{"smtp"};
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(ReportMail, OnTheFirstEachContactGetsTheIntactPdfOnce) {
  auto a = customer("<b>丸の内</b>商店", "owner@a.example.jp");
  auto b = customer("配信停止社", "owner@b.example.jp");
  customer("連絡先なし社", "");
  ASSERT_EQ(
      admin_->send("PUT", "/api/v1/customers/" + b + "/report-mail", R"({"enabled":false})").status,
      200);
  EXPECT_EQ(admin_->get("/api/v1/customers/" + b + "/report-mail").json().at("enabled"), false);
  Store& store = ts_->server->store();

  // Not on the 2nd.
  auto none = mail_monthly_reports(store, kSecond, 100);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, 0);

  // Two mailers at once (two instances), then a third later (a restart): one mailing.
  Result<int64_t> r1 = int64_t{0}, r2 = int64_t{0};
  std::thread t1([&] { r1 = mail_monthly_reports(store, kFirst, 100); });
  std::thread t2([&] { r2 = mail_monthly_reports(store, kFirst, 100); });
  t1.join();
  t2.join();
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(*r1 + *r2, 1);
  auto again = mail_monthly_reports(store, kFirst + 3600LL * 1000000, 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);

  auto mails = wait_mails(1);
  ASSERT_EQ(mails.size(), 1u) << admin_->get("/api/v1/notifications").body;
  EXPECT_EQ(smtp_.recipients(), std::vector<std::string>{"owner@a.example.jp"});
  const std::string dir = temp_dir();
  { std::ofstream(dir + "/mail.eml", std::ios::binary) << mails[0]; }
  // A real MIME parser: the subject and text in Japanese, one PDF attachment.
  const std::string parsed = run(
      "/usr/bin/python3 -c '\n"
      "import email, email.policy, sys\n"
      "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"), policy=email.policy.default)\n"
      "print(\"SUBJECT\", m[\"subject\"])\n"
      "print(\"TEXT\", m.get_body(preferencelist=(\"plain\",)).get_content().splitlines()[0])\n"
      "atts = list(m.iter_attachments())\n"
      "print(\"ATTACHMENTS\", len(atts))\n"
      "for a in atts:\n"
      "  print(\"FILE\", a.get_filename(), a.get_content_type())\n"
      "  open(sys.argv[2], \"wb\").write(a.get_payload(decode=True))\n"
      "' " +
      dir + "/mail.eml " + dir + "/report.pdf");
  EXPECT_NE(parsed.find("SUBJECT 【見守り】2026年11月の月次レポート (<b>丸の内</b>商店)"),
            std::string::npos)
      << parsed;
  EXPECT_NE(parsed.find("TEXT <b>丸の内</b>商店 ご担当者様"), std::string::npos) << parsed;
  EXPECT_NE(parsed.find("ATTACHMENTS 1"), std::string::npos) << parsed;
  EXPECT_NE(parsed.find("FILE mimamori-report-" + a + "-2026-11.pdf application/pdf"),
            std::string::npos)
      << parsed;
  const std::string text = run("pdftotext -enc UTF-8 " + dir + "/report.pdf - 2>&1");
  EXPECT_NE(text.find("<b>丸の内</b>商店"), std::string::npos) << text;
  EXPECT_NE(text.find("2026年11月"), std::string::npos) << text;
  EXPECT_EQ(text.find("Syntax Error"), std::string::npos) << text;
}

TEST_P(ReportMail, SendNowAndTheSettingAreTenantScoped) {
  auto a = customer("A社", "owner@a.example.jp");
  auto b = customer("B社", "owner@b.example.jp");
  auto u = admin_->post("/api/v1/users",
                        json::serialize(json::object{{"email", "admin@a.example.jp"},
                                                     {"role", "customer_admin"},
                                                     {"customer_id", a},
                                                     {"password", "report mail pass 1"}}));
  ASSERT_EQ(u.status, 201) << u.body;
  Client ca(ts_->base);
  ASSERT_EQ(ca.login("admin@a.example.jp", "report mail pass 1").status, 200);
  // Another customer's: not found, audited; nothing queued.
  EXPECT_EQ(ca.post("/api/v1/customers/" + b + "/reports/2026-11/send").status, 404);
  EXPECT_EQ(
      ca.send("PUT", "/api/v1/customers/" + b + "/report-mail", R"({"enabled":false})").status,
      404);
  EXPECT_EQ(ca.get("/api/v1/customers/" + b + "/report-mail").status, 404);
  auto denied = admin_->get("/api/v1/audit?outcome=denied&customer_id=" + a);
  EXPECT_GE(denied.json().at("items").as_array().size(), 3u) << denied.body;
  EXPECT_EQ(admin_->get("/api/v1/customers/" + b + "/report-mail").json().at("enabled"), true);
  // Bad input is named.
  auto bad = ca.send("PUT", "/api/v1/customers/" + a + "/report-mail", R"({"enabled":"no"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.str("error").find("'enabled'"), std::string::npos) << bad.body;
  EXPECT_EQ(ca.post("/api/v1/customers/" + a + "/reports/2026-13/send").status, 400);
  // Their own: sent now, to their contact only.
  auto s = ca.post("/api/v1/customers/" + a + "/reports/2026-11/send");
  ASSERT_EQ(s.status, 202) << s.body;
  EXPECT_EQ(s.json().at("messages").as_int64(), 1);
  auto mails = wait_mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(smtp_.recipients(), std::vector<std::string>{"owner@a.example.jp"});
  EXPECT_NE(mails[0].find("Content-Type: application/pdf; name=\"mimamori-report-" + a),
            std::string::npos);
}

// `mimamori admin report-mail`: a month's reports now, as the scheduler would on the 1st; the dry
// run queues and marks nothing; the real run mails each customer whose mail is on once, shared
// with the scheduler's own once-only mark; bad months and unknown customers are refused.
TEST_P(ReportMail, AMonthsReportsNowOnceWithADryRun) {
  auto a = customer("A社", "owner@a.example.jp");
  auto b = customer("配信停止社", "owner@b.example.jp");
  auto c = customer("連絡先なし社", "");
  ASSERT_EQ(
      admin_->send("PUT", "/api/v1/customers/" + b + "/report-mail", R"({"enabled":false})").status,
      200);
  Store& store = ts_->server->store();
  auto by_id = [](const std::vector<ReportMailing>& v, const std::string& id) {
    for (const auto& m : v) {
      if (m.customer_id == id) return m;
    }
    return ReportMailing{};
  };

  auto dry = mail_reports_of_month(store, "2026-11", "", true, kSecond);
  ASSERT_TRUE(dry.ok()) << dry.error().message;
  ASSERT_EQ(dry->size(), 3u);
  EXPECT_EQ(by_id(*dry, a).contacts, 1);
  EXPECT_FALSE(by_id(*dry, a).already);
  EXPECT_FALSE(by_id(*dry, a).queued);
  EXPECT_FALSE(by_id(*dry, b).report_mail);
  EXPECT_EQ(by_id(*dry, c).contacts, 0);

  auto one = mail_reports_of_month(store, "2026-11", a, false, kSecond);
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 1u);
  EXPECT_TRUE((*one)[0].queued);
  auto all = mail_reports_of_month(store, "2026-11", "", false, kSecond + 1000000);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_TRUE(by_id(*all, a).already);  // once per customer-month
  EXPECT_FALSE(by_id(*all, a).queued);
  EXPECT_FALSE(by_id(*all, b).queued);  // turned off
  EXPECT_FALSE(by_id(*all, c).queued);  // nobody to send to
  // The scheduler of the 1st finds the month done.
  auto sched = mail_monthly_reports(store, kFirst, 100);
  ASSERT_TRUE(sched.ok());
  EXPECT_EQ(*sched, 0);

  auto mails = wait_mails(1);
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(smtp_.recipients(), std::vector<std::string>{"owner@a.example.jp"});
  EXPECT_NE(mails[0].find("mimamori-report-" + a + "-2026-11.pdf"), std::string::npos);

  auto bad = mail_reports_of_month(store, "2026-13", "", true, kSecond);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 400);
  EXPECT_NE(bad.error().message.find("'2026-13'"), std::string::npos);
  auto open = mail_reports_of_month(store, "2026-12", "", false, kSecond);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("has not ended yet"), std::string::npos);
  auto unknown = mail_reports_of_month(store, "2026-11", "cus_nobody", true, kSecond);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReportMail, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
