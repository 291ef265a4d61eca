// Start-up while PostgreSQL is away: mimamori-server starts and listens, health says the
// database is down and requests that need it get 503; once the database answers the schema is
// migrated and ingest carries on, and a device that kept retrying loses nothing. A database
// that refuses the connection on purpose (unknown database or role, a malformed URL) is a
// configuration error and still fails the start at once. Each test starts a PostgreSQL of its
// own (test/pg_instance, on a port chosen first), since it stops and starts it.

#include <gtest/gtest.h>

#include <fstream>

#include "failover_support.h"
#include "mimamori/server/store.h"
#include "store/backend.h"
#include "store/migrations.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

const std::string kInstance = std::string(MIMAMORI_SOURCE_DIR) + "/src/server/test/pg_instance";

/// A PostgreSQL of the test's own on `port`, not started until `start()`.
struct OwnPostgres {
  std::string state = temp_dir() + "/pg/state";
  uint16_t port = free_port();
  std::string url = fmt::format("postgresql://postgres@127.0.0.1:{}/postgres", port);

  int run(const std::string& cmd) const {
    const std::string line = fmt::format("{} {} {} {}", kInstance, cmd, state,
                                         cmd == "start" ? std::to_string(port) : std::string());
    return std::system(line.c_str());
  }
  /// Empty when started; else why not (the test skips).
  std::string start() const {
    if (run("start") != 0) return "pg_instance start failed";
    std::ifstream in(state);
    std::string first;
    std::getline(in, first);
    return first.starts_with("postgresql://") ? "" : first;
  }
  ~OwnPostgres() { run("stop"); }
};

int64_t latest_schema() { return migrations().back().version; }

TEST(StartDown, ConfigurationErrorsAreToldApartFromOutages) {
  EXPECT_TRUE(pg_configuration_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  password authentication "
      "failed for user \"mimamori\""));
  EXPECT_TRUE(pg_configuration_error(
      "connection to server at \"db1\" (10.0.0.1), port 5432 failed: FATAL:  database "
      "\"mimamori\" does not exist"));
  EXPECT_TRUE(pg_configuration_error(
      "connection to server at \"db1\", port 5432 failed: FATAL:  no pg_hba.conf entry for host "
      "\"10.0.0.9\", user \"mimamori\", database \"mimamori\", no encryption"));
  EXPECT_TRUE(pg_configuration_error(
      "connection to server at \"db1\", port 5432 failed: fe_sendauth: no password supplied"));
  EXPECT_FALSE(pg_configuration_error(
      "connection to server at \"127.0.0.1\", port 5432 failed: Connection refused Is the server "
      "running on that host and accepting TCP/IP connections?"));
  EXPECT_FALSE(pg_configuration_error(
      "connection to server at \"db1\", port 5432 failed: FATAL:  the database system is "
      "starting up"));
  EXPECT_FALSE(
      pg_configuration_error("could not translate host name \"db1\" to address: "
                             "Temporary failure in name resolution"));
  EXPECT_FALSE(
      pg_configuration_error("connection to server at \"db1\", port 5432 failed: "
                             "timeout expired"));
  EXPECT_FALSE(pg_configuration_error(
      "connection to server at \"db2\", port 5432 failed: server is in hot standby mode"));
}

// The in-process store: opened while nothing listens, it answers 503; the first use after the
// database answers migrates the schema of the empty database.
TEST(StartDown, StoreOpensWithoutTheDatabaseAndMigratesWhenItAnswers) {
  OwnPostgres pg;
  StoreOptions so;
  so.url = pg.url;
  so.reconnect_max_ms = 200;
  so.connections = 1;
  // Without waiting (the admin commands): the open fails and says where it tried.
  {
    auto store = open_store(so);
    ASSERT_FALSE(store.ok());
    EXPECT_NE(store.error().message.find(fmt::format("127.0.0.1:{}", pg.port)), std::string::npos)
        << store.error().message;
  }
  so.wait_for_database = true;
  const auto opening = SteadyClock::now();
  auto store = open_store(so);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_LT(SteadyClock::now() - opening, 3s);
  EXPECT_FALSE((*store)->database_state().up);
  auto v = (*store)->schema_version();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, 503) << v.error().message;
  auto c = (*store)->list_customers(Principal::system("test"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, 503) << c.error().message;

  if (auto why = pg.start(); !why.empty()) GTEST_SKIP() << why;
  const auto until = SteadyClock::now() + 15s;
  while (!(v = (*store)->schema_version()).ok() && SteadyClock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, latest_schema());
  EXPECT_TRUE((*store)->database_state().up);
  EXPECT_EQ((*store)->database_state().reconnects, 0);
  // The schema is whole: the first provider and a customer are made.
  ASSERT_TRUE((*store)->init_provider("SOC", "a@soc.example.jp", "admin password 1234").ok());
  EXPECT_TRUE((*store)->create_customer(Principal::system("test"), "A").ok());
}

// A refusal on purpose fails at once, with the reason, even when waiting is asked for.
TEST(StartDown, ConfigurationErrorsFailTheOpenAtOnce) {
  std::string why;
  const std::string url = fresh_store_url("postgres", &why);
  if (url.empty()) GTEST_SKIP() << why;
  const std::string base = url.substr(0, url.rfind('/'));
  StoreOptions so;
  so.wait_for_database = true;
  for (const auto& [bad, says] :
       {std::pair<std::string, std::string>{base + "/no_such_database", "does not exist"},
        {base.substr(0, base.find("postgres@")) + "no_such_role@" +
             base.substr(base.find('@') + 1) + "/postgres",
         "does not exist"},
        {"host=127.0.0.1 no_such_option=1", "no_such_option"}}) {
    so.url = bad;
    const auto opening = SteadyClock::now();
    auto store = open_store(so);
    ASSERT_FALSE(store.ok()) << bad;
    EXPECT_LT(SteadyClock::now() - opening, 3s) << bad;
    EXPECT_NE(store.error().message.find(says), std::string::npos) << store.error().message;
  }
  // The server itself exits at once with status 1.
  ServerProcess server(base + "/no_such_database");
  int status = -1;
  const auto until = SteadyClock::now() + 10s;
  while (waitpid(server.pid, &status, WNOHANG) == 0 && SteadyClock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(WIFEXITED(status)) << "the server did not exit on an unknown database";
  EXPECT_EQ(WEXITSTATUS(status), 1);
  server.pid = -1;
}

// SQLite: a database that cannot be made is still an error at start, waiting or not.
TEST(StartDown, SqliteWhereNoFileCanBeMadeFailsTheOpen) {
  const std::string dir = temp_dir();
  std::ofstream(dir + "/a-file") << "not a folder\n";
  StoreOptions so;
  so.url = "sqlite:" + dir + "/a-file/store";
  so.wait_for_database = true;
  auto store = open_store(so);
  ASSERT_FALSE(store.ok());
  EXPECT_FALSE(store.error().message.empty());
}

// The real server started while its PostgreSQL is stopped: it listens, says the database is
// down, answers 503 to a device and to the API; once PostgreSQL is started it serves, and the
// device that retried all along has every batch stored once.
TEST(StartDown, ServerStartedWhileThePostgresIsStoppedServesOnceItAnswers) {
  const auto began = SteadyClock::now();
  OwnPostgres pg;
  if (auto why = pg.start(); !why.empty()) GTEST_SKIP() << why;
  SendingDevice device("");
  {
    StoreOptions so;
    so.url = pg.url;
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.error().message;
    const auto sys = Principal::system("test");
    ASSERT_TRUE((*store)->init_provider("SOC", "a@soc.example.jp", "admin password 1234").ok());
    auto cus = (*store)->create_customer(sys, "A");
    ASSERT_TRUE(cus.ok());
    auto code = (*store)->create_enrollment_code(sys, cus->id, "", 0);
    ASSERT_TRUE(code.ok());
    auto e = (*store)->enroll(code->code, "gw", "sensor", "1", "127.0.0.1");
    ASSERT_TRUE(e.ok()) << e.error().message;
    device.id = e->device_id;
    device.token = e->device_token;
  }
  ASSERT_EQ(pg.run("pause"), 0);

  ServerProcess server(pg.url);
  const int first = server.answers();
  ASSERT_NE(first, 0) << "the server did not start without its database";
  EXPECT_EQ(first, 503);
  Client c(server.base());
  auto h = c.get("/api/v1/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.json().at("database").at("state").as_string(), "down") << h.body;
  EXPECT_EQ(c.login("a@soc.example.jp", "admin password 1234").status, 503);
  auto m = c.get("/metrics");
  EXPECT_NE(m.body.find("\nmimamori_database_up 0\n"), std::string::npos) << m.body;
  device.client = Client(server.base());
  EXPECT_EQ(ingest(device.client, device.token, 1, {dns_line("early.example")}).status, 503);
  device.thread = std::thread([&device] { device.run(); });
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(device.batches.load(), 0);
  EXPECT_GT(device.refused.load(), 0);

  ASSERT_EQ(pg.run("resume"), 0);
  const auto resumed = SteadyClock::now();
  while (device.batches < 10 && SteadyClock::now() < resumed + 20s) {
    std::this_thread::sleep_for(20ms);
  }
  device.stop = true;
  device.thread.join();
  ASSERT_GE(device.batches.load(), 10) << "ingest did not begin within 20 s of the database";
  h = c.get("/api/v1/health");
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(h.json().at("schema_version").as_int64(), latest_schema());
  EXPECT_EQ(c.login("a@soc.example.jp", "admin password 1234").status, 200);
  EXPECT_EQ(WEXITSTATUS(server.stop()), 0);

  StoreOptions so;
  so.url = pg.url;
  auto store = open_store(so);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto seqs = (*store)->stored_seqs(device.id);
  ASSERT_TRUE(seqs.ok());
  const int64_t acked = device.acked.load();
  ASSERT_EQ(static_cast<int64_t>(seqs->size()), acked);
  for (int64_t i = 0; i < acked; ++i) {
    ASSERT_EQ((*seqs)[static_cast<size_t>(i)], i + 1) << "lost seq " << i + 1;
  }
  std::printf("refused while away %d; whole test %.1f s\n", device.refused.load(),
              std::chrono::duration<double>(SteadyClock::now() - began).count());
}

}  // namespace
}  // namespace mimamori::server::testing
