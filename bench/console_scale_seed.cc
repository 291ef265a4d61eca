// Fills a store initialised by `mimamori admin init` with a provider at full scale for the
// console benchmark (driven by bench/console-scale): N customers with a site and two devices
// each, incidents over the last 90 days (most closed, the recent ones still open), alerts
// grouped into them as triage would (with an "alert added" timeline entry each) and alerts
// that opened no incident. Rows go in through the store's transactions as multi-row INSERTs,
// on SQLite and PostgreSQL alike. Deterministic for a given --seed.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "mimamori/core/clock.h"
#include "mimamori/core/log.h"
#include "mimamori/server/store.h"
#include "store/sql.h"

namespace {

using namespace mimamori;
using server::sp;
using server::SqlParam;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMinute = 60LL * 1000000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// Devices report within a year: the server's watchdog must not turn the seeded ones silent
// while the benchmark runs (the silent ones are seeded as such).
constexpr int64_t kYear = 365LL * 86400;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Rows of one table written as INSERTs of `per_statement` rows, one transaction per `per_tx`.
class BulkInsert {
 public:
  BulkInsert(server::Store& store, std::string head, size_t columns, size_t per_statement = 400,
             size_t per_tx = 50000)
      : store_(store),
        head_(std::move(head)),
        columns_(columns),
        per_statement_(per_statement),
        per_tx_(per_tx) {}

  void add(std::vector<SqlParam> row) {
    rows_.push_back(std::move(row));
    ++total_;
    if (rows_.size() >= per_tx_) flush();
  }

  void flush() {
    if (rows_.empty()) return;
    auto st = store_.transact(true, [&](server::SqlTx& tx) -> core::Status {
      for (size_t at = 0; at < rows_.size(); at += per_statement_) {
        const size_t n = std::min(per_statement_, rows_.size() - at);
        std::string sql = head_ + " VALUES ";
        std::vector<SqlParam> params;
        params.reserve(n * columns_);
        for (size_t i = 0; i < n; ++i) {
          sql += i ? ", (" : "(";
          for (size_t c = 0; c < columns_; ++c) {
            sql += fmt::format("{}${}", c ? ", " : "", params.size() + 1);
            params.push_back(std::move(rows_[at + i][c]));
          }
          sql += ')';
        }
        if (auto r = tx.query(sql, params); !r.ok()) return r.error();
      }
      return {};
    });
    if (!st.ok()) {
      std::fprintf(stderr, "%s: %s\n", head_.c_str(), st.error().message.c_str());
      std::exit(1);
    }
    rows_.clear();
  }

  int64_t total() const { return total_; }

 private:
  server::Store& store_;
  std::string head_;
  size_t columns_, per_statement_, per_tx_;
  std::vector<std::vector<SqlParam>> rows_;
  int64_t total_ = 0;
};

struct Sig {
  int64_t id;
  const char* text;
  const char* category;
};

constexpr std::array<Sig, 10> kSignatures = {{
    {2001219, "ET SCAN Potential SSH Scan", "scan"},
    {2010935, "ET SCAN Suspicious inbound to MSSQL port 1433", "exposed_service"},
    {2024792, "ET POLICY Cleartext password over HTTP", "cleartext_password"},
    {2027865, "ET INFO Observed DNS Query to .cloud TLD", "policy"},
    {2030358, "ET MALWARE Cobalt Strike Beacon Observed", "malware"},
    {2019714, "ET EXPLOIT Possible SMBv1 EternalBlue", "exploit"},
    {2033966, "ET TROJAN Observed Malicious SSL Cert (AsyncRAT)", "threat_intel"},
    {9000001, "内部ホストから複数ホストへの走査", "internal_scan"},
    {9000002, "一定間隔の外部通信 (C2 の疑い)", "beaconing"},
    {9000003, "ログイン失敗の連続", "password_guessing"},
}};

constexpr std::array<const char*, 5> kSeverities = {"info", "low", "medium", "high", "critical"};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fills a store with a provider at full scale for the console benchmark"};
  std::string url, key;
  int customers = 1000;
  int64_t incidents = 20000, alerts = 1000000;
  uint64_t seed = 42;
  app.add_option("--store", url, "store URL (sqlite:DIR or postgresql://…)")->required();
  app.add_option("--secret-key", key, "the server's secret key file")->required();
  app.add_option("--customers", customers, "customers (a site and two devices each)");
  app.add_option("--incidents", incidents, "incidents over the last 90 days");
  app.add_option("--alerts", alerts, "alerts (about 60% of them grouped into incidents)");
  app.add_option("--seed", seed, "random seed");
  CLI11_PARSE(app, argc, argv);
  core::init_logging("console_scale_seed", "warn");

  server::StoreOptions so;
  so.url = url;
  so.secret_key_file = key;
  auto opened = server::open_store(so);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  server::Store& store = **opened;
  std::string provider, analyst;
  (void)store.transact(false, [&](server::SqlTx& tx) -> core::Status {
    auto r = tx.q("SELECT id FROM providers");
    if (!r.ok()) return r.error();
    if (!r->empty()) provider = r->str(0, 0);
    // The incidents someone took are the first provider user's (admin init's).
    r = tx.q("SELECT id FROM users WHERE customer_id IS NULL ORDER BY created_at, id LIMIT 1");
    if (!r.ok()) return r.error();
    if (!r->empty()) analyst = r->str(0, 0);
    return {};
  });
  if (provider.empty()) {
    std::fprintf(stderr, "%s: no provider (run mimamori admin init first)\n", url.c_str());
    return 1;
  }

  std::mt19937_64 rng(seed);
  auto uniform = [&] { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); };
  const int64_t now = core::now().micros;
  const int64_t span = 90 * kDay;
  const auto t0 = Clock::now();

  // Customers, their sites and devices (a gateway sensor and an agent each; 1% silent).
  {
    BulkInsert cus(store, "INSERT INTO customers (id, provider_id, name, created_at)", 4);
    BulkInsert sit(store, "INSERT INTO sites (id, customer_id, name, created_at)", 4);
    BulkInsert dev(store,
                   "INSERT INTO devices (id, customer_id, site_id, kind, hostname, version, "
                   "token_hash, status, enrolled_at, last_seen, heartbeat_limit_s, "
                   "monitoring_stopped)",
                   12);
    for (int c = 0; c < customers; ++c) {
      const std::string id = fmt::format("cus_scale{:06}", c);
      const std::string site = fmt::format("sit_scale{:06}", c);
      const int64_t created = now - span - kDay * (c % 300);
      cus.add({sp(id), sp(provider), sp(fmt::format("顧客{:04} 株式会社", c)), sp(created)});
      sit.add({sp(site), sp(id), sp("本社"), sp(created)});
      for (int k = 0; k < 2; ++k) {
        const bool silent = k == 0 && c % 100 == 7;
        dev.add({sp(fmt::format("dev_scale{:06}{}", c, k)), sp(id), sp(site),
                 sp(k == 0 ? "sensor" : "agent"),
                 sp(fmt::format("{}-{:04}", k == 0 ? "gw" : "pc", c)), sp("0.1.0"),
                 sp(fmt::format("{:016x}{:016x}", rng(), rng())), sp("active"), sp(created),
                 sp(silent ? now - 2 * kDay : now - static_cast<int64_t>(rng() % 60) * 1000000),
                 sp(kYear), sp(int64_t{silent ? 1 : 0})});
      }
    }
    cus.flush();
    sit.flush();
    dev.flush();
  }
  std::printf("customers %d, devices %d: %.1f s\n", customers, 2 * customers, seconds_since(t0));

  // Incidents: a few busy customers (u^2), times uniform over 90 days; recent ones still open.
  struct Inc {
    int customer;
    int64_t created, updated;
    int sig, severity;
    int64_t alerts = 0;
  };
  std::vector<Inc> incs;
  incs.reserve(static_cast<size_t>(incidents));
  for (int64_t i = 0; i < incidents; ++i) {
    Inc x;
    const double u = uniform();
    x.customer = std::min(customers - 1, static_cast<int>(customers * u * u));
    x.created = now - static_cast<int64_t>(uniform() * static_cast<double>(span));
    x.sig = static_cast<int>(rng() % kSignatures.size());
    const double s = uniform();
    x.severity = s < 0.10 ? 0 : s < 0.42 ? 1 : s < 0.82 ? 2 : s < 0.97 ? 3 : 4;
    incs.push_back(x);
  }
  // Grouped alerts: 60% of them, spread over the incidents (a long tail of big ones).
  const int64_t grouped = alerts * 6 / 10;
  for (int64_t a = 0; a < grouped; ++a) {
    const double u = uniform();
    ++incs[static_cast<size_t>(static_cast<double>(incidents) * u * u * u)].alerts;
  }
  int64_t still_open = 0;
  {
    BulkInsert inc(store,
                   "INSERT INTO incidents (id, customer_id, title, category, severity, "
                   "severity_rank, status, assignee, host, created_at, updated_at, "
                   "acknowledged_at, closed_at, resolution, alert_count)",
                   15, 400);
    BulkInsert tl(store,
                  "INSERT INTO incident_timeline (id, incident_id, customer_id, at, actor, kind, "
                  "text)",
                  7, 800);
    BulkInsert al(store,
                  "INSERT INTO alerts (id, customer_id, device_id, source, category, severity, "
                  "severity_rank, signature_id, signature, src_ip, dest_ip, window_start, "
                  "first_seen, last_seen, count, incident_id, suppressed)",
                  17, 400, 100000);
    int64_t alert_no = 0;
    auto add_alert = [&](int customer, int64_t first, int64_t last, const Sig& sig, int severity,
                         const std::string& incident) {
      const std::string id = fmt::format("alr_scale{:08}", alert_no++);
      const bool agent = sig.category == std::string_view("password_guessing");
      al.add({sp(id), sp(fmt::format("cus_scale{:06}", customer)),
              sp(fmt::format("dev_scale{:06}{}", customer, agent ? 1 : 0)),
              sp(agent ? "host" : "network"), sp(sig.category), sp(kSeverities[severity]),
              sp(int64_t{severity}), sp(sig.id), sp(sig.text),
              sp(fmt::format("192.168.1.{}", 10 + rng() % 30)),
              sp(fmt::format("203.0.113.{}", rng() % 250)), sp(first - first % (5 * kMinute)),
              sp(first), sp(last), sp(static_cast<int64_t>(1 + rng() % 20)),
              incident.empty() ? SqlParam{} : sp(incident), sp(int64_t{0})});
      return id;
    };
    for (size_t i = 0; i < incs.size(); ++i) {
      Inc& x = incs[i];
      const std::string id = fmt::format("inc_scale{:06}", i);
      const std::string cus = fmt::format("cus_scale{:06}", x.customer);
      const Sig& sig = kSignatures[static_cast<size_t>(x.sig)];
      const int64_t age = now - x.created;
      const double closed_p = age > 7 * kDay ? 0.97 : age > kDay ? 0.7 : 0.2;
      const bool closed = uniform() < closed_p;
      const char* status = "closed";
      if (!closed) {
        const double s = uniform();
        status = s < 0.5 ? "open" : s < 0.7 ? "acknowledged" : s < 0.9 ? "in_progress" : "resolved";
        ++still_open;
      }
      const int64_t last_alert = x.created + std::min<int64_t>(age, (1 + x.alerts) * kMinute);
      x.updated = closed ? std::min(now, last_alert + 2 * kHour) : last_alert;
      const bool acked = std::string_view(status) != "open";
      inc.add({sp(id), sp(cus),
               sp(fmt::format("{} ({})", sig.text, fmt::format("192.168.1.{}", 10 + i % 30))),
               sp(sig.category), sp(kSeverities[x.severity]), sp(int64_t{x.severity}), sp(status),
               acked ? sp(analyst) : SqlParam{}, sp(fmt::format("192.168.1.{}", 10 + i % 30)),
               sp(x.created), sp(x.updated), sp(acked ? x.created + 10 * kMinute : int64_t{0}),
               sp(closed ? x.updated : int64_t{0}), closed ? sp("false_positive") : SqlParam{},
               sp(std::max<int64_t>(1, x.alerts))});
      tl.add({sp(fmt::format("tl_scale{:06}o", i)), sp(id), sp(cus), sp(x.created), sp("system"),
              sp("opened"), sp(fmt::format("インシデントを作成しました: {}", sig.text))});
      // Its alerts: the first opened it, every later one an "alert added" entry.
      const int64_t n = std::max<int64_t>(1, x.alerts);
      for (int64_t k = 0; k < n; ++k) {
        const int64_t first = x.created + (last_alert - x.created) * k / n;
        const std::string aid = add_alert(x.customer, first, first + kMinute, sig, x.severity, id);
        if (k > 0) {
          tl.add({sp(fmt::format("tl_scale{:06}a{}", i, k)), sp(id), sp(cus), sp(first),
                  sp("system"), sp("alert_added"),
                  sp(fmt::format("関連するアラートを追加しました ({})", aid))});
        }
      }
      if (closed) {
        tl.add({sp(fmt::format("tl_scale{:06}c", i)), sp(id), sp(cus), sp(x.updated), sp(analyst),
                sp("closed"), sp("クローズしました: false_positive")});
      }
    }
    // Alerts that opened no incident (low and informational), uniform over the 90 days.
    while (alert_no < alerts) {
      const int c = static_cast<int>(rng() % static_cast<uint64_t>(customers));
      const int64_t first = now - static_cast<int64_t>(uniform() * static_cast<double>(span));
      add_alert(c, first, first + kMinute, kSignatures[rng() % kSignatures.size()],
                static_cast<int>(rng() % 2), "");
    }
    inc.flush();
    tl.flush();
    al.flush();
    std::printf("incidents %lld (%lld not closed), timeline entries %lld, alerts %lld: %.1f s\n",
                static_cast<long long>(inc.total()), static_cast<long long>(still_open),
                static_cast<long long>(tl.total()), static_cast<long long>(al.total()),
                seconds_since(t0));
  }
  // PostgreSQL's planner statistics, as autovacuum makes them a minute after a bulk load. The
  // server never analyses a SQLite store, so neither does this.
  (void)store.transact(true, [&](server::SqlTx& tx) -> core::Status {
    if (tx.dialect() != server::Dialect::kPostgres) return {};
    auto r = tx.q("ANALYZE");
    if (!r.ok()) return r.error();
    return {};
  });
  std::printf("seeded in %.1f s\n", seconds_since(t0));
  return 0;
}
