// Notifications: payload shapes per channel kind, and real delivery through the outbox to an
// SMTP sink (aiosmtpd) and a webhook receiver on loopback, with retries and tenant routing.

#include "notify/notify.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "secrets.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

OutboxMessage message() {
  OutboxMessage m;
  m.id = "msg_1";
  m.customer_id = "cus_1";
  m.idempotency_key = "inc_1:chn_1:opened";
  m.subject = "[見守り][critical] ランサムウェアの疑い";
  m.body = "何が起きたか: …";
  m.target = "https://hooks.example/x";
  m.secret = "s3cret";
  return m;
}

TEST(NotifyPayloads, ShapesPerChannelKind) {
  auto m = message();
  auto slack = json::parse(slack_request(m).body);
  EXPECT_EQ(slack.at("text").as_string(), m.subject + "\n" + m.body);
  auto teams = json::parse(teams_request(m).body);
  EXPECT_EQ(teams.at("type"), "message");
  const auto& att = teams.at("attachments").as_array().at(0);
  EXPECT_EQ(att.at("contentType"), "application/vnd.microsoft.card.adaptive");
  EXPECT_EQ(att.at("content").at("type"), "AdaptiveCard");
  EXPECT_EQ(att.at("content").at("body").as_array().at(0).at("text").as_string(), m.subject);
  auto line_m = m;
  line_m.target = "U0123456789abcdef";
  auto line = line_request(line_m, "https://api.line.me/v2/bot/message/push");
  EXPECT_EQ(json::parse(line.body).at("to"), "U0123456789abcdef");
  EXPECT_EQ(json::parse(line.body).at("messages").as_array().at(0).at("type"), "text");
  EXPECT_NE(std::find(line.headers.begin(), line.headers.end(), "Authorization: Bearer s3cret"),
            line.headers.end());
  auto hook = webhook_request(m, 1764171000);
  EXPECT_EQ(json::parse(hook.body).at("idempotency_key").as_string(), m.idempotency_key);
  std::string sig =
      "X-Mimamori-Signature: sha256=" + hmac_sha256_hex("s3cret", "1764171000." + hook.body);
  EXPECT_NE(std::find(hook.headers.begin(), hook.headers.end(), sig), hook.headers.end());
  auto mail = email_message(m, "soc@example.jp", 1764171000);
  EXPECT_NE(mail.find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_NE(mail.find("Content-Type: text/plain; charset=UTF-8"), std::string::npos);
  EXPECT_NE(mail.find("Date: Wed, 26 Nov 2025 15:30:00 +0000"), std::string::npos) << mail;
}

TEST(NotifyDelivery, OutboxDeliversToSmtpAndWebhookPerCustomerAndRetries) {
  Sink smtp("smtp"), hook_a("http"), hook_b("http");
  ASSERT_GT(smtp.port, 0) << "python3-aiosmtpd missing?";
  ASSERT_GT(hook_a.port, 0);
  // The sinks answer before the server starts.
  auto probe = Client(fmt::format("http://127.0.0.1:{}", hook_b.port)).call("POST", "/probe", "x");
  ASSERT_EQ(probe.status, 200) << "webhook sink not answering on " << hook_b.port;
  std::filesystem::remove(hook_b.dir + "/req-1.json");
  std::string why;
  auto ts = TestServer::start(fresh_store_url("sqlite", &why), [&](ServerOptions& o) {
    o.deliver_notifications = true;
    o.notify.smtp_url = fmt::format("smtp://127.0.0.1:{}", smtp.port);
    o.notify.smtp_from = "soc@example.jp";
    // The webhook sinks are on loopback, which only an allowance reaches (the SMTP relay is
    // the provider's own and always allowed).
    o.notify.allow_destinations = {"127.0.0.1"};
    o.background_interval_ms = 100;
  });
  ASSERT_TRUE(ts);
  auto admin = ts->admin();
  auto cus = [&](std::string_view n) {
    return admin.post("/api/v1/customers", json::serialize(json::object{{"name", n}})).str("id");
  };
  auto a = cus("A"), b = cus("B");
  auto channel = [&](const std::string& c, std::string_view kind, std::string target) {
    auto r = admin.post(
        "/api/v1/channels",
        json::serialize(json::object{
            {"customer_id", c}, {"kind", kind}, {"target", target}, {"secret", "k-" + c}}));
    EXPECT_EQ(r.status, 201) << r.body;
  };
  channel(a, "email", "owner@a.example.jp");
  channel(a, "webhook", fmt::format("http://127.0.0.1:{}/a", hook_a.port));
  channel(b, "webhook", fmt::format("http://127.0.0.1:{}/b", hook_b.port));
  // A channel that cannot be reached: retried with backoff, status visible.
  channel(a, "slack", "http://127.0.0.1:1/unreachable");
  auto code = admin.post("/api/v1/customers/" + a + "/enrollment-codes").str("code");
  Client anon(ts->base);
  auto tok =
      anon.call("POST", "/api/v1/enroll",
                json::serialize(json::object{
                    {"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
                {"Content-Type: application/json"})
          .str("device_token");
  ASSERT_EQ(ingest(anon, tok, 1,
                   {alert_line(1, "ET MALWARE Cobalt Strike Beacon", "192.168.5.5", "203.0.113.5")})
                .status,
            200);
  json::array items;
  for (int i = 0; i < 100; ++i) {
    items = admin.get("/api/v1/notifications").json().at("items").as_array();
    int done = 0;
    for (auto& m : items)
      done += m.at("status") == "sent" || m.at("status") == "failed" ||
              (m.at("status") == "pending" && m.at("attempts").as_int64() > 0);
    if (items.size() == 3 && done == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(items.size(), 3u);  // B's channel gets nothing about A's incident
  for (auto& m : items) {
    if (m.at("kind") == "slack") {
      EXPECT_EQ(m.at("status"), "pending");
      EXPECT_GE(m.at("attempts").as_int64(), 1);
      EXPECT_FALSE(m.at("last_error").as_string().empty());
    } else {
      EXPECT_EQ(m.at("status"), "sent") << json::serialize(m);
    }
  }
  auto mails = smtp.files();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].find("X-Envelope-To: owner@a.example.jp"), std::string::npos);
  EXPECT_NE(mails[0].find("Subject: =?UTF-8?B?"), std::string::npos);
  auto reqs = hook_a.files();
  ASSERT_EQ(reqs.size(), 1u);
  auto req = json::parse(reqs[0]);
  std::string body(req.at("body").as_string());
  const auto& h = req.at("headers").as_object();
  std::string ts_hdr(h.at("X-Mimamori-Timestamp").as_string());
  EXPECT_EQ(h.at("X-Mimamori-Signature").as_string(),
            "sha256=" + hmac_sha256_hex("k-" + a, ts_hdr + "." + body));
  EXPECT_EQ(json::parse(body).at("customer_id").as_string(), a);
  EXPECT_TRUE(hook_b.files().empty());
}

// E-mail addresses that could carry SMTP commands or headers (CR/LF) or are no mailbox at all.
const std::vector<std::string>& bad_targets() {
  static const std::vector<std::string> kBad = {
      "a@b.example\r\nRCPT TO:<x@evil.example>",
      "a@b.example\nBcc: x@evil.example",
      "a@b.example\rDATA",
      std::string("a@b.example\0x", 13),
      "a b@b.example",
      "owner.b.example",
      "a@b.example.",
      "<a@b.example>",
      "a@b.example>, x@evil.example",
      std::string(65, 'a') + "@b.example",
  };
  return kBad;
}

class NotifyAddress : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    ASSERT_GT(smtp_.port, 0) << "python3-aiosmtpd missing?";
    // Delivery is driven by the test (deliver_due), so nothing races it.
    ts_ = TestServer::start(url, [&](ServerOptions& o) {
      o.deliver_notifications = false;
      o.notify.smtp_url = fmt::format("smtp://127.0.0.1:{}", smtp_.port);
      o.notify.smtp_from = "soc@example.jp";
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    customer_ =
        admin_->post("/api/v1/customers", json::serialize(json::object{{"name", "A"}})).str("id");
    ASSERT_FALSE(customer_.empty());
  }

  Response save_email_channel(const std::string& target) {
    return admin_->post("/api/v1/channels",
                        json::serialize(json::object{
                            {"customer_id", customer_}, {"kind", "email"}, {"target", target}}));
  }

  Sink smtp_{"smtp"};
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string customer_;
};

TEST_P(NotifyAddress, SavingAnEmailChannelWithABadTargetIs400AndStoresNothing) {
  for (const auto& target : bad_targets()) {
    auto r = save_email_channel(target);
    EXPECT_EQ(r.status, 400) << json::serialize(json::value(target)) << ": " << r.body;
    EXPECT_NE(r.body.find("'target'"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("not an e-mail address"), std::string::npos) << r.body;
  }
  auto list = admin_->get("/api/v1/channels?customer_id=" + customer_).json();
  EXPECT_TRUE(list.at("items").as_array().empty()) << json::serialize(list);
  // A customer's own admin is refused alike.
  auto u = admin_->post("/api/v1/users",
                        json::serialize(json::object{{"email", "boss@a.example.jp"},
                                                     {"role", "customer_admin"},
                                                     {"customer_id", customer_},
                                                     {"password", "customer password 1"}}));
  ASSERT_EQ(u.status, 201) << u.body;
  Client boss(ts_->base);
  ASSERT_EQ(boss.login("boss@a.example.jp", "customer password 1").status, 200);
  auto r =
      boss.post("/api/v1/channels",
                json::serialize(json::object{
                    {"customer_id", customer_}, {"kind", "email"}, {"target", bad_targets()[0]}}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(admin_->get("/api/v1/channels?customer_id=" + customer_)
                  .json()
                  .at("items")
                  .as_array()
                  .empty());
  // Good forms are still saved.
  EXPECT_EQ(save_email_channel("owner@a.example.jp").status, 201);
  EXPECT_EQ(save_email_channel("\"soc desk\"@a.example.jp").status, 201);
  EXPECT_EQ(save_email_channel("soc@[192.0.2.25]").status, 201);
}

TEST_P(NotifyAddress, QueuedMessageWithABadTargetIsNotSentAndSaysWhy) {
  ASSERT_EQ(save_email_channel("owner@a.example.jp").status, 201);
  auto& store = ts_->server->store();
  const int64_t now = core::now().micros;
  // Rows as an older server would have stored them, before the check at save time.
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    int n = 0;
    for (std::string target : {std::string("owner@a.example.jp"), bad_targets()[0]}) {
      ++n;
      auto r = tx.q(
          "INSERT INTO outbox (id, customer_id, channel_id, kind, target, idempotency_key, "
          "subject, body, status, next_attempt_at, created_at) VALUES ($1, $2, 'chn_old', "
          "'email', $3, $4, '[見守り] テスト', '本文', 'pending', $5, $5)",
          {sp(fmt::format("msg_{}", n)), sp(customer_), sp(target), sp(fmt::format("k{}", n)),
           sp(now)});
      if (!r.ok()) return r.error();
    }
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  NotifyOptions o;
  o.smtp_url = fmt::format("smtp://127.0.0.1:{}", smtp_.port);
  o.smtp_from = "soc@example.jp";
  o.timeout_s = 5;
  Notifier notifier(o);
  EXPECT_EQ(notifier.deliver_due(store, now), 1);
  auto items =
      admin_->get("/api/v1/notifications?customer_id=" + customer_).json().at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  for (auto& m : items) {
    if (m.at("id") == "msg_1") {
      EXPECT_EQ(m.at("status"), "sent") << json::serialize(m);
    } else {
      // Refused for good at the first attempt: no retry would make it an address.
      EXPECT_EQ(m.at("status"), "failed") << json::serialize(m);
      EXPECT_EQ(m.at("attempts").as_int64(), 1);
      std::string err(m.at("last_error").as_string());
      EXPECT_NE(err.find("not an e-mail address"), std::string::npos) << err;
      EXPECT_NE(err.find("control character 0x0d"), std::string::npos) << err;
      EXPECT_EQ(err.find('\r'), std::string::npos);
      EXPECT_EQ(err.find('\n'), std::string::npos);
    }
  }
  // Exactly the one good recipient was ever named to the relay.
  for (int i = 0; i < 20 && smtp_.files().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto rcpts = smtp_.recipients();
  std::string named;
  for (const auto& r : rcpts) named += json::serialize(json::value(r)) + " ";
  ASSERT_EQ(rcpts.size(), 1u) << named;
  EXPECT_EQ(rcpts[0], "owner@a.example.jp");
  auto mails = smtp_.files();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_NE(mails[0].find("\r\nTo: owner@a.example.jp\r\n"), std::string::npos) << mails[0];
  EXPECT_EQ(mails[0].find("evil"), std::string::npos) << mails[0];
}

INSTANTIATE_TEST_SUITE_P(Backends, NotifyAddress, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(NotifyAddressConfig, BadSmtpFromIsAConfigErrorAtStartUp) {
  for (std::string_view from : {"soc@example.jp\\r\\nRCPT TO:<x@evil.example>", "soc",
                                "soc@example.jp>", "soc @example.jp"}) {
    auto cfg = core::Config::from_string(fmt::format("notify:\n  smtp_from: \"{}\"\n", from),
                                         "server.yaml");
    try {
      (void)load_server_options(cfg);
      ADD_FAILURE() << "accepted notify.smtp_from " << from;
    } catch (const core::ConfigError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("server.yaml"), std::string::npos) << what;
      EXPECT_NE(what.find("'notify.smtp_from'"), std::string::npos) << what;
      EXPECT_NE(what.find("not an e-mail address"), std::string::npos) << what;
    }
  }
  auto good = core::Config::from_string("notify:\n  smtp_from: \"soc@example.jp\"\n", "s.yaml");
  EXPECT_EQ(load_server_options(good).notify.smtp_from, "soc@example.jp");
  // Options built in code are checked too, before anything is opened.
  std::string why;
  ServerOptions o;
  o.store.url = fresh_store_url("sqlite", &why);
  o.tls = false;
  o.port = 0;
  o.listen = "127.0.0.1";
  o.deliver_notifications = false;
  o.notify.smtp_from = "soc@example.jp\r\nRCPT TO:<x@evil.example>";
  auto s = Server::start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("notify.smtp_from"), std::string::npos) << s.error().message;
}

TEST(NotifyPayloads, EmailHeadersNeverCarryALineBreakFromStoredText) {
  auto m = message();
  m.target = "owner@a.example.jp";
  m.subject = "[見守り] 件名\r\nBcc: x@evil.example\r\n\r\n本文の乗っ取り";
  m.id = "msg_1\r\nBcc: y@evil.example";
  auto mail = email_message(m, "soc@example.jp", 1764171000);
  auto head = mail.substr(0, mail.find("\r\n\r\n"));
  EXPECT_EQ(head.find("\r\nBcc:"), std::string::npos) << head;
  // Every header line ends in CRLF; a continuation line starts with a space.
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_LE(line.size(), 76u) << line;
    if (eol == std::string::npos) break;
    pos = eol + 2;
  }
}

}  // namespace
}  // namespace mimamori::server::testing
