// The column form of event blocks (format 2): every record, JSON or not, comes back byte for
// byte; values are taken out only in forms that give their text back; a damaged or cut form is
// refused, never read past its end.

#include "store/event_columns.h"

#include <gtest/gtest.h>

#include <random>

#include "mimamori/core/clock.h"

namespace mimamori::server::testing {
namespace {

constexpr int64_t kTs = 1795000000123456;  // 2026-11-18, the events' time

// Records that each try one way of going wrong.
std::vector<std::string> shapes() {
  const std::string t = core::format_eve_time(core::Timestamp{kTs});
  return {
      // Suricata's own
      R"({"timestamp":")" + t +
          R"(","flow_id":9876543210123456,"in_iface":"eth1","event_type":"flow","src_ip":"192.168.1.20","src_port":51000,"dest_ip":"203.0.113.80","dest_port":443,"proto":"TCP","flow":{"pkts_toserver":12,"bytes_toserver":900,"start":")" +
          core::format_eve_time(core::Timestamp{kTs - 30000000}) + R"(","end":")" + t +
          R"(","alerted":false},"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg="})",
      R"({"event_type":"tls","tls":{"serial":"0A1B2C3D4E5F6071","fingerprint":"3f:1a:bb","ja3s":"15af977ce25de452b96affa2addb1036","sha":"DEADBEEF00","odd":"abcdef123"}})",
      // numbers that are not plain integers: signs, leading zeros, fractions, exponents, long
      R"({"a":-5,"b":007,"c":0,"d":1.5,"e":2e10,"f":3E-2,"g":12345678901234567890,"h":123456789012345678,"i":0.0})",
      // numbers and strings in arrays, nested objects, spaces around the colon
      R"({"a":[1,2,"192.168.0.1"],"b" : 5 , "c"  :  "x" ,"d":{"e":{"f":[{"g":7}]}}})",
      // addresses that are not in their usual form, IPv6
      R"({"a":"01.2.3.4","b":"1.2.3.256","c":"1.2.3","d":"1.2.3.4.5","e":"0.0.0.0","f":"2001:db8::1","g":"255.255.255.255"})",
      // times in other forms: other offsets, no fraction, Z, a space, out of range
      R"({"a":"2026-11-26T19:41:05.123456-0130","b":"2026-11-26T19:41:05+0900","c":"2026-11-26T19:41:05.123456Z","d":"2026-11-26 19:41:05.123456+0900","e":"2026-13-26T19:41:05.123456+0900","f":"2026-11-26T19:41:05.123456+0000","g":"0000-01-01T00:00:00.000000+0000","h":"1969-12-31T23:59:59.999999+0000"})",
      // hex in mixed case, short, with a prefix
      R"({"a":"DeadBeef00","b":"abc","c":"0x1234567890","d":"","e":"ABCDEF0123456789ABCDEF"})",
      // escapes, quotes in names and values, raw UTF-8, \u
      R"({"a\"b":"c\"d","e\\":"\\","url":"\/api\/v2?q=%E8%A6%8B","x":"\u3042 見守り","":"empty name","y":"tab\tline"})",
      // the same name with values of different kinds, twice in one record
      R"({"id":5,"id":"five","id":"10.0.0.1","id":[6],"id":"abcdef0123"})",
      // not JSON at all, cut short, an unterminated string, a lone colon
      "not json at all",
      R"({"a":1,"b":"unterminated)",
      R"({"a":)",
      ":",
      "",
      R"({"a":"b"}garbage"x":9)",
      // bytes that JSON text never holds raw: the record is kept whole
      std::string("{\"a\":\"b\x01\",\"c\":5}"),
      std::string("{\"a\":\"\0\",\"c\":5}", 16),
      std::string("{\"a\":6}\x06"),
  };
}

std::vector<std::string> round_trip(const std::vector<std::string>& texts, std::string* body) {
  std::vector<ColumnRecord> recs;
  std::vector<int64_t> times;
  for (size_t i = 0; i < texts.size(); ++i) {
    recs.push_back({texts[i], kTs + static_cast<int64_t>(i)});
    times.push_back(kTs + static_cast<int64_t>(i));
  }
  std::string out = "prefix";
  encode_columns(recs, out);
  size_t at = 6;
  auto back = decode_columns(out, at, times);
  EXPECT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(at, out.size());
  if (body) *body = out.substr(6);
  return back.ok() ? *back : std::vector<std::string>{};
}

TEST(EventColumns, EveryShapeComesBackByteForByte) {
  const auto texts = shapes();
  std::string body;
  const auto back = round_trip(texts, &body);
  ASSERT_EQ(back.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(back[i], texts[i]) << "record " << i;
  // Values were taken out: the addresses' and the hex's text is not in the form.
  EXPECT_EQ(body.find("203.0.113.80"), std::string::npos);
  EXPECT_EQ(body.find("15af977ce25de452b96affa2addb1036"), std::string::npos);
  EXPECT_EQ(body.find("0A1B2C3D4E5F6071"), std::string::npos);
  EXPECT_EQ(body.find("9876543210123456"), std::string::npos);
  // Forms that would not come back the same were left as they were.
  for (const char* kept : {"01.2.3.4", "1.2.3.256", "2026-11-26T19:41:05+0900", "DeadBeef00",
                           "12345678901234567890", "2001:db8::1", "19:41:05.123456Z"}) {
    EXPECT_NE(body.find(kept), std::string::npos) << kept;
  }
}

TEST(EventColumns, OneSkeletonPerShapeAndColumnsByName) {
  // 200 flow records differing only in their values: one skeleton, stored once.
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {
    texts.push_back(R"({"flow_id":)" + std::to_string(1000003 * i) + R"(,"src_ip":"192.168.1.)" +
                    std::to_string(i % 250) + R"(","bytes":)" + std::to_string(i * 7) +
                    R"(,"state":"closed"})");
  }
  std::string body;
  const auto back = round_trip(texts, &body);
  EXPECT_EQ(back, texts);
  size_t n = 0;
  for (size_t at = body.find("\"flow_id\""); at != std::string::npos;
       at = body.find("\"flow_id\"", at + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 1u) << "the skeleton once";
  EXPECT_LT(body.size(), texts.size() * 20) << "values as bytes, names once";
}

// Random texts made of the pieces that matter to the layout (quotes, escapes, colons, digits,
// dots, hex, times, kind bytes): whatever they are, they come back.
TEST(EventColumns, RandomTextsComeBack) {
  const std::vector<std::string> pieces = {"\"",         "\\",
                                           ":",          " ",
                                           ",",          "{",
                                           "}",          "[",
                                           "]",          "0",
                                           "7",          "12",
                                           "-",          ".",
                                           "e",          "abcdef12",
                                           "ABCDEF12",   "1.2.3.4",
                                           "\"k\"",      "\"v\"",
                                           "10.0.0.255", "2026-11-26T19:41:05.123456+0900",
                                           "x",          "é",
                                           "\x01",       "\x05",
                                           "0x",         "99999999999999999999",
                                           "\"\":"};
  std::mt19937_64 rng(20261207);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> texts;
    for (int r = 0; r < 40; ++r) {
      std::string s;
      const int n = static_cast<int>(rng() % 30);
      for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
      texts.push_back(s);
    }
    ASSERT_EQ(round_trip(texts, nullptr), texts) << "round " << round;
  }
}

TEST(EventColumns, ACutOrDamagedFormIsRefused) {
  const auto texts = shapes();
  std::string body;
  round_trip(texts, &body);
  std::vector<int64_t> times(texts.size(), kTs);
  for (size_t len = 0; len < body.size(); ++len) {
    size_t at = 0;
    const auto r = decode_columns(std::string_view(body).substr(0, len), at, times);
    EXPECT_FALSE(r.ok()) << "cut at " << len << " of " << body.size();
  }
  // One byte changed anywhere: refused or read (differently), never past the end.
  for (size_t k = 0; k < body.size(); ++k) {
    std::string bad = body;
    bad[k] = static_cast<char>(bad[k] ^ 0x5a);
    size_t at = 0;
    const auto r = decode_columns(bad, at, times);
    EXPECT_LE(at, bad.size());
  }
}

}  // namespace
}  // namespace mimamori::server::testing
