// The role table of docs/security.md is what the server does: every route of the route table
// is in it, every route it names exists, and each cell (a role on a route) is checked with a real
// request on the caller's own customer and on another customer.
//
// Cells: `all` (any customer's objects, or not customer-bound), `own` (the caller's own
// organisation only; another customer's objects answer 404), `self` (the caller's own account or
// session), `—` (denied: 401 without the right credentials, 403 or 404 for a role).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "api/api.h"
#include "desk/desk.h"
#include "mimamori/core/text.h"
#include "role_table_doc.h"
#include "role_table_samples.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

using role_table::Req;
using role_table::Tenant;

class RoleTableServer : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url, [](ServerOptions& o) {
      o.login_attempts_per_minute = 100000;
      o.enroll_attempts_per_minute = 100000;
      o.deliver_notifications = false;
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    tenants_[0] = tenant("A社");
    tenants_[1] = tenant("B社");
    for (std::string role : {"analyst", "technician", "desk", "customer_admin", "customer_user"}) {
      const bool customer = role.rfind("customer", 0) == 0;
      auto u = create_user(role + "@roles.example.jp", role, customer ? tenants_[0].customer : "");
      ASSERT_EQ(u.status, 201) << u.body;
      if (role == "analyst") analyst_id_ = u.str("id");
      if (role == "technician") technician_id_ = u.str("id");
    }
    ASSERT_EQ(create_user("probe@roles.example.jp", "customer_user", tenants_[0].customer).status,
              201);
  }

  Response create_user(const std::string& email, const std::string& role,
                       const std::string& customer) {
    json::object o{{"email", email}, {"role", role}, {"password", "role table pass 1"}};
    if (!customer.empty()) o["customer_id"] = customer;
    return admin_->post("/api/v1/users", json::serialize(o));
  }

  Tenant tenant(std::string_view name) {
    Tenant t;
    t.customer =
        admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}})).str("id");
    t.site =
        admin_->post("/api/v1/customers/" + t.customer + "/sites", R"({"name":"本社"})").str("id");
    auto [device, token] = enroll(t.customer);
    t.device = device;
    t.token = token;
    t.user =
        create_user(fmt::format("user{}@roles.example.jp", ++counter_), "customer_user", t.customer)
            .str("id");
    return t;
  }

  std::pair<std::string, std::string> enroll(const std::string& customer) {
    auto code = admin_->post("/api/v1/customers/" + customer + "/enrollment-codes").str("code");
    Client anon(ts_->base);
    auto e =
        anon.call("POST", "/api/v1/enroll",
                  json::serialize(json::object{
                      {"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
                  {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
    return {e.str("device_id"), e.str("device_token")};
  }

  /// A new incident of tenant `t` (one alert of its own signature).
  std::string fresh_incident(Tenant& t) {
    const int n = ++counter_;
    const std::string sig = fmt::format("ET MALWARE role table probe {}", n);
    Client anon(ts_->base);
    EXPECT_EQ(ingest(anon, t.token, t.seq++,
                     {alert_line(3000000 + n, sig, "192.168.0.2",
                                 fmt::format("203.0.113.{}", n % 250 + 1))})
                  .status,
              200);
    auto a = admin_->get("/api/v1/alerts?customer_id=" + t.customer + "&limit=1000");
    const json::value j = a.json();
    for (const auto& item : j.at("items").as_array()) {
      if (item.at("signature").as_string() == sig && item.at("incident_id").is_string()) {
        return std::string(item.at("incident_id").as_string());
      }
    }
    ADD_FAILURE() << "no incident for " << sig;
    return "none";
  }

  /// A new desk ticket of tenant `t` (with one attachment), opened by the provider admin.
  std::string fresh_ticket(Tenant& t) {
    auto r = admin_->post(
        "/api/v1/desk/tickets",
        json::serialize(json::object{
            {"customer_id", t.customer},
            {"subject", fmt::format("相談 {}", ++counter_)},
            {"body", "料金について"},
            {"attachments", json::array{json::object{{"filename", "a.txt"},
                                                     {"data_base64", core::base64("a")}}}}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  /// A dispatch of tenant `t` (from a fresh ticket), taken by the provider admin as far as
  /// `state`: remote, or assigned (to the role table's technician) and on to finished.
  std::string fresh_dispatch(Tenant& t, const std::string& state) {
    if (!technician_profile_) {
      auto r = admin_->send("PUT", "/api/v1/technicians/" + technician_id_, kTechnicianProfile);
      EXPECT_EQ(r.status, 200) << r.body;
      technician_profile_ = true;
    }
    auto r = admin_->post("/api/v1/dispatches",
                          json::serialize(json::object{{"ticket_id", fresh_ticket(t)}}));
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = r.str("id");
    if (state == "remote") return id;
    r = admin_->post("/api/v1/dispatches/" + id + "/onsite", R"({"prefecture":"東京都"})");
    EXPECT_EQ(r.status, 200) << r.body;
    const std::pair<const char*, const char*> steps[] = {
        {"assigned", "depart"}, {"departed", "arrive"}, {"arrived", "work"}, {"working", "finish"}};
    for (const auto& [from, action] : steps) {
      if (state == from) break;
      EXPECT_EQ(admin_->post("/api/v1/dispatches/" + id + "/" + action).status, 200) << action;
    }
    return id;
  }

  std::string first_id(const std::string& path) {
    auto r = admin_->get(path);
    auto items = r.json().at("items").as_array();
    EXPECT_FALSE(items.empty()) << path << " " << r.body;
    return items.empty() ? "none" : std::string(items[0].at("id").as_string());
  }

  /// The request that exercises `route` on tenant `t`'s objects (fresh ones where the request
  /// changes or removes them).
  Req sample(const std::string& route, const std::string& column, Tenant& target) {
    const int k = ++counter_;
    auto incident_action = [&](const std::string& action, const std::string& body) {
      return Req{"POST", "/api/v1/incidents/" + fresh_incident(target) + "/" + action, body};
    };
    static const std::map<std::string, std::function<Req(RoleTableServer&, Tenant&, int)>>
        kSamples = {
            {"GET /api/v1/health",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/health", "", {}, false};
             }},
            {"GET /api/v1/openapi.json",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/openapi.json", "", {}, false};
             }},
            {"GET /metrics",
             [](auto&, auto&, int) {
               return Req{"GET", "/metrics", "", {}, false};
             }},
            {"POST /api/v1/enroll",
             [](RoleTableServer& s, Tenant& t, int) {
               auto code = s.admin_->post("/api/v1/customers/" + t.customer + "/enrollment-codes")
                               .str("code");
               return Req{
                   "POST",
                   "/api/v1/enroll",
                   json::serialize(json::object{
                       {"code", code}, {"hostname", "gw2"}, {"kind", "agent"}, {"version", "1"}}),
                   {"Content-Type: application/json"}};
             }},
            {"POST /api/v1/login",
             [](auto&, auto&, int) {
               return Req{"POST",
                          "/api/v1/login",
                          R"({"email":"probe@roles.example.jp","password":"role table pass 1"})",
                          {"Content-Type: application/json"},
                          false};
             }},
            {"POST /api/v1/ingest",
             [](auto&, auto&, int n) {
               const int64_t seq = 100000 + n;
               return Req{"POST",
                          "/api/v1/ingest",
                          dns_line("example.jp") + "\n",
                          {"Content-Type: application/x-ndjson",
                           fmt::format("X-Mimamori-Seq-First: {}", seq),
                           fmt::format("X-Mimamori-Seq-Last: {}", seq)},
                          false};
             }},
            {"POST /api/v1/heartbeat",
             [](auto&, auto&, int) {
               return Req{"POST",
                          "/api/v1/heartbeat",
                          R"({"version":"1"})",
                          {"Content-Type: application/json"},
                          false};
             }},
            {"GET /api/v1/device/config",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/device/config", "", {}, false};
             }},
            {"POST /api/v1/logout",
             [](auto&, auto&, int) {
               return Req{"POST", "/api/v1/logout", "{}", {}, false, true};
             }},
            {"GET /api/v1/me",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/me", "", {}, false};
             }},
            {"POST /api/v1/me/totp",
             [](auto&, auto&, int) {
               return Req{"POST", "/api/v1/me/totp", "{}", {}, false};
             }},
            {"POST /api/v1/me/totp/confirm",
             [](auto&, auto&, int) {
               return Req{"POST", "/api/v1/me/totp/confirm", R"({"code":"000000"})", {}, false};
             }},
            {"POST /api/v1/tokens",
             [](auto&, auto&, int n) {
               return Req{"POST",
                          "/api/v1/tokens",
                          json::serialize(json::object{{"name", fmt::format("t{}", n)}}),
                          {},
                          false};
             }},
            {"GET /api/v1/customers",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers?customer_id=" + t.customer, ""};
             }},
            {"POST /api/v1/customers",
             [](auto&, auto&, int n) {
               return Req{"POST",
                          "/api/v1/customers",
                          json::serialize(json::object{{"name", fmt::format("新規{}", n)}}),
                          {},
                          false};
             }},
            {"PATCH /api/v1/customers/{id}",
             [](auto&, Tenant& t, int n) {
               return Req{
                   "PATCH", "/api/v1/customers/" + t.customer,
                   json::serialize(json::object{{"prefecture", n % 2 == 0 ? "大阪府" : "東京都"}})};
             }},
            {"GET /api/v1/customers/{id}",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers/" + t.customer, ""};
             }},
            {"GET /api/v1/customers/{id}/sites",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers/" + t.customer + "/sites", ""};
             }},
            {"GET /api/v1/customers/{id}/aggregates",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers/" + t.customer + "/aggregates", ""};
             }},
            {"POST /api/v1/customers/{id}/sites",
             [](auto&, Tenant& t, int n) {
               return Req{"POST", "/api/v1/customers/" + t.customer + "/sites",
                          json::serialize(json::object{{"name", fmt::format("支店{}", n)}})};
             }},
            {"POST /api/v1/customers/{id}/enrollment-codes",
             [](auto&, Tenant& t, int) {
               return Req{"POST", "/api/v1/customers/" + t.customer + "/enrollment-codes", "{}"};
             }},
            {"GET /api/v1/users",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/users?customer_id=" + t.customer, ""};
             }},
            {"POST /api/v1/users",
             [](auto&, Tenant& t, int n) {
               return Req{
                   "POST", "/api/v1/users",
                   json::serialize(json::object{{"email", fmt::format("new{}@roles.example.jp", n)},
                                                {"role", "customer_user"},
                                                {"customer_id", t.customer},
                                                {"password", "role table pass 1"}})};
             }},
            {"GET /api/v1/devices",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/devices?customer_id=" + t.customer, ""};
             }},
            {"GET /api/v1/devices/{id}",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/devices/" + t.device, ""};
             }},
            {"POST /api/v1/devices/{id}/revoke",
             [](RoleTableServer& s, Tenant& t, int) {
               return Req{"POST", "/api/v1/devices/" + s.enroll(t.customer).first + "/revoke",
                          "{}"};
             }},
            {"GET /api/v1/alerts",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/alerts?customer_id=" + t.customer, ""};
             }},
            {"GET /api/v1/alerts/{id}",
             [](RoleTableServer& s, Tenant& t, int) {
               s.fresh_incident(t);
               return Req{
                   "GET",
                   "/api/v1/alerts/" + s.first_id("/api/v1/alerts?customer_id=" + t.customer), ""};
             }},
            {"GET /api/v1/alerts/{id}/events",
             [](RoleTableServer& s, Tenant& t, int) {
               s.fresh_incident(t);
               return Req{"GET",
                          "/api/v1/alerts/" +
                              s.first_id("/api/v1/alerts?customer_id=" + t.customer) + "/events",
                          ""};
             }},
            {"GET /api/v1/incidents",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/incidents?customer_id=" + t.customer, ""};
             }},
            {"GET /api/v1/overview",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/overview", "", {}, false};
             }},
            {"GET /api/v1/incidents/{id}",
             [](RoleTableServer& s, Tenant& t, int) {
               return Req{"GET", "/api/v1/incidents/" + s.fresh_incident(t), ""};
             }},
            {"GET /api/v1/suppressions",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/suppressions?customer_id=" + t.customer, ""};
             }},
            {"POST /api/v1/suppressions",
             [](auto&, Tenant& t, int n) {
               return Req{"POST", "/api/v1/suppressions",
                          json::serialize(json::object{
                              {"customer_id", t.customer}, {"signature_id", n}, {"reason", "x"}})};
             }},
            {"DELETE /api/v1/suppressions/{id}",
             [](RoleTableServer& s, Tenant& t, int n) {
               auto id = s.admin_
                             ->post("/api/v1/suppressions",
                                    json::serialize(json::object{{"customer_id", t.customer},
                                                                 {"signature_id", n},
                                                                 {"reason", "x"}}))
                             .str("id");
               return Req{"DELETE", "/api/v1/suppressions/" + id, ""};
             }},
            {"GET /api/v1/threats",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/threats", "", {}, false};
             }},
            {"POST /api/v1/threats",
             [](auto&, auto&, int n) {
               return Req{
                   "POST",
                   "/api/v1/threats",
                   json::serialize(json::object{
                       {"value", fmt::format("198.51.100.{}", n % 250 + 1)}, {"source", "feed"}}),
                   {},
                   false};
             }},
            {"DELETE /api/v1/threats/{id}",
             [](RoleTableServer& s, auto&, int n) {
               auto id = s.admin_
                             ->post("/api/v1/threats",
                                    json::serialize(json::object{
                                        {"value", fmt::format("192.0.2.{}", n % 250 + 1)},
                                        {"source", "feed"}}))
                             .str("id");
               return Req{"DELETE", "/api/v1/threats/" + id, "", {}, false};
             }},
            {"GET /api/v1/channels",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/channels?customer_id=" + t.customer, ""};
             }},
            {"POST /api/v1/channels",
             [](auto&, Tenant& t, int n) {
               return Req{
                   "POST", "/api/v1/channels",
                   json::serialize(json::object{{"customer_id", t.customer},
                                                {"kind", "email"},
                                                {"target", fmt::format("owner{}@example.jp", n)}})};
             }},
            {"DELETE /api/v1/channels/{id}",
             [](RoleTableServer& s, Tenant& t, int n) {
               auto id = s.admin_
                             ->post("/api/v1/channels",
                                    json::serialize(json::object{
                                        {"customer_id", t.customer},
                                        {"kind", "email"},
                                        {"target", fmt::format("gone{}@example.jp", n)}}))
                             .str("id");
               return Req{"DELETE", "/api/v1/channels/" + id, ""};
             }},
            {"GET /api/v1/oncall",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/oncall", "", {}, false};
             }},
            {"PUT /api/v1/oncall",
             [](auto&, auto&, int) {
               return Req{"PUT", "/api/v1/oncall", R"({"members":[]})", {}, false};
             }},
            {"GET /api/v1/notifications",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/notifications?customer_id=" + t.customer, ""};
             }},
            {"GET /api/v1/audit",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/audit?customer_id=" + t.customer, ""};
             }},
            {"GET /api/v1/explanations",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/explanations", "", {}, false};
             }},
            {"GET /api/v1/desk/tickets",
             [](RoleTableServer& s, Tenant& t, int) {
               s.fresh_ticket(t);
               return Req{"GET", "/api/v1/desk/tickets?customer_id=" + t.customer, ""};
             }},
            {"POST /api/v1/desk/tickets",
             [](auto&, Tenant& t, int n) {
               return Req{"POST", "/api/v1/desk/tickets",
                          json::serialize(json::object{{"customer_id", t.customer},
                                                       {"subject", fmt::format("質問{}", n)},
                                                       {"body", "申込方法を教えてください"},
                                                       {"category", "申込方法"}})};
             }},
            {"GET /api/v1/desk/tickets/{id}",
             [](RoleTableServer& s, Tenant& t, int) {
               return Req{"GET", "/api/v1/desk/tickets/" + s.fresh_ticket(t), ""};
             }},
            {"GET /api/v1/desk/inbox",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/desk/inbox", "", {}, false};
             }},
            {"GET /api/v1/desk/faq",
             [](RoleTableServer& s, auto&, int) {
               s.fresh_faq();
               return Req{"GET", "/api/v1/desk/faq?q=申込", "", {}, false};
             }},
            {"POST /api/v1/desk/faq",
             [](auto&, auto&, int) {
               return Req{"POST", "/api/v1/desk/faq", kSampleFaq, {}, false};
             }},
            {"GET /api/v1/desk/faq/{id}",
             [](RoleTableServer& s, auto&, int) {
               return Req{"GET", "/api/v1/desk/faq/" + s.fresh_faq(), "", {}, false};
             }},
            {"PUT /api/v1/desk/faq/{id}",
             [](RoleTableServer& s, auto&, int) {
               return Req{"PUT", "/api/v1/desk/faq/" + s.fresh_faq(), kSampleFaq, {}, false};
             }},
            {"DELETE /api/v1/desk/faq/{id}",
             [](RoleTableServer& s, auto&, int) {
               return Req{"DELETE", "/api/v1/desk/faq/" + s.fresh_faq(), "", {}, false};
             }},
            {"GET /api/v1/technicians",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/technicians", "", {}, false};
             }},
            {"PUT /api/v1/technicians/{id}",
             [](RoleTableServer& s, auto&, int) {
               return Req{
                   "PUT", "/api/v1/technicians/" + s.technician_id_, kTechnicianProfile, {}, false};
             }},
            {"GET /api/v1/dispatches",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/dispatches?customer_id=" + t.customer, ""};
             }},
            {"POST /api/v1/dispatches",
             [](RoleTableServer& s, Tenant& t, int) {
               return Req{"POST", "/api/v1/dispatches",
                          json::serialize(json::object{{"ticket_id", s.fresh_ticket(t)}})};
             }},
            {"GET /api/v1/dispatches/{id}",
             [](RoleTableServer& s, Tenant& t, int) {
               return Req{"GET", "/api/v1/dispatches/" + s.fresh_dispatch(t, "remote"), ""};
             }},
            {"GET /api/v1/device-packages",
             [](RoleTableServer& s, auto&, int) {
               s.put_repo_file("mimamori.gpg", "key");
               s.put_repo_file("mimamori.fpr", "0123456789ABCDEF0123456789ABCDEF01234567\n");
               return Req{"GET", "/api/v1/device-packages", "", {}, false};
             }},
            {"GET /download/{file}",
             [](RoleTableServer& s, auto&, int) {
               s.put_repo_file("mimamori.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n");
               return Req{"GET", "/download/mimamori.asc", "", {}, false};
             }},
            {"GET /download/deb/{file}",
             [](RoleTableServer& s, auto&, int) {
               s.put_repo_file("deb/Release", "Origin: mimamori\n");
               return Req{"GET", "/download/deb/Release", "", {}, false};
             }},
            {"GET /api/v1/plans",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/plans", "", {}, false};
             }},
            {"GET /api/v1/plans/{id}",
             [](RoleTableServer& s, auto&, int) {
               return Req{"GET", "/api/v1/plans/" + s.plan_id(), "", {}, false};
             }},
            {"POST /api/v1/plans/check",
             [](auto&, auto&, int) {
               return Req{"POST", "/api/v1/plans/check", kSamplePlan, {}, false};
             }},
            {"POST /api/v1/subsidy",
             [](auto&, auto&, int) {
               return Req{
                   "POST", "/api/v1/subsidy", R"({"year":2025,"monthly_fee":9800})", {}, false};
             }},
            {"GET /api/v1/admin/self-check",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/admin/self-check", "", {}, false};
             }},
            {"GET /api/v1/catalogue",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/catalogue?format=csv", "", {}, false};
             }},
            {"POST /api/v1/plans",
             [](auto&, auto&, int) {
               return Req{"POST", "/api/v1/plans", kSamplePlan, {}, false};
             }},
            {"PUT /api/v1/plans/{id}",
             [](RoleTableServer& s, auto&, int) {
               auto id = s.admin_->post("/api/v1/plans", kSamplePlan).str("id");
               return Req{"PUT", "/api/v1/plans/" + id, kSamplePlan, {}, false};
             }},
            {"GET /api/v1/contracts",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/contracts?customer_id=" + t.customer, ""};
             }},
            {"GET /api/v1/contracts/{id}",
             [](RoleTableServer& s, Tenant& t, int) {
               auto id = s.admin_->post("/api/v1/contracts", s.contract_body(t)).str("id");
               return Req{"GET", "/api/v1/contracts/" + id, ""};
             }},
            {"GET /api/v1/customers/{id}/reports",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers/" + t.customer + "/reports", ""};
             }},
            {"GET /api/v1/customers/{id}/reports/{month}",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers/" + t.customer + "/reports/2026-11", ""};
             }},
            {"POST /api/v1/customers/{id}/reports/{month}/send",
             [](auto&, Tenant& t, int) {
               return Req{"POST", "/api/v1/customers/" + t.customer + "/reports/2026-11/send",
                          "{}"};
             }},
            {"GET /api/v1/customers/{id}/report-mail",
             [](auto&, Tenant& t, int) {
               return Req{"GET", "/api/v1/customers/" + t.customer + "/report-mail", ""};
             }},
            {"PUT /api/v1/customers/{id}/report-mail",
             [](auto&, Tenant& t, int) {
               return Req{"PUT", "/api/v1/customers/" + t.customer + "/report-mail",
                          R"({"enabled":true})"};
             }},
            {"GET /api/v1/stats/ipa",
             [](auto&, auto&, int) {
               return Req{"GET", "/api/v1/stats/ipa?from=2026-11-01&to=2026-11-30", "", {}, false};
             }},
            {"POST /api/v1/contracts",
             [](RoleTableServer& s, Tenant& t, int) {
               return Req{"POST", "/api/v1/contracts", s.contract_body(t)};
             }},
            {"GET /download/rpm/{file}",
             [](RoleTableServer& s, auto&, int) {
               s.put_repo_file("rpm/mimamori-agent-0.1.0-1.x86_64.rpm", "rpm");
               return Req{"GET", "/download/rpm/mimamori-agent-0.1.0-1.x86_64.rpm", "", {}, false};
             }},
        };
    // Insurance: a contract with a policy, claims of a fresh incident (drafts where changed).
    if (route == "GET /api/v1/contracts/{id}/policy") {
      return Req{"GET", "/api/v1/contracts/" + policy_contract(target) + "/policy", ""};
    }
    if (route == "PUT /api/v1/contracts/{id}/policy") {
      auto id = admin_->post("/api/v1/contracts", contract_body(target)).str("id");
      return Req{"PUT", "/api/v1/contracts/" + id + "/policy", kSamplePolicy};
    }
    if (route.find("/claims") != std::string::npos) {
      policy_contract(target);
      const std::string incident = fresh_incident(target);
      const std::string base = "/api/v1/incidents/" + incident + "/claims";
      if (route == "POST /api/v1/incidents/{id}/claims") return Req{"POST", base, "{}"};
      auto c = admin_->post(base, "{}");
      EXPECT_EQ(c.status, 201) << c.body;
      const std::string claim = base + "/" + c.str("id");
      if (route == "GET /api/v1/incidents/{id}/claims") return Req{"GET", base, ""};
      if (route == "POST /api/v1/incidents/{id}/claims/{claim}/lines") {
        return Req{"POST", claim + "/lines", kSampleLine};
      }
      if (route == "DELETE /api/v1/incidents/{id}/claims/{claim}/lines/{line}") {
        auto l = admin_->post(claim + "/lines", kSampleLine);
        EXPECT_EQ(l.status, 201) << l.body;
        const json::value j = l.json();
        return Req{
            "DELETE",
            claim + "/lines/" + std::string(j.at("lines").as_array()[0].at("id").as_string()), ""};
      }
      if (route == "POST /api/v1/incidents/{id}/claims/{claim}/status") {
        EXPECT_EQ(admin_->post(claim + "/lines", kSampleLine).status, 201);
        return Req{"POST", claim + "/status", R"({"status":"submitted"})"};
      }
      if (route == "GET /api/v1/incidents/{id}/claims/{claim}/package") {
        return Req{"GET", claim + "/package", ""};
      }
      if (route == "GET /api/v1/incidents/{id}/claims/{claim}/package.pdf") {
        return Req{"GET", claim + "/package.pdf", ""};
      }
      return Req{"GET", claim, ""};
    }
    // Accounts: the caller's own token and password; another user of the target customer.
    if (route == "GET /api/v1/tokens") return Req{"GET", "/api/v1/tokens", "", {}, false};
    if (route == "DELETE /api/v1/tokens/{id}") {
      const bool person = column != "device" && column != "anyone";
      const Client& owner = person ? session(column) : *admin_;
      const std::string name = fmt::format("del{}", k);
      EXPECT_EQ(owner.post("/api/v1/tokens", json::serialize(json::object{{"name", name}})).status,
                201);
      std::string id = "none";
      const json::value listed = owner.get("/api/v1/tokens").json();
      for (const auto& x : listed.at("items").as_array()) {
        if (x.at("name").as_string() == name) id = std::string(x.at("id").as_string());
      }
      return Req{"DELETE", "/api/v1/tokens/" + id, "", {}, false};
    }
    if (route == "POST /api/v1/me/password") {
      // The same password again, so that the role's next login still works; the request ends
      // the role's other sessions, so it runs in a session of its own.
      const std::string password =
          column == "provider_admin" ? TestServer::kAdminPassword : "role table pass 1";
      return Req{
          "POST",
          "/api/v1/me/password",
          json::serialize(json::object{{"current_password", password}, {"new_password", password}}),
          {},
          false,
          true};
    }
    if (route.rfind("POST /api/v1/users/{id}/", 0) == 0) {
      const std::string action = route.substr(std::string("POST /api/v1/users/{id}/").size());
      auto u = create_user(fmt::format("target{}@roles.example.jp", k), "customer_user",
                           target.customer);
      EXPECT_EQ(u.status, 201) << u.body;
      std::string body = "{}";
      if (action == "password") body = R"({"password":"a new password 12"})";
      if (action == "enable") {
        EXPECT_EQ(admin_->post("/api/v1/users/" + u.str("id") + "/disable").status, 200);
      }
      return Req{"POST", "/api/v1/users/" + u.str("id") + "/" + action, body};
    }
    if (route.rfind("POST /api/v1/incidents/{id}/", 0) == 0) {
      const std::string action = route.substr(route.rfind('/') + 1);
      if (action == "acknowledge") return incident_action(action, "{}");
      if (action == "assign") {
        return incident_action(action, json::serialize(json::object{{"user_id", analyst_id_}}));
      }
      if (action == "comment") return incident_action(action, R"({"text":"確認しました"})");
      if (action == "status") return incident_action(action, R"({"status":"in_progress"})");
      if (action == "close") return incident_action(action, R"({"resolution":"誤検知"})");
      if (action == "confirm") return incident_action(action, R"({"state":"seen"})");
      if (action == "reopen") {
        auto id = fresh_incident(target);
        EXPECT_EQ(
            admin_->post("/api/v1/incidents/" + id + "/close", R"({"resolution":"x"})").status,
            200);
        return Req{"POST", "/api/v1/incidents/" + id + "/reopen", R"({"reason":"再発"})"};
      }
    }
    if (route.rfind("POST /api/v1/desk/tickets/{id}/", 0) == 0) {
      const std::string action = route.substr(route.rfind('/') + 1);
      const std::string id = fresh_ticket(target);
      const std::string path = "/api/v1/desk/tickets/" + id + "/" + action;
      if (action == "reply" || action == "note") return Req{"POST", path, R"({"text":"回答"})"};
      if (action == "assign") {
        return Req{"POST", path, json::serialize(json::object{{"user_id", analyst_id_}})};
      }
      if (action == "priority") return Req{"POST", path, R"({"priority":"high"})"};
      if (action == "category") return Req{"POST", path, R"({"category":"申込方法"})"};
      if (action == "reopen") {
        EXPECT_EQ(admin_->post("/api/v1/desk/tickets/" + id + "/resolve").status, 200);
        return Req{"POST", path, R"({"reason":"未解決"})"};
      }
      return Req{"POST", path, "{}"};  // wait, resolve, close
    }
    if (route == "GET /api/v1/desk/tickets/{id}/attachments/{file}") {
      const std::string id = fresh_ticket(target);
      const json::value t = admin_->get("/api/v1/desk/tickets/" + id).json();
      const auto& files = t.at("messages").as_array()[0].at("attachments").as_array();
      return Req{"GET",
                 fmt::format("/api/v1/desk/tickets/{}/attachments/{}", id,
                             std::string(files[0].at("id").as_string())),
                 ""};
    }
    if (route.rfind("POST /api/v1/dispatches/{id}/", 0) == 0) {
      const std::string action = route.substr(route.rfind('/') + 1);
      static const std::map<std::string, std::pair<std::string, std::string>> kFromAndBody = {
          {"remote", {"remote", R"({"text":"再起動","outcome":"unresolved"})"}},
          {"onsite", {"remote", R"({"prefecture":"東京都"})"}},
          {"depart", {"assigned", "{}"}},
          {"arrive", {"departed", "{}"}},
          {"work", {"arrived", "{}"}},
          {"finish", {"working", "{}"}},
          {"action", {"working", R"({"text":"LANケーブル交換"})"}},
          {"signoff", {"finished", R"({"name":"山田"})"}},
          {"evidence", {"assigned", "photo"}}};
      auto it = kFromAndBody.find(action);
      if (it == kFromAndBody.end()) {
        ADD_FAILURE() << route << ": no sample request in role_table_test.cc";
        return Req{"GET", "/none", ""};
      }
      const std::string id = fresh_dispatch(target, it->second.first);
      const std::string path = "/api/v1/dispatches/" + id + "/" + action;
      return Req{"POST", action == "evidence" ? path + "?filename=a.jpg" : path, it->second.second};
    }
    if (route == "GET /api/v1/dispatches/{id}/evidence/{file}") {
      const std::string id = fresh_dispatch(target, "assigned");
      auto f = admin_->post("/api/v1/dispatches/" + id + "/evidence?filename=a.jpg", "photo");
      EXPECT_EQ(f.status, 201) << f.body;
      return Req{"GET", "/api/v1/dispatches/" + id + "/evidence/" + f.str("id"), ""};
    }
    if (route == "POST /api/v1/desk/inbox/{id}/assign") {
      // A mail from a sender nobody knows, taken as the listener takes it.
      auto m = accept_mail(ts_->server->store(), DeskOptions{},
                           fmt::format("From: stranger{}@example.net\r\nSubject: hello\r\n\r\n"
                                       "body\r\n",
                                       k));
      EXPECT_TRUE(m.ok() && m->kind == "triage");
      return Req{"POST", "/api/v1/desk/inbox/" + (m.ok() ? m->id : std::string("none")) + "/assign",
                 json::serialize(json::object{{"customer_id", target.customer}})};
    }
    auto it = kSamples.find(route);
    if (it == kSamples.end()) {
      ADD_FAILURE() << route << ": no sample request in role_table_test.cc";
      return Req{"GET", "/none", ""};
    }
    return it->second(*this, target, k);
  }

  /// A new public FAQ entry, made by the provider admin.
  std::string fresh_faq() {
    auto r = admin_->post("/api/v1/desk/faq", kSampleFaq);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  /// A registered plan (made once).
  const std::string& plan_id() {
    if (plan_id_.empty()) {
      auto r = admin_->post("/api/v1/plans", kSamplePlan);
      EXPECT_EQ(r.status, 201) << r.body;
      plan_id_ = r.str("id");
    }
    return plan_id_;
  }

  /// A contract of tenant `t` on the registered plan.
  std::string contract_body(Tenant& t) {
    return json::serialize(json::object{{"customer_id", t.customer},
                                        {"plan_id", plan_id()},
                                        {"devices", 1},
                                        {"start_date", "2026-04-01"},
                                        {"insurance_policy", "CY-0001"},
                                        {"insurance_until", "2027-03-31"}});
  }

  /// A contract of tenant `t` with an insurance policy (made once per tenant).
  std::string policy_contract(Tenant& t) {
    auto it = policy_contracts_.find(t.customer);
    if (it != policy_contracts_.end()) return it->second;
    auto id = admin_->post("/api/v1/contracts", contract_body(t)).str("id");
    auto r = admin_->send("PUT", "/api/v1/contracts/" + id + "/policy", kSamplePolicy);
    EXPECT_EQ(r.status, 200) << r.body;
    policy_contracts_[t.customer] = id;
    return id;
  }

  /// Writes a file of the device repository (<data_dir>/repo) for the /download/ samples.
  void put_repo_file(const std::string& name, const std::string& text) {
    std::filesystem::path p = std::filesystem::path(ts_->dir) / "repo" / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  /// The session of `column`, logged in once.
  const Client& session(const std::string& column) {
    auto it = sessions_.find(column);
    if (it == sessions_.end()) it = sessions_.emplace(column, client_for(column)).first;
    return it->second;
  }

  /// A client acting as `column`, in a new session.
  Client client_for(const std::string& column) {
    if (column == "provider_admin") return ts_->admin();
    Client c(ts_->base);
    if (column == "anyone") return c;
    if (column == "device") {
      c.set_bearer(tenants_[0].token);
      return c;
    }
    auto r = c.login(column + "@roles.example.jp", "role table pass 1");
    EXPECT_EQ(r.status, 200) << column << " " << r.body;
    return c;
  }

  /// The status of `column` making the sample request of `route` on tenant `t`'s objects, and
  /// whether the answer shows that tenant (a list filtered to the caller's own shows nothing
  /// of another's).
  std::pair<int, bool> attempt(const std::string& column, const std::string& route, Tenant& t,
                               bool* bound) {
    Req q = sample(route, column, t);
    *bound = q.bound;
    Client fresh = q.own_session ? client_for(column) : Client(ts_->base);
    const Client& c = q.own_session ? fresh : session(column);
    Response r = column == "device" || column == "anyone" || q.method == "GET"
                     ? c.call(q.method, q.path, q.body, q.headers)
                     : c.send(q.method, q.path, q.body);
    EXPECT_LT(r.status, 500) << column << " " << q.method << " " << q.path << ": " << r.body;
    // A request that ends the caller's other sessions ends the cached one too.
    if (q.own_session) sessions_.erase(column);
    if (q.own_session && column == "provider_admin") *admin_ = ts_->admin();
    const bool shows = q.method != "GET" || r.body.find(t.customer) != std::string::npos;
    return {static_cast<int>(r.status), shows};
  }

  static bool denied(int status) { return status == 401 || status == 403 || status == 404; }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  Tenant tenants_[2];
  int counter_ = 0;
  std::string analyst_id_, plan_id_, technician_id_;
  bool technician_profile_ = false;
  std::map<std::string, Client> sessions_;
  std::map<std::string, std::string> policy_contracts_;  // customer → contract with a policy
};

TEST_P(RoleTableServer, EveryCellIsWhatTheServerDoes) {
  std::string error;
  auto rows = read_table(&error);
  ASSERT_TRUE(error.empty()) << error;
  std::string observed;
  for (const auto& row : rows) {
    for (const auto& route : row.routes) {
      std::string line = "| `" + route + "` |";
      for (const auto& column : columns()) {
        const std::string& want = row.cells.at(column);
        bool bound = true;
        const auto [own, own_shows] = attempt(column, route, tenants_[0], &bound);
        const auto [other, other_shows] = attempt(column, route, tenants_[1], &bound);
        (void)own_shows;
        std::string got = denied(own)                                  ? "—"
                          : !bound || column.rfind("customer", 0) != 0 ? "all"
                          : denied(other) || !other_shows              ? "own"
                                                                       : "all";
        if (want == "self" && got == "all") got = "self";
        line += " " + got + " |";
        EXPECT_EQ(got, want) << route << " as " << column << ": own customer → " << own
                             << ", another customer → " << other
                             << " (docs/security.md:" << row.line << ")";
        // A provider admin may do everything a route offers: its sample must succeed, or the
        // sample is wrong and the row proves nothing.
        if (column == "provider_admin" && want == "all") {
          EXPECT_LT(own, 300) << route << ": the sample request fails for provider_admin";
        }
      }
      observed += line + "\n";
    }
  }
  // On a failure, or with MIMAMORI_ROLE_TABLE_PRINT set, the table as observed, to compare.
  if (::testing::Test::HasFailure() || std::getenv("MIMAMORI_ROLE_TABLE_PRINT")) {
    std::cerr << "observed:\n" << observed;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RoleTableServer, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
