// SpoolSink: lines and events into the spool on commit(), filtered by type, bounded, with the
// checkpoints committed in the same batch.

#include "mimamori/uplink/spool_sink.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace mimamori::uplink {
namespace {

namespace fs = std::filesystem;

class SpoolSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("mimamori-spool-sink-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(dir_);
    SpoolOptions o;
    o.dir = dir_;
    auto s = Spool::open(o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    spool_ = std::move(*s);
  }
  void TearDown() override {
    spool_.reset();
    fs::remove_all(dir_);
  }
  std::vector<std::string> committed() {
    std::vector<SpoolRecord> batch;
    EXPECT_TRUE(spool_->read(0, 1000, 1 << 20, batch).ok());
    std::vector<std::string> out;
    for (auto& r : batch) out.push_back(r.payload);
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Spool> spool_;
};

TEST_F(SpoolSinkTest, NothingIsDurableBeforeCommit) {
  SpoolSink sink(*spool_, nullptr, {});
  sink.write("{\"event_type\":\"alert\"}\n{\"event_type\":\"dns\"}\n");
  EXPECT_TRUE(committed().empty());
  sink.commit();
  EXPECT_EQ(committed(),
            (std::vector<std::string>{"{\"event_type\":\"alert\"}", "{\"event_type\":\"dns\"}"}));
  EXPECT_EQ(sink.emitted(), 2u);
  EXPECT_EQ(sink.spooled_by_type(), "alert 1, dns 1");
}

TEST_F(SpoolSinkTest, TypesOutsideTheSetAreSkipped) {
  SpoolSink::Options o;
  o.types = std::set<std::string, std::less<>>{"alert"};
  SpoolSink sink(*spool_, nullptr, o);
  sink.write("{\"event_type\":\"flow\"}\n{\"event_type\":\"alert\",\"x\":1}\n");
  sink.commit();
  EXPECT_EQ(committed(), (std::vector<std::string>{"{\"event_type\":\"alert\",\"x\":1}"}));
}

TEST_F(SpoolSinkTest, EventsAndCheckpointsCommitTogether) {
  SpoolSink sink(*spool_, nullptr, {});
  core::Event e;
  e.event_type = "auth";
  sink.emit(e);
  sink.checkpoint("/var/log/auth.log", "42");
  EXPECT_EQ(sink.position("/var/log/auth.log"), "");
  sink.commit();
  EXPECT_EQ(sink.position("/var/log/auth.log"), "42");
  ASSERT_EQ(committed().size(), 1u);
  EXPECT_NE(committed()[0].find("\"event_type\":\"auth\""), std::string::npos);
}

TEST_F(SpoolSinkTest, FullBufferDropsAndCountsInTheSpool) {
  SpoolSink::Options o;
  o.buffer_max_bytes = 30;
  SpoolSink sink(*spool_, nullptr, o);
  sink.write("{\"event_type\":\"alert\"}\n{\"event_type\":\"alert\"}\n");
  EXPECT_EQ(sink.dropped_pending(), 1u);
  sink.commit();
  EXPECT_EQ(sink.dropped_pending(), 0u);
  EXPECT_EQ(spool_->stats().dropped, 1u);
  EXPECT_EQ(committed().size(), 1u);
}

TEST_F(SpoolSinkTest, CommitterThreadCommits) {
  SpoolSink sink(*spool_, nullptr, {});
  sink.start_committer(std::chrono::milliseconds(10));
  sink.write("{\"event_type\":\"alert\"}\n");
  for (int i = 0; i < 200 && committed().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  sink.stop_committer();
  EXPECT_EQ(committed().size(), 1u);
}

}  // namespace
}  // namespace mimamori::uplink
