#include <gtest/gtest.h>
#include <zstd.h>

#include "mimamori/server/ingest.h"
#include "mimamori/uplink/http.h"

namespace mimamori::server {
namespace {

const char* kAlert =
    R"({"timestamp":"2026-11-26T19:40:35.000000+0900","event_type":"alert","src_ip":"10.0.0.5",)"
    R"("dest_ip":"198.51.100.7","proto":"TCP","alert":{"signature_id":2001,"signature":"ET )"
    R"(MALWARE test","category":"A Network Trojan was detected","severity":1}})";
const char* kDns =
    R"({"timestamp":"2026-11-26T19:40:36.000000+0900","event_type":"dns","src_ip":"10.0.0.5"})";

IngestBatch batch(int64_t first, int64_t last, std::string body) {
  IngestBatch b;
  b.first = first;
  b.last = last;
  b.body = std::move(body);
  return b;
}

TEST(IngestParse, SplitsLinesAndNumbersThemFromFirst) {
  auto b = batch(41, 43, std::string(kAlert) + "\n" + kDns + "\nnot json\n");
  ASSERT_TRUE(parse_ingest_batch(b).ok());
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].seq, 41);
  EXPECT_TRUE(b.events[0].is_alert);
  EXPECT_EQ(b.events[0].signature_id, 2001);
  EXPECT_EQ(b.events[0].src_ip, "10.0.0.5");
  EXPECT_EQ(b.events[0].event_type, "alert");
  EXPECT_EQ(b.events[1].seq, 42);
  EXPECT_FALSE(b.events[1].is_alert);
  ASSERT_EQ(b.rejected.size(), 1u);
  EXPECT_EQ(b.rejected[0].seq, 43);
  EXPECT_NE(b.rejected[0].reason.find("offset 0"), std::string::npos) << b.rejected[0].reason;
}

TEST(IngestParse, RefusesABatchWhoseLineCountDoesNotMatchTheRange) {
  auto b = batch(1, 3, std::string(kAlert) + "\n" + kDns + "\n");
  auto st = parse_ingest_batch(b);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, 400);
  EXPECT_NE(st.error().message.find("2 lines"), std::string::npos) << st.error().message;
  auto bad_range = batch(5, 4, kDns);
  EXPECT_EQ(parse_ingest_batch(bad_range).error().code, 400);
  auto zero = batch(0, 0, kDns);
  EXPECT_EQ(parse_ingest_batch(zero).error().code, 400);
}

TEST(IngestParse, RejectsInvalidUtf8AndEmptyLinesOneByOne) {
  std::string bad = kDns;
  bad.insert(bad.find("dns") + 1, 1, '\xff');
  auto b = batch(1, 3, bad + "\n\n" + kDns);
  ASSERT_TRUE(parse_ingest_batch(b).ok());
  EXPECT_EQ(b.events.size(), 1u);
  ASSERT_EQ(b.rejected.size(), 2u);
  EXPECT_NE(b.rejected[0].reason.find("UTF-8"), std::string::npos);
  EXPECT_EQ(b.rejected[1].reason, "empty line");
}

// The validator skips ASCII eight bytes at a time: a bad byte must be found, at its offset,
// wherever it falls in or after such a word, and good multi-byte text at any alignment passes.
TEST(IngestParse, Utf8CheckFindsEachBadByteAtEveryAlignment) {
  const std::string head =
      R"({"timestamp":"2026-11-26T19:40:36.000000+0900","event_type":"dns","dns":{"rrname":")";
  const std::vector<std::pair<std::string, bool>> cases = {{"\xff", false},
                                                           {std::string(1, '\0'), false},
                                                           {"\x80", false},
                                                           {"\xc0\x80", false},
                                                           {"\xed\xa0\x80", false},
                                                           {"\xe3\x81", false},
                                                           {"\xf4\x90\x80\x80", false},
                                                           {"\xe6\x97\xa5\xe6\x9c\xac", true},
                                                           {"\xc3\xa9", true},
                                                           {"\xf0\x9f\x94\x92", true}};
  for (const auto& [text, good] : cases) {
    for (size_t k = 0; k < 20; ++k) {
      std::string line = head;
      line.append(k, 'a');
      line.append(text);
      line.append("x.example\"}}");
      auto b = batch(1, 1, line);
      ASSERT_TRUE(parse_ingest_batch(b).ok());
      if (good) {
        EXPECT_EQ(b.events.size(), 1u) << "k=" << k;
        continue;
      }
      ASSERT_EQ(b.rejected.size(), 1u) << "k=" << k;
      EXPECT_NE(b.rejected[0].reason.find(fmt::format("byte {} ", head.size() + k)),
                std::string::npos)
          << b.rejected[0].reason << " k=" << k;
    }
  }
}

TEST(IngestParse, RansomwareHostEventIsAnAlert) {
  auto b = batch(1, 1,
                 R"({"timestamp":"2026-11-26T19:40:35Z","event_type":"ransomware","host":"pc-01",)"
                 R"("ransomware":{"reason":"mass rename to .locked"}})");
  ASSERT_TRUE(parse_ingest_batch(b).ok());
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_TRUE(b.events[0].is_alert);
  EXPECT_EQ(b.events[0].host, "pc-01");
  EXPECT_EQ(b.events[0].signature, "mass rename to .locked");
}

// Ingest bodies are compressed as devices compress them.
std::string gzip(const std::string& s) { return *uplink::compress(s, uplink::Compression::kGzip); }

TEST(Decompress, GzipAndZstdRoundTripAndLimitsHold) {
  std::string text(100000, 'a');
  auto g = decompress_body("gzip", gzip(text), 1 << 20);
  ASSERT_TRUE(g.ok()) << g.error().message;
  EXPECT_EQ(*g, text);
  std::string z(ZSTD_compressBound(text.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), text.data(), text.size(), 3));
  auto zd = decompress_body("zstd", z, 1 << 20);
  ASSERT_TRUE(zd.ok()) << zd.error().message;
  EXPECT_EQ(*zd, text);
  // A bomb: 100 kB inflated against a 10 kB limit.
  EXPECT_EQ(decompress_body("gzip", gzip(text), 10000).error().code, 413);
  EXPECT_EQ(decompress_body("zstd", z, 10000).error().code, 413);
  EXPECT_EQ(decompress_body("", text, 10000).error().code, 413);
  EXPECT_EQ(decompress_body("br", text, 1 << 20).error().code, 415);
  EXPECT_EQ(decompress_body("gzip", "not gzip at all", 1 << 20).error().code, 400);
  EXPECT_EQ(decompress_body("gzip", gzip(text).substr(0, 50), 1 << 20).error().code, 400);
  EXPECT_EQ(decompress_body("zstd", z.substr(0, z.size() / 2), 1 << 20).error().code, 400);
}

}  // namespace
}  // namespace mimamori::server
