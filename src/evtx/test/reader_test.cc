// EVTX reader: values, fields, damaged input and the parser samples that break other readers.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "mimamori/evtx/evtx.h"

namespace mimamori::evtx {
namespace {

namespace fs = std::filesystem;

fs::path corpus() { return fs::path(MIMAMORI_CORPUS_DIR); }

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Collected {
  std::vector<std::map<std::string, std::string>> records;
  std::vector<EvtxProblem> problems;
  EvtxStats stats;
};

Collected read_file(const fs::path& p) {
  Collected c;
  auto f = EvtxFile::open(p.string());
  if (!f.ok()) {
    c.problems.push_back(EvtxProblem{p.string(), 0, f.error().message});
    return c;
  }
  c.stats = f->read(
      [&](const EvtxRecord& r) {
        std::map<std::string, std::string> m;
        for (const auto& field : r.fields()) m.emplace(field.name, field.value);
        std::string json, xml;
        r.append_json(json);
        r.append_xml(xml);
        m["#json"] = json;
        m["#xml"] = xml;
        c.records.push_back(std::move(m));
      },
      [&](const EvtxProblem& pr) { c.problems.push_back(pr); });
  return c;
}

TEST(EvtxCrc, MatchesTheStandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(evtx_crc32(reinterpret_cast<const uint8_t*>(s), 9), 0xCBF43926u);
}

TEST(EvtxValue, RendersEachTypeAsTheReferenceDoes) {
  auto render = [](EvtxType t, std::vector<uint8_t> bytes) {
    std::string out;
    EvtxRecord::render_value(
        EvtxValue{static_cast<uint8_t>(t), static_cast<uint32_t>(bytes.size()), bytes.data()}, out);
    return out;
  };
  EXPECT_EQ(render(EvtxType::kString, {'A', 0, 0xe9, 0, 0, 0}), "A\xc3\xa9");
  EXPECT_EQ(render(EvtxType::kUInt16, {0x34, 0x12}), "4660");
  EXPECT_EQ(render(EvtxType::kInt32, {0xff, 0xff, 0xff, 0xff}), "-1");
  EXPECT_EQ(render(EvtxType::kHexInt64, {0, 0, 0, 0, 0, 0, 0, 0x80}), "0x8000000000000000");
  EXPECT_EQ(render(EvtxType::kHexInt32, {0x3c, 0x8c, 0x05, 0}), "0x58c3c");
  EXPECT_EQ(render(EvtxType::kBool, {2, 0, 0, 0}), "true");  // irregular booleans are true
  EXPECT_EQ(render(EvtxType::kBool, {0, 0, 0, 0}), "false");
  EXPECT_EQ(render(EvtxType::kBinary, {0xde, 0xad, 0x01}), "DEAD01");
  EXPECT_EQ(render(EvtxType::kGuid, {0x5f, 0x38, 0x70, 0x57, 0x2a, 0xc2, 0xe0, 0x43, 0xbf, 0x4c,
                                     0x06, 0xf5, 0x69, 0x8f, 0xfb, 0xd9}),
            "5770385F-C22A-43E0-BF4C-06F5698FFBD9");
  EXPECT_EQ(render(EvtxType::kSid, {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0}), "S-1-5-18");
  // 2026-04-17T05:24:53.0888495Z as FILETIME: the 100 ns digit is dropped.
  uint64_t ft = (1776403493ULL + 11644473600ULL) * 10000000ULL + 888495;
  std::vector<uint8_t> b(8);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(ft >> (8 * i));
  EXPECT_EQ(render(EvtxType::kFileTime, b), "2026-04-17T05:24:53.088849Z");
  EXPECT_EQ(render(EvtxType::kSysTime, {0xea, 7, 4, 0, 5, 0, 17, 0, 5, 0, 24, 0, 53, 0, 88, 0}),
            "2026-04-17T05:24:53.088000Z");
  EXPECT_EQ(render(EvtxType::kSizeT, {1, 0, 0, 0, 0, 0, 0, 0}), "0x0000000000000001");
  EXPECT_EQ(render(static_cast<EvtxType>(0x81), {'a', 0, 0, 0, 'b', 0, 0, 0}), "a,b");
  EXPECT_EQ(render(static_cast<EvtxType>(0x88), {1, 0, 0, 0, 2, 0, 0, 0}), "1,2");
  // Too short for its type: the bytes, never a read past them.
  EXPECT_EQ(render(EvtxType::kUInt64, {1, 2}), "0102");
}

TEST(EvtxReader, DecodesSysmonRecordIntoFlatFields) {
  fs::path p =
      corpus() /
      "sigma/regression_data/rules-emerging-threats/2026/Exploits/RedSun/"
      "pipe_created_win_exploit_redsun_named_pipe/9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b.evtx";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus not present";
  auto c = read_file(p);
  EXPECT_TRUE(c.problems.empty());
  ASSERT_EQ(c.records.size(), 1u);
  auto& r = c.records[0];
  EXPECT_EQ(r["EventID"], "17");
  EXPECT_EQ(r["Channel"], "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(r["Provider_Name"], "Microsoft-Windows-Sysmon");
  EXPECT_EQ(r["Security_UserID"], "S-1-5-18");
  EXPECT_EQ(r["PipeName"], "\\REDSUN");
  EXPECT_EQ(r["Image"], "C:\\Users\\xodih\\Downloads\\RedSun.exe");
  EXPECT_NE(r["#xml"].find("<Data Name=\"PipeName\">\\REDSUN</Data>"), std::string::npos);
  EXPECT_NE(r["#json"].find("\"EventID\":17"), std::string::npos);
}

TEST(EvtxReader, EveryParserSampleIsReadWithoutCrashing) {
  fs::path dir = corpus() / "evtx-parser-samples";
  if (!fs::exists(dir)) GTEST_SKIP() << "corpus not present";
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".evtx") continue;
    ++files;
    auto c = read_file(e.path());
    EXPECT_GT(c.records.size(), 0u) << e.path();
    for (const auto& pr : c.problems) {
      EXPECT_EQ(pr.file, e.path().string());
      EXPECT_FALSE(pr.what.empty());
    }
    std::string name = e.path().filename().string();
    if (name == "Application_no_crc32.evtx" || name == "sample_with_a_bad_chunk_magic.evtx" ||
        name == "sample-with-zero-data-size-event.evtx" ||
        name == "security_bad_string_cache.evtx") {
      EXPECT_FALSE(c.problems.empty()) << name << ": damage not reported";
    }
  }
  EXPECT_GE(files, 20);
}

TEST(EvtxReader, BareBinaryXmlFragmentDecodes) {
  fs::path p = corpus() / "evtx-parser-samples/binxml.dat";
  if (!fs::exists(p)) GTEST_SKIP() << "corpus not present";
  std::string data = read_all(p);
  EvtxChunkDecoder decoder;
  EvtxRecord r;
  auto st = decoder.decode_fragment(data, r);
  ASSERT_TRUE(st.ok()) << st.error().message;
  std::string xml;
  r.append_xml(xml);
  EXPECT_EQ(xml.rfind("<Event", 0), 0u) << xml;
}

// Random damage in a copy of a real log: problems are reported, nothing crashes, and records in
// untouched chunks are still decoded.
TEST(EvtxReader, DamagedCopyIsReadAroundTheDamage) {
  fs::path src = corpus() / "evtx-parser-samples/security.evtx";
  if (!fs::exists(src)) GTEST_SKIP() << "corpus not present";
  std::string data = read_all(src);
  auto clean = read_file(src);
  std::mt19937 rng(12345);
  // Damage only the first chunk, heavily.
  for (int i = 0; i < 400; ++i) data[4096 + 512 + rng() % (65536 - 512)] = static_cast<char>(rng());
  fs::path tmp =
      fs::temp_directory_path() / ("evtx_damaged_" + std::to_string(::getpid()) + ".evtx");
  {
    std::ofstream out(tmp, std::ios::binary);
    out << data;
  }
  auto c = read_file(tmp);
  fs::remove(tmp);
  EXPECT_FALSE(c.problems.empty());
  EXPECT_GT(c.stats.crc_errors, 0u);
  EXPECT_GT(c.records.size(), clean.records.size() * 9 / 10);
  EXPECT_LE(c.records.size(), clean.records.size());
}

TEST(EvtxReader, MissingFileIsAnError) {
  auto f = EvtxFile::open("/nonexistent/x.evtx");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace mimamori::evtx
