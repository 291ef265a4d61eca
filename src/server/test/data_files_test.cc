// Secrets at rest: the server's data folder is 0700 and every file it writes there (the SQLite
// database and its -wal and -shm files, the generated TLS key and certificate) is 0600, whatever
// the umask; files left open to other users are narrowed at start-up, with a warning. SQLite
// only: PostgreSQL's files belong to PostgreSQL.

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>

#include "mimamori/core/log.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace fs = std::filesystem;

// The permission bits of `p` in octal ("0600"), or "absent".
std::string mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "absent";
  return fmt::format("{:04o}", st.st_mode & 07777);
}

// Sets the process umask for a scope.
struct Umask {
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
  mode_t old;
};

// A server whose data folder and SQLite store are both `dir`, with a generated TLS key.
std::unique_ptr<TestServer> start_in(const fs::path& dir) {
  return TestServer::start("sqlite:" + dir.string(), [&](ServerOptions& o) {
    o.data_dir = dir.string();
    o.tls = true;
  });
}

TEST(DataFiles, AFreshDataFolderIsPrivateWhateverTheUmask) {
  Umask u(022);
  const fs::path dir = fs::path(temp_dir()) / "data";
  auto ts = start_in(dir);
  ASSERT_TRUE(ts);
  // TestServer::start wrote the provider and its admin: the WAL exists while the store is open.
  ASSERT_NE(mode_of(dir / "mimamori.db-wal"), "absent")
      << "the WAL should exist while the server runs";
  EXPECT_EQ(mode_of(dir), "0700");
  EXPECT_EQ(mode_of(dir / "mimamori.db"), "0600");
  EXPECT_EQ(mode_of(dir / "mimamori.db-wal"), "0600");
  EXPECT_EQ(mode_of(dir / "mimamori.db-shm"), "0600");
  EXPECT_EQ(mode_of(dir / "server.key"), "0600");
  EXPECT_EQ(mode_of(dir / "server.crt"), "0600");
}

TEST(DataFiles, FilesLeftOpenToOthersAreNarrowedAtStartWithAWarning) {
  Umask u(022);
  const fs::path dir = fs::path(temp_dir()) / "data";
  {
    auto ts = start_in(dir);
    ASSERT_TRUE(ts);
  }
  // As an older version left them.
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  for (const char* f : {"mimamori.db", "server.key", "server.crt"}) {
    ASSERT_EQ(::chmod((dir / f).c_str(), 0644), 0) << f;
  }
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  sink->set_pattern("%l: %v");
  spdlog::default_logger()->sinks().push_back(sink);
  auto ts = start_in(dir);
  spdlog::default_logger()->sinks().pop_back();
  ASSERT_TRUE(ts);
  ASSERT_NE(mode_of(dir / "mimamori.db-wal"), "absent");
  EXPECT_EQ(mode_of(dir), "0700");
  EXPECT_EQ(mode_of(dir / "mimamori.db"), "0600");
  EXPECT_EQ(mode_of(dir / "mimamori.db-wal"), "0600");
  EXPECT_EQ(mode_of(dir / "mimamori.db-shm"), "0600");
  EXPECT_EQ(mode_of(dir / "server.key"), "0600");
  EXPECT_EQ(mode_of(dir / "server.crt"), "0600");
  const std::string text = out.str();
  EXPECT_NE(
      text.find("warning: " + (dir / "mimamori.db").string() + " was readable by other users"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find((dir / "server.key").string()), std::string::npos) << text;
  EXPECT_NE(text.find("data folder " + dir.string()), std::string::npos) << text;
}

}  // namespace
}  // namespace mimamori::server::testing
