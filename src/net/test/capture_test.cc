#include "mimamori/net/capture.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace mimamori::net {
namespace {

const std::string kCorpus = MIMAMORI_CORPUS_DIR;

TEST(PcapFile, ReadsEveryPacketOfACorpusCapture) {
  std::string path;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(kCorpus + "/suricata-verify")) {
    if (e.path().extension() == ".pcap") {
      path = e.path().string();
      break;
    }
  }
  ASSERT_FALSE(path.empty()) << "no pcap under " << kCorpus;
  auto f = PcapFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().message;
  RawPacket pkt;
  int n = 0;
  core::Timestamp last{};
  while (true) {
    auto more = f->next(pkt);
    ASSERT_TRUE(more.ok()) << more.error().message;
    if (!*more) break;
    EXPECT_LE(pkt.data.size(), pkt.wire_length);
    EXPECT_GT(pkt.timestamp.micros, 0);
    last = pkt.timestamp;
    ++n;
  }
  EXPECT_GT(n, 0);
  EXPECT_GT(last.micros, 0);
}

TEST(PcapFile, MissingFileSaysWhich) {
  auto f = PcapFile::open("/nonexistent/x.pcap");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("/nonexistent/x.pcap"), std::string::npos);
}

}  // namespace
}  // namespace mimamori::net
