// The uplink against a minimal HTTPS receiver of the device API (ingest_receiver.py), for what the
// real server will not do on demand: scripted 503s and 429s, a foreign certificate. The
// end-to-end cases against mimamori-server live in tests/cases/agent.

#include "mimamori/uplink/uplink.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "mimamori/core/eve.h"
#include "mimamori/core/fields.h"

namespace mimamori::uplink {
namespace {

namespace fs = std::filesystem;

class IngestReceiver {
 public:
  IngestReceiver(const fs::path& dir, std::vector<std::string> extra = {}) : store_(dir / "store") {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      std::string script = MIMAMORI_SOURCE_DIR "/src/uplink/test/ingest_receiver.py";
      std::vector<std::string> argv = {"python3",    script,    "--dir",
                                       dir.string(), "--store", store_.string()};
      for (auto& e : extra) argv.push_back(e);
      std::vector<char*> cargv;
      for (auto& a : argv) cargv.push_back(a.data());
      cargv.push_back(nullptr);
      ::execvp("python3", cargv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    std::string line;
    char c;
    while (::read(fds[0], &c, 1) == 1 && c != '\n') line += c;
    ::close(fds[0]);
    std::istringstream in(line);
    std::string w1, w2;
    in >> w1 >> port_ >> w2 >> fingerprint_;
    EXPECT_EQ(w1, "PORT") << "receiver did not start: '" << line << "'";
  }
  ~IngestReceiver() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  const std::string& fingerprint() const { return fingerprint_; }
  // seq -> line as stored, and how many times each seq arrived as new.
  std::map<uint64_t, std::string> stored() const {
    std::map<uint64_t, std::string> out;
    std::ifstream in(store_);
    std::string line;
    while (std::getline(in, line)) {
      core::Fields f;
      EXPECT_TRUE(core::parse_json_object(line, f).ok());
      uint64_t seq = static_cast<uint64_t>(*f.find("seq")->as_int());
      EXPECT_EQ(out.count(seq), 0u) << "seq " << seq << " stored twice";
      out[seq] = std::string(f.find_string("line"));
    }
    return out;
  }
  std::string heartbeats() const {
    std::ifstream in(store_.string() + ".heartbeats");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  fs::path store_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string fingerprint_;
};

class UplinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mimamori-uplink-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    SpoolOptions o;
    o.dir = dir_ / "spool";
    spool_ = std::move(Spool::open(o).value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void fill(int n) {
    for (int i = 0; i < n; ++i)
      spool_->append(R"({"event_type":"auth","n":)" + std::to_string(i) + "}");
    ASSERT_TRUE(spool_->commit().ok());
  }
  Credential cred(const IngestReceiver& receiver) {
    Credential c;
    c.server_url = receiver.url();
    c.device_token = "dev_test.secret";
    c.fingerprint = receiver.fingerprint();
    return c;
  }
  // Sends until the spool is empty or `deadline` passes, honouring next_attempt().
  void drain(Uplink& up, std::chrono::seconds deadline = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (spool_->stats().depth > 0 && std::chrono::steady_clock::now() < end) {
      std::this_thread::sleep_until(std::max(up.next_attempt(), std::chrono::steady_clock::now()));
      up.send_once();
    }
  }

  fs::path dir_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(UplinkTest, EnrollPinsTheCertificateAndStoresA0600Credential) {
  IngestReceiver receiver(dir_);
  EnrollRequest req;
  req.server_url = receiver.url() + "/";
  req.code = "k7qm-4xpd";
  auto c = enroll(req);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->fingerprint, receiver.fingerprint());
  EXPECT_EQ(c->device_token, "dev_test.secret");
  EXPECT_EQ(c->server_url, receiver.url());
  fs::path file = dir_ / "etc" / "credential.yaml";
  ASSERT_TRUE(save_credential(file, *c).ok());
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto back = load_credential(file);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->fingerprint, c->fingerprint);
  EXPECT_EQ(back->device_token, c->device_token);
}

TEST_F(UplinkTest, EnrollRefusesAWrongCodeWithTheServersReason) {
  IngestReceiver receiver(dir_);
  EnrollRequest req;
  req.server_url = receiver.url();
  req.code = "AAAA-BBBB";
  auto c = enroll(req);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, 403);
  EXPECT_NE(c.error().message.find("unknown or used enrollment code"), std::string::npos);
}

TEST_F(UplinkTest, EnrollChecksAGivenFingerprint) {
  IngestReceiver receiver(dir_);
  EnrollRequest req;
  req.server_url = receiver.url();
  req.code = "K7QM4XPD";
  req.fingerprint = std::string(64, 'a');
  auto c = enroll(req);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(receiver.fingerprint()), std::string::npos) << c.error().message;
  req.fingerprint = receiver.fingerprint();
  EXPECT_TRUE(enroll(req).ok());
}

TEST_F(UplinkTest, DrainsTheSpoolExactlyOnceWithGzip) {
  IngestReceiver receiver(dir_);
  fill(2500);
  UplinkOptions o;
  o.compression = Compression::kGzip;
  o.batch_records = 700;
  Uplink up(cred(receiver), *spool_, o);
  drain(up);
  EXPECT_EQ(spool_->stats().depth, 0u);
  auto got = receiver.stored();
  ASSERT_EQ(got.size(), 2500u);
  for (int i = 0; i < 2500; ++i)
    ASSERT_EQ(got[i + 1], R"({"event_type":"auth","n":)" + std::to_string(i) + "}");
  EXPECT_EQ(up.stats().batches_sent, 4u);
}

TEST_F(UplinkTest, ForeignCertificateIsRefusedAndNothingIsDeleted) {
  IngestReceiver receiver(dir_);
  fill(10);
  Credential c = cred(receiver);
  c.fingerprint = std::string(64, '0');
  Uplink up(c, *spool_);
  EXPECT_EQ(up.send_once(), SendOutcome::kRetryLater);
  EXPECT_EQ(spool_->stats().depth, 10u);
  EXPECT_TRUE(receiver.stored().empty());
  EXPECT_EQ(up.stats().failures, 1u);
}

TEST_F(UplinkTest, BacksOffOn503AndHonoursRetryAfterWithoutLosingTheBatch) {
  IngestReceiver receiver(dir_, {"--fail-first", "2", "--throttle-first", "1"});
  fill(50);
  UplinkOptions o;
  o.compression = Compression::kGzip;
  o.backoff_min = std::chrono::milliseconds(100);
  Uplink up(cred(receiver), *spool_, o);
  EXPECT_EQ(up.send_once(), SendOutcome::kRetryLater);  // 503
  EXPECT_EQ(spool_->stats().depth, 50u);
  std::this_thread::sleep_until(up.next_attempt());
  EXPECT_EQ(up.send_once(), SendOutcome::kRetryLater);  // 503
  std::this_thread::sleep_until(up.next_attempt());
  auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(up.send_once(), SendOutcome::kRetryLater);  // 429, Retry-After: 1
  EXPECT_GE(up.next_attempt() - before, std::chrono::milliseconds(990));
  EXPECT_EQ(spool_->stats().depth, 50u);
  std::this_thread::sleep_until(up.next_attempt());
  EXPECT_EQ(up.send_once(), SendOutcome::kAcked);
  EXPECT_EQ(receiver.stored().size(), 50u);
  EXPECT_EQ(up.stats().throttled, 1u);
  EXPECT_EQ(up.stats().failures, 2u);
}

TEST_F(UplinkTest, FallsBackToGzipWhenZstdIsRefused) {
  IngestReceiver receiver(dir_);
  fill(5);
  Uplink up(cred(receiver), *spool_);  // zstd by default; this receiver answers 415 to it
  drain(up);
  EXPECT_EQ(receiver.stored().size(), 5u);
}

// run() (not send_once) after a 415: the gzip retry goes at once, not at the next heartbeat
// (a minute away); before_ack sees each acknowledgement before the spool does.
TEST_F(UplinkTest, RunRetriesAtOnceAfterTheGzipFallbackAndCallsBeforeAck) {
  IngestReceiver receiver(dir_);
  fill(5);
  std::vector<std::pair<uint64_t, uint64_t>> acks;  // (acknowledged, the spool's acked_through)
  UplinkOptions o;
  o.before_ack = [&](uint64_t seq) { acks.emplace_back(seq, spool_->stats().acked_through); };
  Uplink up(cred(receiver), *spool_, o);
  std::atomic<bool> stop{false};
  std::thread t([&] { up.run(stop); });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (spool_->stats().depth > 0 && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop = true;
  up.notify();
  t.join();
  EXPECT_EQ(spool_->stats().depth, 0u) << "the gzip retry waited";
  EXPECT_EQ(receiver.stored().size(), 5u);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0], std::make_pair(uint64_t{5}, uint64_t{0}));
}

TEST_F(UplinkTest, ARetriedBatchIsADuplicateNotALoss) {
  IngestReceiver receiver(dir_);
  fill(20);
  {
    UplinkOptions o;
    o.compression = Compression::kGzip;
    Uplink up(cred(receiver), *spool_, o);
    drain(up);
  }
  // As if the acknowledgement was lost: the device sends the same range again (409).
  SpoolOptions so;
  so.dir = dir_ / "spool2";
  auto replay = std::move(Spool::open(so).value());
  for (int i = 0; i < 20; ++i)
    replay->append(R"({"event_type":"auth","n":)" + std::to_string(i) + "}");
  ASSERT_TRUE(replay->commit().ok());
  UplinkOptions o;
  o.compression = Compression::kGzip;
  Uplink up(cred(receiver), *replay, o);
  EXPECT_EQ(up.send_once(), SendOutcome::kAcked);
  EXPECT_EQ(replay->stats().depth, 0u);
  EXPECT_EQ(receiver.stored().size(), 20u);
}

TEST_F(UplinkTest, HeartbeatReportsSpoolDepthAndDrops) {
  IngestReceiver receiver(dir_);
  fill(7);
  Uplink up(cred(receiver), *spool_);
  ASSERT_TRUE(up.heartbeat().ok());
  core::Fields f;
  std::string hb = receiver.heartbeats();
  ASSERT_TRUE(core::parse_json_object(hb.substr(0, hb.find('\n')), f).ok()) << hb;
  EXPECT_EQ(*f.find("spool_depth")->as_int(), 7);
  EXPECT_EQ(*f.find("spool_dropped")->as_int(), 0);
  EXPECT_EQ(f.find_string("version"), "0.1.0");
  EXPECT_EQ(up.stats().config_version, 3u);
}

TEST_F(UplinkTest, HeartbeatCarriesExtraMembers) {
  IngestReceiver receiver(dir_);
  UplinkOptions o;
  o.heartbeat_extra = [] { return std::string(R"("ips":{"verdicts":{"drop":4}})"); };
  Uplink up(cred(receiver), *spool_, o);
  ASSERT_TRUE(up.heartbeat().ok());
  core::Fields f;
  std::string hb = receiver.heartbeats();
  ASSERT_TRUE(core::parse_json_object(hb.substr(0, hb.find('\n')), f).ok()) << hb;
  EXPECT_EQ(*f.find("spool_depth")->as_int(), 0);
  ASSERT_TRUE(f.find("ips.verdicts.drop").has_value()) << hb;
  EXPECT_EQ(*f.find("ips.verdicts.drop")->as_int(), 4);
}

}  // namespace
}  // namespace mimamori::uplink
