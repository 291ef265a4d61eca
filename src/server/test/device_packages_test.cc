// The device repository under /download/ and the install commands of /api/v1/device-packages:
// files of the repository folder only, and commands built from what is really there (the key's
// hash, the .rpm's hash, the server's certificate), never from unchecked request text.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "mimamori/core/config.h"
#include "mimamori/core/hash.h"
#include "test_support.h"

namespace mimamori::server::testing {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

class DevicePackages : public ::testing::Test {
 protected:
  void start(bool tls) {
    std::string why;
    url_ = fresh_store_url("sqlite", &why);
    ts_ = TestServer::start(url_, [&](ServerOptions& o) { o.tls = tls; });
    ASSERT_TRUE(ts_);
    repo_ = fs::path(ts_->dir) / "repo";
  }
  void fill_repo() {
    put(repo_ / "mimamori.gpg", "public key bytes");
    put(repo_ / "mimamori.fpr", "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678\n");
    put(repo_ / "deb" / "Release", "Origin: mimamori\n");
    put(repo_ / "deb" / "mimamori-agent_0.1.0-1_amd64.deb", "deb bytes");
    put(repo_ / "rpm" / "mimamori-agent-0.1.0-1.x86_64.rpm", "old rpm");
    put(repo_ / "rpm" / "mimamori-agent-0.2.0-1.x86_64.rpm", "new rpm");
  }
  std::string url_;
  std::unique_ptr<TestServer> ts_;
  fs::path repo_;
};

TEST_F(DevicePackages, RepositoryFilesAreServedAndNothingElse) {
  start(false);
  fill_repo();
  put(fs::path(ts_->dir) / "outside.txt", "not for devices");
  fs::create_symlink(fs::path(ts_->dir) / "outside.txt", repo_ / "deb" / "leak.deb");
  Client anyone(ts_->base);
  auto rel = anyone.get("/download/deb/Release");
  EXPECT_EQ(rel.status, 200);
  EXPECT_EQ(rel.body, "Origin: mimamori\n");
  EXPECT_EQ(rel.header("cache-control"), "no-cache");
  auto deb = anyone.get("/download/deb/mimamori-agent_0.1.0-1_amd64.deb");
  EXPECT_EQ(deb.status, 200);
  EXPECT_EQ(deb.body, "deb bytes");
  EXPECT_EQ(deb.header("content-type"), "application/vnd.debian.binary-package");
  EXPECT_EQ(anyone.get("/download/mimamori.gpg").body, "public key bytes");
  EXPECT_EQ(anyone.get("/download/rpm/mimamori-agent-0.2.0-1.x86_64.rpm").body, "new rpm");
  // The server's own files, the data folder through .., hidden names, a symlink leading out
  // of the repository, and top-level files other than the key: 404.
  for (const char* path :
       {"/download/secret.key", "/download/outside.txt", "/download/deb/..", "/download/deb/%2e%2e",
        "/download/deb/..%2Fsecret.key", "/download/deb/.hidden", "/download/deb/leak.deb",
        "/download/deb/missing.deb", "/download/repo/deb/Release"}) {
    EXPECT_EQ(anyone.get(path).status, 404) << path;
  }
  EXPECT_EQ(ts_->admin().call("POST", "/download/deb/Release").status, 405);
}

TEST_F(DevicePackages, InstallCommandsNameTheRealKeyPackagesAndCertificate) {
  start(true);
  auto admin = ts_->admin();
  // No repository yet: said so, no commands.
  auto none = admin.get("/api/v1/device-packages");
  ASSERT_EQ(none.status, 200) << none.body;
  auto nj = none.json().as_object();
  EXPECT_TRUE(nj.at("repository").is_null());
  EXPECT_TRUE(nj.at("platforms").as_array().empty());
  EXPECT_NE(none.str("hint").find("mimamori-repo init"), std::string::npos);

  fill_repo();
  auto r = admin.get("/api/v1/device-packages");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json().as_object();
  const std::string base = ts_->base;  // https://127.0.0.1:PORT, from the Host header
  EXPECT_EQ(r.str("base_url"), base);
  const std::string cert_fp = ts_->server->fingerprint();
  EXPECT_EQ(r.str("server_fingerprint"), cert_fp);
  const auto& repo = j.at("repository").as_object();
  EXPECT_EQ(repo.at("fingerprint").as_string(), "A1B2C3D4E5F60718293A4B5C6D7E8F9012345678");
  const std::string key_sha = core::sha256_hex("public key bytes");
  EXPECT_EQ(repo.at("key_sha256").as_string(), key_sha);
  EXPECT_EQ(repo.at("apt_source").as_string(),
            "deb [signed-by=/usr/share/keyrings/mimamori.gpg] " + base + "/download deb/");

  const auto& platforms = j.at("platforms").as_array();
  ASSERT_EQ(platforms.size(), 2u) << r.body;  // no sensor package in the repository
  const auto& deb = platforms[0].as_object();
  EXPECT_EQ(deb.at("platform").as_string(), "debian");
  EXPECT_EQ(deb.at("package").as_string(), "mimamori-agent");
  std::string cmd(deb.at("command").as_string());
  EXPECT_NE(
      cmd.find(base + "/download/mimamori.gpg /usr/share/keyrings/mimamori.gpg SHA256:" + key_sha),
      std::string::npos)
      << cmd;
  EXPECT_NE(cmd.find("apt-get install -y mimamori-agent"), std::string::npos) << cmd;
  // Self-signed certificate: peer checks off for this host only, named as apt names it (no port).
  EXPECT_NE(cmd.find("Acquire::https::127.0.0.1::Verify-Peer"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("mimamori-agent enroll --server " + base + " --code {code} --fingerprint " +
                     cert_fp),
            std::string::npos)
      << cmd;

  const auto& rpm = platforms[1].as_object();
  EXPECT_EQ(rpm.at("platform").as_string(), "rhel");
  EXPECT_EQ(rpm.at("files").as_array().at(0).as_string(), "mimamori-agent-0.2.0-1.x86_64.rpm");
  std::string rcmd(rpm.at("command").as_string());
  EXPECT_NE(rcmd.find(core::sha256_hex("new rpm") + "  /tmp/mimamori-agent-0.2.0-1.x86_64.rpm"),
            std::string::npos)
      << rcmd;
  EXPECT_NE(rcmd.find(base + "/download/rpm/mimamori-agent-0.2.0-1.x86_64.rpm"), std::string::npos)
      << rcmd;

  // A Host header that is not a host[:port] never reaches a shell command.
  auto bad = admin.call("GET", "/api/v1/device-packages", "", {"Host: x';reboot;'"});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.body.find("reboot"), std::string::npos);
  // Without a session: 401.
  EXPECT_EQ(Client(ts_->base).get("/api/v1/device-packages").status, 401);
}

TEST(DevicePackagesConfig, PublicUrlIsCheckedAtStart) {
  auto good = core::Config::from_string("server: {public_url: 'https://soc.example.jp:8443'}",
                                        "server.yaml");
  EXPECT_EQ(load_server_options(good).public_url, "https://soc.example.jp:8443");
  for (const char* bad :
       {"soc.example.jp", "https://soc.example.jp/$(id)", "https://a b", "ftp://soc.example.jp"}) {
    auto c =
        core::Config::from_string(fmt::format("server: {{public_url: '{}'}}", bad), "server.yaml");
    try {
      load_server_options(c);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const core::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("server.public_url"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace mimamori::server::testing
