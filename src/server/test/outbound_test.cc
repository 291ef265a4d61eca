// Where notifications may go: only public addresses unless notify.allow_destinations names a
// destination (checked on the address connected to, so a name resolving to loopback is caught
// too), no redirect is followed, and a receiver's answer never reaches last_error. Who manages
// which channels: customers their own e-mail and LINE channels, the provider the rest.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/config.h"
#include "notify/notify.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

// A loopback receiver that answers every request with one fixed answer and counts them.
class Responder {
 public:
  explicit Responder(std::string answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Responder() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port = 0;
  std::atomic<int> requests{0};

 private:
  void serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      // Headers, then as much body as Content-Length says.
      size_t end = std::string::npos;
      while ((end = req.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      size_t want = 0;
      if (auto cl = req.find("Content-Length: "); cl != std::string::npos) {
        want = std::stoul(req.substr(cl + 16));
      }
      while (end != std::string::npos && req.size() < end + 4 + want) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      ++requests;
      (void)!::write(c, answer_.data(), answer_.size());
      ::close(c);
    }
  }

  std::string answer_;
  int fd_ = -1;
  std::thread thread_;
};

std::string http_answer(std::string_view status, std::string_view headers, std::string_view body) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}", status,
                     body.size(), headers, body);
}

class Outbound : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    auto url = fresh_store_url(GetParam(), &why);
    if (url.empty()) GTEST_SKIP() << why;
    // Delivery is driven by the test (deliver_due), so nothing races it.
    ts_ = TestServer::start(url, [&](ServerOptions& o) { o.deliver_notifications = false; });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    customer_ =
        admin_->post("/api/v1/customers", json::serialize(json::object{{"name", "A"}})).str("id");
    ASSERT_FALSE(customer_.empty());
  }

  // Outbox rows as incidents queue them, one per target, due now.
  void queue(const std::vector<std::pair<std::string, std::string>>& kind_targets) {
    auto st = ts_->server->store().transact(true, [&](SqlTx& tx) -> Status {
      for (const auto& [kind, target] : kind_targets) {
        ++queued_;
        auto r = tx.q(
            "INSERT INTO outbox (id, customer_id, channel_id, kind, target, secret, "
            "idempotency_key, subject, body, status, next_attempt_at, created_at) VALUES ($1, "
            "$2, 'chn_1', $3, $4, 'k', $5, '[見守り] テスト', '本文', 'pending', $6, $6)",
            {sp(fmt::format("msg_{}", queued_)), sp(customer_), sp(kind), sp(target),
             sp(fmt::format("key{}", queued_)), sp(now_)});
        if (!r.ok()) return r.error();
      }
      return {};
    });
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  // The outbox as the API shows it, by message id.
  std::map<std::string, json::object> outbox() const {
    std::map<std::string, json::object> out;
    auto items =
        admin_->get("/api/v1/notifications?customer_id=" + customer_).json().at("items").as_array();
    for (auto& m : items) out[std::string(m.at("id").as_string())] = m.as_object();
    return out;
  }

  static NotifyOptions options(std::vector<std::string> allow) {
    NotifyOptions o;
    o.timeout_s = 5;
    o.allow_destinations = std::move(allow);
    return o;
  }

  Client user(std::string_view role, std::string_view email) {
    auto u = admin_->post("/api/v1/users",
                          json::serialize(json::object{{"email", email},
                                                       {"role", role},
                                                       {"customer_id", customer_},
                                                       {"password", "customer password 1"}}));
    EXPECT_EQ(u.status, 201) << u.body;
    Client c(ts_->base);
    EXPECT_EQ(c.login(email, "customer password 1").status, 200);
    return c;
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string customer_;
  int queued_ = 0;
  int64_t now_ = core::now().micros;
};

TEST_P(Outbound, LoopbackWebhookIsRefusedUnlessAllowed) {
  Sink hook("http");
  ASSERT_GT(hook.port, 0);
  // By address, and by a name that resolves to loopback: the check is on the address.
  queue({{"webhook", fmt::format("http://127.0.0.1:{}/by-address", hook.port)},
         {"slack", fmt::format("http://localhost:{}/by-name", hook.port)}});
  Notifier closed(options({}));
  EXPECT_EQ(closed.deliver_due(ts_->server->store(), now_), 0);
  auto rows = outbox();
  ASSERT_EQ(rows.size(), 2u);
  for (auto& [id, m] : rows) {
    EXPECT_EQ(m.at("status"), "pending") << json::serialize(m);
    std::string err(m.at("last_error").as_string());
    EXPECT_NE(err.find("is loopback"), std::string::npos) << err;
    EXPECT_NE(err.find("only public addresses are allowed"), std::string::npos) << err;
    EXPECT_NE(err.find("notify.allow_destinations"), std::string::npos) << err;
  }
  EXPECT_NE(std::string(rows["msg_2"].at("last_error").as_string()).find("host name localhost"),
            std::string::npos);
  EXPECT_TRUE(hook.files().empty());
  // Allowed by the provider: both are delivered (after the backoff).
  Notifier open(options({"127.0.0.1"}));
  EXPECT_EQ(open.deliver_due(ts_->server->store(), now_ + 3600LL * 1000000), 2);
  for (auto& [id, m] : outbox()) EXPECT_EQ(m.at("status"), "sent") << json::serialize(m);
  auto got = hook.files();
  ASSERT_EQ(got.size(), 2u);
  std::set<std::string> paths;
  for (auto& f : got) paths.insert(std::string(json::parse(f).at("path").as_string()));
  EXPECT_EQ(paths, (std::set<std::string>{"/by-address", "/by-name"}));
}

TEST_P(Outbound, RedirectIsNotFollowed) {
  Sink target("http");
  ASSERT_GT(target.port, 0);
  Responder mover(http_answer(
      "302 Found", fmt::format("Location: http://127.0.0.1:{}/stolen\r\n", target.port), ""));
  queue({{"webhook", fmt::format("http://127.0.0.1:{}/hook", mover.port)}});
  Notifier n(options({"127.0.0.1"}));
  EXPECT_EQ(n.deliver_due(ts_->server->store(), now_), 0);
  EXPECT_EQ(mover.requests, 1);
  EXPECT_TRUE(target.files().empty());
  auto m = outbox().at("msg_1");
  EXPECT_EQ(m.at("status"), "pending");
  std::string err(m.at("last_error").as_string());
  EXPECT_NE(err.find("HTTP 302 from 127.0.0.1"), std::string::npos) << err;
  EXPECT_NE(err.find("not followed"), std::string::npos) << err;
}

TEST_P(Outbound, ReceiverErrorBodyNeverReachesLastError) {
  const std::string secret = "db_password=hunter2 internal stack trace at /srv/app";
  Responder failing(http_answer("500 Internal Server Error", "", secret));
  queue({{"webhook", fmt::format("http://127.0.0.1:{}/hooks/T0/s3cretpath", failing.port)}});
  Notifier n(options({"127.0.0.1"}));
  EXPECT_EQ(n.deliver_due(ts_->server->store(), now_), 0);
  EXPECT_EQ(failing.requests, 1);
  auto m = outbox().at("msg_1");
  std::string err(m.at("last_error").as_string());
  EXPECT_NE(err.find("HTTP 500 from 127.0.0.1"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  EXPECT_EQ(err.find("stack trace"), std::string::npos) << err;
  // The webhook URL's path (often its secret) is not repeated either.
  EXPECT_EQ(err.find("s3cretpath"), std::string::npos) << err;
}

TEST_P(Outbound, CustomerAdminManagesOnlyItsEmailAndLineChannels) {
  auto boss = user("customer_admin", "boss@a.example.jp");
  auto create = [&](const Client& c, std::string_view kind, std::string_view target) {
    return c.post("/api/v1/channels",
                  json::serialize(json::object{
                      {"customer_id", customer_}, {"kind", kind}, {"target", target}}));
  };
  for (std::string kind : {"webhook", "slack", "teams"}) {
    auto r = create(boss, kind, "https://hooks.example.com/x");
    EXPECT_EQ(r.status, 403) << kind << ": " << r.body;
    EXPECT_NE(r.body.find("set up by the provider"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("e-mail and LINE"), std::string::npos) << r.body;
  }
  auto channels = [&] {
    return admin_->get("/api/v1/channels?customer_id=" + customer_).json().at("items").as_array();
  };
  EXPECT_TRUE(channels().empty());
  auto mail = create(boss, "email", "owner@a.example.jp");
  EXPECT_EQ(mail.status, 201) << mail.body;
  auto line = create(boss, "line", "U0123456789abcdef");
  EXPECT_EQ(line.status, 201) << line.body;
  // The provider sets up the customer's webhook; the customer cannot remove it.
  auto hook = create(*admin_, "webhook", "https://hooks.example.com/a");
  ASSERT_EQ(hook.status, 201) << hook.body;
  auto del = boss.send("DELETE", "/api/v1/channels/" + hook.str("id"));
  EXPECT_EQ(del.status, 403) << del.body;
  EXPECT_EQ(channels().size(), 3u);
  EXPECT_EQ(boss.send("DELETE", "/api/v1/channels/" + mail.str("id")).status, 200);
  EXPECT_EQ(channels().size(), 2u);
  // Each refusal is in the audit log.
  auto denied = admin_->get("/api/v1/audit?outcome=denied").json().at("items").as_array();
  int channel_denials = 0;
  for (auto& e : denied) channel_denials += e.at("action").as_string().starts_with("channel.");
  EXPECT_EQ(channel_denials, 4);
}

TEST_P(Outbound, ChannelForAnUnknownCustomerIs404AndStoresNothing) {
  auto r = admin_->post("/api/v1/channels",
                        json::serialize(json::object{{"customer_id", "cus_does_not_exist"},
                                                     {"kind", "email"},
                                                     {"target", "owner@a.example.jp"}}));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_NE(r.body.find("cus_does_not_exist"), std::string::npos) << r.body;
  EXPECT_TRUE(admin_->get("/api/v1/channels").json().at("items").as_array().empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, Outbound, ::testing::ValuesIn(backends()),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

TEST(OutboundConfig, AllowDestinationsIsReadAndCheckedAtStartUp) {
  auto good = core::Config::from_string(
      "notify:\n  allow_destinations: [127.0.0.1, 10.0.0.0/8, \"fd00::/8\", relay.example.jp]\n",
      "server.yaml");
  EXPECT_EQ(load_server_options(good).notify.allow_destinations,
            (std::vector<std::string>{"127.0.0.1", "10.0.0.0/8", "fd00::/8", "relay.example.jp"}));
  EXPECT_TRUE(load_server_options(core::Config::from_string("", "s.yaml"))
                  .notify.allow_destinations.empty());
  auto bad =
      core::Config::from_string("notify:\n  allow_destinations: [10.0.0.0/40]\n", "server.yaml");
  try {
    (void)load_server_options(bad);
    ADD_FAILURE() << "accepted 10.0.0.0/40";
  } catch (const core::ConfigError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("server.yaml"), std::string::npos) << what;
    EXPECT_NE(what.find("'notify.allow_destinations'"), std::string::npos) << what;
    EXPECT_NE(what.find("'10.0.0.0/40'"), std::string::npos) << what;
  }
  // Options built in code are checked too, before anything is opened.
  std::string why;
  ServerOptions o;
  o.store.url = fresh_store_url("sqlite", &why);
  o.tls = false;
  o.port = 0;
  o.deliver_notifications = false;
  o.notify.allow_destinations = {"http://10.0.0.1/"};
  auto s = Server::start(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("notify.allow_destinations"), std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace mimamori::server::testing
