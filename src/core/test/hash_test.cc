#include "mimamori/core/hash.h"

#include <gtest/gtest.h>

#include <fstream>

namespace mimamori::core {
namespace {

TEST(Hash, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, FileHashMatchesAndMissingFileIsAnError) {
  auto path = std::filesystem::temp_directory_path() / "mimamori_hash_test.txt";
  std::ofstream(path) << "abc";
  EXPECT_EQ(sha256_file_hex(path).value(), sha256_hex("abc"));
  std::filesystem::remove(path);
  auto r = sha256_file_hex(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("mimamori_hash_test.txt"), std::string::npos);
}

TEST(Hash, Fnv1aDiffers) {
  EXPECT_NE(fnv1a64("a"), fnv1a64("b"));
  static_assert(fnv1a64("") == 14695981039346656037ull);
}

}  // namespace
}  // namespace mimamori::core
