#include "mimamori/match/database_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace mimamori::match {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards.
class DatabaseCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    for (int i = 0; i < 100 && root_.empty(); ++i) {
      fs::path p = fs::temp_directory_path() / ("mimamori_hsdb_" + std::to_string(random()));
      if (fs::create_directory(p)) root_ = p;
    }
    ASSERT_FALSE(root_.empty());
    dir_ = root_ / "cache";  // not there yet: the cache makes it
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static std::vector<Pattern> patterns(std::string_view extra = {}) {
    std::vector<Pattern> p = {{1, "evil", Pattern::Kind::kLiteral},
                              {2, "id=[0-9]+&", Pattern::Kind::kRegex},
                              {3, "USER-AGENT", Pattern::Kind::kLiteral, true}};
    if (!extra.empty()) p.push_back({4, std::string(extra), Pattern::Kind::kLiteral});
    return p;
  }

  // The ids a set finds in `data`.
  static std::set<uint32_t> scan(const PatternSet& set, std::string_view data) {
    PatternSet::Scratch scratch;
    EXPECT_TRUE(set.prepare(scratch).ok());
    std::set<uint32_t> ids;
    EXPECT_TRUE(set.scan(data, scratch,
                         [&](uint32_t id, uint64_t) {
                           ids.insert(id);
                           return true;
                         })
                    .ok());
    return ids;
  }

  static std::string read(const fs::path& f) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static void write(const fs::path& f, std::string_view bytes) {
    std::ofstream(f, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  // Files in the cache folder, temporary ones included.
  std::size_t files() const {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }

  fs::path root_, dir_;
};

TEST_F(DatabaseCacheTest, SecondCompileOfTheSamePatternsIsAHit) {
  DatabaseCache first(dir_, "test cache");
  auto a = first.compile(patterns());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(first.hits(), 0u);
  EXPECT_EQ(first.misses(), 1u);
  ASSERT_TRUE(fs::is_regular_file(first.file_for(patterns())));
  EXPECT_EQ(files(), 1u);  // no temporary file left behind

  DatabaseCache second(dir_, "test cache");
  auto b = second.compile(patterns());
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(second.hits(), 1u);
  EXPECT_EQ(second.misses(), 0u);
  EXPECT_EQ(b->size(), 3u);
  EXPECT_EQ(scan(*b, "x id=42& evil user-agent"), (std::set<uint32_t>{1, 2, 3}));
}

TEST_F(DatabaseCacheTest, OtherPatternsOrSaltAreAMiss) {
  DatabaseCache cache(dir_, "test cache");
  ASSERT_TRUE(cache.compile(patterns()).ok());
  auto more = cache.compile(patterns("bad"));
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(scan(*more, "bad evil"), (std::set<uint32_t>{1, 4}));
  ASSERT_TRUE(cache.compile(patterns(), "version 2").ok());
  // A flag is part of what was compiled, too.
  auto caseless = patterns();
  caseless[0].caseless = true;
  ASSERT_TRUE(cache.compile(caseless).ok());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.misses(), 4u);
  EXPECT_EQ(files(), 4u);
  ASSERT_TRUE(cache.compile(patterns("bad")).ok());
  EXPECT_EQ(cache.hits(), 1u);
}

TEST_F(DatabaseCacheTest, DamagedFilesAreRefusedAndRebuilt) {
  DatabaseCache writer(dir_, "test cache");
  ASSERT_TRUE(writer.compile(patterns()).ok());
  fs::path file = writer.file_for(patterns());
  const std::string good = read(file);
  ASSERT_GT(good.size(), 100u);  // the cuts and the flip below fall after the header

  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x5a);
  std::string longer = good + "x";
  for (const std::string& bad :
       {good.substr(0, good.size() - 7), good.substr(0, 20), flipped, longer, std::string()}) {
    write(file, bad);
    DatabaseCache cache(dir_, "test cache");
    auto set = cache.compile(patterns());
    ASSERT_TRUE(set.ok()) << set.error().message;
    EXPECT_EQ(cache.hits(), 0u);
    EXPECT_EQ(cache.refused(), 1u);
    EXPECT_EQ(scan(*set, "evil"), (std::set<uint32_t>{1}));
    EXPECT_EQ(read(file), good);  // rebuilt
  }
}

TEST_F(DatabaseCacheTest, AFileOfOtherPatternsUnderThisNameIsRefused) {
  DatabaseCache cache(dir_, "test cache");
  ASSERT_TRUE(cache.compile(patterns("other")).ok());
  fs::copy_file(cache.file_for(patterns("other")), cache.file_for(patterns()));
  auto set = cache.compile(patterns());
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.refused(), 1u);
  EXPECT_EQ(set->size(), 3u);
  EXPECT_EQ(scan(*set, "other evil"), (std::set<uint32_t>{1}));
}

TEST_F(DatabaseCacheTest, OnlyRegularFilesAreRead) {
  DatabaseCache cache(dir_, "test cache");
  fs::path file = cache.file_for(patterns());
  fs::create_directories(file);  // a folder under the file's name
  auto set = cache.compile(patterns());
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(cache.refused(), 1u);
  EXPECT_TRUE(fs::is_directory(file));  // not replaced: rename cannot, and says so

  fs::remove(file);
#ifdef _WIN32
  GTEST_SKIP() << "no FIFOs on Windows";
#else
  ASSERT_EQ(::mkfifo(file.c_str(), 0600), 0);  // would block a plain open for reading
  DatabaseCache again(dir_, "test cache");
  ASSERT_TRUE(again.compile(patterns()).ok());
  EXPECT_EQ(again.refused(), 1u);
  EXPECT_TRUE(fs::is_regular_file(file));  // the FIFO was replaced by the database
#endif
}

TEST_F(DatabaseCacheTest, WithoutAFolderEveryCompileIsAMiss) {
  DatabaseCache cache({}, "test cache");
  ASSERT_TRUE(cache.compile(patterns()).ok());
  ASSERT_TRUE(cache.compile(patterns()).ok());
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_FALSE(fs::exists(dir_));
}

TEST_F(DatabaseCacheTest, ACompileErrorIsReturned) {
  DatabaseCache cache(dir_, "test cache");
  std::vector<Pattern> bad = {{7, "(unclosed", Pattern::Kind::kRegex}};
  auto set = cache.compile(bad);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message.find("pattern id 7"), std::string::npos) << set.error().message;
}

}  // namespace
}  // namespace mimamori::match
