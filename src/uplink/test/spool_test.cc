#include "mimamori/uplink/spool.h"

#include <gtest/gtest.h>
#ifndef _WIN32
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <filesystem>
#include <fstream>
#include <random>

namespace mimamori::uplink {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A fresh folder per test (portable: the Windows build runs these under wine too).
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("mimamori-spool-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Spool> open(uint64_t max_bytes = 256ull << 20, uint64_t segment = 4ull << 20) {
    SpoolOptions o;
    o.dir = dir_;
    o.max_bytes = max_bytes;
    o.segment_bytes = segment;
    auto s = Spool::open(o);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::vector<SpoolRecord> read_all(Spool& s) {
    std::vector<SpoolRecord> out, batch;
    uint64_t after = 0;
    while (true) {
      auto st = s.read(after, 1000, 1 << 20, batch);
      EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
      if (batch.empty()) break;
      after = batch.back().seq;
      for (auto& r : batch) out.push_back(std::move(r));
    }
    return out;
  }
  fs::path newest_segment() {
    fs::path best;
    for (auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().starts_with("seg-") && e.path() > best) best = e.path();
    return best;
  }

  fs::path dir_;
};

TEST_F(SpoolTest, RecordsComeBackInOrderAfterReopen) {
  {
    auto s = open();
    for (int i = 0; i < 100; ++i) EXPECT_EQ(s->append("event " + std::to_string(i)), i + 1u);
    ASSERT_TRUE(s->commit().ok());
  }
  auto s = open();
  auto all = read_all(*s);
  ASSERT_EQ(all.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(all[i].seq, i + 1u);
    EXPECT_EQ(all[i].payload, "event " + std::to_string(i));
  }
  EXPECT_EQ(s->stats().depth, 100u);
  EXPECT_EQ(s->stats().cut_bytes, 0u);
}

TEST_F(SpoolTest, UncommittedRecordsAreNotReadable) {
  auto s = open();
  s->append("a");
  ASSERT_TRUE(s->commit().ok());
  s->append("b");
  EXPECT_EQ(read_all(*s).size(), 1u);
  EXPECT_EQ(s->stats().depth, 1u);
}

TEST_F(SpoolTest, SequenceNumbersAreNeverReusedAfterAckAndDelete) {
  {
    auto s = open(1 << 20, 4096);
    for (int i = 0; i < 500; ++i) s->append(std::string(100, 'x'));
    ASSERT_TRUE(s->commit().ok());
    for (int i = 0; i < 500; ++i) s->append(std::string(100, 'y'));
    ASSERT_TRUE(s->commit().ok());
    ASSERT_TRUE(s->ack_through(1000).ok());
    EXPECT_EQ(s->stats().depth, 0u);
    EXPECT_LE(s->stats().segments, 1u);
  }
  auto s = open(1 << 20, 4096);
  EXPECT_EQ(s->append("next"), 1001u);
  ASSERT_TRUE(s->commit().ok());
  auto all = read_all(*s);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].seq, 1001u);
}

TEST_F(SpoolTest, AckedSegmentsAreDeletedAndReadSkipsAcked) {
  auto s = open(1 << 20, 4096);
  for (int b = 0; b < 20; ++b) {
    for (int i = 0; i < 50; ++i) s->append(std::string(60, 'a' + b));
    ASSERT_TRUE(s->commit().ok());
  }
  uint64_t before = s->stats().segments;
  EXPECT_GT(before, 3u);
  ASSERT_TRUE(s->ack_through(600).ok());
  EXPECT_LT(s->stats().segments, before);
  auto all = read_all(*s);
  ASSERT_EQ(all.size(), 400u);
  EXPECT_EQ(all.front().seq, 601u);
  EXPECT_EQ(s->stats().depth, 400u);
}

TEST_F(SpoolTest, TornTailIsCutAndNeverRead) {
  {
    auto s = open();
    for (int i = 0; i < 10; ++i) s->append("first batch " + std::to_string(i));
    ASSERT_TRUE(s->commit().ok());
    for (int i = 0; i < 10; ++i) s->append("second batch " + std::to_string(i));
    ASSERT_TRUE(s->commit().ok());
  }
  fs::path seg = newest_segment();
  auto size = fs::file_size(seg);
  // Tear the second batch in the middle of its commit record: as if power failed mid-write.
  fs::resize_file(seg, size - 7);
  auto s = open();
  auto all = read_all(*s);
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all.back().payload, "first batch 9");
  EXPECT_GT(s->stats().cut_bytes, 0u);
  // Appending continues cleanly after the cut.
  uint64_t seq = s->append("after");
  ASSERT_TRUE(s->commit().ok());
  auto again = read_all(*s);
  ASSERT_EQ(again.size(), 11u);
  EXPECT_EQ(again.back().seq, seq);
  EXPECT_EQ(again.back().payload, "after");
}

TEST_F(SpoolTest, CorruptedRecordFailsItsCrcAndIsCut) {
  {
    auto s = open();
    s->append("keep me");
    ASSERT_TRUE(s->commit().ok());
    s->append("this one is damaged on disk");
    ASSERT_TRUE(s->commit().ok());
  }
  fs::path seg = newest_segment();
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto at = bytes.find("damaged");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x20;
  {
    std::ofstream out(seg, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  auto s = open();
  auto all = read_all(*s);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].payload, "keep me");
  EXPECT_GT(s->stats().cut_bytes, 0u);
}

TEST_F(SpoolTest, GarbageTailIsCut) {
  {
    auto s = open();
    s->append("ok");
    ASSERT_TRUE(s->commit().ok());
  }
  {
    std::ofstream out(newest_segment(), std::ios::binary | std::ios::app);
    std::mt19937 rng(7);
    for (int i = 0; i < 333; ++i) out.put(static_cast<char>(rng()));
  }
  auto s = open();
  EXPECT_EQ(read_all(*s).size(), 1u);
  EXPECT_EQ(s->stats().cut_bytes, 333u);
}

TEST_F(SpoolTest, FullSpoolDropsOldestAndCountsIt) {
  auto s = open(64 << 10, 16 << 10);
  std::string payload(1000, 'p');
  for (int b = 0; b < 200; ++b) {
    s->append(payload);
    ASSERT_TRUE(s->commit().ok());
  }
  auto st = s->stats();
  EXPECT_LE(st.bytes, 64u << 10);
  EXPECT_GT(st.dropped, 0u);
  auto all = read_all(*s);
  // Every record is either still there or counted as dropped, and the survivors are the newest.
  EXPECT_EQ(all.size() + st.dropped, 200u);
  EXPECT_EQ(all.back().seq, 200u);
  EXPECT_EQ(all.front().seq, st.dropped + 1);
  // The drop count survives a restart.
  s.reset();
  auto s2 = open(64 << 10, 16 << 10);
  EXPECT_EQ(s2->stats().dropped, st.dropped);
}

TEST_F(SpoolTest, LossesBeforeTheSpoolAreCountedAndKeptWithTheNextState) {
  {
    auto s = open();
    s->append("a");
    ASSERT_TRUE(s->commit().ok());
    s->count_lost(7);
    EXPECT_EQ(s->stats().dropped, 7u);
    EXPECT_EQ(s->stats().depth, 1u);  // a loss before the spool takes no record out of it
    ASSERT_TRUE(s->ack_through(1).ok());
  }
  auto s = open();
  EXPECT_EQ(s->stats().dropped, 7u);
  EXPECT_EQ(s->append("b"), 2u);
}

TEST_F(SpoolTest, CheckpointsTravelWithTheirBatch) {
  {
    auto s = open(1 << 20, 4096);
    s->append("line 1");
    ASSERT_TRUE(s->commit({{"auth", "offset=100"}}).ok());
    s->append("line 2");
    // Not committed: its checkpoint must not survive either.
  }
  {
    auto s = open(1 << 20, 4096);
    EXPECT_EQ(s->checkpoint("auth"), "offset=100");
    EXPECT_EQ(read_all(*s).size(), 1u);
    ASSERT_TRUE(s->ack_through(1).ok());
    // Checkpoint without events.
    ASSERT_TRUE(s->commit({{"auth", "offset=200"}}).ok());
    for (int i = 0; i < 100; ++i) s->append(std::string(100, 'z'));
    ASSERT_TRUE(s->commit({{"fim", "x"}}).ok());
    ASSERT_TRUE(s->ack_through(1000).ok());
  }
  auto s = open(1 << 20, 4096);
  EXPECT_EQ(s->checkpoint("auth"), "offset=200");
  EXPECT_EQ(s->checkpoint("fim"), "x");
}

TEST_F(SpoolTest, DamagedStateFileIsAnErrorNamingIt) {
  {
    auto s = open();
    s->append("x");
    ASSERT_TRUE(s->commit().ok());
    ASSERT_TRUE(s->ack_through(1).ok());
  }
  {
    std::ofstream out(dir_ / "state", std::ios::trunc);
    out << "next_seq lots\n";
  }
  SpoolOptions o;
  o.dir = dir_;
  auto s = Spool::open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("state"), std::string::npos) << s.error().message;
}

// A spool written by a newer version (a higher format number in its state) is refused with a
// message naming the folder and both formats, and nothing in it is cut or deleted: installing
// the newer version again finds every unsent event. A spool of today's format, or one from
// before the format line existed, opens and keeps its records.
TEST_F(SpoolTest, NewerSpoolFormatIsRefusedAndLeftIntact) {
  {
    auto s = open();
    for (int i = 0; i < 5; ++i) s->append("event " + std::to_string(i));
    ASSERT_TRUE(s->commit().ok());
  }
  std::string state;
  {
    std::ifstream in(dir_ / "state");
    state.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_TRUE(state.starts_with("format 1\n")) << state;
  // The newer version's spool: a higher format and a record type this version does not know.
  std::string newer = "format 2\n" + state.substr(9);
  std::ofstream(dir_ / "state", std::ios::trunc) << newer;
  fs::path seg = newest_segment();
  {
    std::ofstream out(seg, std::ios::app | std::ios::binary);
    out << std::string(40, '\x7f');
  }
  auto seg_size = fs::file_size(seg);

  SpoolOptions o;
  o.dir = dir_;
  auto refused = Spool::open(o);
  ASSERT_FALSE(refused.ok());
  const std::string& m = refused.error().message;
  EXPECT_NE(m.find(dir_.string()), std::string::npos) << m;
  EXPECT_NE(m.find("spool format 2"), std::string::npos) << m;
  EXPECT_NE(m.find("format 1 at most"), std::string::npos) << m;
  EXPECT_NE(m.find("newer version"), std::string::npos) << m;
  EXPECT_EQ(fs::file_size(seg), seg_size);  // nothing cut
  {
    std::ifstream in(dir_ / "state");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), newer);
  }

  // The same folder back in format 1 without the format line (as written before it existed).
  std::ofstream(dir_ / "state", std::ios::trunc) << state.substr(9);
  fs::resize_file(seg, seg_size - 40);
  auto s = open();
  ASSERT_TRUE(s);
  auto records = read_all(*s);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records.front().payload, "event 0");
  EXPECT_EQ(records.back().seq, 5u);
}

#ifndef _WIN32
// A child appends and commits as fast as it can and reports each committed sequence number
// through a pipe; the parent SIGKILLs it mid-stream. Every reported record must survive, intact
// and in order, and the spool must go on from there.
TEST_F(SpoolTest, SurvivesSigkillMidAppend) {
  for (int round = 0; round < 5; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      SpoolOptions o;
      o.dir = dir_;
      o.segment_bytes = 64 << 10;
      auto s = Spool::open(o);
      if (!s) ::_exit(3);
      for (uint64_t i = 0;; ++i) {
        uint64_t last = 0;
        for (int k = 0; k < 20; ++k)
          last = (*s)->append("round " + std::to_string(round) + " record " + std::to_string(i) +
                              "." + std::to_string(k) + std::string(k * 10, '.'));
        if (!(*s)->commit().ok()) ::_exit(4);
        if (::write(fds[1], &last, sizeof last) != sizeof last) ::_exit(5);
      }
    }
    ::close(fds[1]);
    uint64_t committed = 0, v = 0;
    // Let it run a little, then kill it without warning.
    for (int n = 0; n < 30 && ::read(fds[0], &v, sizeof v) == sizeof v; ++n) committed = v;
    ::kill(pid, SIGKILL);
    while (::read(fds[0], &v, sizeof v) == sizeof v) committed = v;
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_GT(committed, 0u);

    auto s = open(256ull << 20, 64 << 10);
    auto all = read_all(*s);
    ASSERT_GE(all.size(), committed);
    for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].seq, i + 1);
    EXPECT_GT(s->append("after"), all.back().seq);
  }
}
#endif

}  // namespace
}  // namespace mimamori::uplink
