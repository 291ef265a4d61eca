// Units of the agent's collectors: auth log parsing and brute force, rotation-safe tailing,
// the ransomware write verdict on real file contents, the threat list and /proc/net parsing.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "mimamori/host/auth_log.h"
#include "mimamori/host/ransomware.h"
#include "mimamori/host/system_watch.h"
#include "mimamori/host/watchers.h"

namespace mimamori::host {
namespace {

namespace fs = std::filesystem;

class MemorySink : public EventSink {
 public:
  void emit(const core::Event& e) override { events.push_back(e); }
  void checkpoint(std::string_view s, std::string_view p) override { cps[std::string(s)] = p; }
  std::string position(std::string_view s) override {
    auto it = cps.find(std::string(s));
    return it == cps.end() ? "" : it->second;
  }
  std::vector<core::Event> events;
  std::map<std::string, std::string> cps;
};

TEST(AuthLine, ParsesSshdFailureBothTimeFormats) {
  auto r = parse_auth_line(
      "2026-11-26T10:00:01.204512+09:00 web-01 sshd[2101]: Failed password for invalid user "
      "admin from 203.0.113.7 port 50000 ssh2",
      2026);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, AuthRecord::Kind::kLoginFailure);
  EXPECT_EQ(r->user, "admin");
  EXPECT_EQ(r->src_ip, "203.0.113.7");
  EXPECT_EQ(r->time.micros, core::parse_time("2026-11-26T01:00:01.204512Z")->micros);
  auto b = parse_auth_line(
      "Nov  3 07:05:09 web-01 sshd[9]: Accepted publickey for bob from 2001:db8::5 port 22 ssh2",
      2026);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->kind, AuthRecord::Kind::kLoginSuccess);
  EXPECT_EQ(b->user, "bob");
  EXPECT_EQ(b->src_ip, "2001:db8::5");
  EXPECT_EQ(b->method, "publickey");
}

TEST(AuthLine, IgnoresWhatItDoesNotWatchAndGarbage) {
  EXPECT_FALSE(
      parse_auth_line("2026-11-26T10:00:01+09:00 h CRON[1]: pam_unix(cron:session): "
                      "session opened for user root",
                      2026));
  EXPECT_FALSE(parse_auth_line("", 2026));
  EXPECT_FALSE(parse_auth_line("\x01\x02 garbage without structure", 2026));
  EXPECT_FALSE(parse_auth_line("Xyz 99 99:99:99 h sshd[1]: Failed password for a from b", 2026));
}

TEST(LoginTracker, BruteForceOncePerWindowAndSuccessAfterFailures) {
  LoginTracker t(5, 60);
  std::vector<core::Event> out;
  AuthRecord r;
  r.service = "sshd";
  r.src_ip = "203.0.113.7";
  r.user = "root";
  for (int i = 0; i < 12; ++i) {
    r.kind = AuthRecord::Kind::kLoginFailure;
    r.time = core::Timestamp::from_seconds(1000 + i);
    t.feed(r, out);
  }
  ASSERT_EQ(out.size(), 1u);  // one alert for the window, not one per failure
  EXPECT_EQ(out[0].alert->signature_id, auth_sid::kBruteForce);
  r.kind = AuthRecord::Kind::kLoginSuccess;
  r.time = core::Timestamp::from_seconds(1020);
  t.feed(r, out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].alert->signature_id, auth_sid::kSuccessAfterFailures);
  // Failures spread wider than the window are not brute force.
  LoginTracker slow(5, 60);
  std::vector<core::Event> none;
  r.kind = AuthRecord::Kind::kLoginFailure;
  for (int i = 0; i < 10; ++i) {
    r.time = core::Timestamp::from_seconds(5000 + i * 30);
    slow.feed(r, none);
  }
  EXPECT_TRUE(none.empty());
}

class TailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mimamori-tail-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = (dir_ / "auth.log").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void append(const std::string& s) {
    std::ofstream out(path_, std::ios::app);
    out << s;
  }
  std::vector<std::string> poll(LogTail& t) {
    std::vector<std::string> lines;
    t.poll(sink_, [&](std::string_view l) { lines.emplace_back(l); });
    return lines;
  }
  fs::path dir_;
  std::string path_;
  MemorySink sink_;
};

TEST_F(TailTest, FollowsRotationTruncationAndPartialLines) {
  append("one\ntwo\npart");
  LogTail t(path_, true);
  EXPECT_EQ(poll(t), (std::vector<std::string>{"one", "two"}));
  append("ial\n");
  EXPECT_EQ(poll(t), (std::vector<std::string>{"partial"}));
  // Rotation: the old file gets a last line, is renamed, a new file starts.
  append("last of old\n");
  fs::rename(path_, path_ + ".1");
  append("first of new\n");
  EXPECT_EQ(poll(t), (std::vector<std::string>{"last of old", "first of new"}));
  // copytruncate-style rotation.
  fs::resize_file(path_, 0);
  append("after truncate\n");
  EXPECT_EQ(poll(t), (std::vector<std::string>{"after truncate"}));
}

TEST_F(TailTest, ResumesFromThePersistedPositionNotFromTheStart) {
  append("a\nb\n");
  {
    LogTail t(path_, true);
    EXPECT_EQ(poll(t).size(), 2u);
  }
  append("c\n");
  LogTail again(path_, true);
  EXPECT_EQ(poll(again), (std::vector<std::string>{"c"}));
  // Without a position and without from_start, an existing log is not replayed.
  MemorySink fresh;
  LogTail t2(path_, false);
  std::vector<std::string> lines;
  t2.poll(fresh, [&](std::string_view l) { lines.emplace_back(l); });
  EXPECT_TRUE(lines.empty());
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(RansomwareVerdict, TypeChangePlusEntropyNotRawEntropy) {
  std::string noise = random_bytes(4096, 1);
  std::string text(4096, 'a');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = "報告書 meeting notes 2026\n"[i % 27];
  // Compressed content keeps its magic: high entropy, but no type change.
  std::string gz = std::string("\x1F\x8B\x08\x00", 4) + random_bytes(4092, 2);
  EXPECT_GT(entropy(gz), 7.5);
  EXPECT_FALSE(judge_write("/home/a/backup.gz", gz).suspicious);
  std::string zip = "PK\x03\x04" + noise.substr(4);
  EXPECT_FALSE(judge_write("/home/a/report.docx", zip).suspicious);
  EXPECT_FALSE(judge_write("/home/a/notes.txt", text).suspicious);
  // Noise where a document was: suspicious.
  auto v = judge_write("/home/a/report.docx", noise);
  EXPECT_TRUE(v.suspicious);
  EXPECT_EQ(v.expected, ContentType::kZip);
  EXPECT_EQ(v.found, ContentType::kUnknown);
  EXPECT_TRUE(judge_write("/home/a/notes.txt", noise).suspicious);
  EXPECT_TRUE(judge_write("/home/a/notes.txt.locked", noise).suspicious);
  // Noise under a name that promises nothing (a download, a key file) is not enough.
  EXPECT_FALSE(judge_write("/home/a/blob.bin", noise).suspicious);
  EXPECT_FALSE(judge_write("/home/a/tiny.txt", noise.substr(0, 100)).suspicious);
}

TEST(Inventory, ParsesRpmQueryOutput) {
  // As `rpm -qa --queryformat kRpmQueryFormat` prints it on an EL9 system (unsorted, with and
  // without epochs), plus lines a broken pipe or an older rpm might leave.
  std::string out =
      "openssl-libs\t1:3.0.7-24.el9\n"
      "bash\t5.1.8-6.el9_1\n"
      "\n"
      "gpg-pubkey\t8483c65d-5ccc5b19\n"
      "no-version-here\n"
      "\tmissing-name\n"
      "kernel-core\t5.14.0-362.8.1.el9_3";
  uint64_t bad = 0;
  auto p = host::parse_rpm_packages(out, &bad);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "bash=5.1.8-6.el9_1");
  EXPECT_EQ(p[1], "gpg-pubkey=8483c65d-5ccc5b19");
  EXPECT_EQ(p[2], "kernel-core=5.14.0-362.8.1.el9_3");
  EXPECT_EQ(p[3], "openssl-libs=1:3.0.7-24.el9");
  EXPECT_EQ(bad, 2u);
  EXPECT_TRUE(host::parse_rpm_packages("").empty());
  // The format asks for exactly that shape.
  EXPECT_NE(std::string(host::kRpmQueryFormat).find("%{NAME}\\t"), std::string::npos);
}

TEST(ThreatList, AddressesAndCidrBlocks) {
  AddressList l;
  EXPECT_TRUE(l.add("203.0.113.0/24"));
  EXPECT_TRUE(l.add("2001:db8:dead::/48"));
  EXPECT_TRUE(l.add(" 198.51.100.7 "));
  EXPECT_FALSE(l.add("example.com"));
  EXPECT_TRUE(l.contains(*core::IpAddress::parse("203.0.113.200")));
  EXPECT_FALSE(l.contains(*core::IpAddress::parse("203.0.114.1")));
  EXPECT_TRUE(l.contains(*core::IpAddress::parse("2001:db8:dead:1::9")));
  EXPECT_FALSE(l.contains(*core::IpAddress::parse("2001:db8:beef::1")));
  EXPECT_TRUE(l.contains(*core::IpAddress::parse("198.51.100.7")));
  EXPECT_FALSE(l.contains(*core::IpAddress::parse("198.51.100.8")));
}

TEST(ProcNet, ParsesKernelSocketTables) {
  char tmpl[] = "/tmp/mimamori-procnet-XXXXXX";
  fs::path dir = ::mkdtemp(tmpl);
  {
    std::ofstream tcp(dir / "tcp");
    tcp << "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
           "timeout inode\n"
        << "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0  "
           "      0 12345 1 0000000000000000 100 0 0 10 0\n"
        << "   1: 0A00000A:C350 0771CBCB:01BB 01 00000000:00000000 00:00000000 00000000  1000  "
           "      0 67890 1 0000000000000000 20 4 30 10 -1\n"
        << "   2: garbage\n";
  }
  auto s = read_sockets(dir.string());
  fs::remove_all(dir);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].local.to_string(), "127.0.0.1");
  EXPECT_EQ(s[0].local_port, 8080);
  EXPECT_EQ(s[0].state, 10);
  EXPECT_EQ(s[1].remote.to_string(), "203.203.113.7");
  EXPECT_EQ(s[1].remote_port, 443);
  EXPECT_EQ(s[1].inode, 67890u);
}

}  // namespace
}  // namespace mimamori::host

namespace mimamori::host {
namespace {

TEST(CronNames, RunPartsSkipsTemporaryAndBackupNamesInCronFoldersOnly) {
  EXPECT_TRUE(run_parts_ignores("/etc/cron.d/tool.dpkg-new"));
  EXPECT_TRUE(run_parts_ignores("/etc/cron.daily/tool~"));
  EXPECT_TRUE(run_parts_ignores("/srv/root/etc/cron.hourly/.hidden"));
  EXPECT_FALSE(run_parts_ignores("/etc/cron.d/mimamori-case-tool"));
  EXPECT_FALSE(run_parts_ignores("/etc/cron.weekly/run_me-2"));
  // Outside cron's folders a dotted name is an ordinary file (crontabs, units, profiles).
  EXPECT_FALSE(run_parts_ignores("/etc/crontab"));
  EXPECT_FALSE(run_parts_ignores("/etc/systemd/system/x.service"));
  EXPECT_FALSE(run_parts_ignores("/var/spool/cron/crontabs/alice.tmp"));
}

}  // namespace
}  // namespace mimamori::host
