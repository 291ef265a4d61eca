// 簡易サイバー保険: the coverage arithmetic (limits, deductibles once per item per claim, costs
// outside the period or of items not covered, integer totals), the policy's checks, and through
// the API on SQLite and PostgreSQL: a claim raised from a real incident, its status moves (409
// for an impossible one) on the incident's timeline and in the audit log, the package as JSON
// (timeline stages, evidence hashes of the stored events) and as a PDF whose text (pdftotext)
// holds the right totals and whose pages render (pdftoppm), and another customer's claims
// answering 404 to a customer role, the attempt audited.

#include "insurance/insurance.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mimamori/core/hash.h"
#include "mimamori/core/text.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

// The worked example of docs/insurance.md.
InsurancePolicy example_policy() {
  InsurancePolicy p;
  p.insurer = "みまもり損害保険";
  p.policy_number = "CY-2026-0001";
  p.start_date = "2026-04-01";
  p.end_date = "2027-03-31";
  p.items = {{"initial_response", 300000, 50000},
             {"forensics", 1000000, 100000},
             {"recovery", 500000, 0},
             {"notification", 200000, 10000}};
  p.customer_text = "免責金額と支払限度額を超える分はお客様のご負担です。";
  return p;
}

std::vector<CostLine> example_lines() {
  auto line = [](std::string d, std::string item, int64_t amount, std::string on) {
    CostLine l;
    l.description = std::move(d);
    l.item = std::move(item);
    l.amount = amount;
    l.incurred_on = std::move(on);
    return l;
  };
  return {line("技術者の駆け付け", "initial_response", 80000, "2026-11-27"),
          line("再訪問・終日対応", "initial_response", 300000, "2026-11-28"),
          line("フォレンジック調査", "forensics", 1234567, "2026-11-30"),
          line("サーバー復旧（期間外）", "recovery", 150000, "2027-04-02"),
          line("データ復旧", "recovery", 123456, "2026-12-01"),
          line("取引先への賠償", "liability", 500000, "2026-12-05"),
          line("お詫び状の印刷", "notification", 7000, "2026-12-03"),
          line("お詫び状の郵送", "notification", 20000, "2026-12-04")};
}

TEST(Coverage, LimitsDeductiblesPeriodAndUncoveredItemsInWholeYen) {
  const auto a = compute_claim(example_policy(), example_lines());
  ASSERT_EQ(a.lines.size(), 8u);
  // The deductible comes off the first line of an item, once.
  EXPECT_EQ(a.lines[0].deductible_applied, 50000);
  EXPECT_EQ(a.lines[0].covered, 30000);
  EXPECT_EQ(a.lines[0].customer_borne, 50000);
  // The second line: no deductible again; the limit (300,000 − 30,000 left) caps it.
  EXPECT_EQ(a.lines[1].deductible_applied, 0);
  EXPECT_EQ(a.lines[1].covered, 270000);
  EXPECT_EQ(a.lines[1].over_limit, 30000);
  EXPECT_NE(a.lines[1].reason_ja.find("支払限度額"), std::string::npos) << a.lines[1].reason_ja;
  // Deductible and limit in one line.
  EXPECT_EQ(a.lines[2].covered, 1000000);
  EXPECT_EQ(a.lines[2].customer_borne, 234567);
  // Outside the policy period: all the customer's, said why.
  EXPECT_EQ(a.lines[3].covered, 0);
  EXPECT_EQ(a.lines[3].customer_borne, 150000);
  EXPECT_NE(a.lines[3].reason_ja.find("保険期間"), std::string::npos) << a.lines[3].reason_ja;
  EXPECT_EQ(a.lines[4].covered, 123456);
  EXPECT_TRUE(a.lines[4].reason_ja.empty());
  // An item the policy does not cover.
  EXPECT_EQ(a.lines[5].covered, 0);
  EXPECT_EQ(a.lines[5].customer_borne, 500000);
  EXPECT_NE(a.lines[5].reason_ja.find("損害賠償"), std::string::npos) << a.lines[5].reason_ja;
  // A deductible larger than the first line carries over to the next line of the item.
  EXPECT_EQ(a.lines[6].covered, 0);
  EXPECT_EQ(a.lines[6].deductible_applied, 7000);
  EXPECT_EQ(a.lines[7].deductible_applied, 3000);
  EXPECT_EQ(a.lines[7].covered, 17000);
  EXPECT_EQ(a.claimed, 2415023);
  EXPECT_EQ(a.covered, 1440456);
  EXPECT_EQ(a.customer_borne, 974567);
  EXPECT_EQ(a.covered + a.customer_borne, a.claimed);
  // Per item, in the order of the coverage items.
  ASSERT_EQ(a.items.size(), 5u);
  EXPECT_EQ(a.items[0].item, "initial_response");
  EXPECT_EQ(a.items[0].covered, 300000);
  EXPECT_EQ(a.items[3].item, "liability");
  EXPECT_FALSE(a.items[3].in_policy);
  int64_t sum = 0;
  for (const auto& l : a.lines) sum += l.covered + l.customer_borne;
  EXPECT_EQ(sum, a.claimed);
  // What is not covered, in plain Japanese, one sentence a reason.
  std::string all;
  for (const auto& s : a.not_covered_ja) all += s + "\n";
  EXPECT_NE(all.find("「損害賠償」はご契約の保険の補償に含まれていない"), std::string::npos) << all;
  EXPECT_NE(all.find("免責金額50,000円"), std::string::npos) << all;
  EXPECT_NE(all.find("支払限度額1,000,000円"), std::string::npos) << all;
  EXPECT_NE(all.find("保険期間（2026-04-01〜2027-03-31）の外"), std::string::npos) << all;
}

TEST(Coverage, EdgesOfThePeriodAndZeroLimit) {
  auto p = example_policy();
  p.items.push_back({"liability", 0, 0});
  std::vector<CostLine> lines(3);
  lines[0] = {"", "a", "recovery", "2026-04-01", 1000, "", 0};   // first day: inside
  lines[1] = {"", "b", "recovery", "2027-03-31", 1000, "", 0};   // last day: inside
  lines[2] = {"", "c", "liability", "2026-05-01", 1000, "", 0};  // a limit of 0 pays nothing
  auto a = compute_claim(p, lines);
  EXPECT_EQ(a.lines[0].covered, 1000);
  EXPECT_EQ(a.lines[1].covered, 1000);
  EXPECT_EQ(a.lines[2].covered, 0);
  EXPECT_EQ(a.lines[2].over_limit, 1000);
  EXPECT_EQ(yen_ja(1234567), "1,234,567円");
  EXPECT_EQ(yen_ja(0), "0円");
  EXPECT_EQ(yen_ja(100), "100円");
}

TEST(Coverage, PolicyChecksNameWhatIsWrong) {
  EXPECT_TRUE(check_policy(example_policy()).ok());
  auto expect = [](InsurancePolicy p, std::string_view needle) {
    auto st = check_policy(p);
    ASSERT_FALSE(st.ok()) << needle;
    EXPECT_EQ(st.error().code, 400);
    EXPECT_NE(st.error().message.find(needle), std::string::npos) << st.error().message;
  };
  auto p = example_policy();
  p.end_date = "2026-03-31";
  expect(p, "is before 'start_date'");
  p = example_policy();
  p.items[1].limit = -1;
  expect(p, "items[1].limit' must be 0..");
  p = example_policy();
  p.items[2].deductible = -500;
  expect(p, "items[2].deductible'");
  p = example_policy();
  p.items[0].item = "ransom";
  expect(p, "'ransom' is unknown");
  p = example_policy();
  p.items.push_back({"forensics", 1, 0});
  expect(p, "given twice");
  p = example_policy();
  p.items.erase(p.items.begin());
  expect(p, "initial_response");
  p = example_policy();
  p.start_date = "2026-02-30";
  expect(p, "member 'start_date' must be a date");
  p = example_policy();
  p.customer_text.clear();
  expect(p, "customer_text");
  p = example_policy();
  p.insurer.clear();
  expect(p, "insurer");
}

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

std::string squeeze(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\f' && c != '\r') out += c;
  }
  return out;
}

constexpr const char* kPlan =
    R"({"name":"ライト","type":"network","monthly_fee":9800,"desk_hours":"平日","dispatch":"24時間以内",)"
    R"("insurance_coverage":1000000,"status":"registered","terms":{"initial_fee":"無料",)"
    R"("term":"1年","cancellation_penalty":"なし","right_to_cancel":"いつでも"}})";

json::value policy_body() {
  const auto p = example_policy();
  json::array items;
  for (const auto& c : p.items) {
    items.push_back(
        json::object{{"item", c.item}, {"limit", c.limit}, {"deductible", c.deductible}});
  }
  return json::object{{"insurer", p.insurer},
                      {"policy_number", p.policy_number},
                      {"start_date", p.start_date},
                      {"end_date", p.end_date},
                      {"items", items},
                      {"customer_text", p.customer_text}};
}

class InsuranceApi : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) { o.deliver_notifications = false; });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    dir_ = temp_dir();
    plan_ = admin_->post("/api/v1/plans", kPlan).str("id");
    ASSERT_FALSE(plan_.empty());
  }

  struct Customer {
    std::string id, token, contract, incident;
  };

  Customer customer(std::string_view name, std::string_view host, bool with_policy = true) {
    Customer c;
    auto r = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(r.status, 201) << r.body;
    c.id = r.str("id");
    auto code = admin_->post("/api/v1/customers/" + c.id + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(
            json::object{{"code", code}, {"hostname", host}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
    c.token = e.str("device_token");
    auto k = admin_->post("/api/v1/contracts",
                          json::serialize(json::object{{"customer_id", c.id},
                                                       {"plan_id", plan_},
                                                       {"devices", 1},
                                                       {"start_date", "2026-04-01"},
                                                       {"insurance_policy", "TEMP"},
                                                       {"insurance_until", "2026-12-31"}}));
    EXPECT_EQ(k.status, 201) << k.body;
    c.contract = k.str("id");
    if (with_policy) {
      auto p = admin_->send("PUT", "/api/v1/contracts/" + c.contract + "/policy",
                            json::serialize(policy_body()));
      EXPECT_EQ(p.status, 200) << p.body;
    }
    // The customer's e-mail channel: the incident's notice goes into the outbox.
    auto ch = admin_->post("/api/v1/channels",
                           json::serialize(json::object{{"customer_id", c.id},
                                                        {"kind", "email"},
                                                        {"target", "owner@example.jp"},
                                                        {"min_severity", "high"}}));
    EXPECT_EQ(ch.status, 201) << ch.body;
    // One ransomware beacon: a critical incident.
    Client dev(ts_->base);
    EXPECT_EQ(ingest(dev, c.token, 1,
                     {alert_line(2024897, "ET MALWARE Ransomware LockBit beacon", "192.168.1.20",
                                 "203.0.113.9"),
                      alert_line(2024897, "ET MALWARE Ransomware LockBit beacon", "192.168.1.20",
                                 "203.0.113.9")})
                  .status,
              200);
    auto inc = admin_->get("/api/v1/incidents?customer_id=" + c.id);
    const json::value j = inc.json();
    EXPECT_FALSE(j.at("items").as_array().empty()) << inc.body;
    if (!j.at("items").as_array().empty()) {
      c.incident = std::string(j.at("items").as_array()[0].at("id").as_string());
    }
    return c;
  }

  Client user(const std::string& email, const std::string& role, const std::string& customer) {
    json::object o{{"email", email}, {"role", role}, {"password", "insurance pass 1234"}};
    if (!customer.empty()) o["customer_id"] = customer;
    auto u = admin_->post("/api/v1/users", json::serialize(o));
    EXPECT_EQ(u.status, 201) << u.body;
    Client c(ts_->base);
    EXPECT_EQ(c.login(email, "insurance pass 1234").status, 200);
    return c;
  }

  std::string pdf_text(const std::string& body, const std::string& name) {
    const fs::path p = fs::path(dir_) / (name + ".pdf");
    std::ofstream(p, std::ios::binary) << body;
    return run("pdftotext -enc UTF-8 '" + p.string() + "' -");
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string dir_, plan_;
};

TEST_P(InsuranceApi, PolicyIsCheckedStoredAndMirroredIntoTheContract) {
  auto c = customer("保険テスト商店", "gw-p");
  auto r = admin_->get("/api/v1/contracts/" + c.contract + "/policy");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value j = r.json();
  EXPECT_EQ(j.at("policy_number"), "CY-2026-0001");
  EXPECT_EQ(j.at("items").as_array().size(), 4u);
  EXPECT_EQ(j.at("items").as_array()[0].at("name"), "初動対応費用");
  EXPECT_EQ(j.at("customer_text"), "免責金額と支払限度額を超える分はお客様のご負担です。");
  auto k = admin_->get("/api/v1/contracts/" + c.contract);
  EXPECT_EQ(k.str("insurance_policy"), "CY-2026-0001");
  EXPECT_EQ(k.str("insurance_until"), "2027-03-31");

  // Bad input: each answer names the member and why, and the stored policy stays.
  auto put = [&](json::object body) {
    return admin_->send("PUT", "/api/v1/contracts/" + c.contract + "/policy",
                        json::serialize(body));
  };
  json::object bad = policy_body().as_object();
  bad["end_date"] = "2026-01-01";
  auto e = put(bad);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.str("error").find("is before 'start_date'"), std::string::npos) << e.body;
  bad = policy_body().as_object();
  bad["items"].as_array()[0].as_object()["limit"] = -5;
  e = put(bad);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.str("error").find("items[0].limit"), std::string::npos) << e.body;
  bad = policy_body().as_object();
  bad["items"].as_array()[1].as_object()["item"] = "cyber_extortion";
  e = put(bad);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.str("error").find("'cyber_extortion' is unknown"), std::string::npos) << e.body;
  bad = policy_body().as_object();
  bad["colour"] = "red";
  EXPECT_EQ(put(bad).status, 400);
  bad = policy_body().as_object();
  bad["items"].as_array()[0].as_object()["limit"] = "lots";
  EXPECT_EQ(put(bad).status, 400);
  EXPECT_EQ(admin_->get("/api/v1/contracts/" + c.contract + "/policy").str("end_date"),
            "2027-03-31");
  EXPECT_EQ(
      admin_->send("PUT", "/api/v1/contracts/ctr_missing/policy", json::serialize(policy_body()))
          .status,
      404);
  // A contract without a policy says so.
  auto d = customer("無保険商店", "gw-n", false);
  auto none = admin_->get("/api/v1/contracts/" + d.contract + "/policy");
  EXPECT_EQ(none.status, 404);
  EXPECT_NE(none.str("error").find("has no insurance policy"), std::string::npos);
  auto claim = admin_->post("/api/v1/incidents/" + d.incident + "/claims", "{}");
  EXPECT_EQ(claim.status, 409) << claim.body;
  EXPECT_NE(claim.str("error").find("no insurance policy"), std::string::npos) << claim.body;
}

TEST_P(InsuranceApi, ClaimAmountsStatusTimelinePackageAndPdf) {
  // A name with markup characters: shown as written everywhere.
  auto c = customer("株式会社<b>みまもり</b>&商店", "gw-honsha");
  auto other = customer("ひみつ工業", "gw-himitsu");
  // A desk ticket of the customer, linked to the claim, with a file as evidence.
  auto t =
      admin_->post("/api/v1/desk/tickets",
                   json::serialize(json::object{
                       {"customer_id", c.id},
                       {"subject", "画面に身代金の要求が出ています"},
                       {"body", "至急対応をお願いします"},
                       {"category", "セキュリティの相談"},
                       {"attachments",
                        json::array{json::object{{"filename", "screen.txt"},
                                                 {"data_base64", core::base64("ransom note")}}}}}));
  ASSERT_EQ(t.status, 201) << t.body;
  const std::string base = "/api/v1/incidents/" + c.incident + "/claims";
  // Another customer's ticket is refused.
  auto t2 = admin_->post(
      "/api/v1/desk/tickets",
      json::serialize(json::object{{"customer_id", other.id}, {"subject", "別件"}, {"body", "x"}}));
  auto wrong = admin_->post(
      base, json::serialize(json::object{{"ticket_ids", json::array{json::string(t2.str("id"))}}}));
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  auto cr = admin_->post(
      base, json::serialize(json::object{{"ticket_ids", json::array{json::string(t.str("id"))}}}));
  ASSERT_EQ(cr.status, 201) << cr.body;
  const std::string claim = base + "/" + cr.str("id");
  EXPECT_EQ(cr.str("status"), "draft");

  for (const auto& l : example_lines()) {
    auto r = admin_->post(claim + "/lines",
                          json::serialize(json::object{{"description", l.description},
                                                       {"item", l.item},
                                                       {"amount", l.amount},
                                                       {"incurred_on", l.incurred_on}}));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  // Bad lines: named and refused, nothing stored.
  for (auto [body, needle] : std::vector<std::pair<std::string, std::string>>{
           {R"({"description":"x","item":"recovery","amount":-100,"incurred_on":"2026-12-01"})",
            "member 'amount'"},
           {R"({"description":"x","item":"ransom","amount":100,"incurred_on":"2026-12-01"})",
            "'ransom' is unknown"},
           {R"({"description":"x","item":"recovery","amount":100,"incurred_on":"2026-13-01"})",
            "incurred_on"},
           {R"({"description":"","item":"recovery","amount":100,"incurred_on":"2026-12-01"})",
            "description"},
           {R"({"description":"x","item":"recovery","amount":1.5,"incurred_on":"2026-12-01"})",
            "amount"}}) {
    auto r = admin_->post(claim + "/lines", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.str("error").find(needle), std::string::npos) << r.body;
  }
  // A line entered by mistake is removed from the draft; the others stay.
  auto oops = admin_->post(
      claim + "/lines",
      R"({"description":"二重入力","item":"recovery","amount":99999,"incurred_on":"2026-12-01"})");
  ASSERT_EQ(oops.status, 201) << oops.body;
  const json::value oj = oops.json();
  const std::string oops_id(oj.at("lines").as_array().back().at("id").as_string());
  auto removed = admin_->send("DELETE", claim + "/lines/" + oops_id, "");
  EXPECT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(admin_->send("DELETE", claim + "/lines/" + oops_id, "").status, 404);
  auto g = admin_->get(claim);
  ASSERT_EQ(g.status, 200);
  json::value j = g.json();
  EXPECT_EQ(j.at("lines").as_array().size(), 8u);
  EXPECT_EQ(j.at("amounts").at("claimed"), 2415023);
  EXPECT_EQ(j.at("amounts").at("covered"), 1440456);
  EXPECT_EQ(j.at("amounts").at("customer_borne"), 974567);
  EXPECT_EQ(j.at("lines").as_array()[1].at("covered"), 270000);
  EXPECT_EQ(j.at("lines").as_array()[5].at("customer_borne"), 500000);

  // Status: draft → submitted → paid; every other move is 409.
  auto st = [&](std::string s, std::string note = "") {
    return admin_->post(claim + "/status",
                        json::serialize(json::object{{"status", s}, {"note", note}}));
  };
  EXPECT_EQ(st("paid").status, 409);
  EXPECT_EQ(st("draft").status, 409);
  EXPECT_EQ(st("approved").status, 400);
  auto sub = st("submitted", "保険会社へ提出");
  ASSERT_EQ(sub.status, 200) << sub.body;
  EXPECT_EQ(sub.str("status"), "submitted");
  auto late = admin_->post(
      claim + "/lines",
      R"({"description":"x","item":"recovery","amount":1,"incurred_on":"2026-12-01"})");
  EXPECT_EQ(late.status, 409) << late.body;
  const json::value sj = sub.json();
  const std::string first_line(sj.at("lines").as_array()[0].at("id").as_string());
  EXPECT_EQ(admin_->send("DELETE", claim + "/lines/" + first_line, "").status, 409);
  EXPECT_EQ(st("submitted").status, 409);
  EXPECT_EQ(st("denied").status, 400);  // a denial needs the insurer's reason
  ASSERT_EQ(st("paid", "2026-12-20 入金確認").status, 200);
  EXPECT_EQ(st("denied", "x").status, 409);
  EXPECT_EQ(st("draft").status, 409);

  // On the incident's timeline and in the audit log.
  auto inc = admin_->get("/api/v1/incidents/" + c.incident);
  EXPECT_NE(inc.body.find("保険請求を作成しました"), std::string::npos) << inc.body;
  EXPECT_NE(inc.body.find("保険請求を「請求済み」にしました"), std::string::npos);
  EXPECT_NE(inc.body.find("保険請求を「支払済み」にしました"), std::string::npos);
  auto audit = admin_->get("/api/v1/audit?customer_id=" + c.id + "&limit=1000");
  EXPECT_NE(audit.body.find("insurance.claim.status"), std::string::npos);
  EXPECT_NE(audit.body.find("insurance.claim.line"), std::string::npos);
  EXPECT_NE(audit.body.find("insurance.policy.set"), std::string::npos);

  // A dispatch of the incident, resolved remotely: its steps are the package's dispatch stage,
  // each once (the incident's own timeline mirrors them and is not counted again).
  auto dsp = admin_->post(
      "/api/v1/dispatches",
      json::serialize(json::object{{"incident_id", c.incident}, {"summary", "端末の隔離"}}));
  ASSERT_EQ(dsp.status, 201) << dsp.body;
  ASSERT_EQ(admin_
                ->post("/api/v1/dispatches/" + dsp.str("id") + "/remote",
                       R"({"text":"LANケーブルを抜いていただいた","outcome":"resolved"})")
                .status,
            200);

  // The package as JSON: stages in order, evidence hashed as stored.
  auto pk = admin_->get(claim + "/package");
  ASSERT_EQ(pk.status, 200) << pk.body;
  j = pk.json();
  EXPECT_EQ(j.at("totals").at("covered"), 1440456);
  EXPECT_EQ(j.at("customer_name"), "株式会社<b>みまもり</b>&商店");
  std::vector<std::string> stages;
  for (const auto& e : j.at("timeline").as_array()) {
    stages.emplace_back(e.at("stage").as_string());
  }
  ASSERT_FALSE(stages.empty());
  EXPECT_EQ(stages.front(), "detection");
  EXPECT_NE(std::find(stages.begin(), stages.end(), "remote"), stages.end());  // the desk
  EXPECT_NE(std::find(stages.begin(), stages.end(), "notification"), stages.end());
  EXPECT_NE(pk.body.find("メールで通知"), std::string::npos) << pk.body;
  EXPECT_NE(std::find(stages.begin(), stages.end(), "claim"), stages.end());
  EXPECT_EQ(std::count(stages.begin(), stages.end(), "dispatch"), 2) << pk.body;
  EXPECT_NE(pk.body.find("遠隔での対応: 端末の隔離"), std::string::npos) << pk.body;
  EXPECT_NE(pk.body.find("遠隔での対応で解決: LANケーブルを抜いていただいた"), std::string::npos);
  EXPECT_NE(pk.body.find("相談窓口で受付: 画面に身代金の要求が出ています"), std::string::npos);
  // Every stored event behind the incident's alerts, with the SHA-256 of the stored line.
  std::vector<std::string> raws;
  ASSERT_TRUE(ts_->server->store()
                  .transact(false,
                            [&](SqlTx& tx) -> Status {
                              auto r = tx.q(
                                  "SELECT DISTINCT device_id, seq FROM alert_events WHERE "
                                  "customer_id = $1",
                                  {sp(c.id)});
                              if (!r.ok()) return r.error();
                              std::vector<EventKey> keys;
                              for (size_t i = 0; i < r->size(); ++i)
                                keys.push_back({r->str(i, 0), r->i64(i, 1)});
                              auto stored = read_events(tx, keys);
                              if (!stored.ok()) return stored.error();
                              for (auto& [_, line] : *stored) raws.push_back(line);
                              return {};
                            })
                  .ok());
  int events = 0;
  for (const auto& text : raws) {
    EXPECT_NE(pk.body.find(core::sha256_hex(text)), std::string::npos) << text;
    ++events;
  }
  EXPECT_EQ(events, 2);
  EXPECT_NE(pk.body.find(core::sha256_hex("ransom note")), std::string::npos);
  EXPECT_EQ(pk.body.find("ひみつ工業"), std::string::npos);

  // The PDF: the right totals, the reasons, the customer's text, the markup as written.
  auto pdf = admin_->get(claim + "/package.pdf");
  ASSERT_EQ(pdf.status, 200) << pdf.body;
  EXPECT_EQ(pdf.header("content-type"), "application/pdf");
  EXPECT_TRUE(pdf.body.starts_with("%PDF-"));
  EXPECT_NE(pdf.header("content-disposition").find(cr.str("id")), std::string::npos);
  const std::string text = squeeze(pdf_text(pdf.body, "claim"));
  EXPECT_NE(text.find("保険金請求資料"), std::string::npos) << text;
  EXPECT_NE(text.find("請求額の合計:2,415,023円"), std::string::npos) << text;
  EXPECT_NE(text.find("保険でお支払いする額:1,440,456円"), std::string::npos) << text;
  EXPECT_NE(text.find("お客様のご負担:974,567円"), std::string::npos) << text;
  EXPECT_NE(text.find("支払済み"), std::string::npos) << text;
  EXPECT_NE(text.find("株式会社<b>みまもり</b>&商店"), std::string::npos) << text;
  EXPECT_NE(text.find("「損害賠償」はご契約の保険の補償に含まれていない"), std::string::npos)
      << text;
  EXPECT_NE(text.find("免責金額と支払限度額を超える分はお客様のご負担です"), std::string::npos);
  EXPECT_NE(text.find(core::sha256_hex("ransom note").substr(0, 16)), std::string::npos) << text;
  EXPECT_EQ(text.find("ひみつ工業"), std::string::npos);
  const fs::path file = fs::path(dir_) / "claim.pdf";
  run("pdftoppm -r 40 -png '" + file.string() + "' '" + (fs::path(dir_) / "page").string() + "'");
  int pages = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() == ".png" && fs::file_size(e.path()) > 1000) ++pages;
  }
  EXPECT_GE(pages, 1);
}

TEST_P(InsuranceApi, CustomersReadOnlyTheirOwnAndChangeNothing) {
  auto a = customer("A社", "gw-a");
  auto b = customer("B社", "gw-b");
  auto cb = admin_->post("/api/v1/incidents/" + b.incident + "/claims", "{}");
  ASSERT_EQ(cb.status, 201) << cb.body;
  auto ca = admin_->post("/api/v1/incidents/" + a.incident + "/claims", "{}");
  ASSERT_EQ(ca.status, 201) << ca.body;
  const std::string b_claim = "/api/v1/incidents/" + b.incident + "/claims/" + cb.str("id");
  const std::string a_claim = "/api/v1/incidents/" + a.incident + "/claims/" + ca.str("id");
  Client admin_a = user("admin@a.example.jp", "customer_admin", a.id);
  Client user_a = user("user@a.example.jp", "customer_user", a.id);
  for (const Client* c : {&admin_a, &user_a}) {
    // Their own: readable, including the policy and its text.
    EXPECT_EQ(c->get("/api/v1/contracts/" + a.contract + "/policy").status, 200);
    EXPECT_EQ(c->get(a_claim).status, 200);
    EXPECT_EQ(c->get(a_claim + "/package").status, 200);
    EXPECT_EQ(c->get(a_claim + "/package.pdf").status, 200);
    // Changing: refused even on their own.
    EXPECT_EQ(
        c->post(a_claim + "/lines",
                R"({"description":"x","item":"recovery","amount":1,"incurred_on":"2026-12-01"})")
            .status,
        403);
    EXPECT_EQ(c->post(a_claim + "/status", R"({"status":"submitted"})").status, 403);
    EXPECT_EQ(c->send("PUT", "/api/v1/contracts/" + a.contract + "/policy",
                      json::serialize(policy_body()))
                  .status,
              403);
    // Another customer's: 404 on every route, nothing of it in the answer.
    for (const std::string& path : {"/api/v1/contracts/" + b.contract + "/policy",
                                    "/api/v1/incidents/" + b.incident + "/claims", b_claim,
                                    b_claim + "/package", b_claim + "/package.pdf"}) {
      auto r = c->get(path);
      EXPECT_EQ(r.status, 404) << path;
      EXPECT_EQ(r.body.find("B社"), std::string::npos);
      EXPECT_EQ(r.body.find(b.id), std::string::npos);
    }
    EXPECT_EQ(c->post("/api/v1/incidents/" + b.incident + "/claims", "{}").status, 404);
    EXPECT_EQ(
        c->post(b_claim + "/lines",
                R"({"description":"x","item":"recovery","amount":1,"incurred_on":"2026-12-01"})")
            .status,
        404);
    EXPECT_EQ(c->post(b_claim + "/status", R"({"status":"submitted"})").status, 404);
    EXPECT_EQ(c->send("PUT", "/api/v1/contracts/" + b.contract + "/policy",
                      json::serialize(policy_body()))
                  .status,
              404);
  }
  // A claim id under the wrong incident is not found either.
  EXPECT_EQ(admin_->get("/api/v1/incidents/" + a.incident + "/claims/" + cb.str("id")).status, 404);
  // The attempts are audited under the caller's own customer, as denied.
  auto audit = admin_->get("/api/v1/audit?customer_id=" + a.id + "&limit=1000");
  EXPECT_NE(audit.body.find("insurance.claim.read"), std::string::npos) << audit.body;
  EXPECT_NE(audit.body.find("denied"), std::string::npos);
  // Nothing changed on B's claim.
  auto still = admin_->get(b_claim);
  EXPECT_EQ(still.str("status"), "draft");
  EXPECT_TRUE(still.json().at("lines").as_array().empty());
  // Technicians and the desk read claims but do not change them.
  Client tech = user("tech@soc.example.jp", "technician", "");
  EXPECT_EQ(tech.get(b_claim).status, 200);
  EXPECT_EQ(tech.post(b_claim + "/status", R"({"status":"submitted"})").status, 403);
}

INSTANTIATE_TEST_SUITE_P(Backends, InsuranceApi, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
