// Delivery isolation: one customer's receivers that accept and never answer hold at most their
// own share of the delivery pool; another customer's mail still goes out and the 監視停止 watch
// keeps its cadence while they hang. Claimed messages are never lost when delivery stops.

#include <gtest/gtest.h>

#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "notify/notify.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

TEST(NotifyDestination, HostAndPortOfTheUrl) {
  EXPECT_EQ(url_destination("https://Hooks.Slack.com/services/T/B/x"), "hooks.slack.com:443");
  EXPECT_EQ(url_destination("http://127.0.0.1:8080/a?b#c"), "127.0.0.1:8080");
  EXPECT_EQ(url_destination("http://user:pw@example.jp/x"), "example.jp:80");
  EXPECT_EQ(url_destination("https://[2001:db8::1]:8443/x"), "[2001:db8::1]:8443");
  EXPECT_EQ(url_destination("https://[2001:db8::1]/x"), "[2001:db8::1]:443");
  EXPECT_EQ(url_destination("smtp://relay.example.jp"), "relay.example.jp:25");
  EXPECT_EQ(url_destination("smtps://relay.example.jp"), "relay.example.jp:465");
  EXPECT_EQ(url_destination("not a url"), "");
  NotifyOptions o;
  o.smtp_url = "smtp://relay.example.jp:587";
  OutboxMessage m;
  m.kind = "email";
  m.target = "a@b.example.jp";
  EXPECT_EQ(delivery_destination(m, o), "smtp relay.example.jp:587");
  m.kind = "line";
  EXPECT_EQ(delivery_destination(m, o), "api.line.me:443");
  m.kind = "webhook";
  m.target = "https://hooks.example.jp:444/a";
  EXPECT_EQ(delivery_destination(m, o), "hooks.example.jp:444");
}

class NotifyIsolation : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = fresh_store_url(GetParam(), &why);
    if (url_.empty()) GTEST_SKIP() << why;
    ASSERT_GT(smtp_.port, 0) << "python3-aiosmtpd missing?";
  }

  // Enrolls a device of `customer`; its token.
  std::string enroll(const Client& admin, const std::string& base, const std::string& customer,
                     std::string_view hostname) {
    auto code = admin.post("/api/v1/customers/" + customer + "/enrollment-codes").str("code");
    return Client(base)
        .call("POST", "/api/v1/enroll",
              json::serialize(json::object{
                  {"code", code}, {"hostname", hostname}, {"kind", "sensor"}, {"version", "1"}}),
              {"Content-Type: application/json"})
        .str("device_token");
  }

  std::string url_;
  Sink smtp_{"smtp"};
};

TEST_P(NotifyIsolation, HangingWebhooksDelayNeitherAnotherCustomersMailNorTheWatch) {
  auto ts = TestServer::start(url_, [&](ServerOptions& o) {
    o.deliver_notifications = true;
    o.background_interval_ms = 100;
    o.notify.smtp_url = fmt::format("smtp://127.0.0.1:{}", smtp_.port);
    o.notify.smtp_from = "soc@example.jp";
    o.notify.timeout_s = 120;  // longer than the test: no send ends by timing out meanwhile
    o.notify.workers = 4;
    o.notify.per_destination = 2;
    o.notify.allow_destinations = {"127.0.0.1"};  // the sinks are on loopback
  });
  ASSERT_TRUE(ts);
  // Declared after the server, so killed before it stops: the hanging sends then end at once.
  Sink hang("hang");
  ASSERT_GT(hang.port, 0);
  auto admin = ts->admin();
  auto cus = [&](std::string_view n) {
    return admin.post("/api/v1/customers", json::serialize(json::object{{"name", n}})).str("id");
  };
  const std::string a = cus("A"), b = cus("B"), c = cus("C");
  for (int i = 0; i < 10; ++i) {
    auto r = admin.post("/api/v1/channels",
                        json::serialize(json::object{
                            {"customer_id", a},
                            {"kind", "webhook"},
                            {"target", fmt::format("http://127.0.0.1:{}/a{}", hang.port, i)},
                            {"secret", "k"}}));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  ASSERT_EQ(admin
                .post("/api/v1/channels",
                      json::serialize(json::object{
                          {"customer_id", b}, {"kind", "email"}, {"target", "owner@b.example.jp"}}))
                .status,
            201);
  const std::string tok_a = enroll(admin, ts->base, a, "gw-a"),
                    tok_b = enroll(admin, ts->base, b, "gw-b"),
                    tok_c = enroll(admin, ts->base, c, "gw-c");
  ASSERT_FALSE(tok_a.empty());
  Client anon(ts->base);
  const auto alert = alert_line(1, "ET MALWARE Cobalt Strike Beacon", "192.168.5.5", "203.0.113.5");
  // A's incident first: its ten webhook messages are the oldest due.
  ASSERT_EQ(ingest(anon, tok_a, 1, {alert}).status, 200);
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (hang.files().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_FALSE(hang.files().empty()) << "the hanging receiver was never reached";

  // B's mail goes out while A's receiver hangs.
  ASSERT_EQ(ingest(anon, tok_b, 1, {alert}).status, 200);
  deadline = std::chrono::steady_clock::now() + 30s;
  while (smtp_.files().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  auto mails = smtp_.files();
  ASSERT_EQ(mails.size(), 1u) << "B's mail waited for A's hanging webhooks";
  EXPECT_NE(mails[0].find("X-Envelope-To: owner@b.example.jp"), std::string::npos);

  // The watch too: C's silent device becomes 監視停止 during the hang.
  auto st = ts->server->store().transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q("UPDATE devices SET last_seen = 0, heartbeat_limit_s = 1 WHERE customer_id = $1",
                  {sp(c)});
    return r.ok() ? Status{} : Status{r.error()};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  deadline = std::chrono::steady_clock::now() + 30s;
  bool stopped = false;
  while (!stopped && std::chrono::steady_clock::now() < deadline) {
    auto items = admin.get("/api/v1/incidents?category=monitoring_stopped&customer_id=" + c)
                     .json()
                     .at("items")
                     .as_array();
    stopped = !items.empty();
    if (!stopped) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(stopped) << "no 監視停止 incident while the webhooks hang";

  // All of that while the hang lasted: none of A's messages has been answered or has failed,
  // and no more than two were ever sent to the one destination at a time.
  auto items = admin.get("/api/v1/notifications?customer_id=" + a).json().at("items").as_array();
  ASSERT_EQ(items.size(), 10u);
  int sending = 0;
  for (const auto& m : items) {
    EXPECT_NE(m.at("status"), "sent") << json::serialize(m);
    EXPECT_TRUE(m.at("last_error").as_string().empty()) << json::serialize(m);
    sending += m.at("status") == "sending";
  }
  EXPECT_EQ(sending, 2);
  EXPECT_EQ(hang.files().size(), 2u);
}

TEST_P(NotifyIsolation, StoppingLosesNoClaimedMessage) {
  Sink hang("hang");
  ASSERT_GT(hang.port, 0);
  auto ts = TestServer::start(url_, [&](ServerOptions& o) { o.deliver_notifications = false; });
  ASSERT_TRUE(ts);
  auto& store = ts->server->store();
  const int64_t now = core::now().micros;
  auto st = store.transact(true, [&](SqlTx& tx) -> Status {
    for (int i = 0; i < 5; ++i) {
      auto r = tx.q(
          "INSERT INTO outbox (id, customer_id, channel_id, kind, target, idempotency_key, "
          "subject, body, status, next_attempt_at, created_at) VALUES ($1, NULL, 'chn', "
          "'webhook', $2, $3, 's', 'b', 'pending', $4, $4)",
          {sp(fmt::format("msg_{}", i)), sp(fmt::format("http://127.0.0.1:{}/x", hang.port)),
           sp(fmt::format("k{}", i)), sp(now + i)});
      if (!r.ok()) return r.error();
    }
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  // A claimed message given back is due again, its attempt not counted.
  auto one = claim_outbox(store, now + 10, 1);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  ASSERT_TRUE(release_outbox(store, (*one)[0].id, now + 10).ok());
  NotifyOptions o;
  o.allow_destinations = {"127.0.0.1"};  // the sink is on loopback
  o.timeout_s = 2;
  o.workers = 3;
  o.per_destination = 2;
  {
    DeliveryPool pool(store, o, 50);
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (hang.files().size() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(hang.files().size(), 2u);
    pool.stop();  // the two hanging sends end by their timeout and are recorded
  }
  auto items = list_outbox(store, Principal::system("test"), "", 100);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 5u);
  int retried = 0, untouched = 0;
  for (const auto& m : *items) {
    EXPECT_EQ(m.status, "pending") << m.id;  // nothing left 'sending', nothing lost
    if (m.attempts == 1 && !m.last_error.empty()) ++retried;
    if (m.attempts == 0 && m.last_error.empty()) ++untouched;
  }
  EXPECT_EQ(retried, 2);
  EXPECT_EQ(untouched, 3);
}

TEST(NotifyIsolationConfig, PoolBoundsAreCheckedAtStartUp) {
  for (auto [yaml, key] :
       {std::pair{"notify:\n  workers: 0\n", "'notify.workers'"},
        {"notify:\n  workers: 1000\n", "'notify.workers'"},
        {"notify:\n  per_destination: 0\n", "'notify.per_destination'"},
        {"notify:\n  workers: 2\n  per_destination: 3\n", "'notify.per_destination'"},
        {"notify:\n  timeout_s: 0\n", "'notify.timeout_s'"}}) {
    auto cfg = core::Config::from_string(yaml, "server.yaml");
    try {
      (void)load_server_options(cfg);
      ADD_FAILURE() << "accepted " << yaml;
    } catch (const core::ConfigError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("server.yaml"), std::string::npos) << what;
      EXPECT_NE(what.find(key), std::string::npos) << what;
    }
  }
  auto good = load_server_options(
      core::Config::from_string("notify:\n  workers: 8\n  per_destination: 3\n", "s.yaml"));
  EXPECT_EQ(good.notify.workers, 8);
  EXPECT_EQ(good.notify.per_destination, 3);
  EXPECT_EQ(load_server_options(core::Config::from_string("", "s.yaml")).notify.workers, 4);
  // Options built in code are checked too.
  std::string why;
  ServerOptions o;
  o.store.url = fresh_store_url("sqlite", &why);
  o.tls = false;
  o.port = 0;
  o.notify.workers = 0;
  auto s = Server::start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("notify.workers"), std::string::npos) << s.error().message;
}

INSTANTIATE_TEST_SUITE_P(Backends, NotifyIsolation, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace mimamori::server::testing
