// Plans, contracts and the subsidy through the API, on SQLite and PostgreSQL: the compliance
// check names each broken rule with value and limit, a non-compliant plan is never stored as
// registered, contracts bind only the customer's own devices and a registered plan, and one
// customer never sees another's contracts.

#include <gtest/gtest.h>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

json::object good_plan() {
  return json::object{{"name", "みまもりネット ライト"},
                      {"type", "network"},
                      {"monthly_fee", 9800},
                      {"min_term_months", 12},
                      {"desk_hours", "平日 9:00-18:00"},
                      {"dispatch", "要請から24時間以内に訪問"},
                      {"insurance_coverage", 1000000},
                      {"terms", json::object{{"initial_fee", "無料"},
                                             {"term", "1年ごとの自動更新"},
                                             {"cancellation_penalty", "残月数×月額の50%"},
                                             {"right_to_cancel", "いつでも書面で解約できます"}}}};
}

class Contracts : public ::testing::TestWithParam<std::string> {
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
    a_ = customer("A社");
    b_ = customer("B社");
  }

  std::string customer(std::string_view name) {
    auto r = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  std::string device(const std::string& customer_id) {
    auto code = admin_->post("/api/v1/customers/" + customer_id + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(
            json::object{{"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
    return e.str("device_id");
  }

  Client customer_admin(const std::string& customer_id, std::string_view email) {
    auto u = admin_->post("/api/v1/users",
                          json::serialize(json::object{{"email", email},
                                                       {"role", "customer_admin"},
                                                       {"customer_id", customer_id},
                                                       {"password", "customer pass 1234"}}));
    EXPECT_EQ(u.status, 201) << u.body;
    Client c(ts_->base);
    EXPECT_EQ(c.login(email, "customer pass 1234").status, 200);
    return c;
  }

  std::string registered_plan() {
    auto p = good_plan();
    p["status"] = "registered";
    auto r = admin_->post("/api/v1/plans", json::serialize(p));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string a_, b_;
};

TEST_P(Contracts, CheckNamesEachBrokenRuleWithValueAndLimit) {
  auto p = good_plan();
  p["type"] = "endpoint";
  p["monthly_fee"] = 0;
  p["per_device_fee"] = 2500;
  p["min_term_months"] = 36;
  p["terms"].as_object().erase("right_to_cancel");
  auto r = admin_->post("/api/v1/plans/check", json::serialize(p));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json().as_object();
  EXPECT_FALSE(j.at("compliant").as_bool());
  std::map<std::string, json::object> by_rule;
  for (const auto& v : j.at("violations").as_array()) {
    by_rule[std::string(v.at("rule").as_string())] = v.as_object();
  }
  ASSERT_EQ(by_rule.size(), 3u) << r.body;
  EXPECT_EQ(by_rule["price.endpoint"].at("field"), "per_device_fee");
  EXPECT_EQ(by_rule["price.endpoint"].at("value"), "¥2,500");
  EXPECT_EQ(by_rule["price.endpoint"].at("limit"), "¥2,000");
  EXPECT_EQ(by_rule["term.max_24_months"].at("value"), "36か月");
  EXPECT_EQ(by_rule["term.max_24_months"].at("limit"), "24か月");
  EXPECT_EQ(by_rule["terms.right_to_cancel"].at("field"), "terms.right_to_cancel");
  EXPECT_NE(
      std::string(by_rule["terms.right_to_cancel"].at("message_ja").as_string()).find("解約の権利"),
      std::string::npos);
  EXPECT_EQ(j.at("policy").at("initial_fee"), "separate");

  // A compliant plan passes; customers may check plans too (they compare them).
  auto c = customer_admin(a_, "owner@a.example.jp");
  auto ok = c.post("/api/v1/plans/check", json::serialize(good_plan()));
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.json().at("compliant").as_bool());
}

TEST_P(Contracts, NonCompliantPlanIsNeverStoredAsRegistered) {
  auto p = good_plan();
  p["monthly_fee"] = 12000;
  p["status"] = "registered";
  auto r = admin_->post("/api/v1/plans", json::serialize(p));
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.str("error").find("price.network"), std::string::npos) << r.body;
  EXPECT_EQ(r.json().at("violations").at(0).at("value"), "¥12,000");
  EXPECT_TRUE(admin_->get("/api/v1/plans").json().at("items").as_array().empty());

  // As a draft it is kept, shown as not compliant, and cannot be registered later either.
  p["status"] = "draft";
  auto d = admin_->post("/api/v1/plans", json::serialize(p));
  ASSERT_EQ(d.status, 201) << d.body;
  EXPECT_FALSE(d.json().at("compliance").at("compliant").as_bool());
  p["status"] = "registered";
  auto u = admin_->send("PUT", "/api/v1/plans/" + d.str("id"), json::serialize(p));
  EXPECT_EQ(u.status, 422) << u.body;
  EXPECT_EQ(admin_->get("/api/v1/plans/" + d.str("id")).str("status"), "draft");

  // Fixed, it registers.
  p["monthly_fee"] = 9800;
  u = admin_->send("PUT", "/api/v1/plans/" + d.str("id"), json::serialize(p));
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_EQ(admin_->get("/api/v1/plans/" + d.str("id")).str("status"), "registered");
  auto listed = admin_->get("/api/v1/plans").json().at("items").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].at("compliant").as_bool());
}

TEST_P(Contracts, BadPlansAreRefusedNamingTheMember) {
  struct Bad {
    std::string member;
    json::value value;
    std::string says;
  };
  for (const auto& b : std::vector<Bad>{
           {"colour", "red", "member 'colour' is unknown"},
           {"per_device_fee", -5, "member 'per_device_fee' must not be negative"},
           {"min_term_months", 0, "member 'min_term_months' must be at least 1"},
           {"type", "cloud", "member 'type' 'cloud' is unknown"},
           {"monthly_fee", "free", "member 'monthly_fee' must be a whole number"},
       }) {
    auto p = good_plan();
    p[b.member] = b.value;
    for (std::string path : {"/api/v1/plans/check", "/api/v1/plans"}) {
      auto r = admin_->post(path, json::serialize(p));
      EXPECT_EQ(r.status, 400) << path << " " << b.member << ": " << r.body;
      EXPECT_NE(r.str("error").find(b.says), std::string::npos) << r.body;
    }
  }
}

TEST_P(Contracts, OnlyTheProviderAdminChangesPlansAndContracts) {
  auto c = customer_admin(a_, "owner@a.example.jp");
  auto p = good_plan();
  EXPECT_EQ(c.post("/api/v1/plans", json::serialize(p)).status, 403);
  const std::string plan = registered_plan();
  EXPECT_EQ(c.send("PUT", "/api/v1/plans/" + plan, json::serialize(p)).status, 403);
  EXPECT_EQ(admin_->get("/api/v1/plans/" + plan).str("status"), "registered");
  auto body = json::serialize(json::object{{"customer_id", a_},
                                           {"plan_id", plan},
                                           {"start_date", "2026-04-01"},
                                           {"insurance_policy", "CY-1"},
                                           {"insurance_until", "2027-03-31"}});
  EXPECT_EQ(c.post("/api/v1/contracts", body).status, 403);
  // Plans are readable by customers, who compare them.
  EXPECT_EQ(c.get("/api/v1/plans/" + plan).status, 200);
}

TEST_P(Contracts, ContractBindsTheCustomersDevicesAndARegisteredPlan) {
  const std::string plan = registered_plan();
  const std::string dev_a = device(a_), dev_b = device(b_);
  auto contract = [&](json::object changes) {
    json::object o{{"customer_id", a_},
                   {"plan_id", plan},
                   {"devices", 2},
                   {"device_ids", json::array{json::string(dev_a)}},
                   {"start_date", "2026-04-01"},
                   {"end_date", "2027-03-31"},
                   {"insurance_policy", "CY-2026-0001"},
                   {"insurance_until", "2027-03-31"}};
    for (auto& [k, v] : changes) o[k] = v;
    return admin_->post("/api/v1/contracts", json::serialize(o));
  };
  auto ok = contract({});
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.json().at("device_ids").at(0), json::string(dev_a));
  auto got = admin_->get("/api/v1/contracts/" + ok.str("id"));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.str("insurance_policy"), "CY-2026-0001");
  EXPECT_EQ(got.str("plan_id"), plan);

  auto other = contract({{"device_ids", json::array{json::string(dev_b)}}});
  EXPECT_EQ(other.status, 400) << other.body;
  EXPECT_NE(other.str("error").find("not the customer's"), std::string::npos);
  EXPECT_EQ(contract({{"start_date", "2026-02-30"}}).status, 400);
  EXPECT_EQ(contract({{"end_date", "2026-03-01"}}).status, 400);
  EXPECT_EQ(contract({{"insurance_policy", ""}}).status, 400);
  EXPECT_EQ(contract({{"devices", 0}}).status, 400);
  EXPECT_EQ(contract({{"plan_id", "pln_missing"}}).status, 404);
  EXPECT_EQ(contract({{"surprise", 1}}).status, 400);

  auto p = good_plan();
  p["max_devices"] = 1;
  auto small = admin_->post("/api/v1/plans", json::serialize(p)).str("id");
  auto draft = contract({{"plan_id", small}, {"devices", 1}});
  EXPECT_EQ(draft.status, 409) << draft.body;  // a draft plan
  p["status"] = "registered";
  ASSERT_EQ(admin_->send("PUT", "/api/v1/plans/" + small, json::serialize(p)).status, 200);
  auto too_many = contract({{"plan_id", small}});
  EXPECT_EQ(too_many.status, 400) << too_many.body;
  EXPECT_NE(too_many.str("error").find("outside the plan's 1..1 devices"), std::string::npos);

  auto list = admin_->get("/api/v1/contracts?customer_id=" + a_).json().at("items").as_array();
  EXPECT_EQ(list.size(), 1u);
}

TEST_P(Contracts, CustomersSeeOnlyTheirOwnContracts) {
  const std::string plan = registered_plan();
  auto make = [&](const std::string& customer) {
    auto r = admin_->post("/api/v1/contracts",
                          json::serialize(json::object{{"customer_id", customer},
                                                       {"plan_id", plan},
                                                       {"start_date", "2026-04-01"},
                                                       {"insurance_policy", "CY-" + customer},
                                                       {"insurance_until", "2027-03-31"}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  };
  const std::string ca = make(a_), cb = make(b_);
  auto a = customer_admin(a_, "owner@a.example.jp");
  EXPECT_EQ(a.get("/api/v1/contracts/" + ca).status, 200);
  auto theirs = a.get("/api/v1/contracts/" + cb);
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(theirs.body.find(b_), std::string::npos);
  auto mine = a.get("/api/v1/contracts");
  ASSERT_EQ(mine.status, 200);
  EXPECT_NE(mine.body.find(ca), std::string::npos);
  EXPECT_EQ(mine.body.find(cb), std::string::npos);
  EXPECT_EQ(mine.body.find(b_), std::string::npos);
  EXPECT_EQ(a.get("/api/v1/contracts?customer_id=" + b_).status, 404);
  // The provider sees both.
  auto all = admin_->get("/api/v1/contracts").json().at("items").as_array();
  EXPECT_EQ(all.size(), 2u);
}

TEST_P(Contracts, SubsidyEstimateAndItsErrors) {
  auto c = customer_admin(a_, "owner@a.example.jp");
  auto r = c.post("/api/v1/subsidy",
                  R"({"year":2025,"monthly_fee":9800,"months":24,"small_business":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  EXPECT_EQ(j.at("rate"), "2/3");
  EXPECT_EQ(j.at("eligible_cost").as_int64(), 235200);
  EXPECT_EQ(j.at("subsidy").as_int64(), 156800);
  EXPECT_EQ(j.at("customer_share").as_int64(), 78400);
  auto bad = [&](std::string_view body, std::string_view says) {
    auto e = c.post("/api/v1/subsidy", body);
    EXPECT_EQ(e.status, 400) << body << ": " << e.body;
    EXPECT_NE(e.str("error").find(says), std::string::npos) << e.body;
  };
  bad(R"({"year":2019,"monthly_fee":9800})", "member 'year': 2019 is not a year");
  bad(R"({"year":2025,"monthly_fee":-1})", "member 'monthly_fee': must not be negative");
  bad(R"({"year":2025,"monthly_fee":9800,"months":0})", "member 'months': must be 1..120");
  bad(R"({"year":2025})", "member 'monthly_fee' is required");
  bad(R"({"year":2025,"monthly_fee":9800,"discount":5})", "member 'discount' is unknown");
}

INSTANTIATE_TEST_SUITE_P(Backends, Contracts, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
