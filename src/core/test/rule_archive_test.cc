#include "mimamori/core/rule_archive.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mimamori::core {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class RuleArchive : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mimamori_rule_archive_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "src/rules/sub");
    std::ofstream(dir_ / "src/rules/a.rules") << "alert ip any any -> any any (sid:1;)\n";
    std::ofstream(dir_ / "src/rules/sub/b.txt") << "not wanted\n";
    fs::create_directory_symlink("sub", dir_ / "src/rules/link");
    std::string cmd = "tar -C '" + (dir_ / "src").string() + "' -czf '" +
                      (dir_ / "r.tar.gz").string() + "' rules";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    gz_ = slurp(dir_ / "r.tar.gz");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  std::string gz_;
};

TEST_F(RuleArchive, ReadsTheRegularFilesTheFilterWants) {
  auto files = read_tar_gz(gz_, [](std::string_view p) { return p.ends_with(".rules"); });
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].path, "rules/a.rules");
  EXPECT_EQ((*files)[0].data, "alert ip any any -> any any (sid:1;)\n");
  // The filter sees every regular file (not the folder, not the link).
  std::vector<std::string> seen;
  ASSERT_TRUE(read_tar_gz(gz_, [&](std::string_view p) {
                seen.emplace_back(p);
                return false;
              }).ok());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"rules/a.rules", "rules/sub/b.txt"}));
}

TEST_F(RuleArchive, DamagedOrForeignOrTooLargeArchivesSayWhy) {
  auto all = [](std::string_view) { return true; };
  auto r = read_tar_gz("PK\x03\x04 a zip file", all);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not a gzip file"), std::string::npos);
  std::string cut = gz_.substr(0, gz_.size() / 2);
  r = read_tar_gz(cut, all);
  ASSERT_FALSE(r.ok());
  // Cut short: refused at opening or at the entry it breaks, saying that it is cut short.
  const std::string& why = r.error().message;
  EXPECT_TRUE(why.starts_with("not a readable tar.gz archive") ||
              why.starts_with("archive damaged"))
      << why;
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;
  r = read_tar_gz(gz_, all, 16);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unpacks to more than"), std::string::npos);
}

TEST_F(RuleArchive, FetchChecksTheHashOfAFileUrl) {
  const std::string url = "file://" + (dir_ / "r.tar.gz").string();
  auto ok = fetch_rule_archive(url, "");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, gz_);
  auto bad = fetch_rule_archive(url, std::string(64, '0'));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("verify: SHA-256 is ", 0), 0u) << bad.error().message;
  auto missing = fetch_rule_archive("file://" + (dir_ / "none.tar.gz").string(), "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message.rfind("fetch: ", 0), 0u) << missing.error().message;
}

TEST_F(RuleArchive, StagedFolderReplacesTheTargetOrLeavesNothingBehind) {
  const fs::path target = dir_ / "installed";
  fs::create_directory(target);
  std::ofstream(target / "old.rules") << "old\n";
  {
    // Dropped without a swap: the target is untouched and the staged folder is gone.
    auto s = StagedFolder::beside(target);
    ASSERT_TRUE(s.ok()) << s.error().message;
    ASSERT_TRUE(s->write("new.rules", "new\n").ok());
    EXPECT_EQ(s->path().parent_path(), dir_);
  }
  EXPECT_TRUE(fs::exists(target / "old.rules"));
  EXPECT_FALSE(fs::exists(target / "new.rules"));
  std::size_t entries = 0;
  for (auto& e : fs::directory_iterator(dir_)) entries += e.path().filename() != "r.tar.gz";
  EXPECT_EQ(entries, 2u);  // src and installed
  {
    auto s = StagedFolder::beside(target);
    ASSERT_TRUE(s.ok());
    // A name with folders is written by its last part only.
    auto p = s->write("../escape/new.rules", "new\n");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->parent_path(), s->path());
    ASSERT_TRUE(s->swap_in().ok());
  }
  EXPECT_EQ(slurp(target / "new.rules"), "new\n");
  EXPECT_FALSE(fs::exists(target / "old.rules"));
  entries = 0;
  for (auto& e : fs::directory_iterator(dir_)) entries += e.path().filename() != "r.tar.gz";
  EXPECT_EQ(entries, 2u);
  // A target that does not exist yet is made by a rename.
  const fs::path fresh = dir_ / "deeper" / "rules";
  {
    auto s = StagedFolder::beside(fresh);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(s->write("x.rules", "x\n").ok());
    ASSERT_TRUE(s->swap_in().ok());
  }
  EXPECT_EQ(slurp(fresh / "x.rules"), "x\n");
}

}  // namespace
}  // namespace mimamori::core
