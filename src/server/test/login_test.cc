// Login hardening: a TOTP code is accepted once (also by two concurrent logins), a value from
// the request cannot forge a line of the server log, failed logins are throttled per (account,
// source address) with the same answer for known and unknown e-mails, and password checks run
// on their own bounded pool, never on the HTTP threads.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "secrets.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

class Login : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ts_ = TestServer::start(url);
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    ASSERT_FALSE(admin_->cookie.empty());
  }

  // Enables TOTP for the admin with the code of the step before `t`'s and returns the secret.
  // Waits first if `t` is close to a step's end, so that a test's codes stay in the window.
  std::string enable_totp(int64_t* t) {
    *t = core::now().seconds();
    if (*t % 30 >= 22) {
      std::this_thread::sleep_for(std::chrono::seconds(31 - *t % 30));
      *t = core::now().seconds();
    }
    auto begin = admin_->post("/api/v1/me/totp");
    EXPECT_EQ(begin.status, 200) << begin.body;
    std::string secret = begin.str("secret");
    auto ok = admin_->post("/api/v1/me/totp/confirm",
                           json::serialize(json::object{{"code", totp_code(secret, *t - 30)}}));
    EXPECT_EQ(ok.status, 200) << ok.body;
    return secret;
  }

  long login(std::string_view totp) {
    Client c(ts_->base);
    return c.login(TestServer::kAdminEmail, TestServer::kAdminPassword, totp).status;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(Login, TotpCodeIsAcceptedOnceAndNeverAfterANewerOne) {
  int64_t t = 0;
  std::string secret = enable_totp(&t);
  // The enrolment's code is used up by the confirmation.
  EXPECT_EQ(login(totp_code(secret, t - 30)), 401);
  EXPECT_EQ(login(totp_code(secret, t)), 200);
  EXPECT_EQ(login(totp_code(secret, t)), 401) << "the same code twice";
  EXPECT_EQ(login(totp_code(secret, t + 30)), 200);
  EXPECT_EQ(login(totp_code(secret, t)), 401) << "an older step's code after a newer one";
}

TEST_P(Login, ConcurrentLoginsWithOneTotpCodeLetOneIn) {
  int64_t t = 0;
  std::string secret = enable_totp(&t);
  std::string code = totp_code(secret, t);
  std::atomic<int> in{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      long status = login(code);
      if (status == 200) ++in;
      if (status == 401) ++refused;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(in.load(), 1);
  EXPECT_EQ(refused.load(), 3);
}

TEST_P(Login, ARequestValueCannotForgeALogLine) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l: %v");
  spdlog::default_logger()->sinks().push_back(sink);
  Client c(ts_->base);
  auto r = c.login("eve@example.jp\n2026-01-01 fake line\r\x1b[2J", "wrong");
  spdlog::default_logger()->sinks().pop_back();
  EXPECT_EQ(r.status, 401);
  std::string text = out.str();
  EXPECT_NE(text.find("eve@example.jp\\n2026-01-01 fake line\\r\\x1b[2J"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\n2026-01-01"), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  // Each message is one line, and each line starts with its level.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.rfind("warning: ", 0) == 0 || line.rfind("error: ", 0) == 0) << line;
  }
}

// A customer user to attack: a customer and the user, created by the admin.
std::string make_user(const Client& admin, const std::string& email, const std::string& password) {
  auto c = admin.post("/api/v1/customers", R"({"name":"C社"})");
  EXPECT_EQ(c.status, 201) << c.body;
  auto u = admin.post("/api/v1/users", json::serialize(json::object{{"email", email},
                                                                    {"password", password},
                                                                    {"role", "customer_admin"},
                                                                    {"customer_id", c.str("id")}}));
  EXPECT_EQ(u.status, 201) << u.body;
  return u.str("id");
}

constexpr const char* kOwner = "owner@c.example.jp";
constexpr const char* kOwnerPassword = "owner password 1234";

TEST_P(Login, KnownAndUnknownAccountsAnswerAlikeAlsoWhenThrottled) {
  make_user(*admin_, kOwner, kOwnerPassword);
  Client c(ts_->base);
  // Seven wrong passwords, then the right one (for the unknown e-mail: the owner's password).
  auto attempts = [&](const char* email) {
    std::vector<Response> out;
    for (int i = 0; i < 7; ++i) out.push_back(c.login(email, "wrong password 1"));
    out.push_back(c.login(email, kOwnerPassword));
    return out;
  };
  auto known = attempts(kOwner), unknown = attempts("nobody@c.example.jp");
  for (size_t i = 0; i < known.size(); ++i) {
    EXPECT_EQ(known[i].status, unknown[i].status) << "attempt " << i;
    EXPECT_EQ(known[i].body, unknown[i].body) << "attempt " << i;
    EXPECT_EQ(known[i].header("retry-after"), unknown[i].header("retry-after")) << "attempt " << i;
    // Five failures are answered as such; after them each attempt must wait, the right
    // password too.
    EXPECT_EQ(known[i].status, i < 5 ? 401 : 429) << "attempt " << i << ": " << known[i].body;
    if (i >= 5) {
      EXPECT_FALSE(known[i].header("retry-after").empty());
    }
  }
}

TEST_P(Login, AnAttackerElsewhereDoesNotLockTheOwnerOut) {
  make_user(*admin_, kOwner, kOwnerPassword);
  Store& store = ts_->server->store();
  int refused = 0, throttled = 0;
  for (int i = 0; i < 10; ++i) {
    auto r = store.login(kOwner, "guess " + std::to_string(i), "", "203.0.113.9");
    ASSERT_FALSE(r.ok());
    if (r.error().code == 401) ++refused;
    if (r.error().code == 429) ++throttled;
  }
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(throttled, 5);
  // The attacker's address is throttled, right password or not.
  int64_t retry = 0;
  auto again = store.login(kOwner, kOwnerPassword, "", "203.0.113.9", &retry);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, 429);
  EXPECT_GE(retry, 1);
  // The owner, from another address, logs in at once.
  auto owner = store.login(kOwner, kOwnerPassword, "", "198.51.100.20");
  EXPECT_TRUE(owner.ok()) << owner.error().message;
}

TEST_P(Login, SuccessResetsTheCounter) {
  make_user(*admin_, kOwner, kOwnerPassword);
  Store& store = ts_->server->store();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 4; ++i) {
      auto r = store.login(kOwner, "wrong", "", "192.0.2.5");
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().code, 401) << "round " << round << " attempt " << i;
    }
    auto ok = store.login(kOwner, kOwnerPassword, "", "192.0.2.5");
    EXPECT_TRUE(ok.ok()) << "round " << round << ": " << ok.error().message;
  }
}

TEST_P(Login, ThrottleCountersExpire) {
  ts_.reset();
  std::string why;
  ts_ = TestServer::start(fresh_store_url(GetParam(), &why),
                          [](ServerOptions& o) { o.store.login_failure_window_s = 5; });
  ASSERT_TRUE(ts_);
  admin_ = std::make_unique<Client>(ts_->admin());
  make_user(*admin_, kOwner, kOwnerPassword);
  Store& store = ts_->server->store();
  for (int i = 0; i < 6; ++i) (void)store.login(kOwner, "wrong", "", "192.0.2.6");
  auto throttled = store.login(kOwner, kOwnerPassword, "", "192.0.2.6");
  ASSERT_FALSE(throttled.ok());
  EXPECT_EQ(throttled.error().code, 429);
  // Past the window the failures are forgotten.
  std::this_thread::sleep_for(std::chrono::milliseconds(5500));
  auto ok = store.login(kOwner, kOwnerPassword, "", "192.0.2.6");
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

TEST_P(Login, TheOwnerIsMailedOnceWhenThrottlingStarts) {
  make_user(*admin_, kOwner, kOwnerPassword);
  Store& store = ts_->server->store();
  auto mails = [&] {
    auto r = admin_->get("/api/v1/notifications?limit=1000");
    EXPECT_EQ(r.status, 200) << r.body;
    int n = 0;
    const auto doc = r.json();
    for (const auto& m : doc.at("items").as_array()) {
      if (m.at("target") == kOwner && m.at("kind") == "email") ++n;
    }
    return n;
  };
  for (int i = 0; i < 4; ++i) (void)store.login(kOwner, "wrong", "", "203.0.113.1");
  EXPECT_EQ(mails(), 0) << "not throttled yet";
  for (int i = 0; i < 6; ++i) (void)store.login(kOwner, "wrong", "", "203.0.113.1");
  for (int i = 0; i < 10; ++i) (void)store.login(kOwner, "wrong", "", "203.0.113.2");
  EXPECT_EQ(mails(), 1) << "one mail for the account, however many addresses";
  // An unknown e-mail is throttled alike, and nobody is mailed.
  for (int i = 0; i < 10; ++i) (void)store.login("ghost@c.example.jp", "wrong", "", "203.0.113.1");
  EXPECT_EQ(mails(), 1);
  // After the owner's next login, a new attack is told again.
  ASSERT_TRUE(store.login(kOwner, kOwnerPassword, "", "198.51.100.3").ok());
  for (int i = 0; i < 6; ++i) (void)store.login(kOwner, "wrong", "", "203.0.113.4");
  EXPECT_EQ(mails(), 2);
}

TEST_P(Login, PasswordChecksBeyondThePoolQueueGet429) {
  ts_.reset();
  std::string why;
  ts_ = TestServer::start(fresh_store_url(GetParam(), &why), [](ServerOptions& o) {
    o.password_hash_threads = 1;
    o.password_hash_queue = 1;
  });
  ASSERT_TRUE(ts_);
  std::atomic<int> refused{0}, busy{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Client c(ts_->base);
      auto r = c.login(fmt::format("nobody{}@c.example.jp", i), "wrong password");
      if (r.status == 401) {
        ++refused;
      } else if (r.status == 429 && r.header("retry-after") == "1" &&
                 r.body.find("busy") != std::string::npos) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(busy.load(), 1);
  EXPECT_GE(refused.load(), 2);
  EXPECT_EQ(other.load(), 0);
}

TEST_P(Login, HealthAnswersWhileLoginsAreChecked) {
  ts_.reset();
  std::string why;
  // One HTTP thread: were a password checked on it, /health would wait for every login.
  ts_ = TestServer::start(fresh_store_url(GetParam(), &why), [](ServerOptions& o) {
    o.threads = 1;
    o.password_hash_threads = 1;
  });
  ASSERT_TRUE(ts_);
  using Clock = std::chrono::steady_clock;
  std::mutex mu;
  Clock::time_point last_login{};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      Client c(ts_->base);
      auto r = c.login(fmt::format("nobody{}@c.example.jp", i), "wrong password");
      EXPECT_EQ(r.status, 401) << r.body;
      std::lock_guard lock(mu);
      last_login = std::max(last_login, Clock::now());
    });
  }
  // Let the logins reach the server first (ordering, not a measure of speed).
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto health = Client(ts_->base).get("/api/v1/health");
  const auto health_done = Clock::now();
  for (auto& t : threads) t.join();
  EXPECT_EQ(health.status, 200);
  EXPECT_LT(health_done, last_login) << "/health waited for the password checks";
}

INSTANTIATE_TEST_SUITE_P(Backends, Login, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
