// bench_server_load: a load generator for mimamori-server on loopback. It enrolls N simulated
// devices with the given enrollment codes, then each device posts realistic gzip batches of
// EVE records (flows, dns, tls, http, a few alerts) with increasing sequence ranges over
// keep-alive connections, and reports sustained events/s and acknowledgement latency.
//
//   bench_server_load --url https://127.0.0.1:8443 --codes codes.txt --devices 1000
//                     --batch 200 --seconds 20 [--rate 10000] [--threads 8]

#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mimamori/core/clock.h"
#include "mimamori/core/eve.h"
#include "mimamori/uplink/http.h"
#include "mimamori/uplink/uplink.h"

namespace {

using Clock = std::chrono::steady_clock;

// One realistic record: mostly flows and protocol logs, ~1% alerts (a gateway sees about
// 1,200 detections a month against millions of flows).
std::string record(std::mt19937& rng, int64_t i) {
  using mimamori::core::Event;
  Event e;
  e.timestamp = mimamori::core::Timestamp{mimamori::core::now().micros};
  e.flow_id = rng();
  e.in_iface = "eth1";
  e.src_ip = mimamori::core::IpAddress::v4(0xC0A80100u | (rng() % 200 + 10));
  e.dest_ip = mimamori::core::IpAddress::v4(0xCB007100u | (rng() % 250));
  e.src_port = static_cast<uint16_t>(49152 + rng() % 16000);
  e.proto = "TCP";
  switch (i % 100 == 0 ? 4 : rng() % 4) {
    case 0:
      e.event_type = "flow";
      e.dest_port = 443;
      e.app_proto = "tls";
      e.fields.begin_object("flow")
          .add("pkts_toserver", 12)
          .add("pkts_toclient", 10)
          .add("bytes_toserver", 1823)
          .add("bytes_toclient", 9120)
          .add("state", "closed")
          .end();
      break;
    case 1:
      e.event_type = "dns";
      e.proto = "UDP";
      e.dest_port = 53;
      e.fields.begin_object("dns")
          .add("type", "query")
          .add("id", static_cast<int>(rng() % 65535))
          .add("rrname", "www.example.co.jp")
          .add("rrtype", "A")
          .end();
      break;
    case 2:
      e.event_type = "tls";
      e.dest_port = 443;
      e.fields.begin_object("tls")
          .add("sni", "login.example.com")
          .add("version", "TLS 1.3")
          .add("ja3s", "15af977ce25de452b96affa2addb1036")
          .end();
      break;
    case 3:
      e.event_type = "http";
      e.dest_port = 80;
      e.fields.begin_object("http")
          .add("hostname", "update.example.jp")
          .add("url", "/check?v=1.2.3")
          .add("http_user_agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
          .add("http_method", "GET")
          .add("status", 200)
          .end();
      break;
    default: {
      e.event_type = "alert";
      e.dest_port = 443;
      mimamori::core::Alert a;
      a.signature_id = 2027000 + rng() % 20;
      a.signature = "ET MALWARE Possible Cobalt Strike Beacon";
      a.category = "A Network Trojan was detected";
      a.severity = 1;
      e.alert = a;
    }
  }
  return mimamori::core::to_eve(e);
}

// CPU seconds (user + system) of this process so far.
double own_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of another process (the server) from /proc, or -1 when unknown.
double process_cpu_s(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int f = 3; f <= 15 && rest >> field; ++f) {
    if (f == 14) utime = std::stod(field);
    if (f == 15) stime = std::stod(field);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Device {
  std::string token;
  int64_t next_seq = 1;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_server_load: load generator for mimamori-server"};
  std::string url, codes_file;
  int devices = 1000, batch = 200, threads = 8, server_pid = 0;
  double seconds = 20, rate = 0;
  app.add_option("--url", url, "server base URL")->required();
  app.add_option("--codes", codes_file, "file with one enrollment code a line")->required();
  app.add_option("--devices", devices, "simulated devices");
  app.add_option("--batch", batch, "events per batch");
  app.add_option("--seconds", seconds, "how long to post");
  app.add_option("--rate", rate, "target events/s in total (0: as fast as possible)");
  app.add_option("--threads", threads, "client threads (connections)");
  app.add_option("--server-pid", server_pid, "report this process's CPU use while posting");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> codes;
  {
    std::ifstream in(codes_file);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) codes.push_back(l);
    }
  }
  if (static_cast<int>(codes.size()) < devices) {
    std::fprintf(stderr, "need %d codes, %s has %zu\n", devices, codes_file.c_str(), codes.size());
    return 2;
  }
  // Enroll every device (in parallel, a few connections).
  std::vector<Device> devs(static_cast<size_t>(devices));
  {
    std::atomic<int> next{0}, failed{0};
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&] {
        // One keep-alive connection per enrolling thread; the first certificate seen is pinned.
        mimamori::uplink::HttpsClient client("");
        for (int i; (i = next++) < devices;) {
          mimamori::uplink::EnrollRequest req;
          req.server_url = url;
          req.code = codes[static_cast<size_t>(i)];
          req.hostname = "gw-" + std::to_string(i);
          req.kind = "sensor";
          req.version = "bench";
          auto cred = mimamori::uplink::enroll(client, req);
          if (!cred) {
            ++failed;
            std::fprintf(stderr, "enroll %d: %s\n", i, cred.error().message.c_str());
            continue;
          }
          devs[static_cast<size_t>(i)].token = cred->device_token;
        }
      });
    }
    for (auto& t : ts) t.join();
    if (failed) return 1;
  }
  // Sixteen distinct batch bodies, gzip'ed once; the sequence range is in the headers.
  std::vector<std::string> bodies;
  std::mt19937 rng(42);
  size_t raw_bytes = 0;
  for (int b = 0; b < 16; ++b) {
    std::string s;
    for (int i = 0; i < batch; ++i) s += record(rng, b * batch + i) + "\n";
    raw_bytes += s.size();
    auto gz = mimamori::uplink::compress(s, mimamori::uplink::Compression::kGzip);
    if (!gz) {
      std::fprintf(stderr, "%s\n", gz.error().message.c_str());
      return 1;
    }
    bodies.push_back(std::move(*gz));
  }

  std::atomic<bool> stop{false};
  std::atomic<int64_t> events{0}, throttled{0}, errors{0};
  std::mutex lat_mu;
  std::vector<double> latencies;
  const double per_thread_rate = rate > 0 ? rate / threads : 0;
  const double client_cpu0 = own_cpu_s(), server_cpu0 = process_cpu_s(server_pid);
  auto started = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      mimamori::uplink::HttpsClient client("");
      std::vector<double> lat;
      int64_t sent = 0;
      size_t k = static_cast<size_t>(t);
      auto t0 = Clock::now();
      while (!stop) {
        for (size_t d = static_cast<size_t>(t); d < devs.size() && !stop;
             d += static_cast<size_t>(threads)) {
          if (per_thread_rate > 0) {
            auto due = t0 + std::chrono::duration<double>(sent / per_thread_rate);
            std::this_thread::sleep_until(due);
          }
          auto& dev = devs[d];
          const std::string& body = bodies[k++ % bodies.size()];
          auto q0 = Clock::now();
          auto r = mimamori::uplink::post_ingest(client, url, dev.token,
                                                 static_cast<uint64_t>(dev.next_seq),
                                                 static_cast<uint64_t>(dev.next_seq + batch - 1),
                                                 body, mimamori::uplink::Compression::kGzip);
          double ms = std::chrono::duration<double, std::milli>(Clock::now() - q0).count();
          long status = r ? r->status : 0;
          if (status == 200 || status == 409) {
            dev.next_seq += batch;
            events += batch;
            sent += batch;
            lat.push_back(ms);
          } else if (status == 429) {
            ++throttled;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          } else {
            ++errors;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
        }
      }
      std::lock_guard lock(lat_mu);
      latencies.insert(latencies.end(), lat.begin(), lat.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  // Both run on the same cores: a load generator that eats the CPU caps what it measures.
  const double client_cpu = own_cpu_s() - client_cpu0;
  const double server_cpu = server_pid > 0 ? process_cpu_s(server_pid) - server_cpu0 : -1;
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[std::min(latencies.size() - 1,
                                                  static_cast<size_t>(p * latencies.size()))];
  };
  std::printf(
      "devices=%d batch=%d threads=%d target_rate=%.0f seconds=%.1f\n"
      "events=%lld events_per_s=%.0f batches=%zu ack_p50_ms=%.1f ack_p99_ms=%.1f "
      "throttled=%lld errors=%lld avg_raw_batch_bytes=%zu\n"
      "client_cpu_s=%.2f server_cpu_s=%.2f (of %.1f s wall)\n",
      devices, batch, threads, rate, elapsed, static_cast<long long>(events.load()),
      events.load() / elapsed, latencies.size(), pct(0.50), pct(0.99),
      static_cast<long long>(throttled.load()), static_cast<long long>(errors.load()),
      raw_bytes / bodies.size(), client_cpu, server_cpu, elapsed);
  return errors > 0 && events == 0 ? 1 : 0;
}
