// The static folder (the web console): a request path names a regular file inside the folder, or
// nothing. The request is untrusted; the folder is trusted but may hold symlinks. So the path is
// checked twice: its segments before they touch the file system (no way to spell a separator, a
// parent or an absolute path), then the file itself after every symlink is resolved.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "http/http.h"

namespace mimamori::server {
namespace {

namespace fs = std::filesystem;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one segment of the raw path into `out` ('+' stays '+': this is a path, not a
// form). False for a malformed escape, a separator, a control character, or a name that is empty
// or starts with a dot ("", ".", "..", and hidden files such as .git or .env).
bool decode_segment(std::string_view raw, std::string& out) {
  out.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      int hi = hex_digit(raw[i + 1]), lo = hex_digit(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '/' || c == '\\') return false;
    out += c;
  }
  return !out.empty() && out.front() != '.';
}

// True when `p` is strictly below `root` (both canonical).
bool below(const fs::path& root, const fs::path& p) {
  auto q = p.begin();
  for (const auto& part : root) {
    if (q == p.end() || *q != part) return false;
    ++q;
  }
  return q != p.end();
}

}  // namespace

std::optional<StaticFile> read_static_file(const std::string& root_dir, std::string_view raw_path) {
  if (root_dir.empty() || !raw_path.starts_with('/')) return std::nullopt;
  if (raw_path == "/") raw_path = "/index.html";
  std::error_code ec;
  const fs::path root = fs::canonical(root_dir, ec);
  if (ec) return std::nullopt;
  fs::path p = root;
  std::string segment;
  std::string_view rest = raw_path.substr(1);
  for (;;) {
    auto slash = rest.find('/');
    if (!decode_segment(rest.substr(0, slash), segment)) return std::nullopt;
    p /= segment;
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // Symlinks inside the folder may point anywhere: judge where the file really is.
  const fs::path real = fs::canonical(p, ec);
  if (ec || !below(root, real)) return std::nullopt;
  // O_NOFOLLOW: the last component cannot have become a symlink since; O_NONBLOCK: a FIFO does
  // not hold the thread before fstat refuses it.
  int fd = ::open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  StaticFile f;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    f.name = real.filename().string();
    f.body.reserve(static_cast<size_t>(st.st_size));
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) ok = false;
      if (n <= 0) break;
      f.body.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  if (!ok) return std::nullopt;
  return f;
}

bool is_app_route(const std::string& root_dir, std::string_view raw_path) {
  if (root_dir.empty() || raw_path.size() < 2 || raw_path.front() != '/') return false;
  std::string_view rest = raw_path.substr(1);
  for (;;) {
    auto slash = rest.find('/');
    std::string_view seg = rest.substr(0, slash);
    if (seg.empty() || seg.size() > 128) return false;
    for (char c : seg) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) return false;
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  // The segments are plain names, so joining them cannot leave the folder.
  std::error_code ec;
  return fs::symlink_status(fs::path(root_dir) / raw_path.substr(1), ec).type() ==
         fs::file_type::not_found;
}

std::string default_web_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const fs::path dir = exe.parent_path().parent_path() / "share" / "mimamori" / "web";
  if (!fs::is_regular_file(dir / "index.html", ec)) return {};
  return dir.string();
}

}  // namespace mimamori::server
