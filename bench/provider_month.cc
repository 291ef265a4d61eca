// A provider's month in compressed time (driven by bench/provider_month): N customers, each a
// gateway sensor sending an office's traffic mix (flow, dns, tls, http, a few alerts), one
// simulated day after another through the server's own ingest queue (triage and hourly
// aggregates in the same commits), with the server's expiry sweep after each day. It reports
// the bytes on disk per event and per customer, the ingest rate with and without an expiry
// sweep running beside it, and p50/p99 of the store functions behind the console's main
// screens with `--query-customers` customers in the store.

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "ingest/ingest_queue.h"
#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/core/log.h"
#include "mimamori/server/ingest.h"
#include "mimamori/server/store.h"
#include "retention/retention.h"
#include "store/community_id.h"
#include "store/sql.h"
#include "triage/triage.h"

namespace {

using namespace mimamori;
using server::Store;
using Clock = std::chrono::steady_clock;

constexpr int64_t kHour = 3600LL * 1000000;
constexpr int64_t kDay = 24 * kHour;
// What one 30-person office sends in a month at the gateway (22,000 records an office hour).
constexpr double kEventsPerCustomerMonth = 5.0e6;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Names an office resolves: a few very common, a long tail (Zipf-like by rank).
struct Traffic {
  std::vector<std::string> domains;
  std::mt19937_64 rng{42};

  Traffic() {
    const char* common[] = {"www.google.com",
                            "outlook.office365.com",
                            "login.microsoftonline.com",
                            "www.yahoo.co.jp",
                            "teams.microsoft.com",
                            "update.microsoft.com",
                            "www.line.me",
                            "s3.ap-northeast-1.amazonaws.com"};
    for (auto d : common) domains.emplace_back(d);
    for (int i = 0; i < 400; ++i) domains.push_back(fmt::format("site{}.example{}.jp", i, i % 7));
  }
  const std::string& domain() {
    // rank ~ 1/u: a heavy head and a long tail.
    double u = std::uniform_real_distribution<double>(0.002, 1.0)(rng);
    size_t rank = static_cast<size_t>(1.0 / u) - 1;
    return domains[std::min(rank, domains.size() - 1)];
  }
  uint32_t host() { return 0xC0A80100u | static_cast<uint32_t>(10 + rng() % 30); }  // 30 PCs

  // One record as Suricata writes it (the members of its default EVE configuration).
  std::string record(int64_t ts, int kind) {
    core::Event e;
    e.timestamp = core::Timestamp{ts};
    e.flow_id = rng() & 0x7fffffffffffffULL;
    e.in_iface = "eth1";
    // Alerts come from one or two machines of the office, the rest from any of them.
    e.src_ip =
        core::IpAddress::v4(kind == 4 ? 0xC0A8010Au + static_cast<uint32_t>(rng() % 2) : host());
    e.dest_ip = core::IpAddress::v4(0xCB007100u | static_cast<uint32_t>(rng() % 250));
    e.src_port = static_cast<uint16_t>(49152 + rng() % 16000);
    e.proto = "TCP";
    // Suricata's Community ID of the flow (seed 0), after the destination port is known.
    auto community = [&e] {
      return server::community_id_v1(e.src_ip, e.dest_ip, e.proto == "UDP" ? 17 : 6,
                                     e.src_port.value_or(0), e.dest_port.value_or(0));
    };
    switch (kind) {
      case 0: {  // flow
        e.event_type = "flow";
        e.dest_port = 443;
        e.app_proto = "tls";
        const int64_t out = 500 + static_cast<int64_t>(rng() % 40000);
        const int64_t in = 2000 + static_cast<int64_t>(rng() % 400000);
        e.fields.add("community_id", community());
        e.fields.begin_object("flow")
            .add("pkts_toserver", out / 600 + 3)
            .add("pkts_toclient", in / 1200 + 3)
            .add("bytes_toserver", out)
            .add("bytes_toclient", in)
            .add("start", core::format_eve_time(core::Timestamp{ts - 30000000}))
            .add("end", core::format_eve_time(core::Timestamp{ts}))
            .add("age", 30)
            .add("state", "closed")
            .add("reason", "timeout")
            .add("alerted", false)
            .end();
        e.fields.begin_object("tcp")
            .add("tcp_flags", "1b")
            .add("tcp_flags_ts", "1b")
            .add("tcp_flags_tc", "1b")
            .add("syn", true)
            .add("fin", true)
            .add("psh", true)
            .add("ack", true)
            .add("state", "closed")
            .end();
        break;
      }
      case 1:  // dns query
        e.event_type = "dns";
        e.proto = "UDP";
        e.dest_port = 53;
        e.fields.add("community_id", community());
        e.fields.begin_object("dns")
            .add("type", "query")
            .add("id", static_cast<int>(rng() % 65535))
            .add("rrname", domain())
            .add("rrtype", "A")
            .add("tx_id", 0)
            .add("opcode", 0)
            .end();
        break;
      case 2:  // tls
        e.event_type = "tls";
        e.dest_port = 443;
        e.fields.add("community_id", community());
        e.fields.begin_object("tls")
            .add("subject", "CN=" + domain())
            .add("issuerdn", "C=US, O=Let's Encrypt, CN=R3")
            .add("serial", fmt::format("{:X}", rng()))
            .add("fingerprint",
                 fmt::format("{:016x}{:016x}{:08x}", rng(), rng(), rng() & 0xffffffff))
            .add("sni", domain())
            .add("version", "TLS 1.3")
            .add("notbefore", "2026-10-01T00:00:00")
            .add("notafter", "2026-12-30T23:59:59")
            .add("ja3s", "15af977ce25de452b96affa2addb1036")
            .end();
        break;
      case 3:  // http
        e.event_type = "http";
        e.dest_port = 80;
        e.fields.add("community_id", community());
        e.fields.begin_object("http")
            .add("hostname", domain())
            .add("url", fmt::format("/api/v2/check?client={}&v=1.{}.{}", rng() % 10000, rng() % 9,
                                    rng() % 20))
            .add("http_user_agent",
                 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                 "Gecko) Chrome/120.0.0.0 Safari/537.36")
            .add("http_content_type", "application/json")
            .add("http_method", "GET")
            .add("protocol", "HTTP/1.1")
            .add("status", 200)
            .add("length", static_cast<int64_t>(rng() % 20000))
            .end();
        break;
      default: {  // alert
        e.event_type = "alert";
        e.dest_port = 443;
        core::Alert a;
        static const std::pair<uint64_t, const char*> kSigs[] = {
            {2027000, "ET MALWARE Possible Cobalt Strike Beacon"},
            {2010935, "ET SCAN Suspicious inbound to MSSQL port 1433"},
            {2024217, "ET POLICY Possible Kali Linux hostname in DHCP Request Packet"},
            {2013028, "ET POLICY curl User-Agent Outbound"}};
        const auto& s = kSigs[rng() % 4];
        a.signature_id = s.first;
        a.signature = s.second;
        a.category = "A Network Trojan was detected";
        a.severity = static_cast<int>(1 + rng() % 3);
        e.alert = a;
      }
    }
    return core::to_eve(e);
  }

  // The office mix: 45% flow, 30% dns, 15% tls, 10% http.
  int kind() {
    int r = static_cast<int>(rng() % 100);
    return r < 45 ? 0 : r < 75 ? 1 : r < 90 ? 2 : 3;
  }
};

struct Device {
  std::string customer, id;
  int64_t seq = 1;
};

// Submits batches to the ingest queue and waits for their commits.
class Feeder {
 public:
  explicit Feeder(server::IngestQueue& q) : q_(q) {}
  void submit(Device& d, const std::vector<std::string>& lines) {
    server::IngestBatch b;
    b.device_id = d.id;
    b.customer_id = d.customer;
    b.device_kind = "sensor";
    b.first = d.seq;
    b.last = d.seq + static_cast<int64_t>(lines.size()) - 1;
    for (const auto& l : lines) b.body += l + "\n";
    d.seq = b.last + 1;
    if (auto st = server::parse_ingest_batch(b); !st.ok()) {
      std::fprintf(stderr, "batch refused: %s\n", st.error().message.c_str());
      std::exit(1);
    }
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return in_flight_ < 64; });
      ++in_flight_;
    }
    const auto n = static_cast<int64_t>(lines.size());
    q_.submit(std::move(b), [this, n](core::Result<server::IngestOutcome> r) {
      std::lock_guard lock(mu_);
      if (!r.ok()) {
        ++failed_;
      } else {
        events_ += n;
      }
      --in_flight_;
      cv_.notify_all();
    });
  }
  void drain() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  int64_t failed() {
    std::lock_guard lock(mu_);
    return failed_;
  }

 private:
  server::IngestQueue& q_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int64_t events_ = 0, failed_ = 0;
};

// Sends `per_device` events of day [day_start, day_start + 1 day) for each device, in batches of
// 500, alerts mixed in at `alerts_per_device`.
void send_day(Traffic& t, Feeder& f, std::vector<Device>& devices, int64_t day_start,
              int64_t per_device, int64_t alerts_per_device) {
  std::vector<std::string> lines;
  for (auto& d : devices) {
    lines.clear();
    for (int64_t i = 0; i < per_device; ++i) {
      // Office hours mostly: 08:00-19:00 JST is 23:00-10:00 UTC.
      int64_t off = static_cast<int64_t>(t.rng() % static_cast<uint64_t>(kDay));
      if (t.rng() % 10 < 8) off = (23 * kHour + off % (11 * kHour)) % kDay;
      const bool alert = i < alerts_per_device;
      lines.push_back(t.record(day_start + off, alert ? 4 : t.kind()));
      if (lines.size() == 500) {
        f.submit(d, lines);
        lines.clear();
      }
    }
    if (!lines.empty()) f.submit(d, lines);
  }
  f.drain();
}

struct TableSize {
  int64_t rows = 0, bytes = 0;
};

// Rows and bytes on disk (table plus its indexes) of a table.
TableSize table_size(Store& store, const std::string& table) {
  TableSize out;
  auto st = store.transact(false, [&](server::SqlTx& tx) -> core::Status {
    auto n = tx.q("SELECT COUNT(*) FROM " + table);
    if (!n.ok()) return n.error();
    out.rows = n->i64(0, 0);
    if (tx.dialect() == server::Dialect::kPostgres) {
      auto b = tx.q("SELECT pg_total_relation_size('" + table + "')");
      if (!b.ok()) return b.error();
      out.bytes = b->i64(0, 0);
    } else {
      // dbstat: the pages of the table and of every index on it.
      auto b = tx.q(
          "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name = $1 OR name IN (SELECT name "
          "FROM sqlite_master WHERE type = 'index' AND tbl_name = $1)",
          {server::sp(table)});
      if (!b.ok()) return b.error();
      out.bytes = b->i64(0, 0);
    }
    return {};
  });
  if (!st.ok()) std::fprintf(stderr, "size of %s: %s\n", table.c_str(), st.error().message.c_str());
  return out;
}

int64_t database_bytes(Store& store) {
  int64_t bytes = 0;
  (void)store.transact(false, [&](server::SqlTx& tx) -> core::Status {
    auto b = tx.dialect() == server::Dialect::kPostgres
                 ? tx.q("SELECT pg_database_size(current_database())")
                 : tx.q(
                       "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT "
                       "freelist_count FROM pragma_freelist_count())");
    if (!b.ok()) return b.error();
    bytes = b->i64(0, 0);
    if (tx.dialect() == server::Dialect::kSqlite) {
      auto ps = tx.q("SELECT page_size FROM pragma_page_size()");
      if (ps.ok()) bytes *= ps->i64(0, 0);
    }
    return {};
  });
  return bytes;
}

struct Percentiles {
  double p50 = 0, p99 = 0, max = 0;
};

Percentiles timed(int runs, const std::function<void(int)>& fn) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    fn(i);
    ms.push_back(seconds_since(t0) * 1000.0);
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  };
  return {at(0.5), at(0.99), ms.back()};
}

}  // namespace

// Peak resident memory of this process so far, MB: the server's store, ingest queue and
// writers, triage and expiry run here (the traffic generator beside them is small).
static double peak_rss_mb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

int main(int argc, char** argv) {
  CLI::App app{"A provider's month: storage, ingest during expiry, console query latency"};
  std::string url;
  int customers = 10, days = 35, query_customers = 1000, runs = 200;
  int64_t per_day = 4000, agg_rows = 6;
  app.add_option("--store", url, "store URL (sqlite:DIR or postgresql://…)")->required();
  app.add_option("--customers", customers, "customers sending the month's traffic");
  app.add_option("--days", days, "simulated days (raw events are kept 30)");
  app.add_option("--events-per-day", per_day, "events per customer and day (an office: ~167,000)");
  app.add_option("--query-customers", query_customers, "customers in the store for the queries");
  app.add_option("--agg-rows-per-hour", agg_rows,
                 "hourly aggregate rows per hour of each customer without traffic");
  app.add_option("--runs", runs, "runs of each query");
  CLI11_PARSE(app, argc, argv);
  core::init_logging("provider_month", "warn");

  server::StoreOptions so;
  so.url = url;
  so.secret_key_file =
      (std::filesystem::temp_directory_path() / fmt::format("provider-month-{}.key", ::getpid()))
          .string();
  so.heartbeat_limit_s = 365LL * 86400;
  auto opened = server::open_store(so);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  Store& store = **opened;
  const auto sys = server::Principal::system("bench");
  (void)store.init_provider("Bench SOC", "admin@bench.example.jp", "bench password 1234");

  std::vector<Device> devices;
  auto add_customer = [&](int i) -> Device {
    auto c = store.create_customer(sys, fmt::format("顧客 {:04}", i));
    if (!c.ok()) {
      std::fprintf(stderr, "customer: %s\n", c.error().message.c_str());
      std::exit(1);
    }
    auto code = store.create_enrollment_code(sys, c->id, "", 3600);
    if (!code.ok()) {
      std::fprintf(stderr, "enrollment code: %s\n", code.error().message.c_str());
      std::exit(1);
    }
    auto e = store.enroll(code->code, fmt::format("gw-{:04}", i), "sensor", "0.1.0", "127.0.0.1");
    if (!e.ok()) {
      std::fprintf(stderr, "enroll: %s\n", e.error().message.c_str());
      std::exit(1);
    }
    return Device{c->id, e->device_id};
  };
  for (int i = 0; i < customers; ++i) devices.push_back(add_customer(i));

  server::IngestQueue queue(store);
  Feeder feeder(queue);
  Traffic traffic;
  server::RetentionOptions ro;  // the defaults: raw 30 days, alerts kept, aggregates 13 months
  server::Expiry expiry(store, ro);
  const int64_t start = (core::now().micros / kDay - days - 1) * kDay;
  const int64_t alerts_per_day =
      std::max<int64_t>(1, static_cast<int64_t>(1200.0 / 30.0 * static_cast<double>(per_day) /
                                                (kEventsPerCustomerMonth / 30.0)));

  std::printf("backend %s: %d customers x %d days x %lld events a day (%lld alerts a day)\n",
              std::string(store.backend_name()).c_str(), customers, days,
              static_cast<long long>(per_day), static_cast<long long>(alerts_per_day));
  double ingest_s = 0, sweep_s = 0;
  int64_t ingested = 0;
  server::ExpiryStats swept;
  for (int d = 0; d < days; ++d) {
    auto t0 = Clock::now();
    send_day(traffic, feeder, devices, start + d * kDay, per_day, alerts_per_day);
    ingest_s += seconds_since(t0);
    ingested += per_day * customers;
    // The server's sweep at the end of the simulated day.
    t0 = Clock::now();
    auto st = expiry.sweep(start + (d + 1) * kDay);
    sweep_s += seconds_since(t0);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.error().message.c_str());
      return 1;
    }
  }
  swept = expiry.totals();
  std::printf(
      "month: %lld events ingested at %.0f events/s; %lld expired in %lld batches "
      "(%.1f s of sweeps, %lld batches over 50 ms, longest %.1f ms)\n",
      static_cast<long long>(ingested), static_cast<double>(ingested) / ingest_s,
      static_cast<long long>(swept.events_deleted), static_cast<long long>(swept.batches), sweep_s,
      static_cast<long long>(swept.batches_over),
      static_cast<double>(swept.longest_batch_us) / 1000.0);

  std::printf("memory: peak RSS %.0f MB after the month's ingest and expiry\n", peak_rss_mb());

  // Storage at the end of the month: 30 days of raw events, the alerts' records, aggregates.
  // Raw events: compressed blocks, and rows of the uncompressed table of earlier versions.
  auto ev = table_size(store, "events");
  const auto blocks = table_size(store, "event_blocks");
  int64_t block_events = 0, block_raw = 0;
  (void)store.transact(false, [&](server::SqlTx& tx) -> core::Status {
    auto r = tx.q("SELECT COALESCE(SUM(events), 0), COALESCE(SUM(raw_bytes), 0) FROM event_blocks");
    if (!r.ok()) return r.error();
    block_events = r->i64(0, 0);
    block_raw = r->i64(0, 1);
    return {};
  });
  std::printf(
      "event blocks: %lld holding %lld events (%.0f events a block), records %.1f MB "
      "before compression, table and indexes %.1f MB\n",
      static_cast<long long>(blocks.rows), static_cast<long long>(block_events),
      static_cast<double>(block_events) / static_cast<double>(std::max<int64_t>(1, blocks.rows)),
      block_raw / 1e6, blocks.bytes / 1e6);
  ev.rows += block_events;
  ev.bytes += blocks.bytes;
  // Aggregates: the rows of hours not yet folded (a working set that does not grow with the
  // months kept) and one folded row per customer and closed hour (which does).
  const auto agg = table_size(store, "hourly_aggregates");
  const auto folded = table_size(store, "hourly_aggregate_blocks");
  const auto alerts = table_size(store, "alerts");
  const int64_t db = database_bytes(store);
  const double per_event =
      static_cast<double>(ev.bytes) / static_cast<double>(std::max<int64_t>(1, ev.rows));
  const int64_t agg_hours = static_cast<int64_t>(customers) * days * 24;
  const double agg_per_hour = static_cast<double>(folded.bytes) / static_cast<double>(agg_hours);
  const double agg_open = static_cast<double>(agg.bytes) / customers;
  std::printf(
      "disk: database %.1f MB; events %lld rows %.1f MB (%.0f bytes/event); hourly "
      "aggregates folded %lld rows %.1f MB (%.0f bytes per customer-hour) + not yet folded %lld "
      "rows %.1f MB (%.1f MB per customer); alerts %lld rows %.1f MB\n",
      db / 1e6, static_cast<long long>(ev.rows), ev.bytes / 1e6, per_event,
      static_cast<long long>(folded.rows), folded.bytes / 1e6, agg_per_hour,
      static_cast<long long>(agg.rows), agg.bytes / 1e6, agg_open / 1e6,
      static_cast<long long>(alerts.rows), alerts.bytes / 1e6);
  const double raw_month = per_event * kEventsPerCustomerMonth;
  const double agg_13 = agg_per_hour * 24 * 396 + agg_open;
  std::printf(
      "per customer at an office's 5 M events a month: raw 30 days %.0f MB + 13 months "
      "of aggregates (folded, and the hours not yet folded) %.1f MB = %.0f MB per customer "
      "(goal 300 MB)\n",
      raw_month / 1e6, agg_13 / 1e6, (raw_month + agg_13) / 1e6);

  // Ingest with and without a sweep beside it: five more days expire while a day comes in.
  {
    const int64_t day = start + days * kDay;
    auto t0 = Clock::now();
    send_day(traffic, feeder, devices, day, per_day, alerts_per_day);
    const double quiet = static_cast<double>(per_day * customers) / seconds_since(t0);
    std::atomic<bool> sweeping{true};
    server::Expiry later(store, ro);
    server::ExpiryStats during_sweep;
    double sweep_wall = 0;
    std::thread sweeper([&] {
      auto s0 = Clock::now();
      auto st = later.sweep(day + 6 * kDay);
      sweep_wall = seconds_since(s0);
      if (st.ok()) during_sweep = *st;
      sweeping = false;
    });
    // Ingest offered at half the rate measured alone (a writer kept busy all the time
    // would leave no moment to any other writer, expiry or not), until the sweep is done.
    int64_t sent = 0;
    t0 = Clock::now();
    const int64_t next = day + kDay;
    const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(per_day, 1000));
    while (sweeping) {
      send_day(traffic, feeder, devices, next, chunk, 0);
      sent += chunk * customers;
      const double due = static_cast<double>(sent) / (quiet / 2);
      const double ahead = due - seconds_since(t0);
      if (ahead > 0) std::this_thread::sleep_for(std::chrono::duration<double>(ahead));
    }
    const double busy = static_cast<double>(sent) / seconds_since(t0);
    sweeper.join();
    std::printf(
        "ingest: %.0f events/s alone; offered half of it, %.0f events/s committed while a sweep "
        "expired %lld events "
        "(%.0f events/s, %lld batches, %lld over 50 ms, longest %.1f ms, writer held %.0f%% of "
        "%.1f s)\n",
        quiet, busy, static_cast<long long>(during_sweep.events_deleted),
        static_cast<double>(during_sweep.events_deleted) / std::max(sweep_wall, 1e-9),
        static_cast<long long>(during_sweep.batches),
        static_cast<long long>(during_sweep.batches_over),
        static_cast<double>(during_sweep.longest_batch_us) / 1000.0,
        100.0 * static_cast<double>(during_sweep.busy_us) / 1e6 / std::max(sweep_wall, 1e-9),
        sweep_wall);
  }
  if (feeder.failed() > 0) {
    std::fprintf(stderr, "%lld batches failed\n", static_cast<long long>(feeder.failed()));
    return 1;
  }

  // The store at `query_customers` customers: each with a month of alerts (a few incidents)
  // and of hourly aggregates.
  auto t0 = Clock::now();
  for (int i = customers; i < query_customers; ++i) devices.push_back(add_customer(i));
  std::vector<Device> quiet(devices.begin() + customers, devices.end());
  for (auto& d : quiet) {
    std::vector<std::string> lines;
    // A month's alert rows of a quiet office: 40 detections on three days (a few incidents).
    int64_t days_with_alerts[3];
    for (auto& day : days_with_alerts) day = static_cast<int64_t>(traffic.rng() % 30);
    for (int k = 0; k < 40; ++k) {
      const int64_t ts = start + days_with_alerts[k % 3] * kDay +
                         static_cast<int64_t>(traffic.rng() % static_cast<uint64_t>(kDay));
      lines.push_back(traffic.record(ts, 4));
    }
    feeder.submit(d, lines);
  }
  feeder.drain();
  {
    const int64_t first_hour = start / kHour * kHour;
    static const char* kItems[] = {"flow", "dns", "tls", "http", "alert", "fileinfo", "ssh", "smb"};
    int64_t rows = 0;
    // One transaction per customer: a month of its hours, 200 rows a statement.
    for (auto& d : quiet) {
      auto st = store.transact(true, [&](server::SqlTx& tx) -> core::Status {
        std::vector<server::SqlParam> params;
        std::string sql;
        auto flush = [&]() -> core::Status {
          if (params.empty()) return {};
          auto r = tx.query(
              "INSERT INTO hourly_aggregates (customer_id, hour_start, metric, item, value) "
              "VALUES " +
                  sql + " ON CONFLICT DO NOTHING",
              params);
          params.clear();
          sql.clear();
          if (!r.ok()) return r.error();
          return {};
        };
        for (int64_t h = 0; h < 30 * 24; ++h) {
          for (int64_t k = 0; k < agg_rows; ++k) {
            const size_t n = params.size();
            sql += fmt::format("{}(${}, ${}, ${}, ${}, ${})", sql.empty() ? "" : ", ", n + 1, n + 2,
                               n + 3, n + 4, n + 5);
            params.push_back(server::sp(d.customer));
            params.push_back(server::sp(first_hour + h * kHour));
            params.push_back(server::sp("events"));
            params.push_back(server::sp(kItems[k % 8]));
            params.push_back(server::sp(static_cast<int64_t>(traffic.rng() % 5000)));
            ++rows;
            if (params.size() >= 1000) {
              if (auto f = flush(); !f.ok()) return f;
            }
          }
        }
        return flush();
      });
      if (!st.ok()) {
        std::fprintf(stderr, "aggregates: %s\n", st.error().message.c_str());
        return 1;
      }
    }
    std::printf("store of %d customers made in %.0f s (%lld aggregate rows added)\n",
                query_customers, seconds_since(t0), static_cast<long long>(rows));
  }

  server::Principal analyst;
  analyst.user_id = "usr_bench";
  analyst.name = "analyst@bench.example.jp";
  analyst.role = server::Role::kAnalyst;
  std::vector<std::string> incident_ids;
  {
    server::IncidentQuery q;
    q.limit = 1000;
    auto l = server::list_incidents(store, analyst, q);
    if (l.ok()) {
      for (const auto& i : *l) incident_ids.push_back(i.id);
    }
  }
  if (incident_ids.empty()) {
    std::fprintf(stderr, "no incidents to read\n");
    return 1;
  }
  const int64_t month_to = (start / kDay + 30) * kDay;
  int64_t query_errors = 0;  // failed or empty answers: the timings would mean nothing
  struct Q {
    const char* name;
    std::function<void(int)> fn;
  };
  const std::vector<Q> queries = {
      {"overview (customers, devices, incidents of the 4 open statuses, pages of 1000)",
       [&](int) {
         (void)store.list_customers(analyst, 1000, 0);
         (void)store.list_devices(analyst, "", 1000, 0);
         for (const char* s : {"open", "acknowledged", "in_progress", "resolved"}) {
           server::IncidentQuery q;
           q.status = s;
           q.limit = 1000;
           (void)server::list_incidents(store, analyst, q);
         }
       }},
      {"queue (incidents, newest 100)",
       [&](int) { (void)server::list_incidents(store, analyst, server::IncidentQuery{}); }},
      {"incident detail (incident, timeline, alerts)",
       [&](int i) {
         const auto& id = incident_ids[static_cast<size_t>(i) % incident_ids.size()];
         if (!server::get_incident(store, analyst, id).ok() ||
             !server::incident_timeline(store, analyst, id).ok() ||
             !server::incident_alerts(store, analyst, id).ok()) {
           ++query_errors;
         }
       }},
      {"a month's hourly aggregates of one customer",
       [&](int i) {
         // The customers with traffic: their hours hold every metric, cut to the top 20.
         const auto& d = devices[static_cast<size_t>(i) % static_cast<size_t>(customers)];
         auto r = server::read_hourly_aggregates(store, analyst, d.customer, start, month_to);
         if (!r.ok() || r->empty()) ++query_errors;
       }},
  };
  std::printf(
      "queries at %d customers (%zu incidents), %d runs each, store functions of the "
      "routes:\n",
      query_customers, incident_ids.size(), runs);
  for (const auto& q : queries) {
    auto p = timed(runs, q.fn);
    std::printf("  %-80s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", q.name, p.p50, p.p99, p.max);
  }
  std::printf("query errors or empty answers: %lld\n", static_cast<long long>(query_errors));
  std::printf("memory: peak RSS %.0f MB at the end (queries at %d customers included)\n",
              peak_rss_mb(), query_customers);
  std::filesystem::remove(so.secret_key_file);
  return 0;
}
