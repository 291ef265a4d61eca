// Secrets at rest: a webhook's URL and HMAC key and a TOTP seed are stored sealed under the key
// file, so the database alone reveals none of them, while the server still signs with the key
// and accepts the codes; with another key file those rows are a clear error; `rotate-key` seals
// everything again under a new key (also after an interruption); plain text left by an older
// version is sealed at start. On both backends.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "notify/notify.h"
#include "secrets.h"
#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kHookSecret = "hook-secret-7f3a9c";
constexpr std::string_view kHookToken = "T0KEN-in-the-url-5e2d";
constexpr const char* kAnalyst = "analyst@soc.example.jp";
constexpr const char* kAnalystPassword = "analyst password 1234";

// Every row of a query, raw as stored, cells joined by '|', rows by '\n'.
std::string raw(Store& s, const std::string& sql) {
  std::string out;
  auto st = s.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(sql);
    if (!r.ok()) return r.error();
    for (size_t i = 0; i < r->size(); ++i) {
      for (size_t c = 0; c < r->rows[i].size(); ++c) {
        if (c > 0) out += '|';
        out += r->str(i, c);
      }
      out += '\n';
    }
    return {};
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
  return out;
}

void exec(Store& s, const std::string& sql, std::initializer_list<SqlParam> params) {
  auto st = s.transact(true, [&](SqlTx& tx) -> Status {
    auto r = tx.q(sql, params);
    return r.ok() ? Status{} : Status{r.error()};
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
}

std::string mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "absent";
  return fmt::format("{:04o}", st.st_mode & 07777);
}

// The server log while it lives.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("%l: %v");
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() { spdlog::default_logger()->sinks().pop_back(); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

class SecretsAtRest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = fresh_store_url(GetParam(), &why);
    if (url_.empty()) GTEST_SKIP() << why;
    ASSERT_GT(hook_.port, 0) << "webhook sink did not start";
    data_ = temp_dir();
    start(data_);
  }

  // (Re)starts the server on the store, with its key file in `data_dir`.
  void start(const std::string& data_dir) {
    admin_.reset();
    ts_.reset();
    ts_ = TestServer::start(url_, [&](ServerOptions& o) {
      o.data_dir = data_dir;
      o.notify.allow_destinations = {"127.0.0.1"};
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
  }
  void stop() {
    admin_.reset();
    ts_.reset();
  }
  Store& store() { return ts_->server->store(); }
  fs::path key_file() const { return fs::path(data_) / "secret.key"; }
  std::string key_id() const {
    auto box = SecretBox::load(key_file(), false);
    EXPECT_TRUE(box.ok()) << box.error().message;
    return box.ok() ? box->key_id() : "";
  }
  std::string hook_url() const {
    return fmt::format("http://127.0.0.1:{}/{}", hook_.port, kHookToken);
  }

  // A customer with a webhook channel: its URL and its HMAC key are both secrets.
  void make_channel() {
    customer_ =
        admin_->post("/api/v1/customers", json::serialize(json::object{{"name", "A"}})).str("id");
    ASSERT_FALSE(customer_.empty());
    auto r = admin_->post("/api/v1/channels", json::serialize(json::object{
                                                  {"customer_id", customer_},
                                                  {"kind", "webhook"},
                                                  {"target", hook_url()},
                                                  {"secret", kHookSecret},
                                              }));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.str("target"), shown_url());
    channel_ = r.str("id");
  }

  void make_analyst() {
    auto u = store().create_user(Principal::system("test"), kAnalyst, "", kAnalystPassword,
                                 Role::kAnalyst, "");
    ASSERT_TRUE(u.ok()) << u.error().message;
  }

  // An analyst with TOTP enabled by the code of the step before t_. Waits first if t_ is close
  // to a step's end, so that the codes of t_ and t_ + 30 each log in once later.
  void enroll_totp() {
    make_analyst();
    Client c(ts_->base);
    ASSERT_EQ(c.login(kAnalyst, kAnalystPassword).status, 200);
    t_ = core::now().seconds();
    if (t_ % 30 >= 20) {
      std::this_thread::sleep_for(std::chrono::seconds(31 - t_ % 30));
      t_ = core::now().seconds();
    }
    auto begin = c.post("/api/v1/me/totp");
    ASSERT_EQ(begin.status, 200) << begin.body;
    seed_ = begin.str("secret");
    ASSERT_FALSE(seed_.empty());
    auto ok = c.post("/api/v1/me/totp/confirm",
                     json::serialize(json::object{{"code", totp_code(seed_, t_ - 30)}}));
    ASSERT_EQ(ok.status, 200) << ok.body;
  }

  Response login_totp(int64_t at) {
    Client c(ts_->base);
    return c.login(kAnalyst, kAnalystPassword, totp_code(seed_, at));
  }

  // Queues a message of a new incident for the customer's channels and delivers what is due;
  // returns how many went out.
  int64_t deliver() {
    const int64_t now = core::now().micros;
    auto st = store().transact(true, [&](SqlTx& tx) {
      return enqueue_incident_notifications(tx, customer_, random_id("inc"), "critical",
                                            "[見守り] test", "body", now);
    });
    EXPECT_TRUE(st.ok()) << st.error().message;
    return notifier().deliver_due(store(), now);
  }

  // Delivery driven by the test; the webhook sink is on loopback.
  static Notifier notifier() {
    NotifyOptions o;
    o.allow_destinations = {"127.0.0.1"};
    return Notifier(o);
  }

  // The channel's URL as the API shows it back: scheme and host only, opened from its seal.
  std::string shown_url() const { return fmt::format("http://127.0.0.1:{}/…", hook_.port); }

  // Every request the webhook received went to its URL, signed with `secret`.
  void expect_signed_deliveries(size_t count, std::string_view secret) {
    auto files = hook_.files();
    ASSERT_EQ(files.size(), count);
    for (const auto& f : files) {
      auto req = json::parse(f);
      EXPECT_EQ(req.at("path").as_string(), "/" + std::string(kHookToken));
      std::string body(req.at("body").as_string());
      const auto& h = req.at("headers").as_object();
      std::string ts(h.at("X-Mimamori-Timestamp").as_string());
      EXPECT_EQ(h.at("X-Mimamori-Signature").as_string(),
                "sha256=" + hmac_sha256_hex(secret, ts + "." + body));
    }
  }

  // The stored secret values, one a line.
  std::string stored_secrets() {
    return raw(store(), "SELECT target FROM channels WHERE kind = 'webhook'") +
           raw(store(), "SELECT secret FROM channels WHERE secret IS NOT NULL") +
           raw(store(), "SELECT totp_secret FROM users WHERE totp_secret IS NOT NULL") +
           raw(store(), "SELECT target FROM outbox WHERE kind = 'webhook'") +
           raw(store(), "SELECT secret FROM outbox WHERE secret IS NOT NULL");
  }

  // Every stored secret value is sealed under `id` and none shows a secret.
  void expect_sealed_under(const std::string& id, size_t values) {
    std::istringstream in(stored_secrets());
    size_t n = 0;
    for (std::string line; std::getline(in, line); ++n) {
      EXPECT_TRUE(line.starts_with("sb1:" + id + ":")) << line;
      EXPECT_EQ(line.find(kHookSecret), std::string::npos) << line;
      EXPECT_EQ(line.find(kHookToken), std::string::npos) << line;
      if (!seed_.empty()) {
        EXPECT_EQ(line.find(seed_), std::string::npos) << line;
      }
    }
    EXPECT_EQ(n, values);
  }

  std::string url_, data_, customer_, channel_, seed_;
  int64_t t_ = 0;
  Sink hook_{"http"};
  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
};

TEST_P(SecretsAtRest, TheDatabaseHoldsNoSecretYetTheServerSignsAndChecksCodes) {
  make_channel();
  enroll_totp();
  EXPECT_EQ(deliver(), 1);
  expect_signed_deliveries(1, kHookSecret);
  // channels.target and .secret, users.totp_secret, outbox.target and .secret.
  expect_sealed_under(key_id(), 5);
  EXPECT_EQ(login_totp(t_).status, 200);
  EXPECT_EQ(login_totp(t_).status, 401) << "a code is still accepted once";
  auto list = admin_->get("/api/v1/channels?customer_id=" + customer_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.json().at("items").as_array().at(0).at("target").as_string(), shown_url());
  EXPECT_EQ(mode_of(key_file()), "0600");
  EXPECT_EQ(fs::file_size(key_file()), SecretBox::kKeyBytes);
  if (GetParam() == "sqlite") {
    // Not even in a page of the database or its WAL.
    for (const auto& e : fs::directory_iterator(url_.substr(7))) {
      if (!e.path().filename().string().starts_with("mimamori.db")) continue;
      std::ifstream in(e.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), {});
      EXPECT_EQ(bytes.find(kHookSecret), std::string::npos) << e.path();
      EXPECT_EQ(bytes.find(kHookToken), std::string::npos) << e.path();
      EXPECT_EQ(bytes.find(seed_), std::string::npos) << e.path();
    }
  }
}

TEST_P(SecretsAtRest, WithAnotherKeyFileTheSecretRowsAreAClearErrorAndNothingElseBreaks) {
  make_channel();
  enroll_totp();
  EXPECT_EQ(deliver(), 1);
  {
    LogCapture log;
    start(temp_dir());  // the same database with a new key file, as a copy would be
    EXPECT_NE(log.text().find("5 secret value(s) are sealed under a key that"), std::string::npos)
        << log.text();
  }
  auto list = admin_->get("/api/v1/channels?customer_id=" + customer_);
  EXPECT_EQ(list.status, 500);
  EXPECT_NE(list.body.find("channels.target of " + channel_ + ": sealed under key " + key_id()),
            std::string::npos)
      << list.body;
  auto login = login_totp(t_);
  EXPECT_EQ(login.status, 500);
  EXPECT_NE(login.body.find("users.totp_secret of usr_"), std::string::npos) << login.body;
  // The message that cannot be opened fails for good; it is not sent without its secret.
  EXPECT_EQ(deliver(), 0);
  expect_signed_deliveries(1, kHookSecret);
  EXPECT_EQ(raw(store(),
                "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND last_error LIKE "
                "'outbox.target of msg_%: sealed under key %'"),
            "1\n");
  // The rest of the server works, and with its own key file again the secrets are back.
  EXPECT_EQ(admin_->get("/api/v1/customers").status, 200);
  start(data_);
  EXPECT_EQ(admin_->get("/api/v1/channels?customer_id=" + customer_).status, 200);
  EXPECT_EQ(login_totp(t_).status, 200);
}

TEST_P(SecretsAtRest, RotateKeySealsEverythingUnderANewKeyAndRemovesTheOldOne) {
  make_channel();
  enroll_totp();
  EXPECT_EQ(deliver(), 1);
  const std::string old_id = key_id();
  stop();
  {
    StoreOptions so;
    so.url = url_;
    so.secret_key_file = key_file().string();
    auto s = open_store(so);
    ASSERT_TRUE(s.ok()) << s.error().message;
    std::string said;
    auto r = (*s)->rotate_secret_key([&](const std::string& line) { said += line + "\n"; });
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->old_key_id, old_id);
    EXPECT_NE(r->new_key_id, old_id);
    EXPECT_EQ(r->new_key_id, key_id());
    EXPECT_EQ(r->values, 5);
    EXPECT_EQ(r->finished_earlier, -1);
    EXPECT_NE(said.find(fmt::format("re-encrypted 5 value(s) under key {}: users.totp_secret 1, "
                                    "channels.secret 1, channels.target 1, outbox.secret 1, "
                                    "outbox.target 1\n",
                                    r->new_key_id)),
              std::string::npos)
        << said;
    EXPECT_EQ(raw(**s, "SELECT COUNT(*) FROM audit_log WHERE action = 'secret_key.rotate'"), "1\n");
  }
  EXPECT_EQ(mode_of(old_key_file(key_file())), "absent");
  EXPECT_EQ(mode_of(key_file()), "0600");
  start(data_);
  expect_sealed_under(key_id(), 5);
  EXPECT_EQ(login_totp(t_).status, 200);
  EXPECT_EQ(deliver(), 1);
  expect_signed_deliveries(2, kHookSecret);
}

TEST_P(SecretsAtRest, AnInterruptedRotationStillReadsBothKeysAndIsFinishedNextTime) {
  make_channel();
  enroll_totp();
  const std::string old_id = key_id();
  stop();
  // Steps 1 and 2 happened (old key saved, new key in place), the database was not resealed.
  auto next = begin_key_rotation(key_file());
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(mode_of(old_key_file(key_file())), "0600");
  {
    LogCapture log;
    start(data_);
    EXPECT_NE(log.text().find("a key rotation was interrupted"), std::string::npos) << log.text();
  }
  EXPECT_EQ(login_totp(t_).status, 200);
  EXPECT_EQ(deliver(), 1);  // a message copies the channel's values, still under the old key
  expect_signed_deliveries(1, kHookSecret);
  auto c2 = admin_->post("/api/v1/channels", json::serialize(json::object{
                                                 {"customer_id", customer_},
                                                 {"kind", "slack"},
                                                 {"target", "https://hooks.slack.example/T1/B2/x"},
                                             }));
  ASSERT_EQ(c2.status, 201) << c2.body;
  EXPECT_EQ(raw(store(), "SELECT target FROM channels WHERE kind = 'slack'").substr(0, 13),
            "sb1:" + *next + ":");
  stop();
  StoreOptions so;
  so.url = url_;
  so.secret_key_file = key_file().string();
  auto s = open_store(so);
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto r = (*s)->rotate_secret_key([](const std::string&) {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->finished_earlier, 6);  // the five above and the Slack URL
  EXPECT_EQ(r->old_key_id, *next);
  EXPECT_NE(r->new_key_id, old_id);
  EXPECT_EQ(r->values, 6);
  EXPECT_EQ(mode_of(old_key_file(key_file())), "absent");
  EXPECT_EQ(raw(**s, fmt::format("SELECT COUNT(*) FROM channels WHERE target LIKE 'sb1:{}:%'",
                                 r->new_key_id)),
            "2\n");
  s->reset();
  start(data_);
  EXPECT_EQ(login_totp(t_ + 30).status, 200);
}

TEST_P(SecretsAtRest, PlainTextFromAnOlderVersionIsSealedAtStart) {
  make_analyst();
  customer_ =
      admin_->post("/api/v1/customers", json::serialize(json::object{{"name", "A"}})).str("id");
  // As an older version stored them.
  seed_ = random_totp_secret();
  exec(store(),
       "INSERT INTO channels (id, customer_id, name, kind, target, secret, min_severity, "
       "enabled, created_at) VALUES ('chn_old', $1, 'hook', 'webhook', $2, $3, 'high', 1, 0)",
       {sp(customer_), sp(hook_url()), sp(kHookSecret)});
  exec(store(),
       "INSERT INTO outbox (id, customer_id, channel_id, kind, target, secret, idempotency_key, "
       "subject, body, status, next_attempt_at, created_at) VALUES ('msg_old', $1, 'chn_old', "
       "'webhook', $2, $3, 'inc_old:chn_old:opened', 's', 'b', 'pending', 0, 0)",
       {sp(customer_), sp(hook_url()), sp(kHookSecret)});
  exec(store(), "UPDATE users SET totp_secret = $2, totp_enabled = 1 WHERE email = $1",
       {sp(kAnalyst), sp(seed_)});
  {
    LogCapture log;
    start(data_);
    EXPECT_NE(log.text().find(fmt::format(
                  "5 secret value(s) stored in plain text by an older version are now sealed "
                  "under key {} (users.totp_secret 1, channels.secret 1, channels.target 1, "
                  "outbox.secret 1, outbox.target 1)",
                  key_id())),
              std::string::npos)
        << log.text();
  }
  expect_sealed_under(key_id(), 5);
  // The message queued before is delivered with its secret, and the seed still logs in.
  EXPECT_EQ(notifier().deliver_due(store(), core::now().micros), 1);
  expect_signed_deliveries(1, kHookSecret);
  EXPECT_EQ(login_totp(core::now().seconds()).status, 200);
  // Once sealed, a restart finds nothing more to seal.
  LogCapture log;
  start(data_);
  EXPECT_EQ(log.text().find("plain text"), std::string::npos) << log.text();
}

INSTANTIATE_TEST_SUITE_P(Backends, SecretsAtRest, ::testing::ValuesIn(backends()));

// The key file itself: made 0600 with 32 random bytes; one that others may read, or of another
// size, stops the start with a clear error.
TEST(SecretKeyFile, AKeyFileOpenToOthersOrOfTheWrongSizeIsRefusedAtStart) {
  const fs::path dir = temp_dir();
  const fs::path key = dir / "secret.key";
  auto start = [&] {
    ServerOptions o;
    o.data_dir = dir.string();
    o.port = 0;
    o.tls = false;
    o.store.url = "sqlite:" + dir.string();
    return Server::start(o);
  };
  {
    auto s = start();
    ASSERT_TRUE(s.ok()) << s.error().message;
  }
  EXPECT_EQ(mode_of(key), "0600");
  EXPECT_EQ(fs::file_size(key), 32u);
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto s = start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("secret key file " + key.string() + " has mode 0644"),
            std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("chmod 600"), std::string::npos) << s.error().message;
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  fs::resize_file(key, 16);
  s = start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("holds 16 bytes"), std::string::npos) << s.error().message;
  // A configured key file elsewhere is made there.
  const fs::path other = fs::path(temp_dir()) / "keys" / "mimamori.key";
  auto c = core::Config::from_string("{}", "<test>");
  c.set("server.data_dir=" + dir.string());
  c.set("server.secret_key_file=" + other.string());
  EXPECT_EQ(load_server_options(c).store.secret_key_file, other.string());
  c.set("server.secret_key_file=");
  EXPECT_THROW(load_server_options(c), core::ConfigError);
}

}  // namespace
}  // namespace mimamori::server::testing
