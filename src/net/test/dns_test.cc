// The DNS parser on crafted messages: names behind compression pointers, and malformed
// messages rejected with an anomaly instead of a record.

#include <gtest/gtest.h>

#include <string>

#include "app/app.h"
#include "app_sink.h"

namespace mimamori::net {
namespace {

using apptest::RecordingSink;

std::string be16(unsigned v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string be32(uint32_t v) { return be16(v >> 16) + be16(v & 0xffff); }
// "www.example.com": www at 12, example at 16 (offsets in the message).
const std::string kName = std::string("\3www\7example\3com\0", 17);

std::string header(unsigned id, unsigned flags, unsigned qd, unsigned an) {
  return be16(id) + be16(flags) + be16(qd) + be16(an) + be16(0) + be16(0);
}

std::string query() { return header(0x1234, 0x0100, 1, 0) + kName + be16(1) + be16(1); }

// A CNAME whose owner and target are pointers (cdn + pointer to "example.com" at 16), then
// an A record owned by that target (pointer to offset 45, where "cdn" starts).
std::string response() {
  std::string m = header(0x1234, 0x8180, 1, 2) + kName + be16(1) + be16(1);
  std::string target = std::string("\3cdn", 4) + be16(0xc000 | 16);
  m += be16(0xc000 | 12) + be16(5) + be16(1) + be32(60) + be16(target.size());
  EXPECT_EQ(m.size(), 45u);
  m += target;
  m += be16(0xc000 | 45) + be16(1) + be16(1) + be32(300) + be16(4) + std::string("\1\2\3\4", 4);
  return m;
}

TEST(DnsParser, AnswerNamesFollowCompressionPointers) {
  auto parser = make_dns_parser(false);
  RecordingSink sink(parser.get(), {Buffer::kDnsQuery});
  ASSERT_TRUE(looks_like_dns(query()));
  ASSERT_TRUE(looks_like_dns(response()));
  parser->parse(Direction::kToServer, query(), sink);
  parser->parse(Direction::kToClient, response(), sink);
  ASSERT_EQ(sink.progress_.size(), 2u);
  EXPECT_EQ(sink.progress_[0], AppProgress::kDnsQuery);
  EXPECT_EQ(sink.progress_[1], AppProgress::kDnsAnswer);
  EXPECT_EQ(apptest::buffer_at(sink, AppProgress::kDnsQuery, Buffer::kDnsQuery), "www.example.com");
  ASSERT_EQ(sink.records_.size(), 2u);
  EXPECT_EQ(sink.records_[1].dir, Direction::kToClient);
  const std::string& j = sink.records_[1].json;
  EXPECT_NE(j.find("\"type\":\"response\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"rrname\":\"www.example.com\",\"rrtype\":\"CNAME\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"rdata\":\"cdn.example.com\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"rrname\":\"cdn.example.com\",\"rrtype\":\"A\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"rdata\":\"1.2.3.4\""), std::string::npos) << j;
  EXPECT_TRUE(sink.anomalies_.empty());
}

TEST(DnsParser, MalformedMessagesAreRejected) {
  // Too short for a header.
  EXPECT_FALSE(looks_like_dns(std::string("\x12\x34\x01\x00", 4)));
  auto parser = make_dns_parser(false);
  RecordingSink sink(parser.get(), {});
  parser->parse(Direction::kToServer, std::string("\x12\x34\x01\x00\x00", 5), sink);
  EXPECT_TRUE(sink.records_.empty());
  ASSERT_EQ(sink.anomalies_.size(), 1u);
  EXPECT_EQ(sink.anomalies_[0], "MALFORMED_DATA");

  // An answer whose owner name points at itself: a pointer loop is never followed forever.
  std::string loop = header(0x1, 0x8180, 0, 1);
  loop += be16(0xc000 | 12) + be16(1) + be16(1) + be32(1) + be16(4) + std::string(4, '\0');
  RecordingSink sink2(parser.get(), {});
  parser->parse(Direction::kToClient, loop, sink2);
  EXPECT_FALSE(sink2.anomalies_.empty());
  for (const auto& r : sink2.records_)
    EXPECT_EQ(r.json.find("\"rdata\":\"0.0.0.0\""), std::string::npos) << r.json;
}

}  // namespace
}  // namespace mimamori::net
