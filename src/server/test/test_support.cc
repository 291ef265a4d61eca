#include "test_support.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "mimamori/core/http_client.h"
#include "mimamori/core/log.h"

namespace mimamori::server::testing {
boost::json::value Response::json() const {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  return ec ? boost::json::value() : v;
}

std::string Response::str(std::string_view key) const {
  auto v = json();
  if (!v.is_object()) return {};
  auto* m = v.as_object().if_contains(key);
  return m && m->is_string() ? std::string(m->as_string()) : std::string();
}

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

Response Client::call(std::string_view method, std::string_view path, std::string_view body,
                      std::vector<std::string> headers) const {
  Response r;
  if (!cookie.empty()) headers.push_back("Cookie: mm_session=" + cookie);
  if (!bearer_.empty()) headers.push_back("Authorization: Bearer " + bearer_);
  // The test server's certificate is self-signed: trusted by recording its pin, not by a CA.
  core::HttpClientOptions o;
  o.protocols = "http,https";
  o.timeout_s = 60;
  o.pin_leaf = true;
  core::HttpClient client(std::move(o));
  auto answer = client.send({std::string(method), base_ + std::string(path), headers, body});
  if (answer.ok()) {
    r.status = answer->status;
    r.body = std::move(answer->body);
    r.headers = std::move(answer->headers);
  }
  return r;
}

Response Client::send(std::string_view method, std::string_view path, std::string_view json) const {
  std::vector<std::string> h = {"Content-Type: application/json"};
  if (!csrf.empty()) h.push_back("X-CSRF-Token: " + csrf);
  return call(method, path, json, h);
}

Response Client::login(std::string_view email, std::string_view password, std::string_view totp) {
  boost::json::object o{{"email", email}, {"password", password}};
  if (!totp.empty()) o["totp"] = totp;
  auto r =
      call("POST", "/api/v1/login", boost::json::serialize(o), {"Content-Type: application/json"});
  if (r.status == 200) {
    std::string sc = r.header("set-cookie");
    auto eq = sc.find('='), semi = sc.find(';');
    cookie = sc.substr(eq + 1, semi - eq - 1);
    csrf = r.str("csrf_token");
  }
  return r;
}

std::string temp_dir() {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() /
           fmt::format("mimamori-server-test-{}-{}", getpid(), n++);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

std::string fresh_store_url(const std::string& backend, std::string* skip_reason) {
  if (backend == "sqlite") return "sqlite:" + temp_dir();
  std::string admin_url;
  if (const char* u = std::getenv("MIMAMORI_TEST_PG_URL")) admin_url = u;
  if (admin_url.empty()) {
    std::string state = std::getenv("MIMAMORI_TEST_PG_STATE")
                            ? std::getenv("MIMAMORI_TEST_PG_STATE")
                            : std::string(MIMAMORI_BINARY_DIR) + "/server-pg/state";
    std::ifstream in(state);
    std::getline(in, admin_url);
    if (admin_url.empty()) {
      *skip_reason =
          "no test PostgreSQL: run through ctest (fixture server/pg/start) or set "
          "MIMAMORI_TEST_PG_URL";
      return {};
    }
  }
  if (!admin_url.starts_with("postgresql://")) {
    *skip_reason = "test PostgreSQL " + admin_url;
    return {};
  }
  static std::atomic<int> n{0};
  std::string db = fmt::format("t_{}_{}_{}", getpid(), n++, std::rand() % 100000);
  PGconn* c = PQconnectdb(admin_url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    *skip_reason = std::string("cannot reach the test PostgreSQL: ") + PQerrorMessage(c);
    PQfinish(c);
    return {};
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE " + db).c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  PQfinish(c);
  if (!ok) {
    *skip_reason = "CREATE DATABASE failed";
    return {};
  }
  return admin_url.substr(0, admin_url.rfind('/') + 1) + db;
}

std::unique_ptr<TestServer> TestServer::start(const std::string& store_url,
                                              const std::function<void(ServerOptions&)>& tweak) {
  static std::once_flag logging;
  std::call_once(logging, [] { core::init_logging("server_test", "warn"); });
  auto t = std::make_unique<TestServer>();
  t->dir = temp_dir();
  ServerOptions o;
  o.data_dir = t->dir;
  o.port = 0;
  o.tls = false;
  o.store.url = store_url;
  o.background_interval_ms = 100;
  o.deliver_notifications = false;
  o.login_attempts_per_minute = 1000;
  o.enroll_attempts_per_minute = 1000;
  if (tweak) tweak(o);
  auto s = Server::start(o);
  if (!s.ok()) {
    ADD_FAILURE_AT(__FILE__, __LINE__);
    std::fprintf(stderr, "server start failed: %s\n", s.error().message.c_str());
    return nullptr;
  }
  t->server = std::move(*s);
  t->base = t->server->url();
  auto u = t->server->store().init_provider("Test SOC", kAdminEmail, kAdminPassword);
  if (!u.ok() && u.error().code != 409) {
    std::fprintf(stderr, "init failed: %s\n", u.error().message.c_str());
  }
  return t;
}

Client TestServer::admin() const {
  Client c(base);
  c.login(kAdminEmail, kAdminPassword);
  return c;
}

std::string alert_line(int64_t sid, std::string_view signature, std::string_view src,
                       std::string_view dst, std::string_view time) {
  boost::json::object o{{"timestamp", time},
                        {"event_type", "alert"},
                        {"src_ip", src},
                        {"src_port", 49152},
                        {"dest_ip", dst},
                        {"dest_port", 443},
                        {"proto", "TCP"},
                        {"alert", boost::json::object{{"action", "allowed"},
                                                      {"gid", 1},
                                                      {"signature_id", sid},
                                                      {"rev", 1},
                                                      {"signature", signature},
                                                      {"category", "A Network Trojan was detected"},
                                                      {"severity", 1}}}};
  return boost::json::serialize(o);
}

std::string dns_line(std::string_view name) {
  boost::json::object o{{"timestamp", "2026-11-26T19:40:36.000000+0900"},
                        {"event_type", "dns"},
                        {"src_ip", "192.168.1.20"},
                        {"dest_ip", "192.168.1.1"},
                        {"proto", "UDP"},
                        {"dns", boost::json::object{{"type", "query"}, {"rrname", name}}}};
  return boost::json::serialize(o);
}

Response ingest(const Client& c, const std::string& token, int64_t first,
                const std::vector<std::string>& lines, std::string_view encoding) {
  std::string body;
  for (const auto& l : lines) body += l + "\n";
  std::vector<std::string> h = {
      "Content-Type: application/x-ndjson", "Authorization: Bearer " + token,
      fmt::format("X-Mimamori-Seq-First: {}", first),
      fmt::format("X-Mimamori-Seq-Last: {}", first + static_cast<int64_t>(lines.size()) - 1)};
  if (!encoding.empty()) h.push_back("Content-Encoding: " + std::string(encoding));
  return c.call("POST", "/api/v1/ingest", body, h);
}

uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

Sink::Sink(const std::string& kind) : dir(temp_dir()) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    std::string script = std::string(MIMAMORI_SOURCE_DIR) + "/src/server/test/sinks.py";
    // Debian's python3-aiosmtpd lives in the system interpreter.
    execl("/usr/bin/python3", "python3", script.c_str(), kind.c_str(), dir.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string line;
  char ch;
  while (read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(fds[0]);
  port = std::atoi(line.c_str());
}

Sink::~Sink() {
  if (pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
}

std::vector<std::string> Sink::files() const {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(".")) continue;  // still being written
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path());
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

std::vector<std::string> Sink::recipients() const {
  std::vector<std::string> out;
  if (!std::filesystem::is_directory(dir + "/rcpt")) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/rcpt")) {
    if (e.path().filename().string().starts_with(".")) continue;
    std::ifstream in(e.path());
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

}  // namespace mimamori::server::testing
