// The desk's tickets through the API on both backends: a customer asks in the portal API, the
// desk answers (the answer is mailed, threaded) and keeps internal notes the customer never sees,
// SLA clocks stop and pause, warnings and breaches reach the provider's channels once, every
// change is audited, and no customer reaches another's tickets, messages or files.

#include <gtest/gtest.h>

#include <chrono>

#include "desk/desk.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/hash.h"
#include "mimamori/core/text.h"
#include "notify/notify.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

class DeskApi : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) {
      o.deliver_notifications = false;
      // The SLA check is driven by the test: the background thread runs it at start only.
      o.background_interval_ms = 3600 * 1000;
      o.desk.address = "desk@soc.example.jp";
      o.desk.max_attachments = 3;
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    a_ = admin_->post("/api/v1/customers", R"({"name":"A社"})").str("id");
    b_ = admin_->post("/api/v1/customers", R"({"name":"B社"})").str("id");
    user("taro@a.example.jp", "customer_user", a_);
    user("boss@a.example.jp", "customer_admin", a_);
    user("hanako@b.example.jp", "customer_user", b_);
    desk_id_ = user("desk@soc.example.jp", "desk", "");
    user("tech@soc.example.jp", "technician", "");
    // The provider's own channel, for notices of new tickets and SLA warnings.
    auto ch = admin_->post("/api/v1/channels", R"({"kind":"email","target":"lead@soc.example.jp",
                                                   "min_severity":"low"})");
    ASSERT_EQ(ch.status, 201) << ch.body;
  }

  std::string user(const std::string& email, const std::string& role, const std::string& cust) {
    json::object o{{"email", email}, {"role", role}, {"password", "desk test pass 1"}};
    if (!cust.empty()) o["customer_id"] = cust;
    auto r = admin_->post("/api/v1/users", json::serialize(o));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  Client login(const std::string& email) {
    Client c(ts_->base);
    EXPECT_EQ(c.login(email, "desk test pass 1").status, 200) << email;
    return c;
  }

  // How many audit entries of `action` with `outcome` there are for `object_id`.
  int audited(const std::string& action, const std::string& object_id, const std::string& outcome) {
    const json::value r = admin_->get("/api/v1/audit?action=" + action + "&limit=1000").json();
    int n = 0;
    for (const auto& e : r.at("items").as_array()) {
      if (e.at("object_id").as_string() == object_id && e.at("outcome").as_string() == outcome) {
        ++n;
      }
    }
    return n;
  }

  std::string open_ticket(const Client& c, const std::string& subject,
                          const std::string& extra = "") {
    auto r = c.post(
        "/api/v1/desk/tickets",
        fmt::format(R"({{"subject":"{}","body":"料金表を送ってください","category":"価格"{}}})",
                    subject, extra));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string a_, b_, desk_id_;
};

TEST_P(DeskApi, CustomerAsksDeskAnswersNotesStayInternal) {
  Client taro = login("taro@a.example.jp");
  Client desk = login("desk@soc.example.jp");
  const std::string pdf = "%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
  auto r = taro.post(
      "/api/v1/desk/tickets",
      json::serialize(json::object{
          {"subject", "見積もり <script>alert(1)</script>"},
          {"body", "料金表を送ってください"},
          {"category", "価格"},
          {"attachments", json::array{json::object{{"filename", "構成図.pdf"},
                                                   {"content_type", "text/html"},
                                                   {"data_base64", core::base64(pdf)}}}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.str("id");
  auto t = r.json();
  EXPECT_EQ(t.at("customer_id").as_string(), a_);
  EXPECT_EQ(t.at("status").as_string(), "open");
  EXPECT_EQ(t.at("source").as_string(), "portal");
  EXPECT_EQ(t.at("requester_email").as_string(), "taro@a.example.jp");
  EXPECT_EQ(t.at("sla").at("first_response").at("target_s").as_int64(), 4 * 3600);
  EXPECT_FALSE(t.at("security").as_bool());

  // The desk answers and keeps a note.
  r = desk.post("/api/v1/desk/tickets/" + id + "/reply", R"({"text":"料金表を添付します。"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("sla").at("first_response").at("state").as_string(), "met");
  r = desk.post("/api/v1/desk/tickets/" + id + "/note",
                json::serialize(json::object{
                    {"text", "社内メモ: 値引き可"},
                    {"attachments",
                     json::array{json::object{{"filename", "memo.txt"},
                                              {"data_base64", core::base64("internal only")}}}}}));
  ASSERT_EQ(r.status, 200) << r.body;

  // The customer sees the answer, never the note nor its file.
  auto mine = taro.get("/api/v1/desk/tickets/" + id);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_NE(mine.body.find("料金表を添付します。"), std::string::npos);
  EXPECT_EQ(mine.body.find("社内メモ"), std::string::npos);
  EXPECT_EQ(mine.body.find("memo.txt"), std::string::npos);
  auto all = desk.get("/api/v1/desk/tickets/" + id);
  ASSERT_NE(all.body.find("社内メモ"), std::string::npos);
  std::string pdf_id, memo_id;
  const json::value all_json = all.json();
  for (const auto& m : all_json.at("messages").as_array()) {
    for (const auto& f : m.at("attachments").as_array()) {
      if (f.at("filename").as_string() == "構成図.pdf") {
        pdf_id = std::string(f.at("id").as_string());
        EXPECT_EQ(f.at("sha256").as_string(), core::sha256_hex(pdf));
        EXPECT_EQ(f.at("sniffed_type").as_string(), "application/pdf");
        EXPECT_EQ(f.at("size").as_int64(), static_cast<int64_t>(pdf.size()));
      } else {
        memo_id = std::string(f.at("id").as_string());
      }
    }
  }
  ASSERT_FALSE(pdf_id.empty());
  ASSERT_FALSE(memo_id.empty());
  // A file is always a download, whatever type the sender claimed.
  auto file = taro.get("/api/v1/desk/tickets/" + id + "/attachments/" + pdf_id);
  ASSERT_EQ(file.status, 200);
  EXPECT_EQ(file.body, pdf);
  EXPECT_EQ(file.header("content-type"), "application/octet-stream");
  EXPECT_EQ(file.header("x-content-type-options"), "nosniff");
  EXPECT_TRUE(file.header("content-disposition").starts_with("attachment;"));
  EXPECT_EQ(file.header("x-mimamori-sha256"), core::sha256_hex(pdf));
  EXPECT_EQ(taro.get("/api/v1/desk/tickets/" + id + "/attachments/" + memo_id).status, 404);

  // The answer is queued as a threaded mail to the requester, from the desk's address.
  const json::value out = admin_->get("/api/v1/notifications?customer_id=" + a_).json();
  bool mailed = false;
  for (const auto& m : out.at("items").as_array()) {
    if (m.at("channel_id").as_string() == "desk") {
      mailed = true;
      EXPECT_EQ(m.at("target").as_string(), "taro@a.example.jp");
      EXPECT_NE(std::string(m.at("subject").as_string()).find("[#" + id + "]"), std::string::npos);
    }
  }
  EXPECT_TRUE(mailed) << out;
  // The provider's channel was told of the new ticket.
  const json::value provider = admin_->get("/api/v1/notifications?limit=1000").json();
  bool told = false;
  for (const auto& m : provider.at("items").as_array()) {
    told = told ||
           std::string(m.at("subject").as_string()).find("新しいお問い合わせ") != std::string::npos;
  }
  EXPECT_TRUE(told);

  // Each change is in the audit log.
  EXPECT_EQ(audited("desk.open", id, "ok"), 1);
  EXPECT_EQ(audited("desk.reply", id, "ok"), 1);
  EXPECT_EQ(audited("desk.note", id, "ok"), 1);

  // Resolved, the customer answers again: the ticket comes back open.
  ASSERT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/resolve", R"({"text":"送付済み"})").status,
            200);
  r = taro.post("/api/v1/desk/tickets/" + id + "/reply", R"({"text":"もう一点質問です"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("status").as_string(), "open");
  EXPECT_TRUE(r.json().at("resolved_at").is_null());
}

TEST_P(DeskApi, WaitingOnTheCustomerPausesTheClocks) {
  Client taro = login("taro@a.example.jp");
  Client desk = login("desk@soc.example.jp");
  const std::string id = open_ticket(taro, "設置について");
  auto r = desk.post("/api/v1/desk/tickets/" + id + "/wait", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("status").as_string(), "waiting_customer");
  EXPECT_EQ(r.json().at("sla").at("resolution").at("state").as_string(), "paused");
  // Only an open ticket waits.
  EXPECT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/wait", "{}").status, 409);
  r = taro.post("/api/v1/desk/tickets/" + id + "/reply", R"({"text":"写真を送ります"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("status").as_string(), "open");
  EXPECT_TRUE(r.json().at("waiting_since").is_null());
  auto st = ts_->server->store().transact(false, [&](SqlTx& tx) -> Status {
    auto p = tx.q("SELECT COUNT(*) FROM desk_pauses WHERE ticket_id = $1", {sp(id)});
    if (!p.ok()) return p.error();
    EXPECT_EQ(p->i64(0, 0), 1);
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  // Closed tickets take no desk reply; a reopen needs a reason.
  ASSERT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/close", "{}").status, 200);
  EXPECT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/reply", R"({"text":"x"})").status, 409);
  EXPECT_EQ(taro.post("/api/v1/desk/tickets/" + id + "/reopen", "{}").status, 400);
  r = taro.post("/api/v1/desk/tickets/" + id + "/reopen", R"({"reason":"まだ解決していません"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("status").as_string(), "open");
}

TEST_P(DeskApi, SecurityTicketsRunOnTheTwentyFourHourClockAndBreachesAreToldOnce) {
  Client taro = login("taro@a.example.jp");
  auto r = taro.post("/api/v1/desk/tickets",
                     R"({"subject":"不審なメール","body":"添付を開いてしまいました",)"
                     R"("category":"セキュリティの相談"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.str("id");
  EXPECT_TRUE(r.json().at("security").as_bool());
  EXPECT_TRUE(r.json().at("sla").at("resolution").at("around_the_clock").as_bool());
  EXPECT_EQ(r.json().at("sla").at("resolution").at("target_s").as_int64(), 24 * 3600);
  Store& store = ts_->server->store();
  DeskOptions options;
  const int64_t now = core::now().micros;
  // Fresh: nothing to tell.
  auto n = check_desk_sla(store, options, now);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 0);
  // Fifty minutes old: the one-hour first response is about to breach.
  auto age = [&](int64_t seconds) {
    auto st = store.transact(true, [&](SqlTx& tx) -> Status {
      auto u = tx.q("UPDATE desk_tickets SET created_at = $2 WHERE id = $1",
                    {sp(id), sp(now - seconds * 1000000)});
      return u.ok() ? Status{} : Status{u.error()};
    });
    ASSERT_TRUE(st.ok()) << st.error().message;
  };
  age(50 * 60);
  n = check_desk_sla(store, options, now);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);  // first_response.warning
  // Two days old: both clocks breached, each told once; asking again tells nothing.
  age(2 * 24 * 3600);
  n = check_desk_sla(store, options, now);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);  // first_response.breached, resolution.breached (its warning skipped past)
  n = check_desk_sla(store, options, now);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  const json::value out = admin_->get("/api/v1/notifications?limit=1000").json();
  int breaches = 0;
  for (const auto& m : out.at("items").as_array()) {
    const std::string subject(m.at("subject").as_string());
    if (subject.find("期限超過") != std::string::npos) ++breaches;
  }
  EXPECT_EQ(breaches, 2);
}

// 2026-MM-DD HH:MM in JST, as microseconds.
int64_t jst_us(int y, unsigned m, unsigned d, int h, int min = 0) {
  const auto days = std::chrono::sys_days(std::chrono::year_month_day(
      std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)));
  return (days.time_since_epoch().count() * 86400LL + (h - 9) * 3600LL + min * 60LL) * 1000000LL;
}

TEST_P(DeskApi, APlansSlaTermsSetTheTargetsOfItsCustomersTickets) {
  // A plan with shorter terms: 2 business hours to answer, 1 business day (9 h) to resolve; a
  // security incident answered in 30 minutes and resolved in 8 hours.
  const std::string plan_body =
      R"({"name":"プレミアム","type":"network","monthly_fee":9800,"desk_hours":"平日",)"
      R"("dispatch":"24時間以内","insurance_coverage":1000000,"status":"registered",)"
      R"("terms":{"initial_fee":"無料","term":"1年","cancellation_penalty":"なし",)"
      R"("right_to_cancel":"いつでも"},"desk_sla":{"first_response_minutes":120,)"
      R"("resolution_minutes":540,"security_first_response_minutes":30,)"
      R"("security_resolution_minutes":480}})";
  auto plan = admin_->post("/api/v1/plans", plan_body);
  ASSERT_EQ(plan.status, 201) << plan.body;
  EXPECT_EQ(plan.json().at("desk_sla").at("resolution_minutes").as_int64(), 540);
  auto contract = admin_->post("/api/v1/contracts",
                               json::serialize(json::object{{"customer_id", a_},
                                                            {"plan_id", plan.str("id")},
                                                            {"devices", 1},
                                                            {"start_date", "2026-04-01"},
                                                            {"insurance_policy", "CY-0001"},
                                                            {"insurance_until", "2027-03-31"}}));
  ASSERT_EQ(contract.status, 201) << contract.body;

  Client taro = login("taro@a.example.jp");
  Client hanako = login("hanako@b.example.jp");
  auto r = taro.post("/api/v1/desk/tickets",
                     R"({"subject":"料金","body":"見積もりを","category":"価格"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.str("id");
  EXPECT_EQ(r.json().at("sla").at("first_response").at("target_s").as_int64(), 2 * 3600);
  EXPECT_EQ(r.json().at("sla").at("resolution").at("target_s").as_int64(), 9 * 3600);
  r = taro.post(
      "/api/v1/desk/tickets",
      R"({"subject":"不審なメール","body":"開いてしまった","category":"セキュリティの相談"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json().at("sla").at("first_response").at("target_s").as_int64(), 30 * 60);
  EXPECT_EQ(r.json().at("sla").at("resolution").at("target_s").as_int64(), 8 * 3600);
  // Listed and read, the same terms.
  EXPECT_EQ(admin_->get("/api/v1/desk/tickets/" + id)
                .json()
                .at("sla")
                .at("first_response")
                .at("target_s")
                .as_int64(),
            2 * 3600);
  const json::value listed = admin_->get("/api/v1/desk/tickets?customer_id=" + a_).json();
  for (const auto& t : listed.at("items").as_array()) {
    EXPECT_LE(t.at("sla").at("first_response").at("target_s").as_int64(), 2 * 3600);
  }
  // B has no contract: the defaults.
  r = hanako.post("/api/v1/desk/tickets", R"({"subject":"料金","body":"見積もりを"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json().at("sla").at("first_response").at("target_s").as_int64(), 4 * 3600);
  EXPECT_EQ(r.json().at("sla").at("resolution").at("target_s").as_int64(), 27 * 3600);

  // Across Golden Week and the year end, on the desk's calendar: asked Friday 1 May 2026 at
  // 16:00, the two-hour clock counts 16:00–18:00 and is due then; the nine-hour resolution runs
  // over 2–6 May (holidays and a weekend) to 7 May 16:00. Asked 28 December 17:00, the answer is
  // due on 4 January 10:00 (the provider is closed 29 December – 3 January).
  Store& store = ts_->server->store();
  Principal system;
  system.is_system = true;
  DeskOptions options;
  const BusinessCalendar calendar = desk_calendar(options);
  auto open_at = [&](int64_t at) {
    auto st = store.transact(true, [&](SqlTx& tx) -> Status {
      auto u = tx.q("UPDATE desk_tickets SET created_at = $2 WHERE id = $1", {sp(id), sp(at)});
      return u.ok() ? Status{} : Status{u.error()};
    });
    ASSERT_TRUE(st.ok()) << st.error().message;
  };
  open_at(jst_us(2026, 5, 1, 16));
  auto t = get_ticket(store, system, id);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto sla = ticket_sla(*t, calendar, jst_us(2026, 5, 1, 17));
  EXPECT_EQ(sla.first_response_reading.due_us, jst_us(2026, 5, 1, 18));
  EXPECT_EQ(sla.first_response_reading.state, SlaState::kRunning);
  sla = ticket_sla(*t, calendar, jst_us(2026, 5, 1, 17, 45));
  EXPECT_EQ(sla.first_response_reading.state, SlaState::kWarning);  // a quarter of it left
  EXPECT_EQ(sla.resolution_reading.due_us, jst_us(2026, 5, 7, 16));
  sla = ticket_sla(*t, calendar, jst_us(2026, 5, 6, 12));
  EXPECT_EQ(sla.first_response_reading.state, SlaState::kBreached);
  EXPECT_EQ(sla.resolution_reading.elapsed_s, 2 * 3600);  // nothing counted over the holidays
  open_at(jst_us(2026, 12, 28, 17));
  t = get_ticket(store, system, id);
  ASSERT_TRUE(t.ok());
  sla = ticket_sla(*t, calendar, jst_us(2026, 12, 31, 12));
  EXPECT_EQ(sla.first_response_reading.due_us, jst_us(2027, 1, 4, 10));
  EXPECT_EQ(sla.first_response_reading.state, SlaState::kRunning);
  EXPECT_EQ(sla.first_response_reading.elapsed_s, 3600);
}

TEST_P(DeskApi, APlansSlaTermsAreChecked) {
  auto plan = [&](const std::string& sla) {
    return admin_->post(
        "/api/v1/plans",
        R"({"name":"検査","type":"network","monthly_fee":9800,"desk_sla":)" + sla + "}");
  };
  auto r = plan(R"({"first_response_minutes":0})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("desk_sla.first_response_minutes"), std::string::npos) << r.body;
  r = plan(R"({"first_response_minutes":600,"resolution_minutes":120})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("desk_sla.resolution_minutes"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("shorter than the first response"), std::string::npos) << r.body;
  // Only the first response given: compared with the default resolution (27 hours).
  r = plan(R"({"first_response_minutes":1800})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = plan(R"({"security_resolution_minutes":20})");  // below the default hour
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("desk_sla.security_resolution_minutes"), std::string::npos) << r.body;
  r = plan(R"({"first_response_minutes":-5})");
  EXPECT_EQ(r.status, 400);
  r = plan(R"({"first_reply":5})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("desk_sla.first_reply"), std::string::npos) << r.body;
  EXPECT_EQ(admin_->get("/api/v1/plans").json().at("items").as_array().size(), 0u);
  r = plan(R"({"first_response_minutes":60})");
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_P(DeskApi, NoCustomerReachesAnothersTicketsAndEveryTryIsAudited) {
  Client taro = login("taro@a.example.jp");
  Client boss = login("boss@a.example.jp");
  Client hanako = login("hanako@b.example.jp");
  Client tech = login("tech@soc.example.jp");
  auto r = taro.post(
      "/api/v1/desk/tickets",
      json::serialize(json::object{
          {"subject", "A社の相談"},
          {"body", "秘密の内容"},
          {"attachments", json::array{json::object{{"filename", "a.txt"},
                                                   {"data_base64", core::base64("A社の秘密")}}}}}));
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = r.str("id");
  std::string file = std::string(taro.get("/api/v1/desk/tickets/" + id)
                                     .json()
                                     .at("messages")
                                     .as_array()[0]
                                     .at("attachments")
                                     .as_array()[0]
                                     .at("id")
                                     .as_string());
  // B's user: every route answers 404 and learns nothing.
  EXPECT_EQ(hanako.get("/api/v1/desk/tickets/" + id).status, 404);
  EXPECT_EQ(hanako.get("/api/v1/desk/tickets/" + id + "/attachments/" + file).status, 404);
  for (const std::string action : {"reply", "reopen", "note", "close", "assign"}) {
    auto x = hanako.post("/api/v1/desk/tickets/" + id + "/" + action,
                         R"({"text":"x","reason":"x","user_id":"x"})");
    EXPECT_EQ(x.status, 404) << action << " " << x.body;
    EXPECT_EQ(x.body.find("A社"), std::string::npos);
  }
  EXPECT_EQ(hanako.get("/api/v1/desk/tickets?customer_id=" + a_).status, 404);
  auto listed = hanako.get("/api/v1/desk/tickets");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.body.find(id), std::string::npos);
  // A ticket for another customer cannot be opened either.
  EXPECT_EQ(
      hanako
          .post("/api/v1/desk/tickets",
                json::serialize(json::object{{"customer_id", a_}, {"subject", "x"}, {"body", "x"}}))
          .status,
      404);
  EXPECT_GE(audited("desk.read", id, "denied"), 2);
  EXPECT_GE(audited("desk.reply", id, "denied"), 1);
  EXPECT_GE(audited("desk.note", id, "denied"), 1);
  // Inside A: the customer's admin does not handle tickets; the technician only reads.
  EXPECT_EQ(boss.post("/api/v1/desk/tickets/" + id + "/note", R"({"text":"x"})").status, 403);
  EXPECT_EQ(boss.post("/api/v1/desk/tickets/" + id + "/close", "{}").status, 403);
  EXPECT_EQ(tech.get("/api/v1/desk/tickets/" + id).status, 200);
  EXPECT_EQ(tech.post("/api/v1/desk/tickets/" + id + "/note", R"({"text":"x"})").status, 403);
  EXPECT_EQ(tech.get("/api/v1/desk/inbox").status, 403);
  EXPECT_EQ(taro.get("/api/v1/desk/inbox").status, 403);
  EXPECT_GE(audited("desk.note", id, "denied"), 3);
  // Nothing changed.
  auto now = taro.get("/api/v1/desk/tickets/" + id).json();
  EXPECT_EQ(now.at("status").as_string(), "open");
  EXPECT_EQ(now.at("messages").as_array().size(), 1u);
}

TEST_P(DeskApi, BadInputIsRefusedWithTheReasonAndStoresNothing) {
  Client taro = login("taro@a.example.jp");
  Client desk = login("desk@soc.example.jp");
  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  const std::string file = R"({"filename":"f","data_base64":"eA=="})";
  const std::vector<Case> cases = {
      {R"({"subject":"","body":"x"})", 400, "subject"},
      {R"({"subject":"x","body":""})", 400, "body"},
      {R"({"subject":"x","body":"x","category":"雑談"})", 400, "category"},
      {R"({"subject":"x","body":"x","priority":"asap"})", 400, "priority"},
      {R"({"subject":"x","body":"x","attachments":[{"filename":"f","data_base64":"%%"}]})", 400,
       "base64"},
      {R"({"subject":"x","body":"x","attachments":[)" + file + "," + file + "," + file + "," +
           file + "]}",
       413, "attachments"},
      {R"({"subject":1,"body":"x"})", 400, "subject"},
  };
  for (const auto& c : cases) {
    auto r = taro.post("/api/v1/desk/tickets", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " → " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << r.body;
  }
  EXPECT_EQ(taro.get("/api/v1/desk/tickets").json().at("items").as_array().size(), 0u);
  const std::string id = open_ticket(taro, "x");
  EXPECT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/teleport", "{}").status, 404);
  EXPECT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/assign",
                      json::serialize(json::object{{"user_id", "usr_nobody"}}))
                .status,
            400);
  EXPECT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/priority", R"({"priority":"now"})").status,
            400);
  EXPECT_EQ(desk.post("/api/v1/desk/tickets/" + id + "/reopen", R"({"reason":"x"})").status, 409);
  auto a = desk.post("/api/v1/desk/tickets/" + id + "/assign",
                     json::serialize(json::object{{"user_id", desk_id_}}));
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.json().at("assignee").as_string(), desk_id_);
  EXPECT_EQ(desk.get("/api/v1/desk/tickets/tkt_none").status, 404);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeskApi, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
