#pragma once
/// Config: YAML configuration with errors that name the file, line and key. Loaded once at
/// start-up (exceptions allowed there: ConfigError is caught in main and printed).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace mimamori::core {

/// A configuration error: the message names file:line, the key, and what was expected.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A YAML document plus `--set key=value` overrides, read through dotted key paths.
class Config {
 public:
  Config();
  ~Config();
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;

  /// Loads a YAML file; throws ConfigError with file:line on a syntax error.
  static Config load_file(const std::filesystem::path& path);
  /// Parses YAML text; `source` names it in error messages.
  static Config from_string(std::string_view text, std::string source = "<string>");

  /// Applies `a.b.c=value` (as given to `--set`), creating maps on the way.
  void set(std::string_view assignment);

  /// Where this configuration came from (a path, or `<string>`).
  const std::string& source() const;

  /// True when the dotted path exists and is not null.
  bool has(std::string_view path) const;

  /// The value at `path`, or `fallback` when absent. Throws ConfigError when present but of
  /// the wrong type. Defined for std::string, bool, int, int64_t, uint64_t, unsigned, double,
  /// std::vector<std::string>.
  template <class T>
  T get(std::string_view path, T fallback) const;

  /// The value at `path`; throws ConfigError when absent or of the wrong type.
  template <class T>
  T require(std::string_view path) const;

  /// The keys of the map at `path` (empty when absent; ConfigError when not a map).
  std::vector<std::string> keys(std::string_view path) const;

  /// Number of elements of the sequence at `path` (0 when absent).
  std::size_t size(std::string_view path) const;

  /// A list of words: a YAML sequence, or one string of comma-separated items (as `--set`
  /// gives it, `[a, b]` brackets allowed); `fallback` when absent. Throws ConfigError on an
  /// empty item.
  std::vector<std::string> list(std::string_view path,
                                const std::vector<std::string>& fallback) const;

  /// A byte size as Suricata writes it: a number, or one with a b/kb/mb/gb suffix (k, kib, m,
  /// mib, g, gib too; powers of 1024, any case); `fallback` when absent. Throws ConfigError
  /// naming the key when malformed or above `max`.
  uint64_t byte_size(std::string_view path, uint64_t fallback, uint64_t max = UINT64_MAX) const;

  struct Impl;  ///< the parsed document (private to config.cc)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mimamori::core
