// Several instances on one PostgreSQL: two real mimamori-server processes share a throwaway
// database, devices post through both, and the background work both instances run every 50 ms
// (outbox delivery to a real SMTP sink, the 監視停止 heartbeat watch, escalation) happens
// exactly once: one e-mail per incident and escalation step, one 監視停止 incident per device
// counted once.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <thread>

#include "mimamori/core/clock.h"
#include "mimamori/server/store.h"
#include "notify/notify.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

struct Instance {
  pid_t pid = -1;
  uint16_t port = 0;

  Instance(const std::string& store_url, int smtp_port) : port(free_port()) {
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
                                     "server.background_interval_ms=50",
                                     "--set",
                                     "server.escalation_after_s=2",
                                     "--set",
                                     "store.heartbeat_limit_s=2",
                                     "--set",
                                     "notify.enabled=true",
                                     "--set",
                                     fmt::format("notify.smtp_url=smtp://127.0.0.1:{}", smtp_port),
                                     "--set",
                                     "notify.smtp_from=soc@example.jp",
                                     "--log-level",
                                     "error"};
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
  ~Instance() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string base() const { return fmt::format("http://127.0.0.1:{}", port); }
  bool healthy() const {
    Client c(base());
    for (int i = 0; i < 400; ++i) {
      if (c.get("/api/v1/health").status == 200) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
};

// The idempotency key of each mail in the sink.
std::vector<std::string> mail_keys(const Sink& smtp) {
  std::vector<std::string> keys;
  constexpr std::string_view kHeader = "X-Mimamori-Idempotency-Key: ";
  for (const auto& m : smtp.files()) {
    auto at = m.find(kHeader);
    if (at == std::string::npos) {
      ADD_FAILURE() << "mail without idempotency key: " << m;
      continue;
    }
    at += kHeader.size();
    keys.push_back(m.substr(at, m.find('\r', at) - at));
  }
  return keys;
}

TEST(MultiInstance, BackgroundWorkOnOnePostgresqlHappensExactlyOnce) {
  std::string why;
  const std::string url = fresh_store_url("postgres", &why);
  if (url.empty()) GTEST_SKIP() << why;
  Sink smtp("smtp");
  ASSERT_GT(smtp.port, 0) << "python3-aiosmtpd missing?";

  std::string customer;
  std::vector<std::string> codes;
  {
    StoreOptions so;
    so.url = url;
    auto store = open_store(so);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto& s = **store;
    const auto sys = Principal::system("test");
    ASSERT_TRUE(s.init_provider("SOC", "admin@soc.example.jp", "admin password 1234").ok());
    auto cus = s.create_customer(sys, "C");
    ASSERT_TRUE(cus.ok());
    customer = cus->id;
    Channel ch;
    ch.customer_id = customer;
    ch.kind = "email";
    ch.name = "owner";
    ch.target = "owner@c.example.jp";
    ASSERT_TRUE(create_channel(s, sys, ch).ok());
    auto analyst = s.create_user(sys, "oncall@soc.example.jp", "当番", "analyst password 12",
                                 Role::kAnalyst, "");
    ASSERT_TRUE(analyst.ok()) << analyst.error().message;
    OnCallEntry e;
    e.position = 0;
    e.user_id = analyst->id;
    ASSERT_TRUE(set_oncall(s, sys, {e}).ok());
    for (int i = 0; i < 4; ++i) {
      auto c = s.create_enrollment_code(sys, customer, "", 0);
      ASSERT_TRUE(c.ok());
      codes.push_back(c->code);
    }
  }
  Instance a(url, smtp.port), b(url, smtp.port);
  ASSERT_TRUE(a.healthy());
  ASSERT_TRUE(b.healthy());
  const Client ca(a.base()), cb(b.base());

  // Four devices, enrolled two through each instance.
  std::vector<std::string> tokens, devices;
  for (int i = 0; i < 4; ++i) {
    const Client& c = i < 2 ? ca : cb;
    auto r = c.call("POST", "/api/v1/enroll",
                    json::serialize(json::object{{"code", codes[static_cast<size_t>(i)]},
                                                 {"hostname", fmt::format("gw-{}", i)},
                                                 {"kind", "sensor"},
                                                 {"version", "1"}}),
                    {"Content-Type: application/json"});
    ASSERT_EQ(r.status, 201) << r.body;
    devices.push_back(r.str("device_id"));
    tokens.push_back(r.str("device_token"));
  }
  // Two devices report the same internal host at the same moment, one through each instance:
  // one incident. Two more hosts, one through each: two more incidents.
  auto c2 = [](std::string_view host) {
    return alert_line(2024217, "ET MALWARE Cobalt Strike Beacon", host, "203.0.113.9");
  };
  std::thread t0([&] { EXPECT_EQ(ingest(ca, tokens[0], 1, {c2("192.168.1.10")}).status, 200); });
  std::thread t1([&] { EXPECT_EQ(ingest(cb, tokens[1], 1, {c2("192.168.1.10")}).status, 200); });
  t0.join();
  t1.join();
  EXPECT_EQ(ingest(ca, tokens[2], 1, {c2("192.168.1.20")}).status, 200);
  EXPECT_EQ(ingest(cb, tokens[3], 1, {c2("192.168.1.30")}).status, 200);

  // Then every device falls silent: after 2 s each opens its 監視停止 incident. Every critical
  // incident mails the customer once, and after 2 s unacknowledged it escalates to on-call.
  Client admin(a.base());
  ASSERT_EQ(admin.login("admin@soc.example.jp", "admin password 1234").status, 200);
  json::array incidents;
  std::set<std::string> want;
  std::vector<std::string> keys;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    incidents = admin.get("/api/v1/incidents").json().at("items").as_array();
    want.clear();
    for (const auto& i : incidents) {
      std::string id(i.at("id").as_string());
      want.insert(id + ":opened");
      want.insert(id + ":escalation:1");
    }
    keys = mail_keys(smtp);
    std::set<std::string> have;
    for (const auto& k : keys) {
      // Opened mails are keyed incident:channel:opened; keep the incident and the step.
      auto first = k.find(':');
      have.insert(k.ends_with(":opened") ? k.substr(0, first) + ":opened" : k);
    }
    bool all = incidents.size() == 7;
    for (const auto& w : want) all = all && have.count(w);
    if (all) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(incidents.size(), 7u) << json::serialize(incidents);
  // Stop the escalations, then let deliveries in flight finish.
  for (const auto& i : incidents) {
    std::string id(i.at("id").as_string());
    EXPECT_EQ(admin.post("/api/v1/incidents/" + id + "/acknowledge").status, 200);
  }
  // Deliveries in flight (an escalation enqueued just before the acknowledgement) finish.
  json::array out;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(200ms);
    out = admin.get("/api/v1/notifications?limit=1000").json().at("items").as_array();
    int sent = 0;
    for (const auto& m : out) sent += m.at("status") == "sent";
    if (sent == static_cast<int>(out.size()) && mail_keys(smtp).size() == out.size()) break;
  }
  keys = mail_keys(smtp);

  std::map<std::string, int> per_key;
  for (const auto& k : keys) ++per_key[k];
  for (const auto& [k, n] : per_key) EXPECT_EQ(n, 1) << k << " was mailed " << n << " times";
  int opened = 0, escalated = 0;
  for (const auto& i : incidents) {
    std::string id(i.at("id").as_string());
    int o = 0, e1 = 0;
    for (const auto& [k, n] : per_key) {
      o += k.starts_with(id + ":") && k.ends_with(":opened");
      e1 += k == id + ":escalation:1";
    }
    EXPECT_EQ(o, 1) << id;
    EXPECT_EQ(e1, 1) << id;
    opened += o;
    escalated += e1;
    EXPECT_EQ(i.at("severity"), "critical") << json::serialize(i);
    // Each alert, and each silent device, counted once.
    const int64_t count = i.at("alert_count").as_int64();
    if (i.at("host") == "192.168.1.10") {
      EXPECT_EQ(count, 2) << json::serialize(i);
    } else {
      EXPECT_EQ(count, 1) << json::serialize(i);
    }
    auto tl = admin.get("/api/v1/incidents/" + id).json().at("timeline").as_array();
    int opened_entries = 0;
    for (const auto& t : tl) opened_entries += t.at("kind") == "opened";
    EXPECT_EQ(opened_entries, 1) << id;
  }
  EXPECT_EQ(opened, 7);
  EXPECT_EQ(escalated, 7);
  int stopped = 0;
  for (const auto& i : incidents) stopped += i.at("category") == "monitoring_stopped";
  EXPECT_EQ(stopped, 4);
  // The outbox agrees with the sink: every message sent once, none left claimed.
  EXPECT_EQ(out.size(), keys.size());
  for (const auto& m : out) EXPECT_EQ(m.at("status"), "sent") << json::serialize(m);
  std::printf("instances=2 incidents=%zu mails=%zu\n", incidents.size(), keys.size());
}

}  // namespace
}  // namespace mimamori::server::testing
