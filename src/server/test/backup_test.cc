// Backups: `backup_store` copies a store while a device keeps ingesting, and the copy is one
// instant (events a prefix of what was sent, the derived rows and the device's acknowledged
// sequence from the same moment, every other table as it was); `restore_store` brings it back
// into a fresh store whose server still opens the sealed secrets (the key file came along);
// a store that is in use or not empty, and a backup whose copy was altered, are refused. On
// both backends.

#include "mimamori/server/backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "store/sql.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using Tables = std::map<std::string, std::vector<std::string>>;

// Every row of every table of the manifest, cells joined by '|', rows sorted.
Tables dump(Store& s, const BackupManifest& m) {
  Tables out;
  auto st = s.transact(false, [&](SqlTx& tx) -> Status {
    for (const auto& [t, n] : m.tables) {
      auto r = tx.q("SELECT * FROM " + t);
      if (!r.ok()) return r.error();
      auto& rows = out[t];
      for (size_t i = 0; i < r->size(); ++i) {
        std::string line;
        for (size_t c = 0; c < r->rows[i].size(); ++c) {
          if (c > 0) line += '|';
          line += r->is_null(i, c) ? std::string("NULL") : r->str(i, c);
        }
        rows.push_back(std::move(line));
      }
      std::sort(rows.begin(), rows.end());
    }
    return {};
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
  return out;
}

int64_t count(Store& s, const std::string& sql) {
  int64_t n = -1;
  auto st = s.transact(false, [&](SqlTx& tx) -> Status {
    auto r = tx.q(sql);
    if (!r.ok()) return r.error();
    n = r->i64(0, 0);
    return {};
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
  return n;
}

std::string mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "absent";
  return fmt::format("{:04o}", st.st_mode & 07777);
}

class Backups : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = fresh_store_url(GetParam(), &why);
    if (url_.empty()) GTEST_SKIP() << why;
    data_ = temp_dir();
    ts_ = TestServer::start(url_, [&](ServerOptions& o) {
      o.data_dir = data_;
      o.notify.allow_destinations = {"127.0.0.1"};
    });
    ASSERT_TRUE(ts_);
  }

  StoreOptions source() const {
    StoreOptions o;
    o.url = url_;
    o.secret_key_file = (fs::path(data_) / "secret.key").string();
    return o;
  }

  // A fresh, empty store and the folder for its key file.
  StoreOptions fresh(std::string* dir) {
    std::string why;
    StoreOptions o;
    o.url = fresh_store_url(GetParam(), &why);
    EXPECT_FALSE(o.url.empty()) << why;
    *dir = temp_dir();
    o.secret_key_file = (fs::path(*dir) / "secret.key").string();
    return o;
  }

  std::string url_, data_;
  std::unique_ptr<TestServer> ts_;
};

constexpr const char* kHookUrl = "http://127.0.0.1:9/hook-token-3d8e";

TEST_P(Backups, ACopyTakenWhileIngestingRestoresEveryTableAsOfOneInstant) {
  Client admin = ts_->admin();
  Store& store = ts_->server->store();
  const auto sys = Principal::system("test");
  auto customer =
      admin.post("/api/v1/customers", json::serialize(json::object{{"name", "A"}})).str("id");
  ASSERT_FALSE(customer.empty());
  auto ch = admin.post("/api/v1/channels", json::serialize(json::object{
                                               {"customer_id", customer},
                                               {"kind", "webhook"},
                                               {"target", kHookUrl},
                                               {"secret", "hook-secret-1b2c"},
                                           }));
  ASSERT_EQ(ch.status, 201) << ch.body;
  ASSERT_TRUE(store
                  .create_user(sys, "user@customer.example.jp", "", "customer password 12",
                               Role::kCustomerUser, customer)
                  .ok());
  auto code = store.create_enrollment_code(sys, customer, "", 0);
  ASSERT_TRUE(code.ok());
  auto enrolled = Client(ts_->base).call(
      "POST", "/api/v1/enroll",
      json::serialize(json::object{
          {"code", code->code}, {"hostname", "gw-1"}, {"kind", "sensor"}, {"version", "1"}}),
      {"Content-Type: application/json"});
  ASSERT_EQ(enrolled.status, 201) << enrolled.body;
  const std::string token = enrolled.str("device_token");

  // One device sends batches in order, each with one alert, until told to stop.
  std::atomic<int64_t> acked{0};
  std::atomic<bool> stop{false};
  std::thread device([&] {
    const Client c(ts_->base);
    int64_t seq = 1;
    for (int b = 0; !stop || b < 3; ++b) {
      std::vector<std::string> lines;
      for (int i = 0; i < 49; ++i) lines.push_back(dns_line(fmt::format("h{}.example.jp", i)));
      lines.push_back(alert_line(2024217, "ET MALWARE Test", "192.168.1.10", "203.0.113.9"));
      auto r = ingest(c, token, seq, lines);
      ASSERT_EQ(r.status, 200) << r.body;
      seq += static_cast<int64_t>(lines.size());
      acked = seq - 1;
    }
  });
  while (acked < 500) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  const fs::path dir = fs::path(temp_dir()) / "backup";
  std::vector<std::string> progress;
  // SQLite copies in small steps, slowed at each tenth, so that the writer commits batches
  // between the steps of one copy.
  BackupRequest req{dir, false,
                    [&](const std::string& l) {
                      progress.push_back(l);
                      std::this_thread::sleep_for(std::chrono::milliseconds(30));
                    },
                    8};
  const int64_t acked_before = acked;
  auto m = backup_store(source(), req);
  const int64_t acked_after = acked;
  stop = true;
  device.join();
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_GT(acked, acked_after) << "ingest went on after the backup";
  if (GetParam() == "sqlite") {
    EXPECT_GE(acked_after - acked_before, 200) << "the writer committed during the copy";
    EXPECT_GE(progress.size(), 8u);
  }

  EXPECT_EQ(mode_of(dir), "0700");
  for (const char* f : {"manifest.json", "secret.key"}) EXPECT_EQ(mode_of(dir / f), "0600") << f;
  EXPECT_EQ(mode_of(dir / m->data_file), "0600");
  auto again = read_backup_manifest(dir);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->sha256, m->sha256);
  EXPECT_EQ(again->tables, m->tables);
  EXPECT_TRUE(m->has_key);
  EXPECT_GE(m->schema_version, 1);
  EXPECT_TRUE(std::any_of(progress.begin(), progress.end(),
                          [](const auto& l) { return l.find("WARNING: the key file") == 0; }));
  if (GetParam() == "sqlite") {
    EXPECT_TRUE(std::any_of(progress.begin(), progress.end(),
                            [](const auto& l) { return l.find(" pages") != std::string::npos; }));
  }

  // A server still runs on the source: a restore into it is refused, even with --force.
  auto busy = restore_store(source(), RestoreRequest{dir, true, {}});
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().message.find("mimamori-server running"), std::string::npos)
      << busy.error().message;

  const Tables after = dump(store, *m);
  ts_.reset();

  std::string rdir;
  StoreOptions target = fresh(&rdir);
  auto restored = restore_store(target, RestoreRequest{dir, false, {}});
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(mode_of(target.secret_key_file), "0600");
  {
    auto rs = open_store(target);
    ASSERT_TRUE(rs.ok()) << rs.error().message;
    const Tables got = dump(**rs, *m);
    // The events are the prefix the device had sent when the snapshot was taken, and the
    // acknowledged sequence and the alert links are of the same instant.
    const int64_t k = count(**rs, "SELECT COALESCE(MAX(last_seq), 0) FROM event_blocks");
    EXPECT_GE(k, acked_before);
    EXPECT_LE(k, acked_after + 50);
    EXPECT_EQ(count(**rs, "SELECT COALESCE(SUM(events), 0) FROM event_blocks"), k)
        << "no gap in the copy";
    EXPECT_EQ(count(**rs, "SELECT acked_through FROM devices"), k);
    EXPECT_EQ(count(**rs, "SELECT COUNT(*) FROM alert_events"),
              count(**rs,
                    "SELECT COALESCE(SUM(events), 0) FROM event_blocks WHERE event_type = "
                    "'alert'"));
    EXPECT_EQ(count(**rs, "SELECT COUNT(*) FROM alert_events"), k / 50);
    // The hourly aggregates are added in the events' own commits: the copy's sums are those of
    // its events, not of the source's later ones.
    EXPECT_EQ(count(**rs,
                    "SELECT COALESCE(SUM(value), 0) FROM hourly_aggregates WHERE metric = "
                    "'events'"),
              k);
    EXPECT_EQ(count(**rs,
                    "SELECT COALESCE(SUM(value), 0) FROM hourly_aggregates WHERE metric = "
                    "'alerts'"),
              k / 50);
    for (const auto& [t, rows] : after) {
      const auto& r = got.at(t);
      EXPECT_EQ(static_cast<int64_t>(r.size()),
                std::find_if(m->tables.begin(), m->tables.end(),
                             [&](const auto& p) { return p.first == t; })
                    ->second)
          << t;
      if (t == "event_blocks" || t == "alert_events") {
        // Exactly the source's rows up to the snapshot.
        size_t in_source = 0;
        for (const auto& row : r) {
          in_source += std::binary_search(rows.begin(), rows.end(), row) ? 1 : 0;
        }
        EXPECT_EQ(in_source, r.size()) << t << ": every restored row is a source row";
        EXPECT_LT(r.size(), rows.size()) << t << ": the source went on after the snapshot";
      } else if (t != "devices" && t != "alerts" && t != "incidents" && t != "incident_timeline" &&
                 t != "outbox" && t != "hourly_aggregates") {
        EXPECT_EQ(r, rows) << t;
      }
    }
  }

  // The restored server opens the channel's sealed URL with the restored key.
  {
    auto rts = TestServer::start(target.url, [&](ServerOptions& o) {
      o.data_dir = rdir;
      o.notify.allow_destinations = {"127.0.0.1"};
    });
    ASSERT_TRUE(rts);
    auto list = rts->admin().get("/api/v1/channels?customer_id=" + customer);
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.json().at("items").as_array().at(0).at("target").as_string(),
              "http://127.0.0.1:9/…");
  }

  // Not into a store that holds data.
  auto twice = restore_store(target, RestoreRequest{dir, false, {}});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("not empty"), std::string::npos) << twice.error().message;
  EXPECT_NE(twice.error().message.find("--force"), std::string::npos);
  // With --force it replaces what is there (the restored server's logins among it).
  auto forced = restore_store(target, RestoreRequest{dir, true, {}});
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  auto rs = open_store(target);
  ASSERT_TRUE(rs.ok()) << rs.error().message;
  EXPECT_EQ(dump(**rs, *m).at("sessions"), after.at("sessions"));
}

TEST_P(Backups, WithoutPgDumpThePostgresBackupSaysWhatToInstall) {
  if (GetParam() != "postgres") GTEST_SKIP() << "SQLite needs no program";
  ts_.reset();
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", temp_dir().c_str(), 1);
  const fs::path dir = fs::path(temp_dir()) / "backup";
  auto m = backup_store(source(), BackupRequest{dir, false, {}});
  ::setenv("PATH", path.c_str(), 1);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("pg_dump is not installed"), std::string::npos)
      << m.error().message;
  EXPECT_NE(m.error().message.find("postgresql-client"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir / "mimamori.pgdump")) << "no partial copy is left";
  EXPECT_TRUE(backup_store(source(), BackupRequest{dir, false, {}}).ok()) << "the folder is reused";
}

TEST_P(Backups, AnAlteredCopyIsRefusedByItsHash) {
  ASSERT_TRUE(ts_->admin().post("/api/v1/customers", R"({"name":"A"})").status == 201);
  const fs::path dir = fs::path(temp_dir()) / "backup";
  auto m = backup_store(source(), BackupRequest{dir, true, {}});
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_FALSE(m->has_key);
  EXPECT_FALSE(fs::exists(dir / "secret.key"));
  ts_.reset();
  {
    std::fstream f(dir / m->data_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(dir / m->data_file) / 2));
    f.put('\x5a');
  }
  std::string rdir;
  StoreOptions target = fresh(&rdir);
  auto r = restore_store(target, RestoreRequest{dir, false, {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("SHA-256"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("nothing restored"), std::string::npos);
  EXPECT_FALSE(fs::exists(target.secret_key_file));
  if (GetParam() == "sqlite") {
    EXPECT_FALSE(fs::exists(fs::path(target.url.substr(7)) / "mimamori.db"));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Backups, ::testing::ValuesIn(backends()));

}  // namespace
}  // namespace mimamori::server::testing
