// No loss: a device streams batches while mimamori-server (the real program) is killed with
// SIGKILL and restarted several times. Afterwards every acknowledged event is stored exactly
// once, and the alerts derived from them are counted exactly once too.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "mimamori/server/store.h"
#include "test_support.h"
#include "triage/triage.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

pid_t start_server(const std::string& dir, uint16_t port) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string bin = std::string(MIMAMORI_BINARY_DIR) + "/bin/mimamori-server";
    std::string d = "server.data_dir=" + dir, p = "server.port=" + std::to_string(port);
    execl(bin.c_str(), "mimamori-server", "--set", d.c_str(), "--set", p.c_str(), "--set",
          "server.tls.enabled=false", "--set", "store.heartbeat_limit_s=3600", "--log-level",
          "error", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

bool wait_healthy(const Client& c) {
  for (int i = 0; i < 200; ++i) {
    if (c.get("/api/v1/health").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(NoLoss, AcknowledgedEventsSurviveRepeatedSigkill) {
  const std::string dir = temp_dir();
  const uint16_t port = free_port();
  std::string code;
  {
    StoreOptions so;
    so.url = "sqlite:" + dir;
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->init_provider("SOC", "a@soc.jp", "admin password 1234").ok());
    auto cus = (*store)->create_customer(Principal::system("t"), "A");
    ASSERT_TRUE(cus.ok());
    code = (*store)->create_enrollment_code(Principal::system("t"), cus->id, "", 0)->code;
  }
  pid_t pid = start_server(dir, port);
  Client c(fmt::format("http://127.0.0.1:{}", port));
  ASSERT_TRUE(wait_healthy(c));
  auto e = c.call("POST", "/api/v1/enroll",
                  json::serialize(json::object{
                      {"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
                  {"Content-Type: application/json"});
  ASSERT_EQ(e.status, 201) << e.body;
  const std::string dev = e.str("device_id"), tok = e.str("device_token");

  constexpr int kBatches = 200, kPerBatch = 100;
  std::atomic<int64_t> acked{0};
  std::atomic<int> retries{0};
  std::atomic<bool> kills_done{false};
  std::atomic<int> batches_sent{0};
  // The stream goes on until the server has been killed often enough, however fast it is.
  std::thread device([&] {
    int64_t seq = 1;
    for (int b = 0; b < kBatches || !kills_done; ++b) {
      std::vector<std::string> lines;
      for (int i = 0; i < kPerBatch; ++i) {
        lines.push_back(i == 0 ? alert_line(2024217, "ET MALWARE Cobalt Strike Beacon",
                                            "192.168.1.10", "203.0.113.9")
                               : dns_line(fmt::format("host{}.example", seq + i)));
      }
      // Like uplink: the same batch again until a 200 or 409 covers it.
      while (true) {
        auto r = ingest(c, tok, seq, lines);
        if (r.status == 200 || r.status == 409) {
          acked = seq + kPerBatch - 1;
          break;
        }
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      seq += kPerBatch;
      ++batches_sent;
    }
  });
  int kills = 0;
  while (kills < 6) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250 + 50 * kills));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    waitpid(pid, nullptr, 0);
    ++kills;
    pid = start_server(dir, port);
  }
  kills_done = true;
  device.join();
  ASSERT_TRUE(wait_healthy(c));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "graceful stop failed";
  EXPECT_GT(retries.load(), 0) << "no request ever failed: the kills did not interrupt";

  StoreOptions so;
  so.url = "sqlite:" + dir;
  auto store = open_store(so);
  ASSERT_TRUE(store.ok());
  auto seqs = (*store)->stored_seqs(dev);
  ASSERT_TRUE(seqs.ok());
  const int64_t total = static_cast<int64_t>(batches_sent.load()) * kPerBatch;
  ASSERT_EQ(acked.load(), total);
  ASSERT_EQ(seqs->size(), static_cast<size_t>(total));
  for (size_t i = 0; i < seqs->size(); ++i) ASSERT_EQ((*seqs)[i], static_cast<int64_t>(i + 1));
  // Derived rows count each stored alert once, retries or not.
  AlertQuery q;
  auto alerts = list_alerts(**store, Principal::system("t"), q);
  ASSERT_TRUE(alerts.ok());
  int64_t counted = 0;
  for (const auto& a : *alerts) counted += a.count;
  EXPECT_EQ(counted, batches_sent.load());
  std::printf("kills=%d retries=%d events=%zu\n", kills, retries.load(), seqs->size());
}

}  // namespace
}  // namespace mimamori::server::testing
