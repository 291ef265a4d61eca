// Bad input: every kind gets a clear 4xx and changes nothing.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mimamori/uplink/http.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace json = boost::json;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    ts_ = TestServer::start(fresh_store_url("sqlite", &why), [](ServerOptions& o) {
      o.max_body = 256 * 1024;
      o.max_json_body = 64 * 1024;
    });
    ASSERT_TRUE(ts_);
    admin_ = std::make_unique<Client>(ts_->admin());
    cus_ = admin_->post("/api/v1/customers", R"({"name":"A"})").str("id");
    auto code = admin_->post("/api/v1/customers/" + cus_ + "/enrollment-codes").str("code");
    auto e = Client(ts_->base).call(
        "POST", "/api/v1/enroll",
        json::serialize(
            json::object{{"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}}),
        {"Content-Type: application/json"});
    dev_ = e.str("device_id");
    tok_ = e.str("device_token");
    ASSERT_EQ(ingest(*admin_, tok_, 1, {dns_line("a")}).status, 200);
  }

  // What must not change.
  std::string state() {
    auto& s = ts_->server->store();
    auto n = s.count_events(dev_);
    auto customers = admin_->get("/api/v1/customers").body;
    auto incidents = admin_->get("/api/v1/incidents").body;
    return std::to_string(n.ok() ? *n : -1) + customers + incidents;
  }

  Response raw_ingest(std::string body, std::vector<std::string> headers) {
    return Client(ts_->base).call("POST", "/api/v1/ingest", body, std::move(headers));
  }

  std::unique_ptr<TestServer> ts_;
  std::unique_ptr<Client> admin_;
  std::string cus_, dev_, tok_;
};

// Ingest bodies are compressed as devices compress them.
std::string gzip(const std::string& s) { return *uplink::compress(s, uplink::Compression::kGzip); }

TEST_F(BadInput, IngestFramingErrorsAre4xxAndStoreNothing) {
  const std::string before = state();
  const std::string auth = "Authorization: Bearer " + tok_;
  const std::string ct = "Content-Type: application/x-ndjson";
  std::string two = dns_line("x") + "\n" + dns_line("y") + "\n";
  struct Case {
    std::vector<std::string> headers;
    std::string body;
    long status;
    std::string says;
  };
  std::vector<Case> cases = {
      {{ct, "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 12", auth}, two, 400, "2 lines"},
      {{ct, "X-Mimamori-Seq-First: 10", auth}, two, 400, "X-Mimamori-Seq-Last"},
      {{ct, "X-Mimamori-Seq-First: ten", "X-Mimamori-Seq-Last: 11", auth}, two, 400, "integers"},
      {{ct, "X-Mimamori-Seq-First: 0", "X-Mimamori-Seq-Last: 1", auth}, two, 400, "invalid"},
      {{"Content-Type: application/json", "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 11",
        auth},
       two,
       415,
       "application/x-ndjson"},
      {{ct, "Content-Encoding: br", "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 11", auth},
       two,
       415,
       "br"},
      {{ct, "Content-Encoding: gzip", "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 11", auth},
       two,
       400,
       "gzip"},
      // 1 MiB of one line inflating past the 256 KiB limit: refused while inflating.
      {{ct, "Content-Encoding: gzip", "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 10", auth},
       gzip(std::string(1 << 20, ' ')),
       413,
       "inflates"},
      {{ct, "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 10", auth},
       std::string(300 * 1024, ' '),
       413,
       "limit"},
      {{ct, "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 11"}, two, 401, "device token"},
      {{ct, "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 11", "Authorization: Bearer nope"},
       two,
       401,
       "malformed"},
      {{ct, "X-Mimamori-Seq-First: 10", "X-Mimamori-Seq-Last: 11",
        "Authorization: Bearer " + dev_ + ".wrongsecret"},
       two,
       401,
       "unknown or revoked"},
  };
  for (const auto& c : cases) {
    auto r = raw_ingest(c.body, c.headers);
    EXPECT_EQ(r.status, c.status) << c.says << ": " << r.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << r.body;
  }
  // A replayed batch: 409, nothing new.
  auto replay = ingest(*admin_, tok_, 1, {dns_line("a")});
  EXPECT_EQ(replay.status, 409);
  EXPECT_EQ(state(), before);
}

TEST_F(BadInput, ApiBodiesAndAuthErrorsAre4xxAndChangeNothing) {
  const std::string before = state();
  auto send = [&](std::string_view ct, std::string body) {
    std::vector<std::string> h = {std::string("Content-Type: ") + std::string(ct),
                                  "X-CSRF-Token: " + admin_->csrf};
    return admin_->call("POST", "/api/v1/customers", body, h);
  };
  auto r = send("application/json", "{\"name\": ");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.str("error").find("not valid JSON"), std::string::npos) << r.body;
  EXPECT_EQ(send("application/json", "[1,2]").status, 400);
  EXPECT_EQ(send("application/json", R"({"name": 42})").status, 400);
  EXPECT_EQ(send("application/json", R"({"name": ""})").status, 400);
  EXPECT_EQ(send("text/plain", R"({"name":"x"})").status, 415);
  EXPECT_EQ(send("application/json", std::string(100 * 1024, ' ')).status, 413);
  Client anon(ts_->base);
  EXPECT_EQ(anon.get("/api/v1/customers").status, 401);
  anon.cookie = "forged";
  EXPECT_EQ(anon.get("/api/v1/customers").status, 401);
  EXPECT_EQ(anon.call("POST", "/api/v1/login", "{oops", {"Content-Type: application/json"}).status,
            400);
  EXPECT_EQ(admin_->get("/api/v1/nothing-here").status, 404);
  EXPECT_EQ(admin_->call("PATCH", "/api/v1/customers").status, 405);
  EXPECT_EQ(admin_->get("/api/v1/alerts?since=yesterday").status, 400);
  // Enrollment replay: a used code does not enroll twice.
  auto code = admin_->post("/api/v1/customers/" + cus_ + "/enrollment-codes").str("code");
  std::string body = json::serialize(
      json::object{{"code", code}, {"hostname", "gw"}, {"kind", "sensor"}, {"version", "1"}});
  EXPECT_EQ(anon.call("POST", "/api/v1/enroll", body, {"Content-Type: application/json"}).status,
            201);
  EXPECT_EQ(anon.call("POST", "/api/v1/enroll", body, {"Content-Type: application/json"}).status,
            403);
  EXPECT_EQ(anon.call("POST", "/api/v1/enroll",
                      R"({"code":"X","hostname":"gw","kind":"toaster","version":"1"})",
                      {"Content-Type: application/json"})
                .status,
            400);
  // Two devices now exist (the setup's and the one just enrolled); nothing else changed.
  EXPECT_EQ(admin_->get("/api/v1/devices").json().at("items").as_array().size(), 2u);
  EXPECT_EQ(state(), before);
}

TEST_F(BadInput, GarbageOnTheSocketGets400AndTheServerLivesOn) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(ts_->server->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string junk = "HELLO THERE\x01\x02 nonsense\r\n\r\n";
  ASSERT_EQ(write(fd, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  char buf[512] = {};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  ASSERT_GT(n, 0);
  EXPECT_TRUE(std::string_view(buf).starts_with("HTTP/1.1 400")) << buf;
  EXPECT_EQ(admin_->get("/api/v1/health").status, 200);
}

}  // namespace
}  // namespace mimamori::server::testing
