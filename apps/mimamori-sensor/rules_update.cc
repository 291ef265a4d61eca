// `mimamori-sensor rules update --url URL`: fetches a ruleset archive (tar.gz, as ET Open ships
// it) over https, http or file://, verifies it, unpacks it into a folder beside the rules folder,
// test-loads it, and swaps it in only if it loads. The folder in use is never half-written: a
// failure at any step leaves it as it was and says which step failed and why.

#include "rules_update.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "mimamori/core/hash.h"
#include "mimamori/core/log.h"
#include "mimamori/net/rules/engine.h"
#include "mimamori/net/rules/loader.h"

namespace mimamori::sensor {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxArchive = 256u << 20;    // bytes fetched
constexpr std::size_t kMaxUnpacked = 1024u << 20;  // bytes after gunzip

std::size_t on_data(char* p, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  std::size_t len = size * n;
  if (out->size() + len > kMaxArchive) return 0;  // aborts the transfer
  out->append(p, len);
  return len;
}

core::Result<std::string> fetch(const std::string& url) {
  CURL* c = curl_easy_init();
  if (!c) return core::make_error("fetch {}: cannot start libcurl", url);
  std::string body;
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http,file");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (rc == CURLE_WRITE_ERROR && body.size() >= kMaxArchive - (1u << 20))
    return core::make_error("fetch {}: larger than {} MB", url, kMaxArchive >> 20);
  if (rc != CURLE_OK)
    return core::make_error("fetch {}: {}", url, err[0] ? err : curl_easy_strerror(rc));
  return body;
}

core::Result<std::string> gunzip(std::string_view in) {
  if (in.size() < 2 || static_cast<unsigned char>(in[0]) != 0x1f ||
      static_cast<unsigned char>(in[1]) != 0x8b)
    return core::make_error("not a gzip file (no gzip magic at its start)");
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return core::make_error("cannot start zlib");
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      std::string why = z.msg ? z.msg : "truncated";
      inflateEnd(&z);
      return core::make_error("gzip data damaged at byte {}: {}", z.total_in, why);
    }
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > kMaxUnpacked) {
      inflateEnd(&z);
      return core::make_error("unpacks to more than {} MB", kMaxUnpacked >> 20);
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return core::make_error("gzip data truncated after {} bytes", in.size());
    }
  }
  inflateEnd(&z);
  return out;
}

uint64_t octal(std::string_view f) {
  uint64_t v = 0;
  for (char c : f) {
    if (c == ' ' || c == '\0') {
      if (v) break;
      continue;
    }
    if (c < '0' || c > '7') return ~uint64_t(0);
    v = v * 8 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

struct TarFile {
  std::string name;  // base name
  std::string_view data;
};

// The regular files of a ustar/GNU tar archive; every header's checksum is verified.
core::Result<std::vector<TarFile>> read_tar(std::string_view tar) {
  std::vector<TarFile> files;
  std::string long_name;
  std::size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    std::string_view h = tar.substr(pos, 512);
    if (h.find_first_not_of('\0') == std::string_view::npos) break;  // end of archive
    uint64_t sum = octal(h.substr(148, 8));
    uint64_t calc = 0;
    for (std::size_t i = 0; i < 512; ++i)
      calc += (i >= 148 && i < 156) ? 32u : static_cast<unsigned char>(h[i]);
    if (sum != calc) return core::make_error("tar header at byte {}: bad checksum", pos);
    uint64_t size = octal(h.substr(124, 12));
    if (size == ~uint64_t(0) || pos + 512 + size > tar.size())
      return core::make_error("tar entry at byte {}: size runs past the archive", pos);
    char type = h[156];
    std::string_view data = tar.substr(pos + 512, size);
    std::string name;
    if (!long_name.empty()) {
      name = std::move(long_name);
      long_name.clear();
    } else {
      std::string_view n = h.substr(0, 100), prefix = h.substr(345, 155);
      n = n.substr(0, n.find('\0'));
      prefix = prefix.substr(0, prefix.find('\0'));
      name = prefix.empty() ? std::string(n) : std::string(prefix) + "/" + std::string(n);
    }
    if (type == 'L') {
      long_name = std::string(data.substr(0, data.find('\0')));
    } else if (type == '0' || type == '\0') {
      // Only the base name is used: no entry can write outside the new folder.
      std::string base = fs::path(name).filename().string();
      if (!base.empty() && base != "." && base != "..") files.push_back({base, data});
    }
    pos += 512 + (size + 511) / 512 * 512;
  }
  return files;
}

bool wanted(const std::string& name) {
  for (const char* ext : {".rules", ".config", ".conf", ".map"})
    if (name.size() > std::strlen(ext) && name.ends_with(ext)) return true;
  return false;
}

// Exchanges two folders atomically (both must exist).
bool exchange(const fs::path& a, const fs::path& b) {
  return syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
}

struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

int rules_update(const core::Config& config, const RulesUpdateOptions& o) {
  auto fail = [&](std::string_view step, const std::string& why) {
    spdlog::error("rules update: {}: {}; the installed rules are unchanged", step, why);
    return 1;
  };
  fs::path out = o.output.empty() ? config.get<std::string>("default-rule-path", "") : o.output;
  if (out.empty())
    return fail("options", "no rules folder: give --output DIR or set default-rule-path");
  out = fs::absolute(out).lexically_normal();
  if (!out.has_filename()) out = out.parent_path();

  curl_global_init(CURL_GLOBAL_DEFAULT);
  auto archive = fetch(o.url);
  curl_global_cleanup();
  if (!archive) return fail("fetch", archive.error().message);
  if (!o.sha256.empty()) {
    std::string got = core::sha256_hex(*archive);
    if (got != o.sha256) return fail("verify", "SHA-256 is " + got + ", expected " + o.sha256);
  }
  auto tar = gunzip(*archive);
  if (!tar) return fail("verify", tar.error().message);
  auto entries = read_tar(*tar);
  if (!entries) return fail("verify", entries.error().message);
  std::size_t rule_files = 0;
  for (const auto& e : *entries) rule_files += e.name.ends_with(".rules");
  if (rule_files == 0) return fail("verify", "the archive holds no .rules file");

  // Unpack beside the target, so the swap is a rename on one file system.
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  TempDir fresh;
  std::random_device rd;
  fresh.path = out.parent_path() / (out.filename().string() + ".new-" + std::to_string(rd()));
  if (!fs::create_directory(fresh.path, ec))
    return fail("unpack", "cannot create " + fresh.path.string() + ": " + ec.message());
  std::vector<std::string> files;
  for (const auto& e : *entries) {
    if (!wanted(e.name)) continue;
    fs::path p = fresh.path / e.name;
    std::ofstream f(p, std::ios::binary);
    f.write(e.data.data(), static_cast<std::streamsize>(e.data.size()));
    if (!f) return fail("unpack", "cannot write " + p.string());
    if (e.name.ends_with(".rules")) files.push_back(p.string());
  }
  std::sort(files.begin(), files.end());

  // Test-load: the new rules must parse and compile as the sensor would run them.
  fs::path cls = fresh.path / "classification.config";
  auto sources = net::rules::RuleSources::from_config(
      config, files, fs::exists(cls) ? cls.string() : std::string{});
  auto set = net::rules::load_rules(sources);
  if (!set) return fail("test-load", set.error().message);
  std::size_t loaded = set->signatures.size(), enabled = set->enabled;
  if (loaded == 0) return fail("test-load", "no rule of the archive loads");
  auto engine = net::rules::RuleEngine::build(std::move(*set), {});
  if (!engine) return fail("test-load", engine.error().message);

  // Swap: exchange the folders atomically, then drop the old one.
  if (fs::exists(out)) {
    if (!exchange(fresh.path, out))
      return fail("swap", "cannot exchange " + fresh.path.string() + " and " + out.string() + ": " +
                              std::strerror(errno));
  } else {
    fs::rename(fresh.path, out, ec);
    if (ec) return fail("swap", "cannot rename to " + out.string() + ": " + ec.message());
    fresh.path.clear();
  }
  std::printf(
      "rules update: %zu of %zu enabled rules load (%zu rule files) from %s; installed in %s\n",
      loaded, enabled, files.size(), o.url.c_str(), out.string().c_str());
  std::printf("send SIGHUP or `--control SOCKET reload-rules` to a running sensor to use them\n");
  return 0;
}

}  // namespace mimamori::sensor
