// The console's customer and device lists, on SQLite and PostgreSQL: the customer search
// (GET /api/v1/customers?q=) finds by name or id and a customer role still sees only its own
// organisation; the lists read in index order page exactly as one long sorted listing; a
// customer's prefecture changes after creation (PATCH /api/v1/customers/{id}), provider_admin
// only, audited, another tenant's customer a 404 for customer roles.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

class ConsoleLists : public ::testing::TestWithParam<std::string> {
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

  void device(const std::string& customer, const std::string& hostname) {
    auto code = admin_->post("/api/v1/customers/" + customer + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(json::object{
            {"code", code}, {"hostname", hostname}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    EXPECT_EQ(e.status, 201) << e.body;
  }

  // A logged-in user of `role` in `customer`.
  Client user(const std::string& role, const std::string& customer) {
    const std::string email = role + "@a.example.jp";
    auto r = admin_->post("/api/v1/users",
                          json::serialize(json::object{{"email", email},
                                                       {"role", role},
                                                       {"customer_id", customer},
                                                       {"password", "customer password 1"}}));
    EXPECT_EQ(r.status, 201) << r.body;
    Client u(ts_->base);
    EXPECT_EQ(u.login(email, "customer password 1").status, 200);
    return u;
  }

  static std::vector<std::string> field(const Client& c, const std::string& path, const char* key) {
    auto r = c.get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    std::vector<std::string> out;
    if (r.status != 200) return out;
    const auto doc = r.json();
    for (const auto& x : doc.at("items").as_array()) {
      out.emplace_back(x.at(key).as_string());
    }
    return out;
  }

  size_t denials(const std::string& actor, const std::string& action) {
    AuditQuery q;
    q.actor = actor;
    q.action = action;
    q.outcome = "denied";
    auto audit = ts_->server->store().list_audit(Principal::system("test"), q);
    EXPECT_TRUE(audit.ok());
    return audit.ok() ? audit->size() : 0;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(ConsoleLists, CustomerSearchByNameOrIdKeepsEachTenantToItself) {
  const std::string a = customer("Minato Trading 港商事"), b = customer("minato 設計"),
                    c = customer("渋谷100%_食堂");
  // By name (ASCII letters in any case, Japanese as is), sorted by name then id.
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=MINATO", "id"), (std::vector<std::string>{a, b}));
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=" + url_encode("港商"), "id"),
            (std::vector<std::string>{a}));
  // % and _ are the characters themselves, not patterns.
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=" + url_encode("100%_"), "id"),
            (std::vector<std::string>{c}));
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=" + url_encode("%"), "id"),
            (std::vector<std::string>{c}));
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=" + url_encode("0%_"), "id"),
            (std::vector<std::string>{c}));
  EXPECT_TRUE(field(*admin_, "/api/v1/customers?q=" + url_encode("1_0"), "id").empty());
  // By id (or a part of it).
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=" + b, "id"), (std::vector<std::string>{b}));
  EXPECT_TRUE(field(*admin_, "/api/v1/customers?q=nothing-like-it", "id").empty());
  // Pages of one with a filter are the filtered listing.
  EXPECT_EQ(field(*admin_, "/api/v1/customers?q=minato&limit=1&offset=1", "id"),
            (std::vector<std::string>{b}));

  // A customer role sees its own organisation only, whatever it searches for.
  for (std::string role : {"customer_admin", "customer_user"}) {
    SCOPED_TRACE(role);
    Client u = user(role, a);
    EXPECT_EQ(field(u, "/api/v1/customers", "id"), (std::vector<std::string>{a}));
    EXPECT_EQ(field(u, "/api/v1/customers?q=minato", "id"), (std::vector<std::string>{a}));
    auto r = u.get("/api/v1/customers?q=" + b);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.find(b), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("設計"), std::string::npos) << r.body;
    EXPECT_TRUE(field(u, "/api/v1/customers?q=" + url_encode("食堂"), "id").empty());
  }
}

TEST_P(ConsoleLists, CustomersAndDevicesPageAsOneSortedListing) {
  std::vector<std::string> cs;
  for (const char* name : {"ちば電機", "Aoba", "あおば", "Chiba", "aoba"})
    cs.push_back(customer(name));
  for (size_t i = 0; i < cs.size(); ++i) {
    for (const char* host : {"pc-2", "gw", "pc-10"}) {
      if (i % 2 == 0 || host[0] != 'p') device(cs[i], host);
    }
  }
  // Customers by name, then id; pages of 2 put together are the long listing.
  auto names = field(*admin_, "/api/v1/customers?limit=1000", "name");
  ASSERT_EQ(names.size(), 5u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()))
      << json::serialize(json::value_from(names));
  auto all = field(*admin_, "/api/v1/customers?limit=1000", "id");
  std::vector<std::string> paged;
  for (int off = 0; off < 8; off += 2) {
    for (auto& id : field(*admin_, fmt::format("/api/v1/customers?limit=2&offset={}", off), "id")) {
      paged.push_back(id);
    }
  }
  EXPECT_EQ(paged, all);

  // Devices by customer, host name, id; of one customer only when asked.
  auto r = admin_->get("/api/v1/devices?limit=1000");
  ASSERT_EQ(r.status, 200);
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<std::string> devs;
  const auto doc = r.json();
  for (const auto& x : doc.at("items").as_array()) {
    keys.emplace_back(x.at("customer_id").as_string(), x.at("hostname").as_string());
    devs.emplace_back(x.at("id").as_string());
  }
  ASSERT_EQ(keys.size(), 3u * 3 + 2u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  std::vector<std::string> dpaged;
  for (int off = 0; off < 14; off += 4) {
    for (auto& id : field(*admin_, fmt::format("/api/v1/devices?limit=4&offset={}", off), "id")) {
      dpaged.push_back(id);
    }
  }
  EXPECT_EQ(dpaged, devs);
  EXPECT_EQ(field(*admin_, "/api/v1/devices?customer_id=" + cs[0], "hostname"),
            (std::vector<std::string>{"gw", "pc-10", "pc-2"}));
  EXPECT_EQ(field(*admin_, "/api/v1/devices?customer_id=" + cs[1], "hostname"),
            (std::vector<std::string>{"gw"}));
}

TEST_P(ConsoleLists, PrefectureChangesAfterCreationByTheProviderAdminOnly) {
  const std::string a = customer("大阪の会社"), b = customer("よその会社");
  auto r = admin_->send("PATCH", "/api/v1/customers/" + a, R"({"prefecture":"大阪府"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("prefecture"), "大阪府");
  EXPECT_EQ(admin_->get("/api/v1/customers/" + a).str("prefecture"), "大阪府");
  AuditQuery q;
  q.action = "customer.prefecture";
  q.outcome = "ok";
  auto audit = ts_->server->store().list_audit(Principal::system("test"), q);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_NE(audit->front().after.find("大阪府"), std::string::npos);

  // Bad input: named, nothing changed.
  for (const auto& [body, what] : std::vector<std::pair<std::string, std::string>>{
           {R"({"prefecture":"大阪"})", "member 'prefecture'"},
           {R"({"prefecture":3})", "prefecture"},
           {R"({"name":"新しい名前","prefecture":"京都府"})", "member 'name'"},
           {R"({})", "member 'prefecture' is missing"}}) {
    SCOPED_TRACE(body);
    auto bad = admin_->send("PATCH", "/api/v1/customers/" + a, body);
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_NE(bad.body.find(what), std::string::npos) << bad.body;
  }
  EXPECT_EQ(admin_->get("/api/v1/customers/" + a).str("prefecture"), "大阪府");
  EXPECT_EQ(admin_->get("/api/v1/customers/" + a).str("name"), "大阪の会社");
  EXPECT_EQ(admin_->send("PATCH", "/api/v1/customers/cus_nothing", R"({"prefecture":""})").status,
            404);
  // '' clears it.
  EXPECT_EQ(
      admin_->send("PATCH", "/api/v1/customers/" + a, R"({"prefecture":""})").str("prefecture"),
      "");
  ASSERT_EQ(admin_->send("PATCH", "/api/v1/customers/" + a, R"({"prefecture":"大阪府"})").status,
            200);

  // Customer roles: another tenant's customer is not found (and the attempt audited); their
  // own is refused; nothing changes.
  for (std::string role : {"customer_admin", "customer_user"}) {
    SCOPED_TRACE(role);
    Client u = user(role, a);
    const std::string email = role + "@a.example.jp";
    auto other = u.send("PATCH", "/api/v1/customers/" + b, R"({"prefecture":"京都府"})");
    EXPECT_EQ(other.status, 404) << other.body;
    EXPECT_EQ(other.body.find("よその"), std::string::npos);
    auto own = u.send("PATCH", "/api/v1/customers/" + a, R"({"prefecture":"京都府"})");
    EXPECT_EQ(own.status, 403) << own.body;
    EXPECT_EQ(denials(email, "customer.prefecture"), 2u);
  }
  // Provider roles other than provider_admin are refused too.
  const std::string email = "analyst@soc.example.jp";
  ASSERT_EQ(
      admin_
          ->post("/api/v1/users",
                 json::serialize(json::object{
                     {"email", email}, {"role", "analyst"}, {"password", "analyst password 1"}}))
          .status,
      201);
  Client analyst(ts_->base);
  ASSERT_EQ(analyst.login(email, "analyst password 1").status, 200);
  EXPECT_EQ(analyst.send("PATCH", "/api/v1/customers/" + b, R"({"prefecture":"京都府"})").status,
            403);
  EXPECT_EQ(admin_->get("/api/v1/customers/" + a).str("prefecture"), "大阪府");
  EXPECT_EQ(admin_->get("/api/v1/customers/" + b).str("prefecture"), "");
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsoleLists, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
