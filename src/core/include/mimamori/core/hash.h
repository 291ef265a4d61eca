#pragma once
/// Hashes used across modules: SHA-256 (file integrity, cache keys, fingerprints) and a fast
/// non-cryptographic 64-bit hash (tables).

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "mimamori/core/result.h"

namespace mimamori::core {

/// SHA-256 of `data`.
std::array<uint8_t, 32> sha256(std::string_view data);
/// SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);
/// SHA-256 of a file's content, streamed; an error names the file and the reason.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);
/// Lowercase hex of arbitrary bytes.
std::string to_hex(std::string_view bytes);

/// FNV-1a, 64 bits: for hash tables, never for security.
constexpr uint64_t fnv1a64(std::string_view data, uint64_t seed = 14695981039346656037ull) {
  uint64_t h = seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace mimamori::core
