// Hash and indicator list feeds in CSV: quoted fields (commas and "" inside them), a header
// row, blanks around fields; the hash or indicator is found in its column and the row's name
// is its first other field, without quotes.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "behaviour/list_csv.h"
#include "mimamori/net/behaviour.h"

namespace mimamori::net {
namespace {

std::string write_feed(const std::string& name, const std::string& text) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("mimamori-lists-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const std::string kSha = "094fd325049b8a9cf6d3e5ef2a6d4cc6a567d7d49c35f8bb8dd9e3c6acf3d78d";
const std::string kMd5 = "44d88612fea8a8f36de82e1278abb02f";
const std::string kSha2 = "1f3a6e7b2c9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f";

TEST(ListCsv, SplitsQuotedFields) {
  using behaviour::csv_fields;
  EXPECT_EQ(csv_fields("a,b,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(csv_fields(R"("a","b, with comma","c ""quoted"" d")"),
            (std::vector<std::string>{"a", "b, with comma", "c \"quoted\" d"}));
  EXPECT_EQ(csv_fields(R"( "a" , b ,"",)"), (std::vector<std::string>{"a", "b", "", ""}));
  EXPECT_EQ(csv_fields(R"("unterminated, still one)"),
            (std::vector<std::string>{"unterminated, still one"}));
  EXPECT_EQ(csv_fields("\"a\",\"b\"\r"), (std::vector<std::string>{"a", "b"}));
}

// A feed whose every line is quoted, as the common malware-sample exports are: the hash of each
// row is found and named by its first other field, quotes gone, a comma inside a name kept.
TEST(ListCsv, QuotedHashFeedNamesEachHashByItsRow) {
  const std::string path = write_feed("quoted-hashes.csv",
                                      "\"sha256_hash\",\"md5_hash\",\"signature\"\n"
                                      "\"" +
                                          kSha + "\",\"" + kMd5 +
                                          "\",\"AgentTesla\"\n"
                                          "\"" +
                                          kSha2 + "\", \"\", \"Emotet, \"\"epoch 5\"\"\"\n");
  HashList h;
  ASSERT_TRUE(h.add_file(path).ok());
  ASSERT_EQ(h.sha256.count(kSha), 1u);
  EXPECT_EQ(h.sha256.at(kSha), "AgentTesla");
  ASSERT_EQ(h.sha256.count(kSha2), 1u);
  EXPECT_EQ(h.sha256.at(kSha2), "Emotet, \"epoch 5\"");
  // The MD5 of the first row is not a second entry: one hash per row, the first.
  EXPECT_EQ(h.md5.count(kMd5), 0u);
  EXPECT_EQ(h.sha256.size(), 2u);
}

TEST(ListCsv, UnquotedAndSpaceSeparatedHashListsStillWork) {
  const std::string path =
      write_feed("plain-hashes.txt",
                 "# comment\n" + kSha + " Some name\n" + kMd5 + "\n" + kSha2 + ",named by csv\n");
  HashList h;
  ASSERT_TRUE(h.add_file(path).ok());
  EXPECT_EQ(h.sha256.at(kSha), "Some name");
  EXPECT_EQ(h.md5.at(kMd5), "plain-hashes.txt");
  EXPECT_EQ(h.sha256.at(kSha2), "named by csv");
}

TEST(ListCsv, QuotedIndicatorFeedFindsEachIndicator) {
  const std::string path = write_feed("quoted-intel.csv",
                                      "\"indicator\",\"comment\"\n"
                                      "\"203.0.113.7\",\"c2, seen 2026-11\"\n"
                                      "\"bad.example.net\",\"phishing\"\n");
  IntelList l;
  ASSERT_TRUE(l.add_file(path).ok());
  l.finish();
  auto ip = core::IpAddress::parse("203.0.113.7");
  ASSERT_TRUE(ip.ok());
  ASSERT_NE(l.find(*ip), nullptr);
  EXPECT_EQ(*l.find(*ip), "quoted-intel.csv");
  ASSERT_NE(l.find_domain("www.bad.example.net"), nullptr);
}

}  // namespace
}  // namespace mimamori::net
