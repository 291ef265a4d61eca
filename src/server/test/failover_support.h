#pragma once
// Helpers of the fail-over and start-up tests: a real mimamori-server process on a store URL,
// and a device sending batches of DNS records to it, each batch again until answered 200.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace mimamori::server::testing {

/// A real mimamori-server process (plain HTTP, warnings logged) on `store_url`.
struct ServerProcess {
  pid_t pid = -1;
  uint16_t port = 0;

  explicit ServerProcess(const std::string& store_url) : port(free_port()) {
    const std::string dir = temp_dir();
    std::vector<std::string> args = {"mimamori-server",
                                     "--set",
                                     "server.data_dir=" + dir,
                                     "--set",
                                     "store.url=" + store_url,
                                     "--set",
                                     "server.port=" + std::to_string(port),
                                     "--set",
                                     "server.tls.enabled=false",
                                     "--set",
                                     "store.heartbeat_limit_s=3600",
                                     "--set",
                                     "store.reconnect_max_ms=500",
                                     "--log-level",
                                     "warn"};
    pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::string bin = std::string(MIMAMORI_BINARY_DIR) + "/bin/mimamori-server";
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~ServerProcess() { stop(); }
  int stop() {
    int status = -1;
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, &status, 0);
      pid = -1;
    }
    return status;
  }
  std::string base() const { return fmt::format("http://127.0.0.1:{}", port); }
  /// Waits until it answers HTTP at all; the health status then (0: it never answered).
  int answers() const {
    Client c(base());
    for (int i = 0; i < 400; ++i) {
      const int status = c.get("/api/v1/health").status;
      if (status != 0) return status;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }
  bool healthy() const {
    Client c(base());
    for (int i = 0; i < 400; ++i) {
      if (c.get("/api/v1/health").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

/// A device sending batches of DNS records to one server, each batch again until answered
/// 200 (as uplink does); remembers the last sequence number acknowledged.
struct SendingDevice {
  std::string id, token;
  Client client;
  std::atomic<int64_t> acked{0};
  std::atomic<int> batches{0}, refused{0};
  std::atomic<bool> stop{false};
  std::chrono::steady_clock::time_point
      first_ack_after{};  // set by the test before `watch` is raised
  std::atomic<bool> watch{false};
  std::atomic<int64_t> resumed_ms{-1};  // first acknowledgement after `first_ack_after`
  std::thread thread;

  explicit SendingDevice(std::string base) : client(std::move(base)) {}

  void run() {
    constexpr int kPerBatch = 20;
    int64_t seq = 1;
    while (!stop) {
      std::vector<std::string> lines;
      for (int i = 0; i < kPerBatch; ++i)
        lines.push_back(dns_line(fmt::format("h{}.{}.example", seq + i, id)));
      while (!stop) {
        auto r = ingest(client, token, seq, lines);
        if (r.status == 200) {
          acked = seq + kPerBatch - 1;
          ++batches;
          if (watch && resumed_ms < 0) {
            resumed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - first_ack_after)
                             .count();
          }
          seq += kPerBatch;
          break;
        }
        ++refused;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
};

}  // namespace mimamori::server::testing
