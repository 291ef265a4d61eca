// The desk's canned answers (FAQ) through the API on both backends: the desk writes them,
// searches Japanese text by substring (question hits first), customers read the public ones
// only (a non-public one answers 404 and the attempt is audited), other roles may not write, and
// bad input is refused with the member named.

#include <gtest/gtest.h>

#include "desk/desk.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

TEST(DeskFaqFold, FullWidthAndCaseAreFolded) {
  EXPECT_EQ(faq_fold("ＶＰＮ　設定"), "vpn 設定");
  EXPECT_EQ(faq_fold("UTM の Ｌｏｇ"), "utm の log");
  EXPECT_EQ(faq_fold("料金表"), "料金表");
}

class DeskFaq : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) { o.deliver_notifications = false; });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    a_ = admin_->post("/api/v1/customers", R"({"name":"A社"})").str("id");
    user("taro@a.example.jp", "customer_user", a_);
    user("boss@a.example.jp", "customer_admin", a_);
    user("desk@soc.example.jp", "desk", "");
    user("ana@soc.example.jp", "analyst", "");
  }

  void user(const std::string& email, const std::string& role, const std::string& cust) {
    json::object o{{"email", email}, {"role", role}, {"password", "faq test pass 12"}};
    if (!cust.empty()) o["customer_id"] = cust;
    auto r = admin_->post("/api/v1/users", json::serialize(o));
    EXPECT_EQ(r.status, 201) << r.body;
  }

  Client login(const std::string& email) {
    Client c(ts_->base);
    EXPECT_EQ(c.login(email, "faq test pass 12").status, 200) << email;
    return c;
  }

  std::vector<std::string> questions(const Client& c, const std::string& query) {
    auto r = c.get("/api/v1/desk/faq" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json::value j = r.json();
    for (const auto& e : j.at("items").as_array()) {
      out.emplace_back(e.at("question").as_string());
    }
    return out;
  }

  int audited(const std::string& action, const std::string& outcome) {
    const json::value r = admin_->get("/api/v1/audit?action=" + action + "&limit=1000").json();
    int n = 0;
    for (const auto& e : r.at("items").as_array()) n += e.at("outcome").as_string() == outcome;
    return n;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string a_;
};

TEST_P(DeskFaq, DeskWritesSearchesAndCustomersSeeThePublicOnes) {
  Client desk = login("desk@soc.example.jp");
  auto add = [&](const std::string& q, const std::string& a, bool pub,
                 const std::string& category = "その他", json::array tags = {}) {
    auto r = desk.post("/api/v1/desk/faq", json::serialize(json::object{{"question", q},
                                                                        {"answer", a},
                                                                        {"category", category},
                                                                        {"public", pub},
                                                                        {"tags", tags}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  };
  // The question of the first mentions 料金 only in its answer; the second in its question.
  add("見積もりの依頼方法", "料金の見積もりは申込書の送付後にお送りします。", true, "価格");
  const std::string price = add("料金はいくらですか", "月額 9,800 円（税別）です。", true, "価格",
                                json::array{"料金", "price"});
  const std::string internal =
      add("料金の値引きの判断", "課長が判断します（社内向け）。", false, "価格");
  add("ＶＰＮの設定方法", "設定手順書をお送りします。", true, "導入・設置の支援");

  // Substring search over Japanese, no word splitting; question hits first.
  auto hits = questions(desk, "?q=料金");
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[2], "見積もりの依頼方法");  // only its answer mentions 料金
  // Two terms (separated by an ideographic space): both must be found.
  hits = questions(desk, "?q=" + std::string("料金%E3%80%80%E5%80%A4%E5%BC%95"));  // 料金　値引
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], "料金の値引きの判断");
  // Full-width and case folded; tags searched.
  hits = questions(desk, "?q=vpn");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], "ＶＰＮの設定方法");
  hits = questions(desk, "?q=PRICE");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0], "料金はいくらですか");
  EXPECT_EQ(questions(desk, "?category=導入・設置の支援").size(), 1u);
  EXPECT_TRUE(questions(desk, "?q=存在しない語").empty());

  // Customers: the public ones only; a non-public one answers 404, audited.
  Client taro = login("taro@a.example.jp");
  hits = questions(taro, "?q=料金");
  EXPECT_EQ(hits.size(), 2u);
  for (const auto& h : hits) EXPECT_NE(h, "料金の値引きの判断");
  EXPECT_EQ(taro.get("/api/v1/desk/faq/" + price).status, 200);
  auto r = taro.get("/api/v1/desk/faq/" + internal);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.find("課長"), std::string::npos);
  EXPECT_EQ(audited("desk.faq.read", "denied"), 1);
  EXPECT_EQ(taro.get("/api/v1/desk/faq/faq_none").status, 404);

  // Customers and analysts may not write; the refusal is audited and changes nothing.
  Client boss = login("boss@a.example.jp");
  EXPECT_EQ(boss.post("/api/v1/desk/faq", R"({"question":"x","answer":"y"})").status, 403);
  EXPECT_EQ(
      boss.send("PUT", "/api/v1/desk/faq/" + price, R"({"question":"x","answer":"y"})").status,
      403);
  EXPECT_EQ(boss.send("DELETE", "/api/v1/desk/faq/" + price).status, 403);
  Client ana = login("ana@soc.example.jp");
  EXPECT_EQ(ana.post("/api/v1/desk/faq", R"({"question":"x","answer":"y"})").status, 403);
  EXPECT_EQ(ana.get("/api/v1/desk/faq?q=値引").status, 200);  // reading is every staff role's
  EXPECT_GE(audited("desk.faq.create", "denied"), 2);
  EXPECT_EQ(audited("desk.faq.delete", "denied"), 1);
  EXPECT_EQ(desk.get("/api/v1/desk/faq/" + price).str("question"), "料金はいくらですか");

  // The desk replaces and deletes; made non-public, the customer no longer sees it.
  r = desk.send(
      "PUT", "/api/v1/desk/faq/" + price,
      R"({"question":"料金はいくらですか","answer":"月額 8,800 円です。","category":"価格"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json().at("public").as_bool());
  EXPECT_EQ(r.json().at("tags").as_array().size(), 0u);
  EXPECT_EQ(taro.get("/api/v1/desk/faq/" + price).status, 404);
  EXPECT_EQ(desk.send("DELETE", "/api/v1/desk/faq/" + price).status, 200);
  EXPECT_EQ(desk.get("/api/v1/desk/faq/" + price).status, 404);
  EXPECT_EQ(audited("desk.faq.create", "ok"), 4);
  EXPECT_EQ(audited("desk.faq.update", "ok"), 1);
  EXPECT_EQ(audited("desk.faq.delete", "ok"), 1);
}

TEST_P(DeskFaq, BadEntriesAreRefusedWithTheMemberAndStoreNothing) {
  Client desk = login("desk@soc.example.jp");
  auto bad = [&](const std::string& body, const std::string& member) {
    auto r = desk.post("/api/v1/desk/faq", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find(member), std::string::npos) << r.body;
  };
  bad(R"({"answer":"a"})", "'question'");
  bad(R"({"question":"q"})", "'answer'");
  bad(R"({"question":"q","answer":"a","category":"雑談"})", "'category'");
  bad(R"({"question":"q","answer":"a","public":"yes"})", "'public'");
  bad(R"({"question":"q","answer":"a","tags":"料金"})", "'tags'");
  bad(R"({"question":"q","answer":"a","tags":["a\nb"]})", "'tags[0]'");
  bad(R"({"question":")" + std::string(1001, 'x') + R"(","answer":"a"})", "'question'");
  EXPECT_TRUE(questions(desk, "").empty());
  // A value with HTML in it is kept as text, byte for byte.
  auto r = desk.post("/api/v1/desk/faq",
                     R"({"question":"<img src=x onerror=alert(1)>","answer":"<b>a</b>"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(desk.get("/api/v1/desk/faq/" + r.str("id")).str("question"),
            "<img src=x onerror=alert(1)>");
  EXPECT_EQ(
      desk.send("PUT", "/api/v1/desk/faq/faq_none", R"({"question":"q","answer":"a"})").status,
      404);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeskFaq, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
