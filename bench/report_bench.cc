// Monthly reports for many customers: a fresh SQLite store with N customers (a gateway sensor
// and a PC agent each, ~1,200 raw detections a month in 20 aggregated alerts over 6 categories,
// 2 incidents, one 監視停止), then each customer's report gathered from the store and rendered
// to PDF. Baseline in the same run: a one-line PDF per customer (the pdf layer's fixed cost).
// Prints reports/s for both and the peak RSS.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "mimamori/core/clock.h"
#include "mimamori/pdf/document.h"
#include "mimamori/server/store.h"
#include "reports/reports.h"
#include "store/sql.h"

using namespace mimamori;
using namespace mimamori::server;

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const std::string dir =
      argc > 2 ? argv[2]
               : (std::filesystem::temp_directory_path() / "mimamori-report-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  StoreOptions so;
  so.url = "sqlite:" + dir;
  so.sqlite_synchronous = "NORMAL";
  so.secret_key_file = dir + "/secret.key";
  auto store = open_store(so);
  if (!store.ok()) {
    std::fprintf(stderr, "report_bench: %s\n", store.error().message.c_str());
    return 1;
  }
  Store& s = **store;
  if (auto u = s.init_provider("SOC", "admin@soc.example.jp", "bench password 1234"); !u.ok()) {
    std::fprintf(stderr, "report_bench: %s\n", u.error().message.c_str());
    return 1;
  }
  const auto sys = Principal::system("report bench");
  const ReportMonth month{2026, 11};
  const int64_t t0 = month.start() + 3600LL * 1000000;
  static const char* kCategories[] = {"scan", "exploit", "malware", "policy", "c2", "other"};
  std::vector<std::string> customers;
  auto fill_start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    auto c = s.create_customer(sys, fmt::format("株式会社ベンチ{:04}", i));
    if (!c.ok()) return 1;
    customers.push_back(c->id);
    auto st = s.transact(true, [&](SqlTx& tx) -> Status {
      const std::string site = "sit_" + c->id;
      if (auto r = tx.q("INSERT INTO sites (id, customer_id, name, created_at) VALUES ($1, $2, "
                        "'本社', $3)",
                        {sp(site), sp(c->id), sp(t0)});
          !r.ok()) {
        return r.error();
      }
      for (const char* kind : {"sensor", "agent"}) {
        const std::string dev = fmt::format("dev_{}_{}", kind, c->id);
        if (auto r = tx.q(
                "INSERT INTO devices (id, customer_id, site_id, kind, hostname, version, "
                "token_hash, status, enrolled_at, last_seen, heartbeat_limit_s) VALUES ($1, $2, "
                "$3, $4, $5, '0.1', 'x', 'active', $6, $7, 300)",
                {sp(dev), sp(c->id), sp(site), sp(kind),
                 sp(fmt::format("{}-{:04}", kind == std::string("sensor") ? "gw" : "pc", i)),
                 sp(t0 - 86400LL * 1000000 * 40), sp(month.end() - 1000000)});
            !r.ok()) {
          return r.error();
        }
      }
      for (int a = 0; a < 20; ++a) {
        const char* cat = kCategories[a % 6];
        if (auto r = tx.q(
                "INSERT INTO alerts (id, customer_id, device_id, source, category, severity, "
                "severity_rank, signature_id, signature, src_ip, dest_ip, window_start, "
                "first_seen, last_seen, count) VALUES ($1, $2, $3, 'network', $4, $5, $6, $7, $8, "
                "'198.51.100.7', '192.168.1.10', $9, $9, $9, 60)",
                {sp(fmt::format("alr_{}_{}", c->id, a)), sp(c->id), sp("dev_sensor_" + c->id),
                 sp(cat), sp(a % 5 == 0 ? "high" : "low"), sp(int64_t{a % 5 == 0 ? 3 : 1}),
                 sp(int64_t{2010000 + a}), sp(fmt::format("ET {} bench signature {}", cat, a)),
                 sp(t0 + a * 3600LL * 1000000 * 24)});
            !r.ok()) {
          return r.error();
        }
      }
      int k = 0;
      for (auto [cat, sev, status] : {std::tuple{"exploit", "high", "closed"},
                                      {"monitoring_stopped", "critical", "closed"}}) {
        const std::string host =
            cat == std::string("monitoring_stopped") ? "dev_agent_" + c->id : "192.168.1.10";
        if (auto r =
                tx.q("INSERT INTO incidents (id, customer_id, title, category, severity, "
                     "severity_rank, status, host, created_at, updated_at, closed_at, resolution, "
                     "alert_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, "
                     "'遠隔で対応済み', 3)",
                     {sp(fmt::format("inc_{}_{}", c->id, k++)), sp(c->id),
                      sp(fmt::format("{} の事案", cat)), sp(cat), sp(sev), sp(int64_t{3}),
                      sp(status), sp(host), sp(t0 + 86400LL * 1000000 * 10),
                      sp(t0 + 86400LL * 1000000 * 10 + 7200LL * 1000000)});
            !r.ok()) {
          return r.error();
        }
      }
      return {};
    });
    if (!st.ok()) {
      std::fprintf(stderr, "report_bench: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  const double fill_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_start).count();

  // Baseline: a one-line PDF per customer.
  auto b0 = std::chrono::steady_clock::now();
  size_t baseline_bytes = 0;
  for (int i = 0; i < n; ++i) {
    pdf::Metadata meta;
    meta.title = "baseline";
    pdf::Document doc(meta);
    doc.title("月次セキュリティレポート");
    baseline_bytes += doc.finish().size();
  }
  const double base_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - b0).count();

  auto r0 = std::chrono::steady_clock::now();
  size_t bytes = 0;
  double gather_s = 0;
  for (const auto& id : customers) {
    auto g0 = std::chrono::steady_clock::now();
    auto d = gather_monthly_report(s, sys, id, month);
    gather_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - g0).count();
    if (!d.ok()) {
      std::fprintf(stderr, "report_bench: %s\n", d.error().message.c_str());
      return 1;
    }
    bytes += render_monthly_report(*d).size();
  }
  const double report_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("customers                 %d (store filled in %.1f s)\n", n, fill_s);
  std::printf("baseline one-line PDFs    %.1f /s  (%.0f bytes each)\n", n / base_s,
              static_cast<double>(baseline_bytes) / n);
  std::printf(
      "monthly reports           %.1f /s  (%.0f bytes each; gathering %.1f%% of the time)\n",
      n / report_s, static_cast<double>(bytes) / n, 100.0 * gather_s / report_s);
  std::printf("report / baseline time    %.1fx\n", report_s / base_s);
  std::printf("peak RSS                  %.1f MiB\n", ru.ru_maxrss / 1024.0);
  std::filesystem::remove_all(dir);
  return 0;
}
