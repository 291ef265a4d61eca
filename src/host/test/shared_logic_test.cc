// The logic the Linux and Windows collectors share, on both platforms: the ransomware content
// verdict on Windows paths and the known-bad hash list.

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "mimamori/core/hash.h"
#include "mimamori/host/hash_list.h"
#include "mimamori/host/ransomware_content.h"

namespace mimamori::host {
namespace {

std::string noise(std::size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(SharedRansomwareVerdict, WindowsPathsAreJudgedByTheFileNameAlone) {
  std::string n = noise(4096);
  EXPECT_TRUE(judge_write("C:\\Users\\山田\\Documents\\見積書.docx", n).suspicious);
  EXPECT_TRUE(judge_write("C:\\Users\\a\\Documents\\notes.txt.locked", n).suspicious);
  // The folder's dots are not the file's extension.
  EXPECT_FALSE(judge_write("C:\\Users\\a\\report.docx\\blob", n).suspicious);
  EXPECT_EQ(expected_type("D:\\share\\x.pdf\\y"), ContentType::kUnknown);
  EXPECT_EQ(expected_type("D:\\share\\y.PDF"), ContentType::kPdf);
  EXPECT_FALSE(judge_write("C:\\Users\\a\\Downloads\\setup.bin", n).suspicious);
  EXPECT_EQ(content_type_name(judge_write("C:\\a\\b.docx", n).expected), "zip");
}

TEST(SharedHashList, HashesCommentsAndBadLines) {
  std::string h = core::sha256_hex("sample");
  std::string upper = h;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::istringstream in("# list\n\n  " + upper + "  # sample, upper case\r\nnot-a-hash\n" +
                        h.substr(1) + "\n" + std::string(64, 'g') + "\n");
  std::set<std::string> out;
  EXPECT_EQ(read_hash_list(in, "list.txt", out), 3);
  EXPECT_EQ(out, std::set<std::string>{h});
}

}  // namespace
}  // namespace mimamori::host
