// Login hardening: a TOTP code is accepted once (also by two concurrent logins), and a value
// from the request cannot forge a line of the server log.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
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

INSTANTIATE_TEST_SUITE_P(Backends, Login, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
