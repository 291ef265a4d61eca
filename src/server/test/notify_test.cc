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
#include "secrets.h"
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

}  // namespace
}  // namespace mimamori::server::testing
