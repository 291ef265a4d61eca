// Account routes: revoking API tokens, ending a user's sessions, disabling a user, changing
// one's own password and a provider_admin resetting another's. Each is allowed to the roles
// that may, denied (and audited) to a role that may not, and a customer role gets 404 for
// another tenant's users and tokens. User e-mails are mailboxes: no control characters.

#include <gtest/gtest.h>

#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

constexpr const char* kPassword = "user password 1234";

struct Person {
  std::string id, email;
  Client client;
};

class Accounts : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url);
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    ASSERT_FALSE(admin_->cookie.empty());
    a_ = customer("A社");
    b_ = customer("B社");
  }

  std::string customer(std::string_view name) {
    auto r = admin_->post("/api/v1/customers", json::serialize(json::object{{"name", name}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("id");
  }

  // A user of `customer_id` (a provider user when empty), logged in.
  Person person(const std::string& email, const std::string& role, const std::string& customer_id) {
    json::object o{{"email", email}, {"password", kPassword}, {"role", role}};
    if (!customer_id.empty()) o["customer_id"] = customer_id;
    auto r = admin_->post("/api/v1/users", json::serialize(o));
    EXPECT_EQ(r.status, 201) << r.body;
    Person p{r.str("id"), email, Client(ts_->base)};
    EXPECT_EQ(p.client.login(email, kPassword).status, 200);
    return p;
  }

  // Outcomes of the audit entries of `action` on `object_id`.
  std::vector<std::string> audited(const std::string& action, const std::string& object_id) {
    auto r = admin_->get("/api/v1/audit?limit=1000&action=" + action);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const auto doc = r.json();
    for (const auto& e : doc.at("items").as_array()) {
      if (e.at("object_id").as_string() == object_id) out.emplace_back(e.at("outcome").as_string());
    }
    return out;
  }

  static bool has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string a_, b_;
};

TEST_P(Accounts, ApiTokensAreListedAndRevoked) {
  auto alice = person("alice@a.example.jp", "customer_user", a_);
  auto amy = person("amy@a.example.jp", "customer_admin", a_);
  auto bob = person("bob@b.example.jp", "customer_admin", b_);
  auto t1 = alice.client.post("/api/v1/tokens", R"({"name":"one"})");
  auto t2 = alice.client.post("/api/v1/tokens", R"({"name":"two"})");
  ASSERT_EQ(t1.status, 201);
  ASSERT_EQ(t2.status, 201);
  auto list = alice.client.get("/api/v1/tokens");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto doc = list.json();
  const auto& items = doc.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  // Ids as listed; the secret is never listed.
  EXPECT_EQ(list.body.find(t1.str("token").substr(t1.str("token").find('.') + 1)),
            std::string::npos);
  std::string id1, id2;
  for (const auto& t : items) (t.at("name") == "one" ? id1 : id2) = t.at("id").as_string();
  Client by_token(ts_->base);
  by_token.set_bearer(t1.str("token"));
  EXPECT_EQ(by_token.get("/api/v1/me").status, 200);

  // Another tenant's admin: the token does not exist for them. The own tenant's admin may not
  // revoke a colleague's token either (provider_admin only).
  EXPECT_EQ(bob.client.send("DELETE", "/api/v1/tokens/" + id1).status, 404);
  EXPECT_EQ(amy.client.send("DELETE", "/api/v1/tokens/" + id1).status, 404);
  EXPECT_EQ(bob.client.get("/api/v1/tokens?user_id=" + alice.id).status, 404);
  EXPECT_EQ(by_token.get("/api/v1/me").status, 200);

  auto own = alice.client.send("DELETE", "/api/v1/tokens/" + id1);
  EXPECT_EQ(own.status, 200) << own.body;
  EXPECT_EQ(by_token.get("/api/v1/me").status, 401) << "a revoked token works no more";
  auto any = admin_->send("DELETE", "/api/v1/tokens/" + id2);
  EXPECT_EQ(any.status, 200) << any.body;
  auto after = admin_->get("/api/v1/tokens?user_id=" + alice.id);
  ASSERT_EQ(after.status, 200) << after.body;
  const auto after_doc = after.json();
  for (const auto& t : after_doc.at("items").as_array()) EXPECT_TRUE(t.at("revoked").as_bool());
  EXPECT_EQ(admin_->send("DELETE", "/api/v1/tokens/tok_nothere").status, 404);
  auto a = audited("api_token.revoke", id1);
  EXPECT_TRUE(has(a, "ok"));
  EXPECT_TRUE(has(a, "denied"));
}

TEST_P(Accounts, SessionsOfAUserEnd) {
  auto alice = person("alice@a.example.jp", "customer_user", a_);
  auto ann = person("ann@a.example.jp", "customer_user", a_);
  auto amy = person("amy@a.example.jp", "customer_admin", a_);
  auto bob = person("bob@b.example.jp", "customer_admin", b_);
  const std::string path = "/api/v1/users/" + alice.id + "/sessions/revoke";
  EXPECT_EQ(bob.client.post(path).status, 404) << "another tenant's user";
  EXPECT_EQ(ann.client.post(path).status, 403) << "a colleague without admin rights";
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 200);
  auto r = amy.client.post(path);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json().at("sessions_ended").as_int64(), 1);
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 401);
  // Oneself, and a provider_admin anyone.
  ASSERT_EQ(alice.client.login(alice.email, kPassword).status, 200);
  EXPECT_EQ(alice.client.post(path).status, 200);
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 401);
  ASSERT_EQ(alice.client.login(alice.email, kPassword).status, 200);
  EXPECT_EQ(admin_->post(path).status, 200);
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 401);
  auto a = audited("user.sessions.revoke", alice.id);
  EXPECT_TRUE(has(a, "ok"));
  EXPECT_TRUE(has(a, "denied"));
}

TEST_P(Accounts, ADisabledUserIsOutAtOnce) {
  auto alice = person("alice@a.example.jp", "customer_user", a_);
  auto ann = person("ann@a.example.jp", "customer_user", a_);
  auto amy = person("amy@a.example.jp", "customer_admin", a_);
  auto bob = person("bob@b.example.jp", "customer_admin", b_);
  auto analyst = person("ana@soc.example.jp", "analyst", "");
  auto token = alice.client.post("/api/v1/tokens", R"({"name":"cli"})").str("token");
  Client by_token(ts_->base);
  by_token.set_bearer(token);
  const std::string disable = "/api/v1/users/" + alice.id + "/disable";
  EXPECT_EQ(bob.client.post(disable).status, 404) << "another tenant's user";
  EXPECT_EQ(ann.client.post(disable).status, 403);
  EXPECT_EQ(analyst.client.post(disable).status, 403);
  EXPECT_EQ(amy.client.post("/api/v1/users/" + analyst.id + "/disable").status, 404)
      << "a provider user is not the customer's";
  EXPECT_EQ(amy.client.post("/api/v1/users/" + amy.id + "/disable").status, 400) << "oneself";
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 200);

  auto r = amy.client.post(disable);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 401) << "the session ended";
  EXPECT_EQ(by_token.get("/api/v1/me").status, 401) << "the API token stopped working";
  auto disabled_of = [&](const Client& c, const std::string& id) {
    auto list = c.get("/api/v1/users?customer_id=" + a_).json();
    for (const auto& u : list.at("items").as_array()) {
      if (u.at("id").as_string() == id) return u.at("disabled").as_bool();
    }
    ADD_FAILURE() << id << " not listed";
    return false;
  };
  EXPECT_TRUE(disabled_of(amy.client, alice.id)) << "the list shows the user disabled";
  EXPECT_FALSE(disabled_of(amy.client, ann.id));
  Client again(ts_->base);
  auto login = again.login(alice.email, kPassword);
  EXPECT_EQ(login.status, 401);
  EXPECT_EQ(login.body, again.login("nobody@a.example.jp", kPassword).body)
      << "a disabled account answers like a wrong password";

  EXPECT_EQ(bob.client.post("/api/v1/users/" + alice.id + "/enable").status, 404);
  r = admin_->post("/api/v1/users/" + alice.id + "/enable");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(again.login(alice.email, kPassword).status, 200);
  EXPECT_EQ(by_token.get("/api/v1/me").status, 200);
  EXPECT_FALSE(disabled_of(*admin_, alice.id)) << "enabled again";
  EXPECT_FALSE(by_token.get("/api/v1/me").json().at("disabled").as_bool());
  auto a = audited("user.disable", alice.id);
  EXPECT_TRUE(has(a, "ok"));
  EXPECT_TRUE(has(a, "denied"));
  EXPECT_TRUE(has(audited("user.enable", alice.id), "ok"));
}

TEST_P(Accounts, OwnPasswordChangeEndsTheOtherSessions) {
  auto alice = person("alice@a.example.jp", "customer_user", a_);
  Client second(ts_->base);
  ASSERT_EQ(second.login(alice.email, kPassword).status, 200);
  const std::string path = "/api/v1/me/password";
  auto wrong = alice.client.post(
      path, R"({"current_password":"not the password","new_password":"a new password 5678"})");
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  auto shortp = alice.client.post(
      path,
      json::serialize(json::object{{"current_password", kPassword}, {"new_password", "short"}}));
  EXPECT_EQ(shortp.status, 400) << shortp.body;
  EXPECT_EQ(second.get("/api/v1/me").status, 200) << "nothing changed yet";
  auto ok = alice.client.post(
      path, json::serialize(json::object{{"current_password", kPassword},
                                         {"new_password", "a new password 5678"}}));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 200) << "this session stays";
  EXPECT_EQ(second.get("/api/v1/me").status, 401) << "the other session ended";
  Client c(ts_->base);
  EXPECT_EQ(c.login(alice.email, kPassword).status, 401);
  EXPECT_EQ(c.login(alice.email, "a new password 5678").status, 200);
  auto a = audited("user.password.change", alice.id);
  EXPECT_TRUE(has(a, "ok"));
  EXPECT_TRUE(has(a, "denied"));
}

TEST_P(Accounts, AProviderAdminResetsAnothersPassword) {
  auto alice = person("alice@a.example.jp", "customer_user", a_);
  auto amy = person("amy@a.example.jp", "customer_admin", a_);
  auto bob = person("bob@b.example.jp", "customer_admin", b_);
  auto analyst = person("ana@soc.example.jp", "analyst", "");
  const std::string path = "/api/v1/users/" + alice.id + "/password";
  const std::string body = R"({"password":"reset password 9999"})";
  EXPECT_EQ(bob.client.post(path, body).status, 404) << "another tenant's user";
  EXPECT_EQ(amy.client.post(path, body).status, 403) << "customer_admin: provider_admin only";
  EXPECT_EQ(analyst.client.post(path, body).status, 403);
  EXPECT_EQ(admin_->post(path, R"({"password":"short"})").status, 400);
  EXPECT_EQ(admin_->post("/api/v1/users/usr_nothere/password", body).status, 404);
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 200);
  Client c(ts_->base);
  EXPECT_EQ(c.login(alice.email, kPassword).status, 200) << "nothing changed yet";
  auto r = admin_->post(path, body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(alice.client.get("/api/v1/me").status, 401) << "the sessions ended";
  EXPECT_EQ(c.get("/api/v1/me").status, 401);
  EXPECT_EQ(Client(ts_->base).login(alice.email, kPassword).status, 401);
  EXPECT_EQ(Client(ts_->base).login(alice.email, "reset password 9999").status, 200);
  auto a = audited("user.password.reset", alice.id);
  EXPECT_TRUE(has(a, "ok"));
  EXPECT_TRUE(has(a, "denied"));
}

TEST_P(Accounts, UserEmailsWithControlCharactersAreRefused) {
  for (std::string email :
       {std::string("eve@a.example.jp\r\nRCPT TO:<x@evil.example>"),
        std::string("eve@a.example.jp\n"), std::string("e\x01ve@a.example.jp"),
        std::string("eve\t@a.example.jp"), std::string("eve@a.exa\x7fmple.jp")}) {
    auto r = admin_->post("/api/v1/users", json::serialize(json::object{{"email", email},
                                                                        {"password", kPassword},
                                                                        {"role", "customer_user"},
                                                                        {"customer_id", a_}}));
    EXPECT_EQ(r.status, 400) << r.body;
  }
  auto list = admin_->get("/api/v1/users?customer_id=" + a_);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.json().at("items").as_array().empty()) << list.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, Accounts, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
